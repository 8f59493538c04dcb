"""Problem records (问题学籍): the queue, the students of a record, a student's records."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Row, select

from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from hub.quality.checks import OPEN
from hub.quality.filters import ProblemRecordFilter, conditions
from hub.quality.models import ProblemAction, ProblemMember, ProblemRecord
from hub.students.models import Student
from resolvers.common import Listing, listing, load_by_id

RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)
ACTION = table_of(ProblemAction)
STUDENT = table_of(Student)


async def page(ctx: Context, f: ProblemRecordFilter, args: PageArgs) -> Listing:
    """The queue (问题学籍清单) in the viewer's subtree, by school."""
    return listing(ctx, ctx.access.readable(RECORD), await conditions(ctx, f), args)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(RECORD), pk)


async def students_of(ctx: Context, record_id: int) -> list[Row[Any]]:
    """The students of a record's group that the viewer may read (a duplicate in another
    county or province is counted in ``memberCount``, not shown)."""

    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        statement = (
            select(STUDENT, MEMBER.c.record_id.label("member_of"))
            .join(MEMBER, MEMBER.c.student_id == STUDENT.c.id)
            .where(MEMBER.c.record_id.in_(set(ids)), ctx.access.readable(STUDENT).where)
            .order_by(MEMBER.c.record_id, STUDENT.c.id)
        )
        grouped: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in await ctx.rows(statement):
            grouped[row.member_of].append(row)
        return [grouped[i] for i in ids]

    rows: list[Row[Any]] = await ctx.loader("problem_students", load).load(record_id)
    return rows


async def of_student(ctx: Context, student_id: int, include_closed: bool) -> list[Row[Any]]:
    """The problem records a student is in, oldest first (open ones only unless asked)."""

    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        statement = (
            select(RECORD, MEMBER.c.student_id.label("member"))
            .join(MEMBER, MEMBER.c.record_id == RECORD.c.id)
            .where(MEMBER.c.student_id.in_(set(ids)), ctx.access.readable(RECORD).where)
            .order_by(MEMBER.c.student_id, RECORD.c.id)
        )
        if not include_closed:
            statement = statement.where(RECORD.c.status_code.in_(OPEN))
        grouped: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in await ctx.rows(statement):
            grouped[row.member].append(row)
        return [grouped[i] for i in ids]

    key = ("problems_of_student", include_closed)
    rows: list[Row[Any]] = await ctx.loader(key, load).load(student_id)
    return rows


async def actions_of(ctx: Context, record_id: int) -> list[Row[Any]]:
    """The handling of a record, oldest first (read through the record: its path)."""

    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        statement = (
            select(ACTION, RECORD.c.path)
            .join(RECORD, RECORD.c.id == ACTION.c.record_id)
            .where(ACTION.c.record_id.in_(set(ids)), ctx.access.readable(RECORD).where)
            .order_by(ACTION.c.record_id, ACTION.c.id)
        )
        grouped: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in await ctx.rows(statement):
            grouped[row.record_id].append(row)
        return [grouped[i] for i in ids]

    rows: list[Row[Any]] = await ctx.loader("problem_actions", load).load(record_id)
    return rows
