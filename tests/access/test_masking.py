"""Masking cannot be undone: for every masked field of every type and every role that reads
it masked, no combination of what that role can read determines the value.

The readable fields are not listed by hand: they come from introspection (every scalar and
``Code`` field of ``Student``, ``Guardian`` and ``Teacher``), so a field added later is covered.
For citizen IDs the test assumes the worst: the attacker already knows birthplace, birth
date and sex (the first 14 digits and the parity of the 17th) and counts the IDs that fit
every readable string; there must be more than one. Phones must keep at least four digits
hidden across every readable string; text and codes must not carry the value at all.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from stdnum.cn import ric

from hub.access.models import AuditEvent
from hub.db.base import table_of
from tests.conftest import Hub
from tests.fixtures.responses import strings

AUDIT = table_of(AuditEvent)
MASKED_CODE = {"code": "*", "label": "已脱敏"}
# (user, types whose sensitive fields this user reads masked)
MASKED_READERS = (
    ("county.viewer", ("Student", "Guardian", "Teacher")),
    ("county.statistician", ("Student", "Guardian", "Teacher")),
    ("county.registrar", ("Teacher",)),
)
# field -> kind of secret, per type
SECRETS = {
    "Student": {
        "idNumber": "id",
        "studentNumber": "id",
        "phone": "phone",
        "currentAddress": "text",
        "mailingAddress": "text",
        "homeAddress": "text",
        "email": "text",
        "health": "code",
        "disability": "code",
        "inclusiveEducation": "flag",
    },
    "Guardian": {"idNumber": "id", "phone": "phone", "address": "text"},
    "Teacher": {"idNumber": "id", "phone": "phone"},
}

_selections: dict[str, str] = {}


async def selection(hub: Hub, type_name: str) -> str:
    """Every readable leaf of ``type_name``: scalars, and Code objects with code and label."""
    if type_name not in _selections:
        data = await hub.data(
            """query ($t: String!) { __type(name: $t) { fields { name args { name }
                 type { kind name ofType { kind name ofType { kind name } } } } } }""",
            {"t": type_name},
        )
        parts = []
        for field in data["__type"]["fields"]:
            if field["args"]:
                continue
            kind = field["type"]
            while kind["kind"] == "NON_NULL":
                kind = kind["ofType"]
            if kind["kind"] in ("SCALAR", "ENUM"):
                parts.append(field["name"])
            elif kind["name"] == "Code":
                parts.append(f"{field['name']} {{ code label }}")
        _selections[type_name] = " ".join(parts)
    return _selections[type_name]


def fits(pattern: str, candidate: str) -> bool:
    """Whether a readable string could be a mask of ``candidate`` (``*`` hides a character)."""
    return len(pattern) == len(candidate) and all(
        p in ("*", c) for p, c in zip(pattern, candidate, strict=True)
    )


def id_candidates(secret: str, readable: list[str]) -> int:
    """Citizen IDs with the secret's first 14 digits and sex that fit every readable string
    that could be a mask of them (``G`` numbers included)."""
    head, male = secret[:14], int(secret[16]) % 2
    count = 0
    for sequence in range(1000):
        if sequence % 2 != male:
            continue
        body = f"{head}{sequence:03d}"
        candidate = body + ric.calc_check_digit(body)
        shown = [r[1:] if r.startswith("G") else r for r in readable]
        masks = [r for r in shown if len(r) == 18 and "*" in r]
        if all(fits(m, candidate) for m in masks if fits(m, secret)):
            count += 1
    return count


def check_secret(kind: str, field: str, secret: Any, masked: Any, readable: list[str]) -> None:
    if kind == "code":
        assert masked == MASKED_CODE, (field, masked)
        return
    if kind == "flag":
        assert masked is None, field
        return
    if secret is None or masked is None:
        assert masked is None or "*" in masked, field
        return
    assert secret not in readable, (field, "the value itself is readable")
    if kind == "id":
        body = secret[1:] if secret.startswith("G") else secret
        if not ric.is_valid(body):
            assert not any(body in r for r in readable), field
            return
        assert id_candidates(body, readable) > 1, (field, masked, "the ID is determined")
    elif kind == "phone":
        masks = [r for r in readable if "*" in r and fits(r, secret)]
        shown = {i for m in masks for i, ch in enumerate(m) if ch != "*"}
        assert len(secret) - len(shown) >= 4, (field, masks)
    else:
        assert not any(secret[6:] in r for r in readable if len(secret) > 6), field


async def county_students(hub: Hub) -> list[str]:
    data = await hub.data(
        "query ($c: String!) { students(filter: {under: $c}, first: 500) { edges { node { id } } } }",
        {"c": hub.units["county"][1]},
    )
    return [e["node"]["id"] for e in data["students"]["edges"]]


async def county_teachers(hub: Hub) -> list[str]:
    data = await hub.data(
        "query ($c: String!) { teachers(filter: {under: $c}, first: 200) { edges { node { id } } } }",
        {"c": hub.units["county"][1]},
    )
    return [e["node"]["id"] for e in data["teachers"]["edges"]]


async def read(hub: Hub, user: str, node_id: str, type_name: str) -> Any:
    fields = await selection(hub, type_name)
    if type_name == "Student":
        fields += f" guardians {{ {await selection(hub, 'Guardian')} }}"
    document = f"query ($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {fields} }} }} }}"
    return (await hub.data(document, {"id": node_id}, user=user))["node"]


@settings(
    max_examples=15,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_readable_combination_determines_a_masked_value(
    hub: Hub, data: st.DataObject
) -> None:
    students, teachers = await county_students(hub), await county_teachers(hub)
    student_id = data.draw(st.sampled_from(students), label="student")
    teacher_id = data.draw(st.sampled_from(teachers), label="teacher")
    secrets = {
        "Student": await read(hub, "national.admin", student_id, "Student"),
        "Teacher": await read(hub, "national.admin", teacher_id, "Teacher"),
    }
    for user, types in MASKED_READERS:
        seen = {}
        if "Student" in types:
            seen["Student"] = await read(hub, user, student_id, "Student")
        seen["Teacher"] = await read(hub, user, teacher_id, "Teacher")
        # Everything the user can read about the pupil, the guardians and the teacher at once.
        readable = strings(seen)
        for type_name in types:
            pairs: list[tuple[Any, Any]] = (
                list(
                    zip(secrets["Student"]["guardians"], seen["Student"]["guardians"], strict=True)
                )
                if type_name == "Guardian"
                else [(secrets[type_name], seen[type_name])]
            )
            for secret_row, masked_row in pairs:
                for field, kind in SECRETS[type_name].items():
                    check_secret(kind, field, secret_row[field], masked_row[field], readable)


async def test_masks_do_not_vary_with_the_hidden_value(hub: Hub) -> None:
    """A mask that differed between pupils (or over time for one pupil) would carry the value:
    identity numbers, G numbers, health and disability mask to one constant."""
    data = await hub.data(
        """query ($c: String!) { students(filter: {under: $c}, first: 300) { edges { node {
             idNumber studentNumber health { code label } disability { code label }
             inclusiveEducation guardians { idNumber } } } } }""",
        {"c": hub.units["county"][1]},
        user="county.viewer",
    )
    nodes = [e["node"] for e in data["students"]["edges"]]
    assert {n["idNumber"] for n in nodes} <= {"*" * 18, None}
    assert {n["studentNumber"] for n in nodes if n["studentNumber"].startswith("G")} == {
        "G" + "*" * 18
    }
    assert all(n["health"] == MASKED_CODE and n["disability"] == MASKED_CODE for n in nodes)
    assert {n["inclusiveEducation"] for n in nodes} == {None}
    assert {g["idNumber"] for n in nodes for g in n["guardians"]} <= {"*" * 18, None}


async def test_lookup_by_the_full_number_works_for_a_masked_reader(hub: Hub) -> None:
    numbers = await hub.data(
        "query ($c: String!) { students(filter: {under: $c}, first: 1) { edges { node { id studentNumber } } } }",
        {"c": hub.units["county"][1]},
    )
    node = numbers["students"]["edges"][0]["node"]
    found = await hub.data(
        "query ($n: String!) { student(studentNumber: $n) { id studentNumber } }",
        {"n": node["studentNumber"]},
        user="county.viewer",
    )
    assert found["student"] == {"id": node["id"], "studentNumber": "G" + "*" * 18}
    # A G number is a citizen ID: the lookup confirmed it to a viewer who may not see it,
    # so it is audited, and so are misses (a series of guesses shows in the log).
    guess = "G11010120150101001X"
    await hub.data(
        "query ($n: String!) { student(studentNumber: $n) { id } }",
        {"n": guess},
        user="county.viewer",
    )
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(AUDIT.c.action, AUDIT.c.outcome, AUDIT.c.subjects, AUDIT.c.scope_path)
                .where(AUDIT.c.username == "county.viewer", AUDIT.c.action == "lookup")
                .order_by(AUDIT.c.id.desc())
                .limit(2)
            )
        ).all()
    missed, hit = rows
    assert (hit.outcome, hit.subjects) == ("allowed", f'["{node["id"]}"]')
    assert missed.outcome == "not_found"
    assert missed.scope_path == hub.units["county"][2]

    # Readers who may unmask it are audited when they read values, not for the lookup.
    async def registrar_lookups() -> int:
        async with hub.engine.connect() as connection:
            found = await connection.scalar(
                select(func.count())
                .select_from(AUDIT)
                .where(AUDIT.c.username == "county.registrar", AUDIT.c.action == "lookup")
            )
        return int(found or 0)

    before = await registrar_lookups()  # other tests' misses are audited for everyone
    for _ in range(2):  # planned afresh, then from the cached plan
        await hub.data(
            "query ($n: String!) { student(studentNumber: $n) { id } }",
            {"n": node["studentNumber"]},
            user="county.registrar",
        )
    assert await registrar_lookups() == before


FILTERED = """query ($f: StudentFilter) { students(filter: $f, first: 5) { totalCount }
  schools(first: 1) { edges { node { students(filter: $f, first: 5) { totalCount } } } } }"""


async def test_filters_on_masked_fields_need_the_unmask_grant(hub: Hub) -> None:
    for user in ("county.viewer", "county.statistician"):
        for flt, name in (
            ({"disability": ["4"]}, "filter.disability"),
            ({"inclusiveEducation": True}, "filter.inclusiveEducation"),
        ):
            body = await hub.query(FILTERED, {"f": flt}, user=user)
            codes = {e["extensions"]["code"] for e in body["errors"]}
            assert codes == {"FORBIDDEN"}, (user, body)
            assert all(name in e["message"] for e in body["errors"])
    # A registrar unmasks wherever it reads (its county): there the filter gives the true count.
    county = hub.units["county"][1]
    disabled = {"disability": ["1", "2", "3", "4", "5", "6", "7"], "under": county}
    inside = await hub.data(
        "query ($f: StudentFilter) { students(filter: $f) { totalCount } }",
        {"f": disabled},
        user="county.registrar",
    )
    truth = await hub.data(
        "query ($f: StudentFilter) { students(filter: $f) { totalCount } }", {"f": disabled}
    )
    assert inside == truth
    admin = await hub.data(FILTERED, {"f": {"inclusiveEducation": True}})
    assert admin["students"]["totalCount"] > 0
