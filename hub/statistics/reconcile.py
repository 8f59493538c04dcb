"""Reconciliation with the annual statistics report (教育事业统计核对).

A report is an Excel workbook of student counts by school and grade as of its 统计时点. Two
layouts are read, on the first sheet that has a header row with 学校标识码:

- long: columns 学校标识码, 年级 (a code such as ``11`` or a label such as 一年级) and
  在校生数 (or 学生数), one row per school and grade;
- wide: 学校标识码 and one column per grade, headed by its label or code.

学校名称 is optional in both. The day is a cell labelled 统计时点 (its value in the cell to the
right or below) on any sheet, unless the caller gives one. The hub's counts are its students
as they stood that day (``students_at``: 在读, by the school and grade of that day), within
the caller's scope; the result lists every school and grade where the two differ, largest
difference first. A report that cannot be read is refused whole, naming every bad cell.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import ColumnElement, Executable, func, select, union_all

from hub.access.scope import under_path
from hub.codes.registry import CodeRegistry
from hub.db.base import table_of
from hub.errors import BadInput
from hub.orgunits.history import unchanged_since
from hub.schools.models import School
from hub.students.history import students_at

SCHOOL = table_of(School)
Run = Callable[[Executable], Awaitable[Sequence[Any]]]

CODE_HEADER = "学校标识码"
NAME_HEADER = "学校名称"
GRADE_HEADER = "年级"
COUNT_HEADERS = ("在校生数", "学生数")
DAY_LABEL = "统计时点"
MAX_ERRORS = 20
MAX_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class Report:
    """The counts a report gives: (school code, grade code) -> pupils; names as given."""

    day: dt.date | None
    counts: dict[tuple[str, str], int]
    names: dict[str, str]
    sheet: str


@dataclass(frozen=True, slots=True)
class Difference:
    school: str
    name: str
    grade: str
    grade_label: str
    reported: int
    hub: int

    @property
    def difference(self) -> int:
        return self.hub - self.reported


@dataclass(frozen=True, slots=True)
class Reconciliation:
    day: dt.date
    sheet: str
    differences: tuple[Difference, ...]  # largest first
    compared: int  # school-grade pairs compared
    matching: int
    reported_total: int
    hub_total: int  # over the schools compared
    unknown_schools: tuple[str, ...]  # in the report, not in the hub (or not in scope)


def read_report(content: bytes, codes: CodeRegistry, *, name: str = "report") -> Report:
    """The counts of a report workbook; BadInput naming each bad cell, never a partial read."""
    if not content:
        raise BadInput(f"{name}: the file is empty")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise BadInput(f"{name}: not an Excel .xlsx workbook ({error})") from None
    try:
        day = _day(book)
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            for number, row in enumerate(rows, start=1):
                if number > 20:
                    break
                cells = [_text(v) for v in row]
                if CODE_HEADER in cells:
                    return _read_table(sheet.title, number, cells, rows, codes, day, name)
    finally:
        book.close()
    raise BadInput(
        f"{name}: no sheet has a header row with {CODE_HEADER} in its first 20 rows (the"
        f" columns: {CODE_HEADER}, {GRADE_HEADER}, {COUNT_HEADERS[0]}; or one column per grade)"
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _day(book: Any) -> dt.date | None:
    for sheet in book.worksheets:
        grid = [list(r) for _, r in zip(range(20), sheet.iter_rows(values_only=True), strict=False)]
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if _text(value).rstrip(":：") != DAY_LABEL:
                    continue
                for candidate in (
                    row[j + 1] if j + 1 < len(row) else None,
                    grid[i + 1][j] if i + 1 < len(grid) and j < len(grid[i + 1]) else None,
                ):
                    if isinstance(candidate, dt.datetime):
                        return candidate.date()
                    if isinstance(candidate, dt.date):
                        return candidate
                    if candidate is not None:
                        try:
                            return dt.date.fromisoformat(_text(candidate))
                        except ValueError:
                            raise BadInput(
                                f"{sheet.title}: {DAY_LABEL} {_text(candidate)!r} is not a date"
                                " (YYYY-MM-DD)"
                            ) from None
    return None


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_table(
    title: str,
    header_row: int,
    headers: list[str],
    rows: Iterable[tuple[Any, ...]],
    codes: CodeRegistry,
    day: dt.date | None,
    name: str,
) -> Report:
    grades = {label: code for code, label in codes.members("grade").items()}
    known_grades = set(grades.values())
    code_at = headers.index(CODE_HEADER)
    name_at = headers.index(NAME_HEADER) if NAME_HEADER in headers else None
    long = GRADE_HEADER in headers
    count_at = grade_at = 0
    if long:
        found = next((headers.index(h) for h in COUNT_HEADERS if h in headers), None)
        if found is None:
            raise BadInput(
                f"{name}: sheet {title} row {header_row} has {GRADE_HEADER} but no"
                f" {' or '.join(COUNT_HEADERS)} column"
            )
        count_at, grade_at = found, headers.index(GRADE_HEADER)
        wide: list[tuple[int, str]] = []
    else:
        wide = [
            (i, grades.get(h, h)) for i, h in enumerate(headers) if h in grades or h in known_grades
        ]
        if not wide:
            raise BadInput(
                f"{name}: sheet {title} row {header_row} has neither a {GRADE_HEADER} column"
                " nor columns headed by grades (一年级, … or 11, …)"
            )
    errors: list[str] = []
    counts: dict[tuple[str, str], int] = {}
    names: dict[str, str] = {}

    def fail(row: int, column: int, message: str) -> None:
        if len(errors) < MAX_ERRORS:
            errors.append(f"{title}!{_column_letter(column)}{row}: {message}")

    def whole(row: int, column: int, value: Any, what: str) -> int | None:
        """The count in a cell; None when it is bad (reported) or, in the long layout,
        empty (reported); an empty cell of the wide layout is 0."""
        if value is None or _text(value) == "":
            if long:
                fail(row, column, f"{what} is empty")
                return None
            return 0
        number = None
        if not isinstance(value, bool) and isinstance(value, int | float | str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if number is None or number != int(number) or number < 0:
            fail(row, column, f"{what} {_text(value)!r} is not a whole number ≥ 0")
            return None
        return int(number)

    for number, row in enumerate(rows, start=header_row + 1):
        if number - header_row > MAX_ROWS:
            raise BadInput(f"{name}: more than {MAX_ROWS:,} rows in sheet {title}")
        cells = list(row)
        if not any(_text(v) for v in cells):
            continue
        school = _text(cells[code_at] if code_at < len(cells) else None)
        if school in ("合计", "总计"):
            continue
        if not (len(school) == 10 and school.isdigit()):
            fail(number, code_at, f"{CODE_HEADER} {school!r} is not a ten-digit school code")
            continue
        if name_at is not None and name_at < len(cells) and _text(cells[name_at]):
            names[school] = _text(cells[name_at])
        entries: list[tuple[int, str, Any]] = []
        if long:
            raw = _text(cells[grade_at] if grade_at < len(cells) else None)
            grade = grades.get(raw, raw)
            if grade not in known_grades:
                fail(number, grade_at, f"{GRADE_HEADER} {raw!r} is not a grade code or label")
                continue
            entries.append((count_at, grade, cells[count_at] if count_at < len(cells) else None))
        else:
            entries.extend((i, g, cells[i] if i < len(cells) else None) for i, g in wide)
        for column, grade, value in entries:
            count = whole(number, column, value, COUNT_HEADERS[0] if long else grade)
            if count is None:
                continue
            key = (school, grade)
            if key in counts and long:
                fail(number, column, f"{school} {grade} is given twice")
                continue
            counts[key] = counts.get(key, 0) + count
    if errors:
        more = "" if len(errors) < MAX_ERRORS else f" (the first {MAX_ERRORS} shown)"
        raise BadInput(f"{name}: the report cannot be read{more}: " + "; ".join(errors))
    if not counts:
        raise BadInput(f"{name}: sheet {title} has a header row but no counts")
    return Report(day, counts, names, title)


async def hub_counts(
    run: Run,
    day: dt.date,
    scope: ColumnElement[bool],
    schools: Sequence[str],
    under: str | None = None,
) -> tuple[dict[tuple[str, str], int], dict[str, str]]:
    """In-school students (在读) on ``day`` by (school code, grade), among those ``scope``
    selects, for the ``schools`` given and every school under the path ``under``; and the
    names of the schools the hub knows of those."""
    then = union_all(
        *students_at(day, scope, unchanged_tree=await unchanged_since(run, day, "/"))
    ).subquery("student_at")
    chosen: ColumnElement[bool] = SCHOOL.c.code.in_(list(schools))
    if under is not None:
        chosen = chosen | under_path(then.c.path, under)
    rows = await run(
        select(SCHOOL.c.code, then.c.grade_code, func.count())
        .select_from(then.join(SCHOOL, SCHOOL.c.id == then.c.school_id))
        .where(then.c.status_code == "01", chosen)
        .group_by(SCHOOL.c.code, then.c.grade_code)
    )
    counts = {(str(r[0]), str(r[1])): int(r[2]) for r in rows}
    known = {str(c) for c, _g in counts}
    name_rows = await run(
        select(SCHOOL.c.code, SCHOOL.c.name).where(SCHOOL.c.code.in_(sorted(known | set(schools))))
    )
    return counts, {str(r.code): str(r.name) for r in name_rows}


def compare(
    report: Report,
    day: dt.date,
    hub: dict[tuple[str, str], int],
    hub_names: dict[str, str],
    visible: set[str],
    codes: CodeRegistry,
) -> Reconciliation:
    """The report against the hub's counts; ``visible``: the report's schools the caller
    may count (the others are listed as unknown, not compared)."""
    reported_schools = {s for s, _g in report.counts}
    unknown = tuple(sorted(reported_schools - visible))
    keys = {k for k in report.counts if k[0] in visible} | set(hub)
    differences: list[Difference] = []
    matching = 0
    for school, grade in keys:
        reported = report.counts.get((school, grade), 0)
        counted = hub.get((school, grade), 0)
        if reported == counted:
            matching += 1
            continue
        differences.append(
            Difference(
                school,
                hub_names.get(school) or report.names.get(school, ""),
                grade,
                codes.label("grade", grade),
                reported,
                counted,
            )
        )
    differences.sort(key=lambda d: (-abs(d.difference), d.school, d.grade))
    return Reconciliation(
        day,
        report.sheet,
        tuple(differences),
        len(keys),
        matching,
        sum(v for k, v in report.counts.items() if k[0] in visible),
        sum(hub.values()),
        unknown,
    )


async def reconcile(
    run: Run,
    content: bytes,
    codes: CodeRegistry,
    students: ColumnElement[bool],
    schools: ColumnElement[bool],
    *,
    day: dt.date | None = None,
    under: str | None = None,
    name: str = "report",
) -> Reconciliation:
    """Read ``content`` and compare it with the hub as of its day (or ``day``): students
    and schools are the caller's scopes of the two tables."""
    report = read_report(content, codes, name=name)
    chosen = day or report.day
    if chosen is None:
        raise BadInput(f"{name}: the report has no {DAY_LABEL} cell: give the day it counts (asOf)")
    if chosen > dt.date.today():
        raise BadInput(f"{name}: {DAY_LABEL} {chosen} lies in the future")
    listed = sorted({s for s, _g in report.counts})
    counted, names = await hub_counts(run, chosen, students, listed, under)
    # The report's schools the caller may count: those the hub holds within its scope.
    visible_rows = await run(select(SCHOOL.c.code).where(SCHOOL.c.code.in_(listed), schools))
    visible = {str(r[0]) for r in visible_rows}
    return compare(report, chosen, counted, names, visible, codes)
