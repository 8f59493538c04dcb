"""Students as they stood on a past day (学籍回溯), from the status-change history.

Every status change (学籍异动) records the student's 学籍状态 and grade before and after it,
and a transfer (转入/转出) the school it came from. A student's state on day D is today's
record rolled back through the changes after D: the state before the first later change
(status, grade), the school a later transfer came from. A student whose first later change
has no status before it (入学注册, a transfer in from outside the hub) was not on the hub's
roll that day; neither was one whose 入学年月 lies after D. Attributes that have no history
in the hub (sex, ethnicity, the flags) are today's values.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Date, Subquery, and_, bindparam, case, func, or_, select

from hub.db.base import table_of
from hub.orgunits.history import units_at
from hub.orgunits.models import OrgLevel
from hub.schools.models import School
from hub.students.models import StatusChange, Student

STUDENT = table_of(Student)
CHANGE = table_of(StatusChange)
SCHOOL = table_of(School)

# 异动类别 that move a student between schools: 转入, 转出.
TRANSFERS = ("13", "27")

# 异动类别 -> 学籍状态 after the change (the same mapping filled existing rows, 0014).
STATUS_AFTER = {
    "11": "01",  # 入学注册 -> 在读
    "12": "01",  # 复学 -> 在读
    "13": "01",  # 转入 -> 在读
    "21": "06",  # 毕业
    "22": "07",  # 结业
    "23": "02",  # 休学
    "24": "04",  # 退学
    "25": "09",  # 开除
    "26": "08",  # 死亡
    "27": "03",  # 转出
    "28": "05",  # 辍学
}


def status_before(kind: str, from_school_id: int | None) -> str | None:
    """The 学籍状态 before a change of ``kind`` when the writer did not record it: none before
    入学注册 or a transfer in from outside the hub, 休学 before 复学, 在读 otherwise."""
    if kind == "11" or (kind == "13" and from_school_id is None):
        return None
    return "02" if kind == "12" else "01"


def _first_after(day: ColumnElement[dt.date], *where: ColumnElement[bool]) -> Subquery:
    ranked = (
        select(
            CHANGE.c.student_id,
            CHANGE.c.status_before_code,
            CHANGE.c.grade_before_code,
            CHANGE.c.from_school_id,
            func.row_number()
            .over(partition_by=CHANGE.c.student_id, order_by=(CHANGE.c.occurred_on, CHANGE.c.id))
            .label("k"),
        )
        .where(CHANGE.c.occurred_on > day, *where)
        .subquery()
    )
    return select(ranked).where(ranked.c.k == 1).subquery()


def students_at(day: dt.date, scope: ColumnElement[bool]) -> Subquery:
    """The students on the hub's roll on ``day`` among those ``scope`` selects today, with
    the columns of ``student`` as they stood: ``status_code``, ``grade_code``,
    ``school_id`` and ``path`` (their school's path in that day's tree). A student whose
    school did not exist in that day's tree is left out."""
    at = bindparam("history_day", day, type_=Date, unique=True)
    first = _first_after(at).alias("first_change")
    moved = _first_after(at, CHANGE.c.type_code.in_(TRANSFERS)).alias("first_transfer")
    units = units_at(day)
    school_then = case(
        (moved.c.student_id.is_(None), STUDENT.c.school_id), else_=moved.c.from_school_id
    )
    status_then = case(
        (first.c.student_id.is_(None), STUDENT.c.status_code), else_=first.c.status_before_code
    )
    grade_then = func.coalesce(first.c.grade_before_code, STUDENT.c.grade_code)
    replaced = {"status_code", "grade_code", "school_id", "path"}
    month = f"{day.year:04d}-{day.month:02d}"
    return (
        select(
            *(c for c in STUDENT.c if c.name not in replaced),
            status_then.label("status_code"),
            grade_then.label("grade_code"),
            SCHOOL.c.id.label("school_id"),
            units.c.path.label("path"),
        )
        .select_from(STUDENT)
        .outerjoin(first, first.c.student_id == STUDENT.c.id)
        .outerjoin(moved, moved.c.student_id == STUDENT.c.id)
        .join(SCHOOL, SCHOOL.c.id == school_then)
        .join(
            units,
            and_(units.c.unit_id == SCHOOL.c.org_unit_id, units.c.level == OrgLevel.SCHOOL),
        )
        .where(
            scope,
            status_then.is_not(None),
            or_(STUDENT.c.enrolled_on.is_(None), STUDENT.c.enrolled_on <= month),
        )
        .subquery("student_at")
    )


def schools_at(day: dt.date, scope: ColumnElement[bool]) -> Subquery:
    """The schools in the tree of ``day`` among those ``scope`` selects today, with their
    ``path`` of that day."""
    units = units_at(day)
    return (
        select(*(c for c in SCHOOL.c if c.name != "path"), units.c.path.label("path"))
        .select_from(SCHOOL)
        .join(
            units,
            and_(units.c.unit_id == SCHOOL.c.org_unit_id, units.c.level == OrgLevel.SCHOOL),
        )
        .where(scope)
        .subquery("school_at")
    )
