"""Governed exports (数据导出) through GraphQL and HTTP, on both databases: a request, its
review above the requester, the background job, the watermarked file masked by the
requester's rights, the download with its audit, refusals, expiry; and the direct downloads
of lists and statistics tables as XLSX and CSV."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select, update

from hub.access.models import AuditEvent
from hub.db.base import table_of
from hub.exports.jobs import expire
from hub.exports.models import ExportRequest
from hub.students.models import Student
from tests.conftest import Hub, running_hub

STUDENT = table_of(Student)
REQUEST = table_of(ExportRequest)
AUDIT = table_of(AuditEvent)

REQUEST_EXPORT = """
mutation ($input: RequestExportInput!) {
  requestExport(input: $input) {
    exportRequest { id number status { code label } rowsTotal purpose fields entity format
      mayDecide downloadUrl }
    errors { field message code }
  }
}
"""
REVIEW = """
mutation ($input: ReviewInput!) {
  reviewExport(input: $input) {
    exportRequest { id status { code } reviewedBy reviewNote }
    errors { message code }
  }
}
"""
LIST = """
query ($filter: ExportRequestFilter) {
  exports(filter: $filter, first: 50) {
    totalCount
    edges { node { id number status { code } requestedBy mayDecide rowsWritten rowsTotal
      progress downloadUrl fileBytes fileSha256 error } }
  }
}
"""


@pytest.fixture(scope="module")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with running_hub(backend, tmp_path_factory.mktemp(f"exports-{backend}"), 1500) as h:
        yield h


async def _request(hub: Hub, user: str, **fields: Any) -> dict[str, Any]:
    data = await hub.data(REQUEST_EXPORT, {"input": fields}, user=user)
    payload: dict[str, Any] = data["requestExport"]
    return payload


async def _requested(hub: Hub, user: str, **fields: Any) -> dict[str, Any]:
    payload = await _request(hub, user, **fields)
    assert payload["errors"] == [], payload
    request: dict[str, Any] = payload["exportRequest"]
    return request


async def _review(
    hub: Hub, user: str, id_: str, approve: bool, note: str | None = None
) -> dict[str, Any]:
    data = await hub.data(
        REVIEW, {"input": {"id": id_, "approve": approve, "note": note}}, user=user
    )
    payload: dict[str, Any] = data["reviewExport"]
    return payload


async def _wait_ready(hub: Hub, user: str, number: int) -> dict[str, Any]:
    """Poll the list until the job has finished (ready or failed)."""
    for _ in range(400):
        data = await hub.data(LIST, user=user)
        node = next(e["node"] for e in data["exports"]["edges"] if e["node"]["number"] == number)
        if node["status"]["code"] in ("5", "6"):
            return dict(node)
        await asyncio.sleep(0.05)
    raise AssertionError(f"export {number} did not finish")


async def _county_students(hub: Hub) -> list[Any]:
    county_path = hub.units["county"][2]
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(STUDENT.c.id, STUDENT.c.name, STUDENT.c.id_number, STUDENT.c.path)
                .where(STUDENT.c.path.startswith(county_path), STUDENT.c.status_code == "01")
                .order_by(STUDENT.c.path, STUDENT.c.id)
            )
        ).all()
    return list(rows)


def _exists(name: str) -> bool:
    return Path(name).exists()


async def _audit(hub: Hub, contains: str) -> list[Any]:
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(AUDIT.c.username, AUDIT.c.action, AUDIT.c.outcome, AUDIT.c.detail)
                .where(AUDIT.c.detail.contains(contains))
                .order_by(AUDIT.c.id)
            )
        ).all()
    return list(rows)


async def test_request_review_job_and_download_of_an_xlsx(hub: Hub) -> None:
    county = hub.units["county"][1]
    students = await _county_students(hub)
    request = await _requested(
        hub,
        "county.registrar",
        entity="STUDENTS",
        purpose="县级控辍保学核查",
        filter={"students": {"under": county, "status": ["01"]}},
        fields=["studentNumber", "name", "sex", "idNumber", "grade"],
        format="XLSX",
    )
    assert request["status"] == {"code": "1", "label": "待审批"}
    assert request["rowsTotal"] == len(students)
    assert request["mayDecide"] is False and request["downloadUrl"] is None
    assert request["entity"] == "STUDENTS" and request["format"] == "XLSX"
    number = request["number"]

    # Nobody decides their own request, nor anyone at or below the requester's unit.
    for user in ("county.registrar", "school.registrar", "county.viewer"):
        refused = await _review(hub, user, request["id"], True)
        assert refused["errors"][0]["code"] in ("FORBIDDEN", "NOT_FOUND"), user
    # Another county sees nothing of it; the city above sees it and may decide it.
    other = await hub.data(LIST, user="county2.registrar")
    assert all(e["node"]["number"] != number for e in other["exports"]["edges"])
    seen = await hub.data(LIST, {"filter": {"status": ["1"]}}, user="city.admin")
    mine = [e["node"] for e in seen["exports"]["edges"] if e["node"]["number"] == number]
    assert mine and mine[0]["mayDecide"] is True

    approved = await _review(hub, "city.admin", request["id"], True, "同意，限本次核查使用")
    assert approved["errors"] == []
    assert approved["exportRequest"]["reviewedBy"] == "city.admin"
    again = await _review(hub, "province.admin", request["id"], True)
    assert again["errors"][0]["code"] == "BAD_INPUT"  # decided already

    done = await _wait_ready(hub, "county.registrar", number)
    assert done["status"]["code"] == "5", done
    assert done["rowsWritten"] == len(students) and done["progress"] == 1.0
    assert done["downloadUrl"] == f"/exports/{number}"

    # Only the requester downloads it, with its bearer token.
    assert (await hub.client.get(f"/exports/{number}")).status_code == 401
    stranger = await hub.client.get(f"/exports/{number}", headers=hub.headers("city.admin"))
    assert stranger.status_code == 404
    response = await hub.client.get(done["downloadUrl"], headers=hub.headers("county.registrar"))
    assert response.status_code == 200, response.text
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert len(response.content) == done["fileBytes"]
    import hashlib

    assert hashlib.sha256(response.content).hexdigest() == done["fileSha256"]

    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["封面", "学生"]
    sheet = book["学生"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("全国学籍号", "姓名", "性别码", "性别", "身份证件号", "年级码", "年级")
    assert len(rows) - 1 == len(students)
    # The registrar may unmask in its county: ID numbers as stored, in path order.
    assert [r[4] for r in rows[1:]] == [s.id_number for s in students]
    assert [r[1] for r in rows[1:]] == [s.name for s in students]
    # The watermark: the file's properties and its cover sheet.
    props = book.properties
    assert props.creator == "county.registrar" and props.subject == "县级控辍保学核查"
    assert f"export {number}" in (props.keywords or "")
    custom = {p.name: p.value for p in book.custom_doc_props.props}
    assert custom["导出申请编号"] == str(number) and custom["审批人"] == "city.admin"
    cover = dict(r[:2] for r in book["封面"].iter_rows(values_only=True) if r[0] and r[1])
    assert cover["用途"] == "县级控辍保学核查" and cover["申请人"] == "county.registrar"

    # Every step is in the audit log, the stranger's attempt too.
    trail = await _audit(hub, f"export request {number}")
    actions = [(r.username, r.action, r.outcome) for r in trail]
    assert ("county.registrar", "export", "allowed") in actions  # requested, then written
    assert ("city.admin", "approve", "allowed") in actions
    assert ("city.admin", "download", "denied") in actions
    assert ("county.registrar", "download", "allowed") in actions
    written = [r.detail for r in trail if "written" in r.detail]
    assert written and f"{len(students)} students rows" in written[0]
    listed = await hub.data(LIST, user="county.registrar")
    node = next(e["node"] for e in listed["exports"]["edges"] if e["node"]["number"] == number)
    assert node["status"]["code"] == "5"


async def test_the_file_is_masked_by_the_requesters_rights(hub: Hub) -> None:
    """The statistician exports but never unmasks: ID numbers and disability stay masked in
    the file as in its queries. The CSV carries the watermark on its first line."""
    county = hub.units["county"][1]
    request = await _requested(
        hub,
        "county.statistician",
        entity="STUDENTS",
        purpose="随迁子女统计核对",
        filter={"students": {"under": county}},
        fields=["name", "idNumber", "disability", "migrantChild"],
        format="CSV",
    )
    approved = await _review(hub, "city.admin", request["id"], True)
    assert approved["errors"] == []
    done = await _wait_ready(hub, "county.statistician", request["number"])
    assert done["status"]["code"] == "5", done
    response = await hub.client.get(
        f"/exports/{request['number']}", headers=hub.headers("county.statistician")
    )
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0].startswith('"导出申请编号：') and "随迁子女统计核对" in lines[0]
    assert lines[1] == ""
    table = list(csv.reader(io.StringIO("\r\n".join(lines[2:]))))
    assert table[0] == ["姓名", "身份证件号", "残疾类型码", "残疾类型", "进城务工人员随迁子女"]
    body = [r for r in table[1:] if r]
    assert len(body) == done["rowsWritten"] > 0
    assert {r[1] for r in body} <= {"******************", ""}
    assert {r[2] for r in body} == {"*"} and {r[3] for r in body} == {"已脱敏"}
    assert {r[4] for r in body} <= {"是", "否", ""}


async def test_refusal_withdrawal_and_bad_requests(hub: Hub) -> None:
    county = hub.units["county"][1]
    # Registrars export students and schools, not teachers; viewers export nothing.
    refused = await _request(
        hub, "county.registrar", entity="TEACHERS", purpose="教师名册核对", format="CSV"
    )
    assert refused["errors"][0]["code"] == "FORBIDDEN"
    viewer = await _request(hub, "county.viewer", entity="STUDENTS", purpose="查看学生名单")
    assert viewer["errors"][0]["code"] == "FORBIDDEN"

    cases: list[tuple[dict[str, Any], str]] = [
        ({"fields": ["name", "shoeSize"]}, "shoeSize"),
        ({"purpose": "x"}, "purpose"),
        ({"filter": {"teachers": {"under": county}}}, "filter.students"),
        ({"filter": {"students": {"grade": ["99"]}}}, "grade"),
        ({"filter": {"students": {"under": "999999"}}}, "999999"),
    ]
    for change, needle in cases:
        fields = {"entity": "STUDENTS", "purpose": "学籍核查用途", **change}
        payload = await _request(hub, "county.registrar", **fields)
        assert payload["exportRequest"] is None, change
        assert payload["errors"][0]["code"] == "BAD_INPUT", payload
        assert needle in payload["errors"][0]["message"], payload
    # Nothing of a refused request was written.
    async with hub.engine.connect() as connection:
        before = (await connection.execute(select(func.count()).select_from(REQUEST))).scalar()

    pending = await _requested(
        hub, "school.registrar", entity="SCHOOLS", purpose="学校信息核对", format="XLSX"
    )
    no_note = await _review(hub, "city.admin", pending["id"], False)
    assert no_note["errors"][0]["code"] == "BAD_INPUT" and "note" in no_note["errors"][0]["message"]
    decided = await _review(hub, "city.admin", pending["id"], False, "用途不明确")
    assert decided["exportRequest"]["status"] == {"code": "3"}
    assert decided["exportRequest"]["reviewNote"] == "用途不明确"
    gone = await hub.client.get(
        f"/exports/{pending['number']}", headers=hub.headers("school.registrar")
    )
    assert gone.status_code == 409 and "已驳回" in gone.text

    withdrawn = await _requested(
        hub, "school.registrar", entity="STUDENTS", purpose="本校学生名册", format="CSV"
    )
    data = await hub.data(
        "mutation ($id: ID!) { withdrawExport(id: $id) { exportRequest { status { code } }"
        " errors { code } } }",
        {"id": withdrawn["id"]},
        user="school.registrar",
    )
    assert data["withdrawExport"]["exportRequest"]["status"] == {"code": "8"}
    late = await _review(hub, "city.admin", withdrawn["id"], True)
    assert late["errors"][0]["code"] == "BAD_INPUT"
    async with hub.engine.connect() as connection:
        after = (await connection.execute(select(func.count()).select_from(REQUEST))).scalar()
    assert after == (before or 0) + 2


async def test_an_expired_file_is_deleted_and_no_longer_served(hub: Hub) -> None:
    request = await _requested(
        hub, "school.registrar", entity="STUDENTS", purpose="本校学籍核对", format="XLSX"
    )
    await _review(hub, "city.admin", request["id"], True)
    done = await _wait_ready(hub, "school.registrar", request["number"])
    assert done["status"]["code"] == "5"
    async with hub.engine.connect() as connection:
        stored = (
            await connection.execute(
                select(REQUEST.c.file_name).where(REQUEST.c.id == request["number"])
            )
        ).scalar_one()
    assert _exists(stored)
    async with hub.engine.begin() as connection:
        await connection.execute(
            update(REQUEST)
            .where(REQUEST.c.id == request["number"])
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    # Even before the sweep, an expired file is not served.
    early = await hub.client.get(
        f"/exports/{request['number']}", headers=hub.headers("school.registrar")
    )
    assert early.status_code == 410
    assert await expire(hub.engine) >= 1
    assert not _exists(stored)
    listed = await hub.data(LIST, user="school.registrar")
    node = next(
        e["node"] for e in listed["exports"]["edges"] if e["node"]["number"] == request["number"]
    )
    assert node["status"]["code"] == "7" and node["downloadUrl"] is None
    trail = await _audit(hub, f"export request {request['number']}: expired")
    assert trail and trail[0].outcome == "denied"


async def test_a_job_whose_requester_left_fails_with_the_reason(hub: Hub) -> None:
    from hub.access.models import HubUser

    user = table_of(HubUser)
    request = await _requested(
        hub, "county2.registrar", entity="STUDENTS", purpose="邻县学籍核对", format="CSV"
    )
    async with hub.engine.begin() as connection:
        await connection.execute(
            update(user).where(user.c.username == "county2.registrar").values(active=False)
        )
    try:
        await _review(hub, "city.admin", request["id"], True)
        for _ in range(400):
            async with hub.engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(REQUEST.c.status_code, REQUEST.c.error).where(
                            REQUEST.c.id == request["number"]
                        )
                    )
                ).first()
            assert row is not None
            if row.status_code == "6":
                break
            await asyncio.sleep(0.05)
        assert row is not None
        assert row.status_code == "6" and "no longer an active user" in row.error
    finally:
        async with hub.engine.begin() as connection:
            await connection.execute(
                update(user).where(user.c.username == "county2.registrar").values(active=True)
            )
        hub.state.principals.drop("county2.registrar")


# ------------------------------------------------------------------------ direct downloads


async def test_a_list_downloads_as_the_viewer_sees_it(hub: Hub) -> None:
    school = hub.units["school"][1]
    query = {"filter": json.dumps({"schoolCodes": [school]}), "fields": "name,idNumber,grade"}
    masked = await hub.client.get(
        "/download/students.xlsx", params=query, headers=hub.headers("county.viewer")
    )
    assert masked.status_code == 200, masked.text
    rows = list(
        openpyxl.load_workbook(io.BytesIO(masked.content))["学生"].iter_rows(values_only=True)
    )
    assert rows[0] == ("姓名", "身份证件号", "年级码", "年级")
    assert len(rows) > 1 and {r[1] for r in rows[1:]} <= {"******************", None}

    shown = await hub.client.get(
        "/download/students.csv", params=query, headers=hub.headers("school.registrar")
    )
    assert shown.status_code == 200
    table = list(csv.reader(io.StringIO(shown.content.decode("utf-8-sig"))))
    assert len(table) == len(rows) and any(
        r[1] not in ("", "******************") for r in table[1:]
    )
    trail = await _audit(hub, f"{len(rows) - 1} students rows as csv")
    assert trail and trail[-1].username == "school.registrar"
    async with hub.engine.connect() as connection:
        unmask = (
            await connection.execute(
                select(AUDIT.c.fields, AUDIT.c.subjects)
                .where(AUDIT.c.username == "school.registrar", AUDIT.c.action == "unmask")
                .order_by(AUDIT.c.id.desc())
                .limit(1)
            )
        ).first()
    assert unmask is not None and unmask.fields == "idNumber"
    assert len(json.loads(unmask.subjects)) == len(rows) - 1

    # Outside the viewer's subtree nothing is read; too many rows ask for an export.
    other = await hub.client.get(
        "/download/students.csv",
        params={"filter": json.dumps({"under": hub.units["county2"][1]})},
        headers=hub.headers("county.viewer"),
    )
    assert other.status_code == 200 and len(other.content.decode("utf-8-sig").split("\r\n")) == 2
    hub.state.settings.__dict__["download_max_rows"] = 3
    try:
        large = await hub.client.get(
            "/download/students.csv", params=query, headers=hub.headers("county.viewer")
        )
    finally:
        hub.state.settings.__dict__["download_max_rows"] = 5000
    assert large.status_code == 400 and "requestExport" in large.text
    for bad, code in (
        ({"filter": "{not json"}, 400),
        ({"filter": json.dumps({"shoe": "1"})}, 400),
        ({"fields": "name,shoeSize"}, 400),
    ):
        response = await hub.client.get(
            "/download/students.csv", params=bad, headers=hub.headers("county.viewer")
        )
        assert response.status_code == code, (bad, response.text)
    assert (
        await hub.client.get("/download/pets.csv", headers=hub.headers("county.viewer"))
    ).status_code == 400
    assert (
        await hub.client.get("/download/students.pdf", headers=hub.headers("county.viewer"))
    ).status_code == 400
    assert (await hub.client.get("/download/students.csv")).status_code == 401


async def test_statistics_tables_download_as_sheets(hub: Hub) -> None:
    county = hub.units["county"][1]
    data = await hub.data(
        """query ($u: String!) { statistics(under: $u) {
            students(by: [UNIT, GRADE]) { rows { keys { code label } count } count }
            teachers(by: [UNIT]) { rows { keys { code label } count } count } } }""",
        {"u": county},
        user="county.statistician",
    )
    response = await hub.client.get(
        "/download/statistics.xlsx",
        params=[("under", county), ("table", "students"), ("table", "teachers"), ("by", "UNIT")],
        headers=hub.headers("county.statistician"),
    )
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["学生统计", "教职工统计"]
    teachers = list(book["教职工统计"].iter_rows(values_only=True))
    assert teachers[0] == ("单位码", "单位", "教职工数")
    expected = [
        (r["keys"][0]["code"], r["keys"][0]["label"], r["count"])
        for r in data["statistics"]["teachers"]["rows"]
    ]
    assert teachers[1:-1] == expected
    assert teachers[-1] == ("合计", None, data["statistics"]["teachers"]["count"])

    by_grade = await hub.client.get(
        "/download/statistics.csv",
        params=[("under", county), ("table", "students"), ("by", "UNIT"), ("by", "GRADE")],
        headers=hub.headers("county.statistician"),
    )
    table = list(csv.reader(io.StringIO(by_grade.content.decode("utf-8-sig"))))
    assert table[0] == ["单位码", "单位", "年级码", "年级", "学生数"]
    expected_rows = [
        [
            r["keys"][0]["code"],
            r["keys"][0]["label"],
            r["keys"][1]["code"],
            r["keys"][1]["label"],
            str(r["count"]),
        ]
        for r in data["statistics"]["students"]["rows"]
    ]
    assert table[1:-1] == expected_rows
    # A CSV is one table; a unit outside the viewer's subtree is not found.
    two = await hub.client.get(
        "/download/statistics.csv",
        params=[("under", county), ("table", "students"), ("table", "teachers")],
        headers=hub.headers("county.statistician"),
    )
    assert two.status_code == 400
    outside = await hub.client.get(
        "/download/statistics.xlsx",
        params={"under": hub.units["county2"][1]},
        headers=hub.headers("county.statistician"),
    )
    assert outside.status_code == 404


async def test_the_command_line_writes_approved_exports(hub: Hub, tmp_path: Path) -> None:
    """``eduhub exports run``: a hub whose server is down still delivers files, and takes
    over a job that died (running, silent for two minutes; set in the database, so no
    in-process job takes it first)."""
    import os
    import sys

    request = await _requested(
        hub, "county.registrar", entity="SCHOOLS", purpose="学校名录核对", format="XLSX"
    )
    async with hub.engine.begin() as connection:
        await connection.execute(
            update(REQUEST)
            .where(REQUEST.c.id == request["number"])
            .values(
                status_code="4",
                reviewed_by="city.admin",
                heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2),
            )
        )
    env = {**os.environ, "HUB_EXPORT_DIR": str(tmp_path)}
    command = [str(Path(sys.executable).with_name("eduhub")), "exports", "run"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "--database",
        hub.url,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert f"export {request['number']}: ready" in err.decode()
    response = await hub.client.get(
        f"/exports/{request['number']}", headers=hub.headers("county.registrar")
    )
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    schools = list(book["学校"].iter_rows(values_only=True))
    assert schools[0][:2] == ("学校标识码", "学校名称") and len(schools) > 1
