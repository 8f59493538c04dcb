"""National numbers (学籍号发放) through GraphQL on both databases: G and J numbers only for
records with no problem, a dry run that writes nothing, idempotence, concurrent calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from stdnum.cn import ric

from hub.changes.models import ChangeEvent
from hub.db.base import table_of
from hub.students.models import Student
from tests.conftest import Hub, running_hub

STUDENT = table_of(Student)
EVENT = table_of(ChangeEvent)

ENROL = """
mutation ($input: EnrolStudentInput!) {
  enrolStudent(input: $input) { student { id studentNumber } errors { message } }
}
"""
ISSUE = """
mutation ($input: IssueNationalNumbersInput!) {
  issueNationalNumbers(input: $input) {
    dryRun candidates issuedG issuedJ blocked { kind { code label } students }
    errors { field message code }
  }
}
"""
BY_NUMBER = """
query ($n: String!) { student(studentNumber: $n) { name studentNumber formerNumber } }
"""


def _citizen_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.fixture(scope="module")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with running_hub(backend, tmp_path_factory.mktemp(f"numbers-{backend}"), 800) as h:
        yield h


async def _enrol(hub: Hub, school_id: str, **fields: Any) -> dict[str, Any]:
    pupil = {"name": "新生", "sexCode": "1", "birthDate": "2015-03-04", "gradeCode": "13"}
    data = await hub.data(
        ENROL,
        {"input": {"schoolId": school_id, "student": {**pupil, **fields}}},
        user="school.registrar",
    )
    assert data["enrolStudent"]["errors"] == []
    student: dict[str, Any] = data["enrolStudent"]["student"]
    return student


async def _pupils(hub: Hub) -> dict[str, dict[str, Any]]:
    code = hub.units["school"][1]
    school = (await hub.data("query ($c: String!) { school(code: $c) { id } }", {"c": code}))[
        "school"
    ]["id"]
    good = _citizen_id("44010320150304123")
    shared = _citizen_id("44010320150304155")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    return {
        "g": await _enrol(hub, school, name="甲", idTypeCode="1", idNumber=good),
        "j": await _enrol(hub, school, name="乙", birthDate="2015-05-05"),
        "bad": await _enrol(hub, school, name="丙", idTypeCode="1", idNumber=bad),
        "dup1": await _enrol(hub, school, name="丁", idTypeCode="1", idNumber=shared),
        "dup2": await _enrol(hub, school, name="丁", idTypeCode="1", idNumber=shared),
        "twin1": await _enrol(hub, school, name="戊", sexCode="2", birthDate="2014-01-01"),
        "twin2": await _enrol(hub, school, name="戊", sexCode="2", birthDate="2014-01-01"),
        "good": {"id_number": good},
    }


async def test_numbers_are_issued_only_to_records_without_problems(hub: Hub) -> None:
    pupils = await _pupils(hub)
    county = hub.units["county"][1]
    refused = await hub.query(
        ISSUE, {"input": {"under": hub.units["school"][1]}}, user="school.registrar"
    )
    assert [e["code"] for e in refused["data"]["issueNationalNumbers"]["errors"]] == ["FORBIDDEN"]

    async with hub.engine.connect() as connection:
        events = (await connection.execute(select(func.count()).select_from(EVENT))).scalar()
    dry = (
        await hub.data(ISSUE, {"input": {"under": county, "dryRun": True}}, user="county.registrar")
    )["issueNationalNumbers"]
    expected_blocked = [
        {"kind": {"code": "1", "label": "身份证件号无效"}, "students": 1},
        {"kind": {"code": "3", "label": "身份证件号重复"}, "students": 2},
        {"kind": {"code": "4", "label": "无证件疑似重复"}, "students": 2},
    ]
    assert dry == {
        "dryRun": True,
        "candidates": 7,
        "issuedG": 1,
        "issuedJ": 1,
        "blocked": expected_blocked,
        "errors": [],
    }
    still = await hub.data(BY_NUMBER, {"n": pupils["g"]["studentNumber"]})
    assert still["student"]["studentNumber"] == pupils["g"]["studentNumber"]  # nothing written
    async with hub.engine.connect() as connection:
        after_dry = (await connection.execute(select(func.count()).select_from(EVENT))).scalar()
    assert after_dry == events

    done = (await hub.data(ISSUE, {"input": {"under": county}}, user="county.registrar"))[
        "issueNationalNumbers"
    ]
    assert (done["issuedG"], done["issuedJ"], done["blocked"]) == (1, 1, expected_blocked)
    temporary = pupils["g"]["studentNumber"]
    for number in (temporary, "G" + pupils["good"]["id_number"]):  # found by either number
        found = await hub.data(BY_NUMBER, {"n": number}, user="county.registrar")
        assert found["student"]["name"] == "甲"
        assert found["student"]["formerNumber"] == temporary
        assert found["student"]["studentNumber"] == "G" + pupils["good"]["id_number"]
    j = await hub.data(BY_NUMBER, {"n": pupils["j"]["studentNumber"]})
    number = j["student"]["studentNumber"]
    # J + the school's division + birth date + a 4-digit sequence (docs/numbers.md)
    assert number[0] == "J" and number[7:15] == "20150505" and len(number) == 19
    assert j["student"]["formerNumber"] == pupils["j"]["studentNumber"]

    again = (await hub.data(ISSUE, {"input": {"under": county}}, user="county.registrar"))[
        "issueNationalNumbers"
    ]
    assert (again["candidates"], again["issuedG"], again["issuedJ"]) == (5, 0, 0)


async def test_concurrent_calls_issue_each_number_once(hub: Hub) -> None:
    code = hub.units["school"][1]
    school = (await hub.data("query ($c: String!) { school(code: $c) { id } }", {"c": code}))[
        "school"
    ]["id"]
    for n in range(6):
        await _enrol(hub, school, name=f"并发{n}", birthDate="2013-02-02")
        await _enrol(
            hub,
            school,
            name=f"并发G{n}",
            birthDate="2013-02-02",
            idTypeCode="1",
            idNumber=_citizen_id(f"440103201302020{n}1"),
        )
    county = hub.units["county"][1]
    bodies = await asyncio.gather(
        *(hub.query(ISSUE, {"input": {"under": county}}, user="county.registrar") for _ in range(3))
    )
    issued = 0
    for body in bodies:
        payload = (body.get("data") or {}).get("issueNationalNumbers")
        if payload is not None and not payload["errors"]:
            issued += payload["issuedG"] + payload["issuedJ"]
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(STUDENT.c.student_number, STUDENT.c.former_number).where(
                    STUDENT.c.name.like("并发%")
                )
            )
        ).all()
    assert len(rows) == 12
    assert all(number[0] in "GJ" and former and former[0] == "L" for number, former in rows)
    assert len({number for number, _ in rows}) == 12
    assert issued == 12  # every number issued by exactly one of the calls
