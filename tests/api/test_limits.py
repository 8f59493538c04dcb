"""Limits and bad input at the edge: query cost, streamed bodies, variables, several
operations, foreign cursors, oversized keys, NUL and lone surrogates, suggestions, media
types and status codes, one failing field among working siblings, the breaker's one trial."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hub.app import BodyLimit, create_app
from hub.settings import Settings
from hub.sources.resilience import BreakerState, CircuitBreaker
from schema.errors import classify
from tests.conftest import Hub

ISSUE_QUERY = "{students(first:100){edges{node{school{students(first:100){edges{node{school{students(first:100){edges{node{name}}}}}}}}}}}}"
REFERENCE_PAGE = """{ schools(first: 500) { edges { node { name
  students(first: 50) { edges { node { name } } } teachers(first: 50) { edges { node { name } } } } } } }"""


@pytest.fixture
async def default_hub(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """The same database behind an app with every default (the suite's hub raises the cost
    budget to read whole counties)."""
    app = create_app(Settings(database_url=hub.url, migration_database_url=hub.owner_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client
    await app.state.hub.close()


async def test_query_cost_refuses_the_million_object_query_and_passes_a_large_page(
    hub: Hub, default_hub: httpx.AsyncClient
) -> None:
    headers = hub.headers("national.admin")
    with hub.counter() as counter:
        refused = (
            await default_hub.post("/graphql", json={"query": ISSUE_QUERY}, headers=headers)
        ).json()
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "1,010,100" in error["message"] and "200,000" in error["message"]
    assert not [s for s in counter.statements if "student" in s]  # refused before SQL
    ok = (
        await default_hub.post("/graphql", json={"query": REFERENCE_PAGE}, headers=headers)
    ).json()
    assert "errors" not in ok and ok["data"]["schools"]["edges"]
    variable = await default_hub.post(
        "/graphql",
        json={
            "query": "query ($n: Int) { students(first: $n) { edges { node { school { students(first: $n) { edges { node { name } } } } } } } }",
            "variables": {"n": 500},
        },
        headers=headers,
    )
    assert variable.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_cheap_request_is_not_held_up_by_a_heavy_one(hub: Hub) -> None:
    """Order of completion, not wall time: a heavy but allowed query and a lookup started
    just after it; the lookup finishes first (the heavy one yields at every batch)."""
    heavy = "{ students(first: 500) { edges { node { name guardians { name } school { name } class { name } } } } }"
    finished: list[str] = []

    async def run(name: str, document: str) -> None:
        await hub.data(document)
        finished.append(name)

    cheap = "{ me { user } }"
    # Once each first: what is raced is serving them, not a process's first parse,
    # validation and plan of each document (which made the order depend on which ran cold).
    await hub.data(heavy)
    await hub.data(cheap)
    first = asyncio.ensure_future(run("heavy", heavy))
    await asyncio.sleep(0)
    await run("cheap", cheap)
    await first
    assert finished == ["cheap", "heavy"]


async def test_a_chunked_body_is_counted_as_it_streams() -> None:
    reached: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(True)

    chunks = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}] * 400
    sent: list[dict[str, Any]] = []

    async def receive() -> Any:
        return chunks.pop() if chunks else {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": [(b"transfer-encoding", b"chunked")]}
    await BodyLimit(app, max_bytes=200_000)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert reached == []
    assert len(chunks) > 190  # it stopped reading at the limit


async def test_graphql_is_served_past_the_framework_with_its_limit_and_a_500(
    tmp_path: Any,
) -> None:
    """POST /graphql goes straight from ``HubApp`` to the endpoint: the body limit still
    holds there, an unexpected exception (here: a database without tables) still answers
    500 and is raised on for the server's log, and the router still answers the path's
    other methods."""
    from sqlalchemy.exc import OperationalError

    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    assert app.graphql is not None
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    def body(content: bytes) -> Any:
        async def receive() -> Any:
            return {"type": "http.request", "body": content, "more_body": False}

        return receive

    scope: dict[str, Any] = {
        "type": "http", "method": "POST", "path": "/graphql", "root_path": "",
        "headers": [(b"content-type", b"application/json")], "query_string": b"",
    }  # fmt: skip
    too_big = b'{"query": "' + b" " * (Settings().max_query_bytes * 10) + b'"}'
    await app(scope, body(too_big), send)
    assert sent[0]["status"] == 413

    sent.clear()
    with pytest.raises(OperationalError, match="no such table"):
        await app(scope, body(b'{"query": "{ __typename }"}'), send)
    assert [m.get("status") for m in sent] == [500, None]
    assert sent[1]["body"] == b"Internal Server Error"

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as client:
        assert (await client.put("/graphql")).status_code == 405
    await app.state.hub.close()


async def test_variables_are_bounded_in_depth_and_count(hub: Hub) -> None:
    nested: Any = "44"
    for _ in range(5000):
        nested = {"a": nested}
    deep = await hub.client.post(
        "/graphql",
        content=b'{"query": "query ($f: StudentFilter) { students(filter: $f) { totalCount } }", "variables": {"f": '
        + b'{"a":' * 5000
        + b"1"
        + b"}" * 5000
        + b"}}",
        headers={**hub.headers("national.admin"), "content-type": "application/json"},
    )
    assert deep.status_code == 400
    assert deep.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    middling = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": 1}}}}}}}}}}}
    body = await hub.client.post(
        "/graphql",
        json={"query": "{ me { user } }", "variables": {"f": middling}},
        headers=hub.headers("national.admin"),
    )
    assert body.status_code == 400 and "nested deeper" in body.json()["errors"][0]["message"]
    many = {f"v{i}": i for i in range(1001)}
    body = await hub.client.post(
        "/graphql",
        json={"query": "{ me { user } }", "variables": many},
        headers=hub.headers("national.admin"),
    )
    assert body.status_code == 400 and "Too many" in body.json()["errors"][0]["message"]


async def test_several_operations_need_an_operation_name(hub: Hub) -> None:
    body = await hub.query("query A { me { user } } query B { me { level } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "operationName" in body["errors"][0]["message"]


async def test_foreign_cursors_are_refused_on_every_list(hub: Hub) -> None:
    pages = await hub.data(
        """{ teachers(first: 1) { pageInfo { endCursor } }
             schools(first: 1) { edges { node { code students(first: 1) { pageInfo { endCursor } } } } } }"""
    )
    teacher_cursor = pages["teachers"]["pageInfo"]["endCursor"]
    school = pages["schools"]["edges"][0]["node"]
    nested_cursor = school["students"]["pageInfo"]["endCursor"]
    # Root connections are non-null: their error nulls data (GraphQL), but it is a BAD_INPUT,
    # whichever field runs first, never an internal error of a poisoned session.
    for document in (
        "query ($c: String) { students(first: 2, after: $c) { totalCount edges { node { id } } } me { user } }",
        "query ($c: String) { me { user } students(first: 2, after: $c) { totalCount edges { node { id } } } }",
    ):
        for cursor in (teacher_cursor, nested_cursor):
            body = await hub.query(document, {"c": cursor})
            assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_INPUT"], body
            assert "another list" in body["errors"][0]["message"]
    # Inside a nullable parent, the siblings keep their data: failing field first and last.
    for document in (
        "query ($c: String, $s: String!) { a: school(code: $s) { teachers(after: $c) { edges { node { id } } } } b: school(code: $s) { name students(first: 1) { totalCount } } }",
        "query ($c: String, $s: String!) { b: school(code: $s) { name students(first: 1) { totalCount } } a: school(code: $s) { teachers(after: $c) { edges { node { id } } } } }",
    ):
        body = await hub.query(document, {"c": nested_cursor, "s": school["code"]})
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_INPUT"], body
        assert body["data"]["a"] is None
        assert body["data"]["b"]["students"]["totalCount"] > 0


LOOKUPS = (
    "query ($v: ID!) { node(id: $v) { id } }",
    "query ($v: String!) { student(studentNumber: $v) { id } }",
    "query ($v: String!) { school(code: $v) { id } }",
    "query ($v: String!) { orgUnit(code: $v) { id } }",
    "query ($v: String) { students(after: $v) { totalCount } }",
    "query ($v: String) { students(filter: {under: $v}) { totalCount } }",
    "query ($v: String) { students(filter: {namePrefix: $v}) { totalCount } }",
    "query ($v: [String!]) { students(filter: {grade: $v}) { totalCount } }",
    "query ($v: ID) { students(filter: {classId: $v}) { totalCount } }",
    "query ($v: String) { buildings(filter: {under: $v}) { totalCount } }",
    "query ($v: String) { assets(filter: {categoryPrefix: $v}) { totalCount } }",
    "query ($v: String) { auditEvents(filter: {username: $v}) { totalCount } }",
)
NASTY = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(["\x00", "\ud800", "a", "4", "/", ":"]), max_size=12),
    st.integers(0, 10**40).map(
        lambda n: base64.urlsafe_b64encode(f"Student:{n}".encode()).decode()
    ),
    st.integers(0, 10**40).map(
        lambda n: base64.urlsafe_b64encode(f"p2:student:{n}:/CN/".encode()).decode()
    ),
    st.integers(0, 10**40).map(str),
)


@settings(
    max_examples=60,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=st.sampled_from(LOOKUPS), value=NASTY)
async def test_no_string_argument_makes_an_internal_error(
    hub: Hub, document: str, value: str
) -> None:
    variables = {"v": [value] if "[String!]" in document else value}
    # json.dumps escapes a lone surrogate (\\ud800); httpx's encoder would refuse to send it.
    response = await hub.client.post(
        "/graphql",
        content=json.dumps({"query": document, "variables": variables}).encode(),
        headers={**hub.headers("national.admin"), "content-type": "application/json"},
    )
    body = response.json()
    for error in body.get("errors", []):
        assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (document, value, body)


def test_production_hides_every_suggestion() -> None:
    from graphql import GraphQLError

    error = GraphQLError(
        "Expected value of type 'StudentFilter' not to include unknown field 'undr'."
        " Did you mean 'under'? Found: { undr: \"44\" }."
    )
    hidden = classify(error, hide_suggestions=True)
    assert "Did you mean" not in hidden.message and "under'" not in hidden.message


async def test_media_types_and_status_codes(hub: Hub) -> None:
    auth = hub.headers("national.admin")
    spec = {"accept": "application/graphql-response+json", **auth}
    ok = await hub.client.post("/graphql", json={"query": "{ me { user } }"}, headers=spec)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")
    for document in (
        "{ me { user ",
        "{ nope }",
        "query ($n: Int!) { students(first: $n) { totalCount } }",
    ):
        bad = await hub.client.post("/graphql", json={"query": document}, headers=spec)
        assert bad.status_code == 400, document
        assert "data" not in bad.json()
        legacy = await hub.client.post("/graphql", json={"query": document}, headers=auth)
        assert legacy.status_code == 200
        assert legacy.headers["content-type"].startswith("application/json")
    anonymous = await hub.client.post(
        "/graphql", json={"query": "{ me { user } }"}, headers={"accept": spec["accept"]}
    )
    assert anonymous.status_code == 401
    refused = await hub.client.post(
        "/graphql", content=b"{}", headers={**auth, "content-type": "text/plain"}
    )
    assert refused.status_code == 415


async def test_the_half_open_breaker_admits_exactly_one_trial() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=1, reset_seconds=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 11.0
    admitted = [breaker.allow() for _ in range(20)]
    assert admitted.count(True) == 1
    breaker.failure()  # the trial failed: open again
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 22.0
    assert breaker.allow() and not breaker.allow()
    breaker.success()
    assert breaker.state.value == "CLOSED" and all(breaker.allow() for _ in range(5))


async def test_metrics_count_requests_and_statements(hub: Hub) -> None:
    await hub.data("{ me { user } }")
    metrics = (await hub.client.get("/metrics")).text
    assert 'eduhub_requests_total{operation_type="query",outcome="ok"}' in metrics
    assert "eduhub_sql_statements_per_request_bucket" in metrics
    assert "eduhub_audit_rows_total" in metrics
