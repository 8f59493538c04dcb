"""Reconciliation with the annual statistics report (教育事业统计核对): the CLI and the GraphQL
upload against counts rolled back here from the rows, and reports that cannot be read."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from openpyxl import Workbook

from hub.codes.registry import load_registry
from hub.demo.report import CHANGES, REPORT_DAY, UNKNOWN_SCHOOL, write_example_report
from tests.conftest import Hub
from tests.statistics.test_as_of import _rows, _school_code, _then

RECONCILE = """
mutation ($report: Upload!, $asOf: Date, $under: String) {
  reconcileStatistics(report: $report, asOf: $asOf, under: $under) {
    reconciliation {
      asOf sheet compared matching reportedTotal hubTotal unknownSchools
      differences { school { code label } grade { code label } reported hub difference }
    }
    errors { message code }
  }
}
"""


async def _upload(
    hub: Hub,
    content: bytes,
    variables: dict[str, Any] | None = None,
    user: str | None = "national.admin",
    name: str = "report.xlsx",
) -> Any:
    operations = {"query": RECONCILE, "variables": {"report": None, **(variables or {})}}
    return await hub.client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": '{"0": ["variables.report"]}',
        },
        files={
            "0": (
                name,
                content,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
        headers=hub.headers(user),
    )


def _workbook(rows: list[list[Any]], day: dt.date | None = REPORT_DAY) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "基础数据"
    if day is not None:
        sheet.append(["统计时点", day])
    sheet.append(["学校标识码", "学校名称", "年级", "在校生数"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _expected(hub: Hub, under: str, day: dt.date) -> Counter[tuple[str, str]]:
    then = await _then(hub, under, day)
    return Counter((_school_code(p), g) for s, g, p in then.values() if s == "01")


async def test_a_report_in_long_layout_differs_exactly_where_it_was_changed(hub: Hub) -> None:
    path = hub.units["county"][2]
    expected = await _expected(hub, path, REPORT_DAY)
    pairs = sorted(expected)
    rows: list[list[Any]] = [[s, "", g, n] for (s, g), n in sorted(expected.items())]
    rows[0][3] += 5  # reported 5 too many
    rows[3][3] -= 1  # reported 1 too few
    missing = rows.pop(6)  # a grade the report leaves out
    rows.append(["合计", "", "", sum(int(r[3]) for r in rows)])
    response = await _upload(hub, _workbook(rows), user="county.registrar")
    assert response.status_code == 200, response.text
    found = response.json()["data"]["reconcileStatistics"]
    assert found["errors"] == []
    result = found["reconciliation"]
    assert result["asOf"] == REPORT_DAY.isoformat()
    got = {
        (d["school"]["code"], d["grade"]["code"]): d["difference"] for d in result["differences"]
    }
    assert got == {pairs[0]: -5, pairs[6]: expected[pairs[6]], pairs[3]: 1}
    assert [abs(d["difference"]) for d in result["differences"]] == sorted(
        (abs(v) for v in got.values()), reverse=True
    )
    assert result["compared"] == len(pairs)
    assert result["matching"] == len(pairs) - 3
    assert result["hubTotal"] == sum(expected.values())
    assert missing[0] in {d["school"]["code"] for d in result["differences"]}
    # A school outside the viewer's scope is not compared: listed as unknown.
    sibling_school = (
        await _rows(
            hub,
            "SELECT code FROM school WHERE path >= :low AND path < :high ORDER BY code",
            low=hub.units["county2"][2],
            high=hub.units["county2"][2][:-1] + "0",
        )
    )[0].code
    response = await _upload(
        hub, _workbook([[sibling_school, "", "11", 40]]), user="county.registrar"
    )
    result = response.json()["data"]["reconcileStatistics"]["reconciliation"]
    assert result["unknownSchools"] == [sibling_school]
    assert result["differences"] == [] and result["compared"] == 0


async def test_the_demo_report_through_the_cli_and_graphql(hub: Hub, tmp_path: Path) -> None:
    async with hub.engine.connect() as connection:
        codes = await load_registry(connection)
    report = tmp_path / "statistics-report.xlsx"
    listed = await write_example_report(hub.engine, codes, report)
    expected = await _expected(hub, "/CN/", REPORT_DAY)
    schools = sorted({s for s, _g in expected})
    assert listed == len(schools) + 1
    changes = {}
    for ordinal, delta in CHANGES:
        school = schools[ordinal]
        first = min(g for s, g in expected if s == school)
        changes[(school, first)] = expected[(school, first)] if delta is None else -delta
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("eduhub")),
        "stats", "reconcile", str(report), "--database", hub.url,
        "--out", str(tmp_path / "differences.csv"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out, _ = await process.communicate()
    output = out.decode()
    assert process.returncode == 3, output  # differences found
    assert f"{len(changes)} differ" in output and UNKNOWN_SCHOOL in output
    lines = (tmp_path / "differences.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "学校标识码,学校名称,年级码,年级,报表数,枢纽数,差异"
    written = {
        (line.split(",")[0], line.split(",")[2]): int(line.split(",")[6]) for line in lines[1:-1]
    }
    assert written == changes
    assert lines[-1].startswith(UNKNOWN_SCHOOL)
    # The same file uploaded as national.admin finds the same.
    response = await _upload(hub, report.read_bytes())
    result = response.json()["data"]["reconcileStatistics"]["reconciliation"]
    got = {
        (d["school"]["code"], d["grade"]["code"]): d["difference"] for d in result["differences"]
    }
    assert got == changes
    assert result["unknownSchools"] == [UNKNOWN_SCHOOL]


async def test_reports_that_cannot_be_read_are_refused_naming_the_cells(hub: Hub) -> None:
    school = (await _rows(hub, "SELECT code FROM school ORDER BY code"))[0].code
    cases = {
        b"not a workbook": "not an Excel .xlsx workbook",
        b"": "the file is empty",
        _workbook([[school, "", "11", "abc"], ["12345", "", "11", 3], [school, "", "99", 1]]): (
            "基础数据!D3: 在校生数 'abc' is not a whole number ≥ 0; 基础数据!A4: 学校标识码 '12345'"
            " is not a ten-digit school code; 基础数据!C5: 年级 '99' is not a grade"
        ),
        _workbook([[school, "", "11", 3]], day=None): "has no 统计时点",
        _workbook([[school, "", "11", 3], [school, "", "一年级", 4]]): "given twice",
    }
    for content, message in cases.items():
        response = await _upload(hub, content)
        body = response.json()
        errors = body["data"]["reconcileStatistics"]["errors"]
        assert body["data"]["reconcileStatistics"]["reconciliation"] is None
        assert errors and errors[0]["code"] == "BAD_INPUT", body
        assert message in errors[0]["message"], errors[0]["message"]
    # asOf given instead of a 统计时点 cell; a future day is refused.
    response = await _upload(
        hub, _workbook([[school, "", "11", 3]], day=None), {"asOf": REPORT_DAY.isoformat()}
    )
    assert response.json()["data"]["reconcileStatistics"]["reconciliation"]["compared"] >= 1
    future = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    response = await _upload(hub, _workbook([[school, "", "11", 3]]), {"asOf": future})
    assert (
        "lies in the future"
        in response.json()["data"]["reconcileStatistics"]["errors"][0]["message"]
    )
    # Without a token: refused before anything is read; too large: 413.
    response = await _upload(hub, _workbook([[school, "", "11", 3]]), user=None)
    assert response.status_code == 401
    response = await _upload(hub, b"x" * (hub.settings.max_upload_bytes + 10))
    assert response.status_code == 413
    # A map naming no file, and a path outside the variables.
    response = await hub.client.post(
        "/graphql",
        data={"operations": orjson.dumps({"query": RECONCILE}).decode(), "map": '{"0": ["query"]}'},
        files={"0": ("r.xlsx", b"x", "application/octet-stream")},
        headers=hub.headers("national.admin"),
    )
    assert response.status_code == 400 and "variables.<name>" in response.text
