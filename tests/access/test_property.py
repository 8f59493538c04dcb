"""Property: for random users (random roles at random units), the rows the SQL scope returns
are exactly the rows per-row Casbin ``enforce`` allows: lists, counts, nested edges, node."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hub.access.policy import ROLES, Assignment, build_enforcer
from hub.db.base import table_of
from hub.ids import decode_id, encode_id
from hub.students.models import Student
from tests.conftest import Hub
from tests.fixtures.users import make_user

# list field, its resource, the table, the GraphQL type name
LISTS = (
    ("students", "student", "student", "Student"),
    ("schools", "school", "school", "School"),
    ("teachers", "teacher", "teacher", "Teacher"),
    ("buildings", "building", "building", "Building"),
    ("assets", "asset", "asset", "Asset"),
    ("orgUnits", "org_unit", "org_unit", "OrgUnit"),
)
_rows: dict[str, dict[str, list[tuple[int, str]]]] = {}
_users = itertools.count(1)


async def rows_of(hub: Hub) -> dict[str, list[tuple[int, str]]]:
    """(id, path) of every row of the listed tables, read once per database."""
    if hub.url not in _rows:
        found: dict[str, list[tuple[int, str]]] = {}
        async with hub.engine.connect() as connection:
            for _field, _resource, table, _type in LISTS:
                t = table_of_name(table)
                result = await connection.execute(select(t.c.id, t.c.path).order_by(t.c.id))
                found[table] = [(row[0], row[1]) for row in result.all()]
        _rows[hub.url] = found
    return _rows[hub.url]


def table_of_name(name: str) -> Any:
    from hub.db.models import Base

    return Base.metadata.tables[name]


async def students_by_school(hub: Hub) -> dict[int, list[tuple[int, str]]]:
    grouped: dict[int, list[tuple[int, str]]] = defaultdict(list)
    student = table_of(Student)
    async with hub.engine.connect() as connection:
        result = await connection.execute(select(student.c.school_id, student.c.id, student.c.path))
        for school_id, pk, path in result.all():
            grouped[school_id].append((pk, path))
    return grouped


@settings(
    max_examples=12,
    # No explain phase: it re-runs a failing case many times over HTTP and a database.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_sql_scope_equals_per_row_enforce(hub: Hub, data: st.DataObject) -> None:
    rows = await rows_of(hub)
    units = rows["org_unit"]
    grants = data.draw(
        st.lists(
            st.tuples(st.sampled_from(ROLES), st.sampled_from(units)),
            max_size=3,
            unique_by=lambda grant: (grant[0], grant[1][0]),  # a role is held once per unit
        ),
        label="grants",
    )
    username = f"prop.{hub.backend}.{next(_users)}"
    home = grants[0][1] if grants else units[0]
    await make_user(hub.engine, username, home[0], [(role, unit[0]) for role, unit in grants])
    enforcer = build_enforcer([Assignment(username, role, unit[1]) for role, unit in grants])
    decisions: dict[tuple[str, str], bool] = {}

    def allowed(resource: str, path: str) -> bool:
        key = (resource, path)
        if key not in decisions:
            decisions[key] = bool(enforcer.enforce(username, path, resource, "read"))
        return decisions[key]

    document = (
        "{ "
        + " ".join(
            f"{field}(first: 500) {{ totalCount edges {{ node {{ id }} }} }}" for field, *_ in LISTS
        )
        + " }"
    )
    result = await hub.data(document, user=username)
    for field, resource, table, _type in LISTS:
        # Top-level lists are ordered by (path, id): a subtree is one index range.
        ordered = sorted(rows[table], key=lambda row: (row[1].encode(), row[0]))
        expected = [pk for pk, path in ordered if allowed(resource, path)]
        got = [decode_id(e["node"]["id"])[1] for e in result[field]["edges"]]
        assert result[field]["totalCount"] == len(expected), (field, grants)
        assert got == expected[:500], (field, grants)

    # Nested edges: each visible school's students.
    nested = await hub.data(
        "{ schools(first: 500) { edges { node { id students(first: 0) { totalCount } } } } }",
        user=username,
    )
    by_school = await students_by_school(hub)
    for edge in nested["schools"]["edges"]:
        school_pk = decode_id(edge["node"]["id"])[1]
        expected_count = sum(1 for _pk, path in by_school[school_pk] if allowed("student", path))
        assert edge["node"]["students"]["totalCount"] == expected_count

    # node(id:) on a few rows inside and outside the scope.
    picks = data.draw(
        st.lists(st.sampled_from(rows["student"] + rows["school"][:50]), min_size=1, max_size=4),
        label="nodes",
    )
    for pk, path in picks:
        type_name, resource = (
            ("Student", "student") if (pk, path) in rows["student"] else ("School", "school")
        )
        found = await hub.data(
            "query ($id: ID!) { node(id: $id) { id } }",
            {"id": encode_id(type_name, pk)},
            user=username,
        )
        assert (found["node"] is not None) == allowed(resource, path), (type_name, pk, grants)
