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
from collections.abc import Collection
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Subquery,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
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


def _history_after(changes: Any) -> Subquery:
    """Per student with ``changes`` (rows of ``status_change`` after a day): the status and
    grade before the first of them, whether one was a transfer and the school the first
    transfer came from. One window pass, then one row per student (a GROUP BY, which
    planners estimate well)."""
    c = changes.c
    transfer = case((c.type_code.in_(TRANSFERS), 1), else_=0)
    order = (c.occurred_on, c.id)
    windowed = (
        select(
            c.student_id,
            func.first_value(c.status_before_code)
            .over(partition_by=c.student_id, order_by=order)
            .label("status_before"),
            func.first_value(c.grade_before_code)
            .over(partition_by=c.student_id, order_by=order)
            .label("grade_before"),
            func.first_value(c.from_school_id)
            .over(partition_by=c.student_id, order_by=(transfer.desc(), *order))
            .label("from_school"),
            transfer.label("moved"),
        )
        .select_from(changes)
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


def students_at(
    day: dt.date,
    scope: ColumnElement[bool],
    under: str = "/",
    *,
    unchanged_tree: bool = False,
    columns: Collection[str] | None = None,
) -> list[Select[Any]]:
    """The students on the hub's roll on ``day`` among those ``scope`` selects today, with
    the columns of ``student`` as they stood: ``status_code``, ``grade_code``,
    ``school_id`` and ``path`` (their school's path in that day's tree). A student whose
    school did not exist in that day's tree is left out.

    ``under`` (a path of that day's tree) narrows the rows read to those that may have lain
    under it; the caller still selects on ``path``. ``unchanged_tree``: the caller has found
    the subtree at ``under`` unchanged since the day (``unchanged_since``), so that day's
    paths there are today's and no row is mapped through the versions. ``columns``: only
    those of ``student`` (a count reads a few of its sixty; the planner's work and the
    statement's size follow the columns listed).

    Two sources of rows, never the same student in both: the students without a change
    after the day stand as they are today (read like today's figures, filtered on the day of
    their latest change), and the few with changes since are rolled back. A count sums the two
    (``union_all`` of them is that day's roll)."""
    # The day decides the plan (how many changes lie after it): written into the text, as
    # the subtree bounds are (``under_path``).
    at = literal(day, Date, literal_execute=True)
    later = CHANGE.c.occurred_on > at
    month = f"{day.year:04d}-{day.month:02d}"
    on_roll = or_(STUDENT.c.enrolled_on.is_(None), STUDENT.c.enrolled_on <= month)

    kept = [c for c in STUDENT.c if columns is None or c.name in columns]

    def listed(**then: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        return [then[c.name].label(c.name) if c.name in then else c for c in kept]

    # The schools under ``under`` that day, and whether a student's school is one of them.
    schools_then: Select[Any] | None = None
    if under == "/":

        def here(student: Any) -> ColumnElement[bool]:
            return true()

    elif unchanged_tree:
        then = SCHOOL.alias("school_then")
        schools_then = select(then.c.id).where(under_path(then.c.path, under))

        def here(student: Any) -> ColumnElement[bool]:
            return under_path(student.c.path, under)

    else:
        tree = units_at(day).alias("tree_then")
        then = SCHOOL.alias("school_then")  # never correlated with an enclosing school
        schools_then = (
            select(then.c.id)
            .join(tree, school_unit(tree, then))
            .where(under_path(tree.c.path, under))
        )

        def here(student: Any) -> ColumnElement[bool]:
            column: ColumnElement[int] = student.c.school_id
            return column.in_(schools_then)

    # Students with no change after the day (``changed_on``, the day of the latest, kept by
    # the database): today's row, at that day's path of its school.
    unchanged = or_(STUDENT.c.changed_on.is_(None), STUDENT.c.changed_on <= at)
    if unchanged_tree:
        stayed = select(*kept)
    else:
        units = units_at(day).alias("stayed_unit")
        stayed = (
            select(*listed(path=units.c.path))
            .select_from(STUDENT)
            .join(SCHOOL, SCHOOL.c.id == STUDENT.c.school_id)
            .join(units, school_unit(units))
        )
    stayed = stayed.where(scope, here(STUDENT), on_roll, unchanged)

    # Students with changes since, rolled back: only those who are under ``under`` today
    # and changed since (read off their rows), or whose transfer since came from one of its
    # schools of that day (a semi-join on the student's key, EXISTS, which the planner
    # estimates from the tables' own statistics; a list of ids would be guessed at 200 rows
    # whatever its size).
    columns_of_change = [
        CHANGE.c[n]
        for n in (
            "id",
            "student_id",
            "occurred_on",
            "type_code",
            "status_before_code",
            "grade_before_code",
            "from_school_id",
        )
    ]
    if schools_then is None:
        changes: Any = select(*columns_of_change).where(later).subquery("changes")
    else:
        now = STUDENT.alias("student_now")
        is_here = select(now.c.id).where(now.c.id == CHANGE.c.student_id, here(now)).exists()
        move = CHANGE.alias("move")
        left = select(move.c.student_id).where(
            move.c.occurred_on > at,
            move.c.type_code.in_(TRANSFERS),
            move.c.from_school_id.in_(schools_then),
        )
        changes = union_all(
            select(*columns_of_change)
            .select_from(now)
            .join(CHANGE, CHANGE.c.student_id == now.c.id)
            .where(here(now), now.c.changed_on > at, later),
            select(*columns_of_change).where(later, CHANGE.c.student_id.in_(left), ~is_here),
        ).subquery("changes")
    history = _history_after(changes)
    school_then = case((history.c.moved == 1, history.c.from_school), else_=STUDENT.c.school_id)
    rolled = STUDENT.join(history, history.c.student_id == STUDENT.c.id).join(
        SCHOOL, SCHOOL.c.id == school_then
    )
    path_then: ColumnElement[str] = SCHOOL.c.path
    if not unchanged_tree:
        units = units_at(day).alias("changed_unit")
        rolled = rolled.join(units, school_unit(units))
        path_then = units.c.path
    changed = (
        select(
            *listed(
                # The types of student's columns, so that a union of the two sources
                # (reconcile) is a plain append the planner flattens, reading only the
                # columns used.
                status_code=cast(history.c.status_before, STUDENT.c.status_code.type),
                grade_code=cast(
                    func.coalesce(history.c.grade_before, STUDENT.c.grade_code),
                    STUDENT.c.grade_code.type,
                ),
                school_id=SCHOOL.c.id,
                path=cast(path_then, STUDENT.c.path.type),
            )
        )
        .select_from(rolled)
        .where(scope, history.c.status_before.is_not(None), on_roll)
    )
    return [stayed, changed]


def schools_at(
    day: dt.date,
    scope: ColumnElement[bool],
    under: str = "/",
    *,
    unchanged_tree: bool = False,
    columns: Collection[str] | None = None,
) -> list[Select[Any]]:
    """The schools in the tree of ``day`` among those ``scope`` selects today, with their
    ``path`` of that day (``unchanged_tree``, ``columns``: as for ``students_at``)."""
    kept = [c for c in SCHOOL.c if columns is None or c.name in columns or c.name == "path"]
    if unchanged_tree:
        return [select(*kept).where(scope, under_path(SCHOOL.c.path, under))]
    units = units_at(day)
    return [
        select(*(c for c in kept if c.name != "path"), units.c.path.label("path"))
        .select_from(SCHOOL)
        .join(units, school_unit(units))
        .where(scope, under_path(units.c.path, under))
    ]
