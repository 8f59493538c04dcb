"""Students: keyset pagination, filters and nested lists agree with the data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hub.db.base import table_of
from hub.students.models import Student
from tests.conftest import DEMO_STUDENTS, Hub

STUDENT = table_of(Student)

PAGE = """
query ($after: String) {
  students(first: 500, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id } }
  }
}
"""


async def _sql_count(hub: Hub, *conditions: Any) -> int:
    async with hub.engine.connect() as connection:
        value = (
            await connection.execute(select(func.count()).select_from(STUDENT).where(*conditions))
        ).scalar()
    return int(value or 0)


async def test_walking_all_pages_returns_every_student_once(hub: Hub) -> None:
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        data = (await hub.data(PAGE, {"after": after}))["students"]
        assert data["totalCount"] == DEMO_STUDENTS
        assert data["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen.extend(edge["node"]["id"] for edge in data["edges"])
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
        assert after == data["edges"][-1]["cursor"]
    assert pages == -(-DEMO_STUDENTS // 500)
    assert len(seen) == len(set(seen)) == DEMO_STUDENTS


async def test_filters_match_sql_counts(hub: Hub) -> None:
    cases: list[tuple[str, list[Any]]] = [
        ('{grade: ["11", "12"]}', [STUDENT.c.grade_code.in_(["11", "12"])]),
        ('{sex: "2"}', [STUDENT.c.sex_code == "2"]),
        ("{migrantChild: true}", [STUDENT.c.migrant_child.is_(True)]),
        ('{leftBehind: ["1", "2"]}', [STUDENT.c.left_behind_code.in_(["1", "2"])]),
        ('{status: ["02"]}', [STUDENT.c.status_code == "02"]),
        (
            "{needsAid: true, migrantChild: false}",
            [STUDENT.c.needs_aid.is_(True), STUDENT.c.migrant_child.is_(False)],
        ),
        ('{namePrefix: "王"}', [STUDENT.c.name.startswith("王")]),
    ]
    for filter_text, conditions in cases:
        data = await hub.data(f"{{ students(filter: {filter_text}, first: 0) {{ totalCount }} }}")
        expected = await _sql_count(hub, *conditions)
        assert data["students"]["totalCount"] == expected, filter_text
        assert expected > 0, f"the demo data should exercise {filter_text}"


async def test_filter_under_a_county_stays_in_the_county(hub: Hub) -> None:
    county = (
        await hub.data(
            "{ orgUnits(filter: {level: COUNTY}, first: 1) { edges { node { code path } } } }"
        )
    )["orgUnits"]["edges"][0]["node"]
    data = await hub.data(
        """query ($c: String!) { students(filter: {under: $c}, first: 200) { totalCount
             edges { node { school { orgUnit { parent { code } } } } } } }""",
        {"c": county["code"]},
    )
    assert data["students"]["totalCount"] == await _sql_count(
        hub, STUDENT.c.path.startswith(county["path"])
    )
    for edge in data["students"]["edges"]:
        assert edge["node"]["school"]["orgUnit"]["parent"]["code"] == county["code"]


async def test_nested_students_filtered_by_grade_and_class(hub: Hub) -> None:
    data = await hub.data(
        """{ schools(first: 5) { edges { node { classes { id name grade { code } size
               students(first: 100) { totalCount edges { node { className grade { code } } } } }
             students(filter: {grade: ["11"]}, first: 500) { totalCount edges { node { grade { code } } } } } } } }"""
    )
    for school in (e["node"] for e in data["schools"]["edges"]):
        grade_one = sum(c["size"] for c in school["classes"] if c["grade"]["code"] == "11")
        assert school["students"]["totalCount"] == grade_one
        assert all(e["node"]["grade"]["code"] == "11" for e in school["students"]["edges"])
        for klass in school["classes"]:
            students = klass["students"]
            assert students["totalCount"] == klass["size"]
            assert all(e["node"]["className"] == klass["name"] for e in students["edges"])
    klass = data["schools"]["edges"][0]["node"]["classes"][0]
    by_class = await hub.data(
        "query ($id: ID!) { students(filter: {classId: $id}) { totalCount } }", {"id": klass["id"]}
    )
    assert by_class["students"]["totalCount"] == klass["size"]


async def test_nested_pages_continue_after_a_cursor(hub: Hub) -> None:
    first = await hub.data(
        "{ schools(first: 1) { edges { node { code students(first: 10) { totalCount pageInfo { endCursor } edges { node { id } } } } } } }"
    )
    school = first["schools"]["edges"][0]["node"]
    cursor = school["students"]["pageInfo"]["endCursor"]
    second = await hub.data(
        """query ($code: String!, $after: String!) { school(code: $code) {
             students(first: 10, after: $after) { pageInfo { hasPreviousPage } edges { node { id } } } } }""",
        {"code": school["code"], "after": cursor},
    )
    first_ids = {e["node"]["id"] for e in school["students"]["edges"]}
    second_ids = {e["node"]["id"] for e in second["school"]["students"]["edges"]}
    assert len(second_ids) == 10
    assert not first_ids & second_ids
    assert second["school"]["students"]["pageInfo"]["hasPreviousPage"] is True
