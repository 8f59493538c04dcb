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
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Subquery,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)

from hub.access.scope import under_path
from hub.db.base import table_of
from hub.orgunits.history import school_unit, units_at
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


def _history_after(day: ColumnElement[dt.date]) -> Subquery:
    """Per student with changes after ``day``: the status and grade before the first of
    them, whether one was a transfer and the school the first transfer came from. One
    window pass, then one row per student (a GROUP BY, which planners estimate well)."""
    transfer = case((CHANGE.c.type_code.in_(TRANSFERS), 1), else_=0)
    order = (CHANGE.c.occurred_on, CHANGE.c.id)
    windowed = (
        select(
            CHANGE.c.student_id,
            func.first_value(CHANGE.c.status_before_code)
            .over(partition_by=CHANGE.c.student_id, order_by=order)
            .label("status_before"),
            func.first_value(CHANGE.c.grade_before_code)
            .over(partition_by=CHANGE.c.student_id, order_by=order)
            .label("grade_before"),
            func.first_value(CHANGE.c.from_school_id)
            .over(partition_by=CHANGE.c.student_id, order_by=(transfer.desc(), *order))
            .label("from_school"),
            transfer.label("moved"),
        )
        .where(CHANGE.c.occurred_on > day)
        .subquery("windowed")
    )
    return (
        select(
            windowed.c.student_id,
            func.max(windowed.c.status_before).label("status_before"),
            func.max(windowed.c.grade_before).label("grade_before"),
            func.max(windowed.c.from_school).label("from_school"),
            func.max(windowed.c.moved).label("moved"),
        )
        .group_by(windowed.c.student_id)
        .subquery("history")
    )


def students_at(day: dt.date, scope: ColumnElement[bool], under: str = "/") -> Subquery:
    """The students on the hub's roll on ``day`` among those ``scope`` selects today, with
    the columns of ``student`` as they stood: ``status_code``, ``grade_code``,
    ``school_id`` and ``path`` (their school's path in that day's tree). A student whose
    school did not exist in that day's tree is left out.

    ``under`` (a path of that day's tree) narrows the rows read to those that may have lain
    under it: the students of the schools under it that day, and those who changed school
    since. The caller still selects on ``path``; this only spares reading the others."""
    at = bindparam("history_day", day, type_=Date, unique=True)
    history = _history_after(at).element.cte("history")  # read by both halves
    units = units_at(day)
    school_then = case((history.c.moved == 1, history.c.from_school), else_=STUDENT.c.school_id)
    status_then = case(
        (history.c.student_id.is_(None), STUDENT.c.status_code), else_=history.c.status_before
    )
    grade_then = func.coalesce(history.c.grade_before, STUDENT.c.grade_code)
    replaced = {"status_code", "grade_code", "school_id", "path"}
    month = f"{day.year:04d}-{day.month:02d}"

    def rows(*where: ColumnElement[bool]) -> Select[Any]:
        return (
            select(
                *(c for c in STUDENT.c if c.name not in replaced),
                status_then.label("status_code"),
                grade_then.label("grade_code"),
                SCHOOL.c.id.label("school_id"),
                units.c.path.label("path"),
            )
            .select_from(STUDENT)
            .outerjoin(history, history.c.student_id == STUDENT.c.id)
            .join(SCHOOL, SCHOOL.c.id == school_then)
            .join(units, school_unit(units))
            .where(
                scope,
                status_then.is_not(None),
                or_(STUDENT.c.enrolled_on.is_(None), STUDENT.c.enrolled_on <= month),
                *where,
            )
        )

    if under == "/":
        return rows().subquery("student_at")
    # Under a unit: the students of its schools of that day (by the school index), and
    # those who have since left one of them (few: their first transfer after the day came
    # from one), never the same student twice.
    tree = units_at(day).alias("tree_then")
    schools_then = (
        select(SCHOOL.c.id).join(tree, school_unit(tree)).where(under_path(tree.c.path, under))
    )
    stayed = rows(STUDENT.c.school_id.in_(schools_then))
    left = rows(
        history.c.moved == 1,
        history.c.from_school.in_(schools_then),
        STUDENT.c.school_id.not_in(schools_then),
    )
    return union_all(stayed, left).subquery("student_at")


def schools_at(day: dt.date, scope: ColumnElement[bool], under: str = "/") -> Subquery:
    """The schools in the tree of ``day`` among those ``scope`` selects today, with their
    ``path`` of that day."""
    units = units_at(day)
    return (
        select(*(c for c in SCHOOL.c if c.name != "path"), units.c.path.label("path"))
        .select_from(SCHOOL)
        .join(units, school_unit(units))
        .where(scope, under_path(units.c.path, under))
        .subquery("school_at")
    )
