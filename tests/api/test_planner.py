"""The compiled read path against the resolvers: the same request, answered with the planner
on and off over the same database, gives byte-identical ``data`` and the same errors, for
random selections, filters, pages and users of every level; the planner sends one statement
per store root field."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, cast, func, literal, select, update

from hub.access.models import AuditEvent
from hub.app import create_app
from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.students.models import Student
from resolvers.plan.sqljson import Json
from tests.conftest import Hub

STUDENT = table_of(Student)
AUDIT = table_of(AuditEvent)
USERS = (
    "national.admin",
    "national.auditor",
    "province.admin",
    "city.admin",
    "county.registrar",
    "county.viewer",
    "county2.registrar",
)
STUDENT_FIELDS = (
    "id",
    "__typename",
    "studentNumber",
    "name",
    "namePinyin",
    "formerName",
    "birthDate",
    "localNumber",
    "postcode",
    "enrolledOn",
    "inClassNumber",
    "onlyChild",
    "migrantChild",
    "orphan",
    "needsAid",
    "sex { code label }",
    "ethnicity { code label }",
    "grade { code label }",
    "status { code label }",
    "leftBehind { code }",
    "idType { label }",
    "birthplace { code label }",
    "householdPlace { label }",
    "idNumber",
    "phone",
    "email",
    "homeAddress",
    "currentAddress",
    "health { code label }",
    "disability { code label }",
    "inclusiveEducation",
    "school { id code name type { code label } urbanRural { label } }",
    "guardians { id name isGuardian employer relationship { code label } phone idNumber address }",
)
FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"grade": ["11", "12"]},
    {"sex": "2"},
    {"namePrefix": "陈"},
    {"status": ["1"]},
    {"migrantChild": True},
    {"under": "COUNTY"},
    {"under": "COUNTY2"},
    {"grade": ["99"]},  # an unknown code: BAD_INPUT from both paths
    {"disability": ["1"]},  # FORBIDDEN for masked readers on both paths
)


@pytest.fixture
async def resolvers_only(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    """The same hub with the planner off: the reference answers."""
    app = create_app(hub.settings.model_copy(update={"planner": "off"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client
    await app.state.hub.close()


@pytest.fixture
async def owner(hub: Hub) -> AsyncIterator[Any]:
    """The database as its owner sees it (to read what a request wrote to the audit log)."""
    engine = make_engine(hub.owner_url)
    yield engine
    await engine.dispose()


async def _both(
    hub: Hub,
    reference: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    user: str,
    owner: Any = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answers of both paths; with ``owner``, also that both wrote the same audit rows
    (unmasked reads, lookups by G numbers)."""
    body = {"query": query, "variables": variables}
    headers = hub.headers(user)
    before = await _audit_count(owner) if owner is not None else 0
    planned = (await hub.client.post("/graphql", json=body, headers=headers)).json()
    if owner is not None:
        planned_audit = await _audit_since(owner, before)
        before = await _audit_count(owner)
    resolved = (await reference.post("/graphql", json=body, headers=headers)).json()
    if owner is not None:
        assert planned_audit == await _audit_since(owner, before), (query, user)
    return planned, resolved


def _same(planned: dict[str, Any], resolved: dict[str, Any]) -> None:
    # Byte-identical data (key order included) and the same errors.
    assert json.dumps(planned.get("data"), ensure_ascii=False) == json.dumps(
        resolved.get("data"), ensure_ascii=False
    )
    assert [(e["message"], e.get("path")) for e in planned.get("errors", [])] == [
        (e["message"], e.get("path")) for e in resolved.get("errors", [])
    ]


def _query(fields: list[str], connection: list[str], aliased: bool, fragment: bool) -> str:
    node = " ".join(fields) or "name"
    if fragment and "edges" in connection:
        body = "...F"
        tail = f" fragment F on Student {{ {node} }}"
    else:
        body, tail = node, ""
    parts = []
    for part in connection:
        if part == "edges":
            parts.append(f"edges {{ cursor node {{ {body} }} }}")
        elif part == "pageInfo":
            parts.append("pageInfo { hasNextPage hasPreviousPage startCursor endCursor }")
        else:
            parts.append(part)
    alias = "list: " if aliased else ""
    return (
        "query ($f: StudentFilter, $first: Int, $after: String) {"
        f" {alias}students(filter: $f, first: $first, after: $after) {{ {' '.join(parts)} }}"
        f" }}{tail}"
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_random_student_queries_answer_alike_through_both_paths(
    hub: Hub, resolvers_only: httpx.AsyncClient, owner: Any, data: st.DataObject
) -> None:
    user = data.draw(st.sampled_from(USERS), label="user")
    fields = data.draw(st.lists(st.sampled_from(STUDENT_FIELDS), unique=True, max_size=12))
    connection = data.draw(
        st.lists(
            st.sampled_from(("edges", "totalCount", "pageInfo", "__typename")),
            unique=True,
            min_size=1,
        )
    )
    spec = dict(data.draw(st.sampled_from(FILTERS), label="filter"))
    if spec.get("under") == "COUNTY":
        spec["under"] = hub.units["county"][1]
    elif spec.get("under") == "COUNTY2":
        spec["under"] = hub.units["county2"][1]
    first = data.draw(st.sampled_from((None, 0, 1, 3, 17)), label="first")
    query = _query(fields, connection, data.draw(st.booleans()), data.draw(st.booleans()))
    variables: dict[str, Any] = {"f": spec, "first": first, "after": None}
    planned, resolved = await _both(hub, resolvers_only, query, variables, user, owner)
    _same(planned, resolved)
    # The next page, from the planner's own end cursor.
    end = (
        (
            (planned.get("data") or {}).get("list")
            or (planned.get("data") or {}).get("students")
            or {}
        )
        .get("pageInfo", {})
        .get("endCursor")
    )
    if end:
        planned, resolved = await _both(
            hub, resolvers_only, query, {**variables, "after": end}, user
        )
        _same(planned, resolved)
    # Every user is planned, those who may unmask included (their reads audited alike).
    if "errors" not in planned:
        assert planned["extensions"]["readPath"]["servedBy"] == "planner", planned["extensions"]


async def test_lookups_and_fallbacks_answer_alike(
    hub: Hub, resolvers_only: httpx.AsyncClient, owner: Any
) -> None:
    listed = await hub.data(
        "query ($c: String!) { students(filter: {under: $c}, first: 2) {"
        " edges { node { studentNumber } } } }",
        {"c": hub.units["county"][1]},
    )
    number = listed["students"]["edges"][0]["node"]["studentNumber"]
    cases = [
        ("query ($n: String!) { student(studentNumber: $n) { name school { code } } }", "planner"),
        (
            "query ($n: String!) { s: student(studentNumber: $n) { __typename id grade { label } }"
            ' none: student(studentNumber: "L9999999999999999") { id } }',
            "planner",
        ),
        (
            "query ($n: String!) { student(studentNumber: $n) { name statusChanges { reason"
            " type { label } toSchool { code } } class { name size } className } }",
            "planner",
        ),
        (
            "query ($n: String!) { student(studentNumber: $n) { name idNumber phone"
            " guardians { phone } } schools(first: 1) { totalCount } }",
            "planner",
        ),
        (  # a root the planner does not cover is resolved beside the planned one
            "query ($n: String!) { me { user } student(studentNumber: $n) { name } }",
            "planner+resolvers",
        ),
        (
            'query ($n: String!) { student(studentNumber: $n) { name } bad: student(studentNumber: "x") { name } }',
            "resolvers",
        ),
    ]
    # A G number (a citizen ID) is audited, found or not, on both paths; an L number (a
    # temporary one, given here to the same pupil for the test) is plain.
    temporary = "L" + number[-17:]
    unknown = number[:-1] + ("1" if number[-1] == "0" else "0")  # a G number nobody holds
    try:
        async with owner.begin() as connection:
            await connection.execute(
                update(STUDENT)
                .where(STUDENT.c.student_number == number)
                .values(student_number=temporary)
            )
        for query, expected in cases:
            for user in ("county.viewer", "county2.registrar", "county.registrar"):
                for lookup in (temporary, number, unknown):
                    planned, resolved = await _both(
                        hub, resolvers_only, query, {"n": lookup}, user, owner
                    )
                    _same(planned, resolved)
                    served = planned["extensions"]["readPath"]["servedBy"]
                    assert served == expected, (query, lookup, planned)
        found = await hub.data(
            "query ($n: String!) { student(studentNumber: $n) { studentNumber } }",
            {"n": temporary},
            user="county.viewer",
        )
        assert found["student"] == {"studentNumber": temporary}  # L numbers are not masked
        # The planner's own audit, not only its agreement with the resolvers': a registrar
        # who reads an ID unmasked is recorded with the subject and the field.
        before = await _audit_count(owner)
        read = await hub.query(
            "query ($n: String!) { student(studentNumber: $n) { id idNumber } }",
            {"n": temporary},
            user="county.registrar",
        )
        assert read["extensions"]["readPath"]["servedBy"] == "planner"
        assert "*" not in read["data"]["student"]["idNumber"]
        audit = await _audit_since(owner, before)
        assert [(a[0], a[1], a[3], a[4]) for a in audit] == [
            ("unmask", "student_sensitive", "idNumber", f'["{read["data"]["student"]["id"]}"]')
        ]
    finally:
        async with owner.begin() as connection:
            await connection.execute(
                update(STUDENT)
                .where(STUDENT.c.student_number == temporary)
                .values(student_number=number)
            )


async def test_codes_outside_their_set_and_codes_aliased_answer_alike(
    hub: Hub, resolvers_only: httpx.AsyncClient, owner: Any
) -> None:
    """A code object is a constant per member of its set on PostgreSQL (picked per row) and
    built per row otherwise: a code outside its set, a missing one, aliases, ``__typename``
    and a masked code give the same data as the resolvers'."""
    listed = await hub.data(
        "query ($c: String!) { students(filter: {under: $c}, first: 2) {"
        " edges { node { studentNumber } } } }",
        {"c": hub.units["county"][1]},
    )
    first, second = (e["node"]["studentNumber"] for e in listed["students"]["edges"])
    query = (
        "query ($a: String!, $b: String!) {"
        " a: student(studentNumber: $a) { sex { __typename c: code l: label code }"
        " grade { label } ethnicity { code } health { label code } }"
        " b: student(studentNumber: $b) { sex { code label } ethnicity { code label } } }"
    )
    async with owner.connect() as connection:
        kept = (
            await connection.execute(
                select(
                    STUDENT.c.student_number,
                    STUDENT.c.sex_code,
                    STUDENT.c.grade_code,
                    STUDENT.c.ethnicity_code,
                ).where(STUDENT.c.student_number.in_([first, second]))
            )
        ).all()
    try:
        async with owner.begin() as connection:
            await connection.execute(
                update(STUDENT)
                .where(STUDENT.c.student_number == first)
                .values(sex_code="7", grade_code="99", ethnicity_code='"\\')  # none in its set
            )
            await connection.execute(
                update(STUDENT)
                .where(STUDENT.c.student_number == second)
                .values(ethnicity_code=None)
            )
        for user in ("county.viewer", "county.registrar", "national.admin"):
            planned, resolved = await _both(
                hub, resolvers_only, query, {"a": first, "b": second}, user, owner
            )
            _same(planned, resolved)
            assert planned["extensions"]["readPath"]["servedBy"] == "planner"
        a, b = planned["data"]["a"], planned["data"]["b"]
        assert a["sex"] == {"__typename": "Code", "c": "7", "l": "未知代码", "code": "7"}
        assert a["grade"] == {"label": "未知代码"} and a["ethnicity"] == {"code": '"\\'}
        assert b["ethnicity"] is None
        assert b["sex"]["label"] in {"男", "女", "未知的性别", "未说明的性别"}
    finally:
        async with owner.begin() as connection:
            for number, sex, grade, ethnicity in kept:
                await connection.execute(
                    update(STUDENT)
                    .where(STUDENT.c.student_number == number)
                    .values(sex_code=sex, grade_code=grade, ethnicity_code=ethnicity)
                )


async def test_json_constants_are_written_as_postgresql_writes_json(hub: Hub) -> None:
    """A JSON constant against ``json_build_object``'s own text, for every character
    PostgreSQL escapes and a few it does not, in objects of one pair and of two."""
    if hub.backend != "postgresql":
        assert Json("sqlite").constant([("code", "1")]) is None  # SQLite builds objects per row
        return
    samples = [
        "plain",
        '引号"和\\反斜杠',
        "\b\f\n\r\t",
        "".join(chr(i) for i in range(1, 32)),
        "\x7f€𝄞",
    ]
    async with hub.engine.connect() as connection:
        for sample in samples:
            for pairs in ([("k", sample)], [("code", "1"), (sample, sample)]):
                arguments = [cast(literal(part), Text) for pair in pairs for part in pair]
                built = func.json_build_object(*arguments).cast(Text)
                written = (await connection.execute(select(built))).scalar_one()
                constant = Json("postgresql").constant(pairs)
                assert constant is not None
                assert (await connection.execute(select(constant.cast(Text)))).scalar_one() == (
                    written
                )


async def _audit_count(owner: Any) -> int:
    async with owner.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(AUDIT))).scalar())


async def _audit_since(owner: Any, count: int) -> list[tuple[Any, ...]]:
    """The audit rows written after the first ``count`` (what one request recorded)."""
    columns = (AUDIT.c.action, AUDIT.c.resource, AUDIT.c.outcome, AUDIT.c.fields)
    statement = select(*columns, AUDIT.c.subjects, AUDIT.c.scope_path).order_by(AUDIT.c.id)
    async with owner.connect() as connection:
        rows = (await connection.execute(statement.offset(count))).all()
    return [tuple(r) for r in rows]


async def test_one_statement_per_store_root_field(hub: Hub) -> None:
    query = """{ a: students(first: 50) { totalCount edges { cursor node { name
      sex { label } school { name } guardians { name phone } } } pageInfo { hasNextPage } }
      b: students(first: 5, filter: {grade: ["11"]}) { totalCount } }"""
    await hub.warm("county.viewer")  # the principal is cached for what is counted below
    await hub.data(query, user="county.viewer")
    with hub.counter() as counter:
        body = await hub.query(query, user="county.viewer")
    # The second time, the plan of the first: no planning, no SQLAlchemy compilation.
    assert body["extensions"]["readPath"] == {"servedBy": "planner", "cached": True}
    assert len(body["data"]["a"]["edges"]) == 50
    reads = [s for s in counter.statements if "student" in s and "audit" not in s]
    assert len(reads) == 1, counter.statements


# --- random queries over the whole store schema ------------------------------------------

ROOTS = ("orgUnits", "schools", "students", "teachers", "buildings", "assets", "auditEvents")
SKIPPED_TYPES = ("Viewer", "SourceStatus", "MappingReport", "AuditEvent")


def _schema(hub: Hub) -> Any:
    from schema import build_schema

    return build_schema(hub.settings)._schema


def _selection(draw: Any, schema: Any, type_name: str, depth: int) -> str:
    """A random selection of ``type_name``: scalars, codes, objects, lists and nested
    connections, ``depth`` levels of objects at most."""
    from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type

    graphql_type = schema.get_type(type_name)
    names = sorted(graphql_type.fields)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=8))
    parts = []
    for name in chosen:
        field = graphql_type.fields[name]
        named = get_named_type(field.type)
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        if not isinstance(named, GraphQLObjectType):
            parts.append(name)
        elif named.name == "Code":
            parts.append(f"{name} {{ code label }}")
        elif named.name in SKIPPED_TYPES:
            continue
        elif named.name.endswith("Connection"):
            if depth == 0:
                parts.append(f"{name}(first: 1) {{ totalCount }}")
                continue
            node = named.fields["edges"].type.of_type.of_type.of_type.fields["node"]
            inner = _selection(draw, schema, get_named_type(node.type).name, depth - 1)
            first = draw(st.sampled_from((0, 1, 2, 5)))
            pieces = draw(
                st.lists(
                    st.sampled_from(
                        (
                            "totalCount",
                            f"edges {{ cursor node {{ {inner} }} }}",
                            "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }",
                        )
                    ),
                    unique=True,
                    min_size=1,
                )
            )
            parts.append(f"{name}(first: {first}) {{ {' '.join(pieces)} }}")
        elif depth > 0:  # an object or a list of objects: selected alike
            parts.append(f"{name} {{ {_selection(draw, schema, named.name, depth - 1)} }}")
    return " ".join(parts) or "__typename"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_queries_over_every_root_and_edge_answer_alike(
    hub: Hub, resolvers_only: httpx.AsyncClient, owner: Any, data: st.DataObject
) -> None:
    schema = _schema(hub)
    user = data.draw(st.sampled_from(USERS), label="user")
    root = data.draw(st.sampled_from((*ROOTS, "orgUnit", "school", "node")), label="root")
    if root in ROOTS:
        type_name = str(schema.query_type.fields[root].type.of_type.name)[: -len("Connection")]
        inner = _selection(data.draw, schema, type_name, 2)
        first = data.draw(st.sampled_from((1, 3, 10)))
        query = (
            f"{{ {root}(first: {first}) {{ totalCount edges {{ cursor node {{ {inner} }} }}"
            " pageInfo { hasNextPage endCursor } } }"
        )
    elif root == "orgUnit":
        code = data.draw(st.sampled_from(("CN", hub.units["city"][1], hub.units["county"][1])))
        query = f'{{ orgUnit(code: "{code}") {{ {_selection(data.draw, schema, "OrgUnit", 2)} }} }}'
    elif root == "school":
        code = hub.units["school"][1]
        query = f'{{ school(code: "{code}") {{ {_selection(data.draw, schema, "School", 2)} }} }}'
    else:
        from hub.ids import encode_id

        kind = data.draw(st.sampled_from(("Student", "School", "Teacher", "Building", "Asset")))
        node_id = encode_id(kind, data.draw(st.integers(1, 40)))
        inner = _selection(data.draw, schema, kind, 1)
        query = f'{{ node(id: "{node_id}") {{ id __typename ... on {kind} {{ {inner} }} }} }}'
    planned, resolved = await _both(hub, resolvers_only, query, {}, user, owner)
    _same(planned, resolved)
    served = planned.get("extensions", {}).get("readPath", {})
    event(f"{served.get('servedBy')}: {'errors' if 'errors' in planned else 'data'}")
    if "errors" not in planned:
        assert served["servedBy"] == "planner", (query, served)


async def test_a_typename_alone_reads_nothing(hub: Hub) -> None:
    """``__typename`` of the query is known without the database; beside a planned field
    it keeps its place in the answer."""
    await hub.warm()  # the principal is cached for what is counted below
    with hub.counter() as counter:
        body = await hub.query("{ __typename }")
    assert body["data"] == {"__typename": "Query"}
    assert body["extensions"]["readPath"]["servedBy"] == "planner"
    assert counter.statements == []
    body = await hub.query('{ a: school(code: "0000000000") { name } t: __typename }')
    assert list(body["data"]) == ["a", "t"]
    assert body["data"] == {"a": None, "t": "Query"}


async def test_one_plan_serves_every_value_of_a_bound_variable(
    hub: Hub, resolvers_only: httpx.AsyncClient, owner: Any
) -> None:
    """Lookup keys, node IDs and cursors are parameters of one plan: each request gets its
    own row (never the row of the request that made the plan), with the errors and audit
    rows of the resolvers; a value of another shape (a G number after an L number, a node
    of another type) gets a plan of its own."""
    from hub.ids import decode_id, encode_id

    listed = await hub.data(
        "query ($c: String!) { students(filter: {under: $c}, first: 4) {"
        " edges { node { id studentNumber } } } }",
        {"c": hub.units["county"][1]},
    )
    nodes = [e["node"] for e in listed["students"]["edges"]]
    numbers = [n["studentNumber"] for n in nodes]
    lookup = "query ($n: String!) { student(studentNumber: $n) { studentNumber name idNumber } }"
    by_node = "query ($id: ID!) { node(id: $id) { id __typename ... on Student { name } } }"
    org = "query ($c: String!) { orgUnit(code: $c) { code name schools(first: 2) { totalCount } } }"
    cases: list[tuple[str, dict[str, Any]]] = [
        *[(lookup, {"n": n}) for n in [*numbers, "L0000000000000001", "x", numbers[0]]],
        *[(by_node, {"id": n["id"]}) for n in nodes],
        (by_node, {"id": encode_id("School", 1)}),
        (by_node, {"id": encode_id("Building", 2)}),
        (by_node, {"id": "not an id"}),
        (by_node, {"id": nodes[1]["id"]}),
        *[(org, {"c": hub.units[level][1]}) for level in ("county", "city", "county2")],
        (org, {"c": ""}),
    ]
    for user in ("county.registrar", "county.viewer", "national.admin"):
        seen: set[tuple[str, str]] = set()
        for query, variables in cases:
            planned, resolved = await _both(hub, resolvers_only, query, variables, user, owner)
            _same(planned, resolved)
            value = next(iter(variables.values()))
            if "errors" in planned:
                continue
            path = planned["extensions"]["readPath"]
            assert path["servedBy"] == "planner", (query, variables, path)
            if query == lookup:
                shape = (query, value[0])  # G numbers are audited, L numbers are not
            elif query == by_node:
                shape = (query, decode_id(value)[0])
            else:
                shape = (query, "")
            # The second request of a shape reuses the plan of the first.
            assert path.get("cached", False) == (shape in seen), (query, variables, path)
            seen.add(shape)

    # Pages: every page of a list from one plan, each after its own cursor.
    page = (
        "query ($after: String) { students(first: 3, after: $after) {"
        " edges { node { studentNumber } } pageInfo { endCursor hasPreviousPage } } }"
    )
    after = None
    for step in range(4):
        planned, resolved = await _both(
            hub, resolvers_only, page, {"after": after}, "county.viewer", owner
        )
        _same(planned, resolved)
        assert planned["extensions"]["readPath"].get("cached", False) == (step >= 2)
        after = planned["data"]["students"]["pageInfo"]["endCursor"]

    # A variable both bound (a lookup key) and read as a value (a filter): its value is
    # part of the plan's shape, so the plan of one value never answers another.
    both = (
        "query ($c: String!) { orgUnit(code: $c) { code }"
        " schools(filter: {under: $c}, first: 50) { totalCount } }"
    )
    for level in ("county", "county2", "city", "county"):
        planned, resolved = await _both(
            hub, resolvers_only, both, {"c": hub.units[level][1]}, "national.admin", owner
        )
        _same(planned, resolved)
        assert planned["data"]["orgUnit"]["code"] == hub.units[level][1]


AUDIT_EVENTS = """
query ($f: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $f, first: $first, after: $after) {
    totalCount
    edges { cursor node { __typename id at username userPath operation action resource
      fields subjects scopePath outcome purpose detail correlationId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_the_audit_log_answers_alike_through_both_paths(
    hub: Hub, resolvers_only: httpx.AsyncClient
) -> None:
    """``auditEvents`` (newest first, id cursors, times as ISO 8601) and ``node`` of an
    audit event are planned, and agree with the resolvers for filters and pages, for every
    reader of the log and for readers who may not read it."""
    await hub.data(  # events to read: unmasked reads by a registrar
        "{ students(first: 3) { edges { node { idNumber } } } }", user="county.registrar"
    )
    county = hub.units["county"][1]
    specs: list[dict[str, Any]] = [
        {},
        {"under": county},
        {"username": "county.registrar"},
        {"action": "unmask"},
        {"since": "2020-01-01T00:00:00+08:00", "until": "2100-01-01T00:00:00Z"},
        {"since": "2100-01-01T00:00:00+08:00", "until": "2020-01-01T00:00:00Z"},  # refused
        {"since": "2020-01-01T00:00:00"},  # no time zone: refused
    ]
    for user in ("national.auditor", "national.admin", "county.viewer"):
        for spec in specs:
            variables: dict[str, Any] = {"f": spec, "first": 4, "after": None}
            for _page in range(3):
                planned, resolved = await _both(hub, resolvers_only, AUDIT_EVENTS, variables, user)
                _same(planned, resolved)
                if "errors" in planned:
                    break
                assert planned["extensions"]["readPath"]["servedBy"] == "planner", planned[
                    "extensions"
                ]
                info = planned["data"]["auditEvents"]["pageInfo"]
                if not info["hasNextPage"]:
                    break
                variables = {**variables, "after": info["endCursor"]}
    listed = await hub.data(AUDIT_EVENTS, {"first": 2}, user="national.auditor")
    for edge in listed["auditEvents"]["edges"]:
        node = edge["node"]
        query = "query ($id: ID!) { node(id: $id) { id ... on AuditEvent { at action subjects } } }"
        for user in ("national.auditor", "county.viewer"):
            planned, resolved = await _both(hub, resolvers_only, query, {"id": node["id"]}, user)
            _same(planned, resolved)
            assert planned["extensions"]["readPath"]["servedBy"] == "planner"
