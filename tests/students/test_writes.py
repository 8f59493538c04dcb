"""Writes with review by level, through GraphQL over HTTP, on both databases: enrolment with
an L number, corrections, change requests reviewed by the county, detection on every write,
problem records handled by the school and decided by the county. Each test file that writes
has a hub of its own (the suite's shared hub is read-only)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from stdnum.cn import ric

from hub.changes.models import ChangeEvent
from hub.db.base import table_of
from hub.ids import decode_id
from hub.quality.checks import check
from hub.quality.models import ProblemRecord
from hub.students.models import ChangeRequest, Student, StudentArchive
from tests.conftest import Hub, running_hub

STUDENT = table_of(Student)
EVENT = table_of(ChangeEvent)
RECORD = table_of(ProblemRecord)
REQUEST = table_of(ChangeRequest)
ARCHIVE = table_of(StudentArchive)

ENROL = """
mutation ($input: EnrolStudentInput!) {
  enrolStudent(input: $input) {
    student { id studentNumber name idNumber problems { id kind { code } members: memberCount } }
    errors { field message code }
  }
}
"""
UPDATE = """
mutation ($input: UpdateStudentInput!) {
  updateStudent(input: $input) {
    student { name phone }
    applied
    changeRequest { id status { code label } fields { field before after } }
    errors { field message code }
  }
}
"""
REVIEW = """
mutation ($input: ReviewInput!) {
  reviewChangeRequest(input: $input) {
    changeRequest { status { code } reviewedBy reviewNote }
    errors { field message code }
  }
}
"""
PROPOSE = """
mutation ($input: ResolveProblemRecordInput!) {
  resolveProblemRecord(input: $input) {
    problemRecord { status { code label } }
    errors { field message code }
  }
}
"""
DECIDE = """
mutation ($input: ReviewInput!) {
  reviewProblemRecord(input: $input) {
    problemRecord { status { code } resolution closedAt actions { step action actor note } }
    errors { field message code }
  }
}
"""
QUEUE = """
query ($filter: ProblemRecordFilter) {
  problemRecords(filter: $filter, first: 100) {
    totalCount
    edges { node { id kind { code label } status { code } detail memberCount overdue
      orgUnit { code } students { id name } } }
  }
}
"""


def _citizen_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.fixture(scope="module")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with running_hub(backend, tmp_path_factory.mktemp(f"writes-{backend}"), 1500) as h:
        yield h


async def _school(hub: Hub, key: str = "school") -> dict[str, Any]:
    code = hub.units[key][1]
    found: dict[str, Any] = (
        await hub.data("query ($c: String!) { school(code: $c) { id code } }", {"c": code})
    )["school"]
    return found


async def _other_school(hub: Hub) -> dict[str, Any]:
    """A school of the neighbouring county (outside the school and county users' subtree)."""
    code = hub.units["county2"][1]
    data = await hub.data(
        "query ($c: String!) { schools(filter: {under: $c}, first: 1) { edges { node { id } } } }",
        {"c": code},
    )
    node: dict[str, Any] = data["schools"]["edges"][0]["node"]
    return node


def _pupil(**extra: Any) -> dict[str, Any]:
    return {
        "name": "测试学生",
        "sexCode": "1",
        "birthDate": "2015-03-04",
        "gradeCode": "13",
        **extra,
    }


async def _enrol(hub: Hub, school: dict[str, Any], user: str, **fields: Any) -> dict[str, Any]:
    body = await hub.query(
        ENROL, {"input": {"schoolId": school["id"], "student": _pupil(**fields)}}, user=user
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["enrolStudent"]
    return payload


async def _count(hub: Hub, table: Any) -> int:
    async with hub.engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(table))).scalar() or 0
        )


async def test_a_school_enrols_a_pupil_with_a_temporary_number_and_the_change_is_logged(
    hub: Hub,
) -> None:
    school = await _school(hub)
    events = await _count(hub, EVENT)
    payload = await _enrol(hub, school, "school.registrar", name="新生甲")
    assert payload["errors"] == []
    student = payload["student"]
    assert student["name"] == "新生甲"
    number = student["studentNumber"]
    # L + the school's division code + birth date + a 4-digit sequence (19 characters)
    assert len(number) == 19 and number.startswith("L") and number[7:15] == "20150304"
    second = await _enrol(hub, school, "school.registrar", name="新生乙")
    assert second["student"]["studentNumber"] == number[:15] + f"{int(number[15:]) + 1:04d}"
    assert await _count(hub, EVENT) == events + 2
    found = await hub.data(
        "query ($n: String!) { student(studentNumber: $n) { name } }", {"n": number}
    )
    assert found["student"]["name"] == "新生甲"


async def test_bad_input_is_refused_field_by_field_and_nothing_is_written(hub: Hub) -> None:
    school = await _school(hub)
    before = (await _count(hub, STUDENT), await _count(hub, EVENT))
    body = await hub.query(
        ENROL,
        {
            "input": {
                "schoolId": school["id"],
                "student": {
                    "sexCode": "7",
                    "birthDate": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
                    "gradeCode": "13",
                    "ethnicityCode": "99",
                    "enrolledOn": "2024-13",
                },
            }
        },
        user="school.registrar",
    )
    payload = body["data"]["enrolStudent"]
    assert payload["student"] is None
    fields = {e["field"] for e in payload["errors"]}
    assert fields == {"sexCode", "birthDate", "ethnicityCode", "enrolledOn", "name"}
    assert all(e["code"] == "BAD_INPUT" for e in payload["errors"])
    assert (
        "unknown code '7'"
        in next(e for e in payload["errors"] if e["field"] == "sexCode")["message"]
    )
    assert (await _count(hub, STUDENT), await _count(hub, EVENT)) == before


async def test_writes_outside_the_subtree_or_without_the_right_are_refused(hub: Hub) -> None:
    before = await _count(hub, STUDENT)
    other = await _other_school(hub)
    payload = await _enrol(hub, other, "school.registrar")
    assert payload["student"] is None
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]  # not visible from a school
    payload = await _enrol(hub, other, "county.registrar")
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    payload = await _enrol(hub, await _school(hub), "county.viewer")
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert await _count(hub, STUDENT) == before


async def test_identity_changes_by_a_school_wait_for_the_county(hub: Hub) -> None:
    school = await _school(hub)
    enrolled = (await _enrol(hub, school, "school.registrar", name="王小明"))["student"]
    changes = {"name": "王晓明", "phone": "13800001234"}
    body = await hub.query(
        UPDATE,
        {"input": {"id": enrolled["id"], "changes": changes, "reason": "户口本姓名"}},
        user="school.registrar",
    )
    payload = body["data"]["updateStudent"]
    assert payload["errors"] == []
    assert payload["applied"] == ["phone"]
    assert payload["student"]["name"] == "王小明"  # not yet
    assert payload["student"]["phone"] == "13800001234"
    request = payload["changeRequest"]
    assert request["status"] == {"code": "1", "label": "待审核"}
    assert request["fields"] == [{"field": "name", "before": "王小明", "after": "王晓明"}]
    # a second identity change waits until the first is reviewed
    again = await hub.query(
        UPDATE,
        {"input": {"id": enrolled["id"], "changes": {"sexCode": "2"}}},
        user="school.registrar",
    )
    assert [e["code"] for e in again["data"]["updateStudent"]["errors"]] == ["CONFLICT"]

    pending = """query { changeRequests(filter: {status: ["1"]}, first: 50) {
        edges { node { id requestedBy student { name } } } } }"""
    mine = await hub.data(pending, user="county.registrar")
    ids = [e["node"]["id"] for e in mine["changeRequests"]["edges"]]
    assert request["id"] in ids
    theirs = await hub.data(pending, user="county2.registrar")
    assert request["id"] not in [e["node"]["id"] for e in theirs["changeRequests"]["edges"]]

    # the school cannot approve its own request; another county cannot see it
    refused = await hub.query(
        REVIEW, {"input": {"id": request["id"], "approve": True}}, user="school.registrar"
    )
    assert [e["code"] for e in refused["data"]["reviewChangeRequest"]["errors"]] == ["FORBIDDEN"]
    hidden = await hub.query(
        REVIEW, {"input": {"id": request["id"], "approve": True}}, user="county2.registrar"
    )
    assert [e["code"] for e in hidden["data"]["reviewChangeRequest"]["errors"]] == ["NOT_FOUND"]

    approved = await hub.data(
        REVIEW,
        {"input": {"id": request["id"], "approve": True, "note": "核实无误"}},
        user="county.registrar",
    )
    assert approved["reviewChangeRequest"]["changeRequest"] == {
        "status": {"code": "2"},
        "reviewedBy": "county.registrar",
        "reviewNote": "核实无误",
    }
    name = await hub.data(
        "query ($n: String!) { student(studentNumber: $n) { name } }",
        {"n": enrolled["studentNumber"]},
    )
    assert name["student"]["name"] == "王晓明"
    twice = await hub.query(
        REVIEW, {"input": {"id": request["id"], "approve": False}}, user="county.registrar"
    )
    assert [e["code"] for e in twice["data"]["reviewChangeRequest"]["errors"]] == ["CONFLICT"]


async def test_a_pupil_with_an_invalid_id_is_enrolled_and_flagged_until_corrected(
    hub: Hub,
) -> None:
    school = await _school(hub)
    valid = _citizen_id("43010220150304123")
    typo = valid[:4] + "99" + valid[6:]  # 430199…: no such county (stdnum raised KeyError)
    payload = await _enrol(
        hub, school, "school.registrar", name="李四", idTypeCode="1", idNumber=f" {typo.lower()} "
    )
    assert payload["errors"] == []  # never refused for a record problem
    student = payload["student"]
    assert [p["kind"]["code"] for p in student["problems"]] == ["1"]
    record_id = student["problems"][0]["id"]
    # the county corrects it at once (it reviews identity changes itself)
    body = await hub.data(
        UPDATE,
        {"input": {"id": student["id"], "changes": {"idNumber": valid}}},
        user="county.registrar",
    )
    assert body["updateStudent"]["applied"] == ["idNumber"]
    assert body["updateStudent"]["changeRequest"] is None
    record = await hub.data(
        "query ($id: ID!) { node(id: $id) { ... on ProblemRecord { status { code } } } }",
        {"id": record_id},
    )
    assert record["node"]["status"]["code"] == "5"  # 已失效: the finding no longer applies


async def test_a_duplicate_is_deleted_by_the_school_with_the_countys_approval(hub: Hub) -> None:
    school = await _school(hub)
    shared = _citizen_id("11010120150304567")
    first = (
        await _enrol(hub, school, "school.registrar", name="赵六", idTypeCode="1", idNumber=shared)
    )["student"]
    second = (
        await _enrol(hub, school, "school.registrar", name="赵六", idTypeCode="1", idNumber=shared)
    )["student"]
    kinds = [p["kind"]["code"] for p in second["problems"]]
    assert "3" in kinds
    duplicate = next(p for p in second["problems"] if p["kind"]["code"] == "3")
    assert duplicate["members"] == 2
    queue = await hub.data(
        QUEUE, {"filter": {"kind": ["3"], "status": ["1"]}}, user="county.registrar"
    )
    node = next(
        e["node"] for e in queue["problemRecords"]["edges"] if e["node"]["id"] == duplicate["id"]
    )
    assert {s["id"] for s in node["students"]} == {first["id"], second["id"]}
    assert node["kind"]["label"] and node["orgUnit"]["code"] == school["code"]
    assert "3" not in [  # another county's queue does not hold it
        e["node"]["kind"]["code"]
        for e in (await hub.data(QUEUE, {"filter": {"kind": ["3"]}}, user="county2.registrar"))[
            "problemRecords"
        ]["edges"]
        if e["node"]["id"] == duplicate["id"]
    ]

    archived = await _count(hub, ARCHIVE)
    proposal = await hub.data(
        PROPOSE,
        {
            "input": {
                "id": duplicate["id"],
                "action": "DELETE",
                "studentId": second["id"],
                "note": "重复注册",
            }
        },
        user="school.registrar",
    )
    assert proposal["resolveProblemRecord"]["problemRecord"]["status"]["code"] == "2"
    own = await hub.query(
        DECIDE, {"input": {"id": duplicate["id"], "approve": True}}, user="school.registrar"
    )
    assert [e["code"] for e in own["data"]["reviewProblemRecord"]["errors"]] == ["FORBIDDEN"]
    decided = await hub.data(
        DECIDE, {"input": {"id": duplicate["id"], "approve": True}}, user="county.registrar"
    )
    record = decided["reviewProblemRecord"]["problemRecord"]
    assert record["status"]["code"] == "4" and record["resolution"] == "DELETE"
    assert [a["step"] for a in record["actions"]] == ["propose", "approve"]
    assert await _count(hub, ARCHIVE) == archived + 1
    gone = await hub.data(
        "query ($n: String!) { student(studentNumber: $n) { id } }",
        {"n": second["studentNumber"]},
    )
    assert gone["student"] is None
    kept = await hub.data(
        "query ($n: String!) { student(studentNumber: $n) { problems { id } } }",
        {"n": first["studentNumber"]},
    )
    assert kept["student"]["problems"] == []


async def test_twins_are_accepted_on_evidence_and_not_flagged_again(hub: Hub) -> None:
    school = await _school(hub)
    twins = [
        (await _enrol(hub, school, "school.registrar", name="孙双", birthDate="2016-06-06"))[
            "student"
        ]
        for _ in range(2)
    ]
    record = next(p for p in twins[1]["problems"] if p["kind"]["code"] == "4")
    missing = await hub.query(
        PROPOSE, {"input": {"id": record["id"], "action": "EVIDENCE"}}, user="school.registrar"
    )
    assert [e["field"] for e in missing["data"]["resolveProblemRecord"]["errors"]] == ["note"]
    await hub.data(
        PROPOSE,
        {"input": {"id": record["id"], "action": "EVIDENCE", "note": "双胞胎，出生证明已核"}},
        user="school.registrar",
    )
    returned = await hub.data(
        DECIDE,
        {"input": {"id": record["id"], "approve": False, "note": "请上传出生证明编号"}},
        user="county.registrar",
    )
    assert returned["reviewProblemRecord"]["problemRecord"]["status"]["code"] == "3"
    await hub.data(
        PROPOSE,
        {"input": {"id": record["id"], "action": "EVIDENCE", "note": "出生证明 Q440100001/2"}},
        user="school.registrar",
    )
    decided = await hub.data(
        DECIDE, {"input": {"id": record["id"], "approve": True}}, user="county.registrar"
    )
    done = decided["reviewProblemRecord"]["problemRecord"]
    assert done["status"]["code"] == "4" and done["resolution"] == "EVIDENCE"
    assert [a["step"] for a in done["actions"]] == ["propose", "return", "propose", "approve"]
    # a bulk check finds the same twins and does not open the record again
    async with hub.engine.begin() as connection:
        summary = await check(connection, under=hub.units["county"][2])
    assert summary.found["4"] >= 1
    async with hub.engine.connect() as connection:
        open_for_twins = (
            await connection.execute(
                select(func.count())
                .select_from(RECORD)
                .where(
                    RECORD.c.group_key
                    == select(RECORD.c.group_key)
                    .where(RECORD.c.id == _pk(record["id"]))
                    .scalar_subquery(),
                    RECORD.c.status_code.in_(("1", "2", "3")),
                )
            )
        ).scalar()
    assert open_for_twins == 0


def _pk(global_id: str) -> int:
    return decode_id(global_id)[1]


async def test_one_mutation_per_operation(hub: Hub) -> None:
    school = await _school(hub)
    student = {"schoolId": school["id"], "student": _pupil()}
    body = await hub.query(
        """mutation ($a: EnrolStudentInput!) {
             a: enrolStudent(input: $a) { errors { code } }
             b: enrolStudent(input: $a) { errors { code } } }""",
        {"a": student},
        user="school.registrar",
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "One mutation per operation" in body["errors"][0]["message"]


FEED = """
query ($after: String, $filter: ChangeFilter) {
  changes(after: $after, first: 7, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { node { subject entity action actor origin fields } }
  }
}
"""


async def _feed(hub: Hub, user: str, under: str | None = None) -> list[dict[str, Any]]:
    """The whole feed, read in pages and resumed by cursor as a mirror would."""
    events: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        variables: dict[str, Any] = {"after": after}
        if under is not None:
            variables["filter"] = {"under": under, "entity": ["Student"]}
        page = (await hub.data(FEED, variables, user=user))["changes"]
        events.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return events
        after = page["pageInfo"]["endCursor"]


async def test_the_change_feed_replays_into_a_mirror_equal_to_the_hub(hub: Hub) -> None:
    events = await _feed(hub, "county.registrar")
    assert events and {e["origin"] for e in events} == {"graphql"}
    mirror: dict[str, dict[str, Any]] = {}
    for event in events:
        values = json.loads(event["fields"])
        if event["action"] == "insert":
            mirror[event["subject"]] = values
        elif event["action"] == "update":
            mirror[event["subject"]].update(values)
        else:
            del mirror[event["subject"]]
    assert any(e["action"] == "delete" for e in events)
    async with hub.engine.connect() as connection:
        for subject, values in mirror.items():
            row = (
                await connection.execute(select(STUDENT).where(STUDENT.c.id == _pk(subject)))
            ).one()
            stored = {
                k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in row._mapping.items()
                if k in values
            }
            assert stored == values, subject
    # the neighbouring county sees none of it; a viewer sees ID numbers masked
    assert await _feed(hub, "county2.registrar") == []
    masked = await _feed(hub, "county.viewer", under=hub.units["county"][1])
    numbers = [json.loads(e["fields"]).get("id_number") for e in masked]
    assert [n for n in numbers if n] and all(n == "*" * 18 for n in numbers if n)


async def test_an_enrolment_puts_the_pupil_on_the_roll_from_today(hub: Hub) -> None:
    """The roll's history records the enrolment (入学注册), so figures of an earlier day do
    not count the pupil, today's do."""
    school = await _school(hub)
    code = (
        await hub.data(
            "query ($id: ID!) { node(id: $id) { ... on School { code } } }", {"id": school["id"]}
        )
    )["node"]["code"]
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    figures = """query ($u: String!, $d: Date) { statistics(under: $u, asOf: $d) {
        students { count } } }"""

    async def count(day: str | None) -> int:
        data = await hub.data(figures, {"u": code, "d": day})
        return int(data["statistics"]["students"]["count"])

    before = (await count(yesterday), await count(None))
    payload = await _enrol(hub, school, "school.registrar", name="新生丙", enrolledOn="2020-09")
    assert payload["errors"] == []
    assert (await count(yesterday), await count(None)) == (before[0], before[1] + 1)
    changes = await hub.data(
        "query ($id: ID!) { node(id: $id) { ... on Student { statusChanges {"
        " type { code label } occurredOn toSchool { code } } } } }",
        {"id": payload["student"]["id"]},
    )
    assert changes["node"]["statusChanges"] == [
        {
            "type": {"code": "11", "label": "入学注册"},
            "occurredOn": dt.date.today().isoformat(),
            "toSchool": {"code": code},
        }
    ]
