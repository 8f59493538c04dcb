"""The demo's example annual statistics report (教育事业统计报表示例), for reconciliation.

Written from the hub's own counts as of the report's day, in the wide layout of the base
tables (one column per grade), with a few deliberate differences a reconciliation must find:
one school's first grade reported 3 too many, another's 2 too few, a third's grade left
blank, and a school the hub does not know.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import Executable, true
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.codes.registry import CodeRegistry
from hub.statistics.reconcile import CODE_HEADER, DAY_LABEL, NAME_HEADER, hub_counts

REPORT_DAY = dt.date(2026, 9, 30)  # the school year's statistics day before the demo's snapshot
UNKNOWN_SCHOOL = "4199999999"
# (school ordinal among those reported, change to its first grade): +3, -2, blank.
CHANGES = ((0, 3), (4, -2), (8, None))


async def write_example_report(engine: AsyncEngine, codes: CodeRegistry, path: Path) -> int:
    """Write the example report to ``path``; the number of schools it lists."""
    async with engine.connect() as connection:

        async def run(statement: Executable) -> Sequence[Any]:
            return (await connection.execute(statement)).all()

        counts, names = await hub_counts(run, REPORT_DAY, true(), [], under="/CN/")
    grades = sorted({g for _s, g in counts})
    schools = sorted({s for s, _g in counts})
    changed = dict(counts)
    for ordinal, delta in CHANGES:
        if ordinal >= len(schools):
            continue
        school = schools[ordinal]
        first = min(g for s, g in counts if s == school)
        changed[(school, first)] = -1 if delta is None else counts[(school, first)] + delta
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "基础数据"
    sheet.append(["教育事业统计 在校生数（示例，演示数据）"])
    sheet.append([DAY_LABEL, REPORT_DAY])
    labels = [codes.label("grade", g) for g in grades]
    sheet.append([CODE_HEADER, NAME_HEADER, *labels])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A4"
    for school in schools:
        values: list[object] = []
        for grade in grades:
            value = changed.get((school, grade))
            values.append(None if value is None or value < 0 else value)
        sheet.append([school, names.get(school, ""), *values])
    sheet.append([UNKNOWN_SCHOOL, "示例未知学校", *([12] + [None] * (len(grades) - 1))])
    sheet.append(
        [
            "合计",
            "",
            *(sum(v for (_s, g), v in changed.items() if g == grade and v > 0) for grade in grades),
        ]
    )
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 30
    book.save(path)
    return len(schools) + 1
