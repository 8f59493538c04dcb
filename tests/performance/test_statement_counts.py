"""SQL statements per request follow the shape of the query, never the number of rows."""

from __future__ import annotations

import pytest

from tests.conftest import Hub

ORG_UNIT_SCHOOLS_STUDENTS_GUARDIANS = """
query ($n: Int!) {
  orgUnit(code: "44") {
    name
    schools(first: $n) {
      totalCount
      edges { node { name students(first: 3) { totalCount edges { node {
        name sex { label } guardians { name relationship { label } phone } } } } } }
    }
  }
}
"""

SCHOOL_BUILDINGS_ASSETS = """
query ($n: Int!) {
  schools(first: $n) {
    edges { node { code buildings(first: 10) { totalCount edges { node {
      name dangerRating { code } assets(first: 5) { totalCount edges { node {
        name category { label } building { name } } } } } } } } }
  }
}
"""

STUDENTS_SCHOOL_ORG_UNIT = """
query ($n: Int!) {
  students(first: $n) {
    totalCount
    edges { node { studentNumber className school { name orgUnit { name parent { name
      parent { name } } } } guardians { name } } }
  }
}
"""

BUILDINGS_SCHOOL_ASSETS = """
query ($n: Int!) {
  buildings(first: $n, filter: {dangerRating: ["A", "B", "C", "D"]}) {
    edges { node { name school { name classes { name size } } assets { totalCount } } }
  }
}
"""


def _count_rows(data: object) -> int:
    """Number of objects in a response (proves bigger pages really returned more rows)."""
    if isinstance(data, dict):
        return 1 + sum(_count_rows(v) for v in data.values())
    if isinstance(data, list):
        return sum(_count_rows(v) for v in data)
    return 0


@pytest.mark.parametrize(
    "document",
    [
        ORG_UNIT_SCHOOLS_STUDENTS_GUARDIANS,
        SCHOOL_BUILDINGS_ASSETS,
        STUDENTS_SCHOOL_ORG_UNIT,
        BUILDINGS_SCHOOL_ASSETS,
    ],
    ids=[
        "orgunit-schools-students-guardians",
        "school-buildings-assets",
        "students-school-orgunit",
        "buildings-school-assets",
    ],
)
async def test_statement_count_is_independent_of_rows(hub: Hub, document: str) -> None:
    counts: dict[int, int] = {}
    statements: dict[int, list[str]] = {}
    sizes: dict[int, int] = {}
    await hub.warm()  # identity is cached for the requests counted below
    for n in (1, 50, 500):
        with hub.counter() as counter:
            data = await hub.data(document, {"n": n})
        counts[n] = counter.count
        statements[n] = [s[:80] for s in counter.statements]
        sizes[n] = _count_rows(data)
    assert sizes[1] < sizes[50] < sizes[500], sizes
    assert counts[1] == counts[50] == counts[500], statements


async def test_nested_query_statement_budget(hub: Hub) -> None:
    """org unit, schools page and count, students page and count, guardians: one read (the
    compiled statement; the resolvers would send six), whatever the number of schools, plus
    the audit of the unmasked phones.

    The first request of a shape is planned and audited in its own transaction: the chain's
    head is taken (locked), then the rows go in and the head moves (on PostgreSQL in one
    data-modifying WITH, on SQLite in two statements). A request served from the cached
    plan hands its rows to the audit writer: on PostgreSQL one compare-and-swap statement
    (after a read of the head if the writer does not know it yet, or another path moved
    it), on SQLite the same transaction."""
    await hub.warm()  # identity is cached for the requests counted below
    variables = {"n": 50, "fresh": "budget"}  # a variable no other test sends: a new shape
    counted = []
    for _ in range(2):
        with hub.counter() as counter:
            body = await hub.query(ORG_UNIT_SCHOOLS_STUDENTS_GUARDIANS, variables)
        assert "errors" not in body, body
        counted.append((body["extensions"]["readPath"].get("cached", False), counter.statements))
    assert [cached for cached, _ in counted] == [False, True]
    for cached, statements in counted:
        audit = [s for s in statements if "audit_chain" in s or "audit_event" in s]
        reads = [s for s in statements if s not in audit]
        assert len(reads) == 1 and reads[0].lstrip().upper().startswith("SELECT"), statements
        shapes = [s.split()[:3] for s in audit]
        if hub.backend == "sqlite":
            expected = [
                ["UPDATE", "audit_chain", "SET"],
                ["INSERT", "INTO", "audit_event"],
                ["UPDATE", "audit_chain", "SET"],
            ]
            assert shapes == expected, audit
        elif not cached:
            assert shapes == [["UPDATE", "audit_chain", "SET"], ["WITH", "added", "AS"]], audit
        else:
            assert shapes[-1] == ["WITH", "moved", "AS"], audit
            # A swap; a read of the head and a swap (the writer's first append); or a swap
            # lost to another path, a read and a swap.
            assert len(shapes) in (1, 2, 3), audit


async def test_a_request_from_a_cached_plan_takes_nothing_from_the_engines_pool(hub: Hub) -> None:
    """On PostgreSQL the compiled read path's statement and the audit writer's append go
    through asyncpg's own pool (``hub.db.driver.DriverPool``): a request answered from a
    cached plan, audited, opens no SQLAlchemy session and checks out no connection of the
    engine's pool, yet its statements are counted and its audit rows are written. SQLite
    has no such pool: there the session's connection serves it."""
    from sqlalchemy import event

    await hub.warm()
    variables = {"n": 5, "fresh": "driver-pool"}
    first = await hub.query(ORG_UNIT_SCHOOLS_STUDENTS_GUARDIANS, variables)
    assert "errors" not in first, first
    checkouts: list[object] = []

    def checked_out(*_args: object) -> None:
        checkouts.append(_args[0])

    pool = hub.engine.sync_engine.pool
    event.listen(pool, "checkout", checked_out)
    try:
        with hub.counter() as counter:
            body = await hub.query(ORG_UNIT_SCHOOLS_STUDENTS_GUARDIANS, variables)
    finally:
        event.remove(pool, "checkout", checked_out)
    assert "errors" not in body and body["data"] == first["data"], body
    assert body["extensions"]["readPath"].get("cached") is True, body["extensions"]
    assert any(s.lstrip().upper().startswith("SELECT") for s in counter.statements)
    assert any("audit_event" in s for s in counter.statements), counter.statements
    if hub.backend == "postgresql":
        assert checkouts == [], counter.statements
    else:
        assert len(checkouts) >= 1


async def test_a_planned_statement_sends_only_the_requests_variables(hub: Hub) -> None:
    """On PostgreSQL a cached plan's statement has its constants (JSON keys, code labels,
    masks, the document's own literals) written into its text: the only parameters sent
    with each execution are the values the request's variables fill (a lookup's key). On
    SQLite the statement goes through SQLAlchemy with every value bound, as before."""
    import re

    found = await hub.data("{ students(first: 1) { edges { node { studentNumber } } } }")
    number = found["students"]["edges"][0]["node"]["studentNumber"]
    lookup = "query ($n: String!) { student(studentNumber: $n) { name sex { code label } } }"
    first = await hub.query(lookup, {"n": number})
    with hub.counter() as counter:
        body = await hub.query(lookup, {"n": number})
    assert "errors" not in body and body["data"] == first["data"], body
    assert body["extensions"]["readPath"].get("cached") is True, body["extensions"]
    (read,) = [s for s in counter.statements if "json" in s and s.lstrip().startswith("SELECT")]
    if hub.backend == "postgresql":
        assert set(re.findall(r"\$\d+", read)) == {"$1"}, read  # the student number
        assert "'label'" in read and "'code'" in read, read  # the constants, as text
    else:
        assert "?" in read, read


PAGE_OF_500 = """
{ students(first: 500) { edges { cursor node { id studentNumber name sex { code label }
  grade { code label } school { code name }
  guardians { name relationship { code label } phone idNumber }
  statusChanges { type { code label } reason toSchool { name } } } } } }
"""


async def test_a_500_row_page_with_two_nested_lists_stays_in_bounded_memory(hub: Hub) -> None:
    """The compiled read path holds a page as the database's JSON text, not as Python
    objects per field: 500 students with their guardians and status changes, read by a
    registrar (unmasked, so audited), grow the process by well under 50 MB."""
    import gc
    import tracemalloc

    await hub.data(PAGE_OF_500, user="county.registrar")  # planned, principal cached
    gc.collect()
    tracemalloc.start()
    try:
        body = await hub.query(PAGE_OF_500, user="county.registrar")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body["extensions"]["readPath"]["servedBy"] == "planner"
    edges = body["data"]["students"]["edges"]
    assert len(edges) == 500
    assert sum(len(e["node"]["guardians"]) for e in edges) > 500
    assert peak < 50 * 1024 * 1024, f"{peak / 1024 / 1024:.1f} MB"
    print(f"peak Python allocation for a 500-row page: {peak / 1024 / 1024:.1f} MB")
