"""The five-level tiers end to end: identity, isolation of a sibling county on every path,
masking with its audit rows, delegated grants, the append-only audit log."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from sqlalchemy import delete, insert, select, text, update
from stdnum.cn import ric

from hub.access.models import AuditEvent
from hub.access.policy import POLICY_DIR
from hub.db.base import table_of
from hub.demo.users import DEMO_USERS
from hub.ids import decode_id
from hub.orgunits.models import OrgLevel, OrgUnit
from tests.conftest import Hub
from tests.fixtures.responses import strings

AUDIT = table_of(AuditEvent)

EVERYTHING = """
{
  orgUnits(first: 500) { edges { node { code path } } }
  schools(first: 500) { edges { node { code path: orgUnit { path }
    students(first: 500) { edges { node { studentNumber school { code } } } }
    teachers(first: 500) { edges { node { staffNumber } } }
    buildings(first: 500) { edges { node { code assets(first: 500) { edges { node { code } } } } } }
    assets(first: 500) { edges { node { code } } }
    classes { name students(first: 500) { edges { node { studentNumber } } } } } } }
  students(first: 500) { totalCount edges { node { studentNumber school { code } guardians { name } } } }
  teachers(first: 500) { totalCount edges { node { staffNumber school { code } } } }
  buildings(first: 500) { totalCount edges { node { code school { code } } } }
  assets(first: 500) { totalCount edges { node { code school { code } } } }
}
"""


async def test_requests_without_a_valid_token_are_refused(hub: Hub) -> None:
    expired = jwt.encode(
        {"sub": "national.admin", "aud": "eduhub", "exp": int(time.time()) - 10},
        hub.settings.jwt_secret,
        algorithm="HS256",
    )
    cases = {
        "missing": {},
        "malformed": {"authorization": "Token abc"},
        "forged": {
            "authorization": "Bearer "
            + jwt.encode({"sub": "x"}, "a-wrong-secret-of-enough-length-for-hs256", "HS256")
        },
        "expired": {"authorization": f"Bearer {expired}"},
        "unknown user": hub.headers("nobody.at.all"),
    }
    for name, headers in cases.items():
        with hub.counter() as counter:
            body = await hub.query("{ students { totalCount } }", user=None, headers=headers)
        assert body["data"] is None, name
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", name
        assert not any("student" in s for s in counter.statements), name
    health = await hub.client.get("/healthz")
    assert health.status_code == 200


async def test_every_entry_point_of_a_sibling_county_shows_nothing_of_the_county(
    hub: Hub,
) -> None:
    county_path = hub.units["county"][2]
    mine = await hub.data(EVERYTHING, user="county.registrar")
    theirs = await hub.data(EVERYTHING, user="county2.registrar")
    assert mine["students"]["totalCount"] > 0
    assert theirs["students"]["totalCount"] > 0
    county_school_codes = {e["node"]["code"] for e in mine["schools"]["edges"]}
    county_numbers = {e["node"]["studentNumber"] for e in mine["students"]["edges"]}
    leaked = [
        s
        for s in strings(theirs)
        if s.startswith(county_path) or s in county_school_codes or s in county_numbers
    ]
    assert leaked == []
    # Lookups by key and by global id answer "not found" for the other county's objects.
    school_code = sorted(county_school_codes)[0]
    number = sorted(county_numbers)[0]
    ids = await hub.data(
        """query ($s: String!, $n: String!) { school(code: $s) { id students(first: 1) {
             edges { node { id guardians { id } } } } } student(studentNumber: $n) { id } }""",
        {"s": school_code, "n": number},
        user="county.registrar",
    )
    student = ids["school"]["students"]["edges"][0]["node"]
    probes = await hub.data(
        """query ($s: String!, $n: String!, $c: String!, $a: ID!, $b: ID!, $g: ID!) {
             school(code: $s) { name } student(studentNumber: $n) { name }
             orgUnit(code: $c) { name } a: node(id: $a) { id } b: node(id: $b) { id }
             g: node(id: $g) { id }
             students(filter: {under: $c}) { totalCount } }""",
        {
            "s": school_code,
            "n": number,
            "c": hub.units["county"][1],
            "a": ids["school"]["id"],
            "b": student["id"],
            "g": student["guardians"][0]["id"],
        },
        user="county2.registrar",
    )
    assert probes == {
        "school": None,
        "student": None,
        "orgUnit": None,
        "a": None,
        "b": None,
        "g": None,
        "students": {"totalCount": 0},
    }


async def _audit_rows(hub: Hub, username: str) -> list[Any]:
    async with hub.engine.connect() as connection:
        rows = await connection.execute(
            select(AUDIT).where(AUDIT.c.username == username).order_by(AUDIT.c.id)
        )
        return list(rows.all())


SENSITIVE = """
query Sensitive { students(first: 3) { edges { node { id idNumber phone currentAddress
  mailingAddress homeAddress email health { code label } disability { code label }
  inclusiveEducation guardians { id idNumber phone address } } } }
  teachers(first: 2) { edges { node { idNumber phone } } } }
"""


async def test_masked_for_a_viewer_without_audit(hub: Hub) -> None:
    before = len(await _audit_rows(hub, "county.viewer"))
    data = await hub.data(SENSITIVE, user="county.viewer")
    for edge in data["students"]["edges"]:
        student = edge["node"]
        assert student["idNumber"] == "*" * 18  # nothing of the number (policies/README.md)
        assert "****" in student["phone"]
        for field in ("currentAddress", "mailingAddress", "homeAddress"):
            assert student[field].endswith("****"), field
        assert student["health"] == {"code": "*", "label": "已脱敏"}
        assert student["disability"] == {"code": "*", "label": "已脱敏"}
        assert student["inclusiveEducation"] is None
        for guardian in student["guardians"]:
            assert guardian["idNumber"] in ("*" * 18, None)
            assert "****" in guardian["phone"]
            assert guardian["address"].endswith("****")
    for edge in data["teachers"]["edges"]:
        assert "*" in edge["node"]["idNumber"]
    assert len(await _audit_rows(hub, "county.viewer")) == before


async def test_unmasked_for_a_registrar_and_audited(hub: Hub) -> None:
    before = len(await _audit_rows(hub, "county.registrar"))
    data = await hub.data(
        SENSITIVE, user="county.registrar", headers={"x-hub-purpose": quote("转学审核")}
    )
    students = [e["node"] for e in data["students"]["edges"]]
    for student in students:
        assert ric.is_valid(student["idNumber"])
        assert student["phone"].isdigit()
        assert student["health"]["code"] != "*"
        assert isinstance(student["inclusiveEducation"], bool)
        for guardian in student["guardians"]:
            assert ric.is_valid(guardian["idNumber"])
    # A registrar may not unmask staff data.
    for edge in data["teachers"]["edges"]:
        assert "*" in edge["node"]["idNumber"]
    rows = (await _audit_rows(hub, "county.registrar"))[before:]
    assert len(rows) == 1
    event = rows[0]._mapping
    assert event["action"] == "unmask"
    assert event["resource"] == "student_sensitive"
    assert event["outcome"] == "allowed"
    assert event["operation"] == "Sensitive"
    assert event["purpose"] == "转学审核"
    assert set(event["fields"].split(",")) >= {"idNumber", "phone", "health", "disability"}
    subjects = set(event["subjects"].strip("[]").replace('"', "").split(","))
    assert {s["id"] for s in students} <= subjects
    assert {g["id"] for s in students for g in s["guardians"]} <= subjects
    assert event["scope_path"].startswith(hub.units["county"][2])


async def test_auditors_read_the_log_scoped(hub: Hub) -> None:
    await hub.data(SENSITIVE, user="county.registrar")
    data = await hub.data(
        """{ auditEvents(filter: {username: "county.registrar", action: "unmask"}, first: 5) {
             totalCount edges { node { id username action resource fields scopePath } } } }""",
        user="national.auditor",
    )
    assert data["auditEvents"]["totalCount"] >= 1
    event_id = data["auditEvents"]["edges"][0]["node"]["id"]
    found = await hub.data(
        "query ($id: ID!) { node(id: $id) { id } }", {"id": event_id}, user="national.auditor"
    )
    assert found["node"]["id"] == event_id
    sibling = await hub.data(
        '{ auditEvents(filter: {username: "county.registrar"}) { totalCount } }',
        user="county2.registrar",
    )
    assert sibling["auditEvents"]["totalCount"] == 0


AUDIT_PAGE = """query ($f: AuditEventFilter, $after: String) {
  auditEvents(filter: $f, first: 3, after: $after) {
    totalCount edges { cursor node { id at username action subjects } }
    pageInfo { hasNextPage endCursor } } }"""


async def test_audit_events_newest_first_filtered_by_time_actor_action_and_subject(
    hub: Hub,
) -> None:
    start = dt.datetime.now(dt.UTC)
    first = await hub.data(SENSITIVE, user="county.registrar")
    await hub.data(SENSITIVE, user="county.registrar")
    subject = first["students"]["edges"][0]["node"]["id"]
    mine = {"username": "county.registrar", "action": "unmask", "since": start.isoformat()}
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await hub.data(AUDIT_PAGE, {"f": mine, "after": after}, user="national.auditor"))[
            "auditEvents"
        ]
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == page["totalCount"] >= 2
    ids = [decode_id(e["id"])[1] for e in seen]
    assert ids == sorted(ids, reverse=True), "newest first"
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)
    assert {(e["username"], e["action"]) for e in seen} == {("county.registrar", "unmask")}
    about = await hub.data(AUDIT_PAGE, {"f": {**mine, "subject": subject}}, user="national.auditor")
    naming = [e for e in seen if f'"{subject}"' in e["subjects"]]
    assert about["auditEvents"]["totalCount"] == len(naming) == 2
    assert all(subject in e["node"]["subjects"] for e in about["auditEvents"]["edges"])
    other = await hub.data(AUDIT_PAGE, {"f": {"subject": subject[:-2]}}, user="national.auditor")
    assert other["auditEvents"]["totalCount"] == 0, "a subject matches whole ids only"
    before = await hub.data(
        AUDIT_PAGE,
        {"f": {**mine, "since": None, "until": start.isoformat()}},
        user="national.auditor",
    )
    assert not {e["node"]["id"] for e in before["auditEvents"]["edges"]} & {e["id"] for e in seen}
    for bad, message in (
        ({"since": "2026-01-01T00:00:00"}, "time zone"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "before"),
    ):
        body = await hub.query(AUDIT_PAGE, {"f": bad}, user="national.auditor")
        assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT", body
        assert message in body["errors"][0]["message"]
    listed = await hub.data("{ students(first: 1) { edges { cursor } } }")
    students_cursor = listed["students"]["edges"][0]["cursor"]
    foreign = await hub.query(AUDIT_PAGE, {"after": students_cursor}, user="national.auditor")
    assert foreign["errors"][0]["extensions"]["code"] == "BAD_INPUT"


async def test_audit_rows_cannot_be_changed_or_deleted(hub: Hub) -> None:
    await hub.data(SENSITIVE, user="county.registrar")
    for statement in (
        update(AUDIT).values(outcome="denied"),
        delete(AUDIT),
    ):
        # The trigger refuses on SQLite; on PostgreSQL the hub's role is not even granted it.
        with pytest.raises(Exception, match=r"append-only|permission denied"):
            async with hub.engine.begin() as connection:
                await connection.execute(statement)
    if hub.backend == "postgresql":
        with pytest.raises(Exception, match=r"append-only|permission denied"):
            async with hub.engine.begin() as connection:
                await connection.execute(text("TRUNCATE audit_event"))
    assert await _audit_rows(hub, "county.registrar")


GRANT = """
mutation ($u: String!, $r: String!, $c: String!) {
  grantRole(input: {username: $u, role: $r, orgUnitCode: $c}) {
    grant { role orgUnitCode } errors { field message code } } }
"""
REVOKE = GRANT.replace("grantRole", "revokeRole")


async def test_delegated_grants_stay_inside_the_granter_subtree(hub: Hub) -> None:
    county, county2 = hub.units["county"][1], hub.units["county2"][1]
    province = hub.units["province"][1]

    async def change(document: str, user: str, username: str, role: str, code: str) -> Any:
        data = await hub.data(document, {"u": username, "r": role, "c": code}, user=user)
        return next(iter(data.values()))

    ok = await change(GRANT, "city.admin", "county.viewer", "statistician", county)
    assert ok == {"grant": {"role": "statistician", "orgUnitCode": county}, "errors": []}
    me = await hub.data("{ me { roles grants { role orgUnitCode } } }", user="county.viewer")
    assert {"role": "statistician", "orgUnitCode": county} in me["me"]["grants"]
    again = await change(GRANT, "city.admin", "county.viewer", "statistician", county)
    assert again["errors"][0]["code"] == "CONFLICT"
    above = await change(GRANT, "city.admin", "county.viewer", "viewer", province)
    assert above["errors"][0]["code"] == "NOT_FOUND"  # the province is not visible to a city
    not_admin = await change(GRANT, "county.registrar", "county.viewer", "viewer", county)
    assert not_admin["errors"][0]["code"] == "FORBIDDEN"
    outsider = await change(GRANT, "county.registrar", "county2.registrar", "viewer", county)
    assert outsider["errors"][0]["code"] == "NOT_FOUND"
    unknown_role = await change(GRANT, "city.admin", "county.viewer", "king", county)
    assert unknown_role["errors"][0] == {
        "field": "role",
        "message": unknown_role["errors"][0]["message"],
        "code": "BAD_INPUT",
    }
    revoked = await change(REVOKE, "city.admin", "county.viewer", "statistician", county)
    assert revoked["errors"] == []
    gone = await change(REVOKE, "city.admin", "county.viewer", "statistician", county)
    assert gone["errors"][0]["code"] == "NOT_FOUND"
    me = await hub.data("{ me { roles } }", user="county.viewer")
    assert me["me"]["roles"] == ["viewer"]
    # A county's administrator cannot reach the sibling county.
    cross = await change(GRANT, "county.registrar", "county2.registrar", "viewer", county2)
    assert cross["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND")
    events = [r._mapping for r in await _audit_rows(hub, "city.admin")]
    assert [e["action"] for e in events if e["outcome"] == "allowed"][-2:] == ["grant", "revoke"]
    denied = [r._mapping for r in await _audit_rows(hub, "county.registrar")]
    assert any(e["action"] == "grant" and e["outcome"] == "denied" for e in denied)


async def test_a_unit_whose_code_extends_the_county_code_is_not_in_the_county(hub: Hub) -> None:
    county_id, county_code, county_path = hub.units["county"]
    impostor_path = county_path[:-1] + "9/"  # /…/4401039/: its code starts with the county's
    async with hub.engine.begin() as connection:
        parent = (
            await connection.execute(select(OrgUnit.parent_id).where(OrgUnit.id == county_id))
        ).scalar()
        await connection.execute(
            insert(OrgUnit).values(
                id=900_000,
                code=county_code + "9",
                name="前缀冲突测试单位",
                level=OrgLevel.COUNTY,
                parent_id=parent,
                path=impostor_path,
            )
        )
    try:
        data = await hub.data(
            """query ($c: String!) { orgUnit(code: $c) { code }
                 orgUnits(filter: {level: COUNTY}, first: 500) { edges { node { path } } } }""",
            {"c": county_code + "9"},
            user="county.registrar",
        )
        assert data["orgUnit"] is None
        paths = [e["node"]["path"] for e in data["orgUnits"]["edges"]]
        assert paths == [county_path]
    finally:
        async with hub.engine.begin() as connection:
            await connection.execute(delete(OrgUnit).where(OrgUnit.id == 900_000))


async def test_access_does_not_change_the_statement_count(hub: Hub) -> None:
    """The same query costs the same statements for every tier (a list that comes back empty
    only skips the lists nested under it, so the query keeps one nesting level per list)."""
    document = """{ schools(first: 50) { totalCount edges { node { name
        students(first: 5) { totalCount edges { node { name school { name } } } }
        buildings(first: 3) { totalCount edges { node { name } } } } } } }"""
    counts = {}
    for user in ("national.admin", "county.viewer", "county2.registrar", "school.registrar"):
        await hub.data("{ me { user } }", user=user)
        with hub.counter() as counter:
            await hub.data(document, user=user)
        counts[user] = counter.count
    assert len(set(counts.values())) == 1, counts


async def test_batched_requests_are_refused(hub: Hub) -> None:
    response = await hub.client.post(
        "/graphql",
        json=[{"query": "{ me { user } }"}, {"query": "{ me { user } }"}],
        headers=hub.headers("national.admin"),
    )
    assert response.status_code == 400


PERMISSIONS = "{ me { grants { role path } permissions { resource action paths orgUnitCodes } } }"


async def test_permissions_are_the_policy_file_at_the_viewer_grants(hub: Hub) -> None:
    """``me.permissions`` says what each demo user may do where, as the policy file read
    here gives it for the user's grants (a portal hides a section on it)."""
    lines = (POLICY_DIR / "policy.csv").read_text(encoding="utf-8").splitlines()
    allowed: dict[str, set[tuple[str, str]]] = {}
    for line in lines:
        parts = [p.strip() for p in line.split(",")]
        if parts[0] == "p":
            allowed.setdefault(parts[1], set()).add((parts[2], parts[3]))
    for username, *_rest in DEMO_USERS:
        me = (await hub.data(PERMISSIONS, user=username))["me"]
        expected: dict[tuple[str, str], set[str]] = {}
        for grant in me["grants"]:
            for pair in allowed[grant["role"]]:
                expected.setdefault(pair, set()).add(grant["path"])
        got = {(p["resource"], p["action"]): set(p["paths"]) for p in me["permissions"]}
        # A path under another path of the same permission adds nothing: one prefix is kept.
        for pair, paths in expected.items():
            expected[pair] = {
                p for p in paths if not any(p != q and p.startswith(q) for q in paths)
            }
        assert got == expected, username
        for p in me["permissions"]:
            assert p["orgUnitCodes"] == [path.rstrip("/").split("/")[-1] for path in p["paths"]]
    registrar = (await hub.data(PERMISSIONS, user="county.registrar"))["me"]["permissions"]
    pairs = {(p["resource"], p["action"]) for p in registrar}
    assert ("student", "read") in pairs and ("building", "read") not in pairs
