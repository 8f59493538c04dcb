"""National student numbers (全国学籍号): permanent numbers for the pupils whose records pass.

``issue`` gives ``G`` + citizen ID to every student under a unit who still has a temporary
``L`` number, holds a valid citizen ID and is in no open problem record, and a ``J`` number
(``Settings.j_number_format``) to such pupils without a citizen ID. The ``L`` number is kept
as ``former_number``. What blocks the others is counted by problem kind: the open records,
and problems the checks would find now but have not recorded yet (a record is never
bypassed because the check has not run). Idempotent: a student with a permanent number is
not a candidate; concurrent calls update each student once (the update re-checks that the
number is still temporary) and J sequences are allocated under a lock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select, update

from hub.access.scope import under_path
from hub.changes.log import Change, append
from hub.db.base import table_of
from hub.errors import Conflict, Forbidden, NotFound
from hub.orgunits.models import OrgLevel, OrgUnit
from hub.quality.checks import CITIZEN_ID, OPEN, row_problem
from hub.quality.models import ProblemMember, ProblemRecord
from hub.schools.models import School
from hub.students import service as students
from hub.students.models import Student
from hub.students.numbers import j_numbers
from hub.writes import Writer

STUDENT = table_of(Student)
SCHOOL = table_of(School)
UNIT = table_of(OrgUnit)
RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)
PARTITION = 5000


@dataclass
class IssueSummary:
    dry_run: bool
    candidates: int = 0  # students under the unit with a temporary number
    issued_g: int = 0
    issued_j: int = 0
    blocked: Counter[str] = field(default_factory=Counter)  # students per problem kind


async def _unit_path(w: Writer, code: str) -> str:
    row = (
        await w.session.execute(select(UNIT.c.path, UNIT.c.level).where(UNIT.c.code == code))
    ).first()
    if row is None or not w.access.may("org_unit", "read", row.path):
        raise NotFound(f"org unit {code!r} in 'input.under' not found")
    path = str(row.path)
    # The county (or higher) issues, with approve over the whole unit: for one school, held
    # above it.
    school = row.level == OrgLevel.SCHOOL
    allowed = students.may_approve(w, path) if school else w.access.may("student", "approve", path)
    if not allowed:
        raise Forbidden(
            "issuing national numbers needs 'approve' on student records over the whole unit,"
            " held above its schools (the county or higher)"
        )
    return path


async def issue(w: Writer, under: str, *, dry_run: bool, j_format: str) -> IssueSummary:
    path = await _unit_path(w, under)
    summary = IssueSummary(dry_run=dry_run)
    connection = await w.connection()
    c = STUDENT.c
    open_record = exists(
        select(MEMBER.c.record_id)
        .join(RECORD, RECORD.c.id == MEMBER.c.record_id)
        .where(MEMBER.c.student_id == c.id, RECORD.c.status_code.in_(OPEN))
    )
    duplicates = (
        select(c.id_number)
        .where(c.id_number.is_not(None))
        .group_by(c.id_number)
        .having(func.count() > 1)
        .subquery()
    )
    twins = (
        select(c.name, c.sex_code, c.birth_date)
        .where(c.id_number.is_(None))
        .group_by(c.name, c.sex_code, c.birth_date)
        .having(func.count() > 1)
        .subquery()
    )
    statement = (
        select(
            c.id,
            c.student_number,
            c.id_type_code,
            c.id_number,
            c.birth_date,
            c.sex_code,
            c.path,
            SCHOOL.c.division_code,
            open_record.label("has_open"),
            duplicates.c.id_number.is_not(None).label("duplicate"),
            twins.c.name.is_not(None).label("twin"),
        )
        .join(SCHOOL, SCHOOL.c.id == c.school_id)
        .outerjoin(duplicates, duplicates.c.id_number == c.id_number)
        .outerjoin(
            twins,
            and_(
                twins.c.name == c.name,
                twins.c.sex_code == c.sex_code,
                twins.c.birth_date == c.birth_date,
                c.id_number.is_(None),
            ),
        )
        .where(under_path(c.path, path), c.student_number.startswith("L"))
        .order_by(c.id)
    )
    if not dry_run:  # PostgreSQL: a concurrent call waits here, then sees these issued
        statement = statement.with_for_update(of=STUDENT)
    open_kinds = await _open_kinds(connection, path)
    g_numbers: list[dict[str, Any]] = []
    j_pupils: list[Any] = []
    rows = (await connection.execute(statement)).all()
    for row in rows:
        summary.candidates += 1
        kind = _blocking_kind(row, open_kinds)
        if kind is not None:
            summary.blocked[kind] += 1
        elif row.id_type_code == CITIZEN_ID and row.id_number is not None:
            g_numbers.append(
                {"pk": row.id, "number": "G" + row.id_number, "old": row.student_number}
            )
        else:
            j_pupils.append(row)
    summary.issued_g = len(g_numbers)
    summary.issued_j = len(j_pupils)
    if dry_run:
        return summary
    j_numbers = await _allocate_j(connection, j_format, j_pupils)
    changes = [*g_numbers, *j_numbers]
    paths = {row.id: row.path for row in rows}
    issued = 0
    for start in range(0, len(changes), PARTITION):
        batch = changes[start : start + PARTITION]
        result = await connection.execute(
            update(STUDENT)
            .where(c.id == bindparam("pk"), c.student_number == bindparam("old"))
            .values(student_number=bindparam("number"), former_number=bindparam("old"))
            .execution_options(synchronize_session=False),
            batch,
        )
        issued += int(result.rowcount or 0)
    sane = connection.dialect.supports_sane_multi_rowcount
    if sane and issued != len(changes):  # another call issued some meanwhile: issue none
        raise ConcurrentIssue(
            "another issue of national numbers under this unit ran at the same time; nothing"
            " was issued by this one: run it again (it is idempotent)"
        )
    await append(
        connection,
        [
            Change(
                "Student",
                ch["pk"],
                paths[ch["pk"]],
                "update",
                {"student_number": ch["number"], "former_number": ch["old"]},
            )
            for ch in changes
        ],
        actor=w.actor,
        origin="numbers",
        at=w.now,
    )
    return summary


class ConcurrentIssue(Conflict):
    """Another issue under the unit ran at the same time."""


def _blocking_kind(row: Any, open_kinds: dict[int, str]) -> str | None:
    """The kind of problem that keeps ``row`` from a permanent number, if any."""
    if row.has_open:
        return open_kinds.get(row.id, "0")
    if row.id_type_code == CITIZEN_ID and row.id_number is not None:
        found = row_problem(str(row.id_number), row.birth_date, row.sex_code)
        if found is not None:
            return found[0]
    if row.duplicate:
        return "3"
    if row.twin:
        return "4"
    return None


async def _open_kinds(connection: Any, path: str) -> dict[int, str]:
    """The (lowest) kind of an open record of each student under ``path`` that has one."""
    rows = await connection.execute(
        select(MEMBER.c.student_id, func.min(RECORD.c.kind_code))
        .join(RECORD, RECORD.c.id == MEMBER.c.record_id)
        .join(STUDENT, STUDENT.c.id == MEMBER.c.student_id)
        .where(RECORD.c.status_code.in_(OPEN), under_path(STUDENT.c.path, path))
        .group_by(MEMBER.c.student_id)
    )
    return {int(pk): str(kind) for pk, kind in rows}


async def _allocate_j(connection: Any, j_format: str, pupils: list[Any]) -> list[dict[str, Any]]:
    """J numbers for ``pupils``, by prefix (division and birth date), allocated at once."""
    by_prefix: dict[tuple[str, dt.date], list[Any]] = {}
    for row in pupils:
        by_prefix.setdefault((row.division_code, row.birth_date), []).append(row)
    allocated: list[dict[str, Any]] = []
    numbers = await j_numbers(
        connection, j_format, {place: len(rows) for place, rows in by_prefix.items()}
    )
    for place, rows in by_prefix.items():
        allocated.extend(
            {"pk": row.id, "number": number, "old": row.student_number}
            for row, number in zip(rows, numbers[place], strict=True)
        )
    return allocated
