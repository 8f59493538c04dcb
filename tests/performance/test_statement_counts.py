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
    await hub.data("{ me { user } }")  # identity is cached after the first request
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
    the audit of the unmasked phones: one insert between taking and moving the head of the
    hash chain."""
    await hub.data("{ me { user } }")  # identity is cached after the first request
    with hub.counter() as counter:
        await hub.data(ORG_UNIT_SCHOOLS_STUDENTS_GUARDIANS, {"n": 50})
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    writes = [s for s in counter.statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    # The chain's head is taken (locked), then the rows go in and the head moves: on
    # PostgreSQL in one statement (a data-modifying WITH), on SQLite in two.
    appended = (
        [["WITH", "added", "AS"]]
        if hub.backend == "postgresql"
        else [["INSERT", "INTO", "audit_event"], ["UPDATE", "audit_chain", "SET"]]
    )
    assert [w.split()[:3] for w in writes] == [["UPDATE", "audit_chain", "SET"], *appended], writes
