"""The audit cannot be silenced or quietly altered: client text cannot break the insert, the
hub's own PostgreSQL role cannot lift the guard, tampering by the owner breaks the hash chain,
anonymous refusals are folded, every row names the operation type and root fields."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from hub.access.chain import verify
from hub.access.models import AuditEvent
from hub.db.base import table_of
from hub.db.engine import make_engine
from tests.conftest import Hub

AUDIT = table_of(AuditEvent)
UNMASKED = "query Unmasked { students(first: 2) { edges { node { idNumber } } } }"


async def _last(hub: Hub) -> dict[str, object]:
    async with hub.engine.connect() as connection:
        row = (await connection.execute(select(AUDIT).order_by(AUDIT.c.id.desc()))).first()
    assert row is not None
    return dict(row._mapping)


async def test_client_text_cannot_break_the_audit_insert(hub: Hub) -> None:
    long_name = "Op" + "x" * 300
    response = await hub.client.post(
        "/graphql",
        json={"query": "{ me { user } }"},
        headers={**hub.headers("county.registrar"), "x-hub-purpose": "%00"},
    )
    # A NUL in the purpose is refused with a message, before anything runs.
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    data = await hub.data(
        f"query {long_name} {{ students(first: 1) {{ edges {{ node {{ idNumber }} }} }} }}",
        user="county.registrar",
        headers={"user-agent": "agent" + "y" * 500},
    )
    assert "*" not in data["students"]["edges"][0]["node"]["idNumber"]
    row = await _last(hub)
    assert str(row["operation"]).startswith("Opxxx") and len(str(row["operation"])) == 100
    assert row["operation_type"] == "query" and row["root_fields"] == "students"
    assert len(str(row["user_agent"])) == 200


async def test_a_raw_utf8_purpose_is_stored_as_sent_and_bad_bytes_are_refused(hub: Hub) -> None:
    raw = "转学审核".encode()
    response = await hub.client.post(
        "/graphql",
        content=b'{"query": "query P { students(first: 1) { edges { node { idNumber } } } }"}',
        headers=[
            (b"content-type", b"application/json"),
            (b"authorization", hub.headers("county.registrar")["authorization"].encode()),
            (b"x-hub-purpose", raw),
        ],
    )
    assert response.status_code == 200, response.text
    assert (await _last(hub))["purpose"] == "转学审核"
    refused = await hub.client.post(
        "/graphql",
        content=b'{"query": "{ me { user } }"}',
        headers=[
            (b"content-type", b"application/json"),
            (b"authorization", hub.headers("county.registrar")["authorization"].encode()),
            (b"x-hub-purpose", b"\xff\xfe"),
        ],
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "X-Hub-Purpose" in refused.json()["errors"][0]["message"]


async def test_anonymous_refusals_are_folded_not_one_row_each(hub: Hub) -> None:
    async with hub.engine.connect() as connection:
        before = (await connection.execute(select(func.count()).select_from(AUDIT))).scalar()
    for _ in range(40):
        body = await hub.query("{ students { totalCount } }", user=None)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    async with hub.engine.connect() as connection:
        after = (await connection.execute(select(func.count()).select_from(AUDIT))).scalar()
    assert int(after or 0) - int(before or 0) <= 1
    folding = hub.client._transport.app.state.hub.refusals  # type: ignore[attr-defined]
    admitted, folded = folding.admit("no token", 10**12)  # a later window
    assert admitted and folded >= 39


async def test_the_chain_holds_and_tampering_by_the_owner_is_detected(hub: Hub) -> None:
    await hub.data(UNMASKED, user="county.registrar")
    await hub.data(UNMASKED, user="county.registrar")
    async with hub.engine.connect() as connection:
        assert (await verify(connection)).ok
    owner = make_engine(hub.owner_url)

    async def set_username(pk: int, username: str) -> None:
        """As the owner, who can lift the guard: on PostgreSQL by replication role, on SQLite
        by dropping the trigger (put back afterwards)."""
        async with owner.begin() as connection:
            await _lift_guard(connection, hub.backend, "UPDATE")
            await connection.execute(
                text("UPDATE audit_event SET username = :u WHERE id = :i"), {"u": username, "i": pk}
            )
            await _put_guard_back(connection, hub.backend, "UPDATE")

    try:
        async with owner.connect() as connection:
            target = int((await connection.execute(select(func.max(AUDIT.c.id)))).scalar() or 0)
        await set_username(target - 1, "someone.else")
        async with owner.connect() as connection:
            verdict = await verify(connection)
        await set_username(target - 1, "county.registrar")  # put back: the chain holds again
        async with owner.connect() as connection:
            assert (await verify(connection)).ok
    finally:
        await owner.dispose()
    assert not verdict.ok
    assert verdict.broken_at == target - 1
    assert "content" in str(verdict.reason)


async def test_the_hubs_role_cannot_lift_the_guard(hub: Hub) -> None:
    if hub.backend == "sqlite":
        # SQLite has no roles: whoever holds the file is its owner, and the hash chain is the
        # guard (test above).
        assert hub.url == hub.owner_url
        return
    assert hub.url != hub.owner_url
    attempts = (
        "ALTER TABLE audit_event DISABLE TRIGGER USER",
        "SET session_replication_role = replica",
        "DELETE FROM audit_event",
        "UPDATE audit_event SET outcome = 'denied'",
        "TRUNCATE audit_event",
        "DROP TABLE audit_event",
    )
    for statement in attempts:
        with pytest.raises(Exception, match=r"permission denied|must be owner|append-only"):
            async with hub.engine.begin() as connection:
                await connection.execute(text(statement))


async def test_a_refused_mutation_keeps_its_audit_row(hub: Hub) -> None:
    before = await _last(hub)
    data = await hub.data(
        """mutation Escalate($c: String!) { grantRole(input: {username: "county.viewer",
             role: "administrator", orgUnitCode: $c}) { grant { role } errors { code } } }""",
        {"c": hub.units["county"][1]},
        user="county.registrar",
    )
    assert data["grantRole"]["errors"][0]["code"] == "FORBIDDEN"
    after = await _last(hub)
    assert int(str(after["id"])) > int(str(before["id"]))
    assert (after["action"], after["outcome"]) == ("grant", "denied")
    assert (after["operation"], after["operation_type"]) == ("Escalate", "mutation")
    me = await hub.data("{ me { roles } }", user="county.viewer")
    assert "administrator" not in me["me"]["roles"]
    async with hub.engine.connect() as connection:
        assert (await verify(connection)).ok


async def test_data_is_withheld_when_its_audit_cannot_be_written(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unmasked read whose audit rows cannot be committed returns no data, the first
    time (resolvers, in the request's transaction) as when its plan is cached (the audit
    writer's group commit); the refusal itself is recorded."""
    _refuse(monkeypatch, lambda row: row["action"] != "audit", "disk full")
    query = "{ students(first: 2) { edges { node { name idNumber } } } }"
    answers = []
    for _ in range(3):
        response = await hub.client.post(
            "/graphql", json={"query": query}, headers=hub.headers("county.registrar")
        )
        assert response.status_code == 200
        answers.append(response.json())
    assert [a["extensions"]["readPath"].get("cached", False) for a in answers] == [
        False,
        True,
        True,
    ]
    for answer in answers:
        assert answer["data"] is None
        assert "could not be audited" in answer["errors"][0]["message"]
        assert answer["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    monkeypatch.undo()
    async with hub.engine.connect() as connection:
        refusals = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM audit_event WHERE action = 'audit'"
                    " AND outcome = 'denied' AND detail LIKE 'not audited: RuntimeError%'"
                )
            )
        ).scalar()
    assert refusals == 3


async def test_concurrent_audited_reads_share_a_commit_and_fail_alone(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Audited reads answered from cached plans at the same time go onto the chain in
    fewer transactions than requests (group commit), every request's row is there and the
    chain holds; a batch that fails is retried request by request, so only the request
    whose rows cannot be written loses its data."""
    import asyncio

    writer = hub.state.audit_writer
    query = "{ students(first: 3) { edges { node { name idNumber } } } }"
    users = ["county.registrar"] * 6 + ["county2.registrar"] * 2
    for user in set(users):  # plans cached, principals loaded
        await hub.data(query, user=user)

    async def together(who: list[str]) -> list[dict[str, Any]]:
        answers = await asyncio.gather(
            *(
                hub.client.post("/graphql", json={"query": query}, headers=hub.headers(user))
                for user in who
            )
        )
        return [a.json() for a in answers]

    before_rows, before = await _unmask_rows(hub), writer.transactions
    bodies = await together(["county.registrar"] * 8)
    assert all(len(b["data"]["students"]["edges"]) == 3 for b in bodies)
    assert writer.transactions - before < 8  # shared commits
    metrics = (await hub.client.get("/metrics")).text
    shared = [
        line
        for line in metrics.splitlines()
        if line.startswith(
            ('eduhub_audit_batch_requests_bucket{le="1.0"}', "eduhub_audit_batch_requests_count")
        )
    ]
    ones, batches = (float(line.split()[-1]) for line in shared)
    assert batches > ones  # some batch held more than one request
    assert await _unmask_rows(hub) - before_rows == 8  # one row per request all the same

    # The neighbour county's reads cannot be recorded (its refusals can).
    poisoned = {"username": "county2.registrar", "action": "unmask"}
    _refuse(monkeypatch, lambda row: poisoned.items() <= row.items(), "rejected row")
    before_rows = await _unmask_rows(hub)
    bodies = await together(users)
    for user, body in zip(users, bodies, strict=True):
        assert body["extensions"]["readPath"] == {"servedBy": "planner", "cached": True}
        if user == "county.registrar":
            assert len(body["data"]["students"]["edges"]) == 3, body
        else:
            assert body["data"] is None and "could not be audited" in str(body["errors"])
    assert await _unmask_rows(hub) - before_rows == users.count("county.registrar")
    assert (await _verified(hub)).ok


async def _verified(hub: Hub) -> Any:
    """``verify``'s verdict, as the owner runs ``eduhub audit verify``."""
    owner = make_engine(hub.owner_url)
    try:
        async with owner.connect() as connection:
            return await verify(connection)
    finally:
        await owner.dispose()


async def _unmask_rows(hub: Hub) -> int:
    async with hub.engine.connect() as connection:
        found = await connection.execute(
            text("SELECT count(*) FROM audit_event WHERE action = 'unmask'")
        )
        return int(found.scalar() or 0)


async def _details(hub: Hub, condition: str) -> list[str]:
    """The ``detail`` of the audit rows meeting ``condition`` (SQL written by the test)."""
    async with hub.engine.connect() as connection:
        found = await connection.execute(text(f"SELECT detail FROM audit_event WHERE {condition}"))
        return [str(detail) for detail in found.scalars().all()]


def _tagged(tag: str) -> list[dict[str, Any]]:
    from hub.access.audit import AuditLog

    log = AuditLog(None, operation=None, purpose=None, correlation_id=tag)
    log.event("audit", "request", "allowed", "/CN/", detail=f"lanes {tag}")
    return log.take()


async def test_two_writers_append_to_one_chain_without_losing_a_row(hub: Hub) -> None:
    """Two processes' audit writers (each remembering where it left the chain) appending
    at once: on PostgreSQL each append is a compare-and-swap of the head, so a writer whose
    head moved links its rows again; every row goes in, once, and the chain holds."""
    import asyncio

    from hub.access.writer import AuditWriter

    driver = hub.state.driver  # PostgreSQL: the app's asyncpg pool (None on SQLite)
    first, second = AuditWriter(hub.engine, driver=driver), AuditWriter(hub.engine, driver=driver)
    tags = [f"one-chain {i}" for i in range(24)]
    with hub.counter() as counter:
        await asyncio.gather(
            *((first if i % 2 else second).append(_tagged(tag)) for i, tag in enumerate(tags))
        )
    if hub.backend == "postgresql":
        # Each writer read the head once to start; more reads are swaps that lost to the
        # other writer and linked their rows again.
        reads = [s for s in counter.statements if s.startswith("SELECT audit_chain.last_seq")]
        assert len(reads) > 2, counter.statements
    written = await _details(hub, "detail LIKE 'lanes one-chain %'")
    assert sorted(written) == sorted(f"lanes {tag}" for tag in tags)
    assert (await _verified(hub)).ok


async def test_writers_of_two_lanes_never_wait_for_each_other(hub: Hub) -> None:
    """Two processes' audit writers, each on its own lane of the chain (as ``eduhub serve
    --workers`` sets them up): appending at once, no swap is lost to the other writer (no
    head is read again), every row goes in once, each lane's places are gapless, and the
    chain holds."""
    import asyncio

    from hub.access.writer import AuditWriter

    driver = hub.state.driver
    first = AuditWriter(hub.engine, lane=7, driver=driver)
    second = AuditWriter(hub.engine, lane=8, driver=driver)
    await first.append(_tagged("open 7"))  # each opens its lane and reads its head once
    await second.append(_tagged("open 8"))
    tags = [f"w{i}" for i in range(24)]
    with hub.counter() as counter:
        await asyncio.gather(
            *((first if i % 2 else second).append(_tagged(tag)) for i, tag in enumerate(tags))
        )
    if hub.backend == "postgresql":
        reads = [s for s in counter.statements if s.startswith("SELECT audit_chain.last_seq")]
        assert reads == [], counter.statements
    async with hub.engine.connect() as connection:
        placed = (
            await connection.execute(
                text(
                    "SELECT lane, seq, detail, id FROM audit_event WHERE lane IN (7, 8)"
                    " ORDER BY lane, seq"
                )
            )
        ).all()
    assert [(lane, seq) for lane, seq, _, _ in placed] == [
        *((7, s) for s in range(1, 14)),
        *((8, s) for s in range(1, 14)),
    ]
    assert sorted(d for _, _, d, _ in placed) == sorted(
        [*(f"lanes {t}" for t in tags), "lanes open 7", "lanes open 8"]
    )
    assert len({pk for *_, pk in placed}) == 26
    verdict = await _verified(hub)
    assert verdict.ok, verdict


async def test_a_lane_cut_short_or_without_its_head_is_reported(hub: Hub) -> None:
    """``verify`` checks every lane against its head: the owner deleting a lane's last row
    (which breaks no link) is caught by the head, and rows whose head row is gone (the
    hub's role may write the heads) are reported, since nothing vouches for them."""
    from hub.access.writer import AuditWriter

    writer = AuditWriter(hub.engine, lane=9, driver=hub.state.driver)
    for tag in ("a", "b", "c"):
        await writer.append(_tagged(f"cut {tag}"))
    owner = make_engine(hub.owner_url)

    async def verdict() -> Any:
        async with owner.connect() as connection:
            return await verify(connection)

    try:
        async with owner.connect() as connection:
            last = (
                (await connection.execute(select(AUDIT).where(AUDIT.c.lane == 9, AUDIT.c.seq == 3)))
                .mappings()
                .one()
            )
            first = (
                await connection.execute(select(func.min(AUDIT.c.id)).where(AUDIT.c.lane == 9))
            ).scalar()
        async with owner.begin() as connection:
            await _lift_guard(connection, hub.backend, "DELETE")
            await connection.execute(
                text("DELETE FROM audit_event WHERE id = :i"), {"i": last["id"]}
            )
        cut = await verdict()
        async with owner.begin() as connection:
            await connection.execute(AUDIT.insert(), [dict(last)])  # put back
            await _put_guard_back(connection, hub.backend, "DELETE")
        assert (await verdict()).ok
        async with hub.engine.begin() as connection:  # the hub's own role
            head = (await connection.execute(text("SELECT * FROM audit_chain WHERE id = 9"))).one()
            await connection.execute(text("DELETE FROM audit_chain WHERE id = 9"))
        headless = await verdict()
        async with hub.engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO audit_chain (id, last_seq, last_hash) VALUES (:i, :s, :h)"),
                {"i": head.id, "s": head.last_seq, "h": head.last_hash},
            )
        assert (await verdict()).ok
    finally:
        await owner.dispose()
    assert not cut.ok and "lane 9" in str(cut.reason) and "removed from its end" in str(cut.reason)
    assert cut.broken_at is not None and cut.broken_at < last["id"]
    assert not headless.ok and "no head row" in str(headless.reason)
    assert headless.broken_at == first  # the lane's first row


def _refuse(monkeypatch: pytest.MonkeyPatch, bad: Any, why: str) -> None:
    """Make every append of the audit chain fail, on every path (in the request's
    transaction, the writer's), when one of its rows is ``bad``, as a database that
    refuses them would."""
    from hub.access import chain

    linked = chain._linked

    def refusing(rows: Any, head: Any, lane: int) -> Any:
        if any(bad(row) for row in rows):
            raise RuntimeError(why)
        return linked(rows, head, lane)

    monkeypatch.setattr(chain, "_linked", refusing)


async def test_a_batch_waits_for_the_rows_of_requests_under_way(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request answered from a cached plan tells the writer its rows will follow: the
    batch under way waits for them (one transaction for both requests), and a request that
    leaves without rows stops the wait at once. The wait is bounded: with a bound of a
    millisecond, a request that never comes holds nobody up."""
    import asyncio

    from hub.access import writer as writers

    monkeypatch.setattr(writers, "GATHER_SECONDS", 60.0)  # only arrivals end a wait here
    writer = writers.AuditWriter(hub.engine, lane=11, driver=hub.state.driver)
    await writer.append(_tagged("gather open"))  # opens the lane
    before = writer.transactions

    coming = writer.coming()
    first = asyncio.ensure_future(writer.append(_tagged("gather 1"), writer.coming()))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not first.done()  # the batch waits for the request still reading
    second = asyncio.ensure_future(writer.append(_tagged("gather 2"), coming))
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert writer.transactions - before == 1  # both requests' rows in one transaction

    leaving = writer.coming()
    third = asyncio.ensure_future(writer.append(_tagged("gather 3")))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not third.done()
    writer.leave(leaving)  # the other request has no rows to hand after all
    await asyncio.wait_for(third, 10)

    monkeypatch.setattr(writers, "GATHER_SECONDS", 0.001)
    stray = writer.coming()  # a request that never hands its rows
    await asyncio.wait_for(writer.append(_tagged("gather 4")), 10)
    writer.leave(stray)
    written = await _details(hub, "lane = 11")
    assert sorted(written) == [f"lanes gather {t}" for t in ("1", "2", "3", "4", "open")]
    assert (await _verified(hub)).ok


async def _lift_guard(connection: Any, backend: str, action: str) -> None:
    """As the owner, lift the append-only guard against ``action`` for this transaction:
    on PostgreSQL by replication role, on SQLite by dropping its trigger."""
    if backend == "postgresql":
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        await connection.execute(text(f"DROP TRIGGER audit_event_no_{action.lower()}"))


async def _put_guard_back(connection: Any, backend: str, action: str) -> None:
    """The SQLite trigger ``_lift_guard`` dropped, as the migration writes it."""
    if backend == "sqlite":
        await connection.execute(
            text(
                f"CREATE TRIGGER audit_event_no_{action.lower()} BEFORE {action} ON audit_event"
                f" BEGIN SELECT RAISE(ABORT, 'audit_event is append-only ({action} refused)');"
                " END"
            )
        )
