"""Teachers and staff (教职工)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from hub.teachers.filters import TeacherFilter, conditions
from hub.teachers.models import Teacher
from resolvers.common import ByParent, Listing, child_listing, listing, load_by_id

TABLE = table_of(Teacher)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)


async def page(ctx: Context, f: TeacherFilter, args: PageArgs) -> Listing:
    return listing(ctx, ctx.access.readable(TABLE), await conditions(ctx, f), args)


async def of_school(ctx: Context, school_id: int, f: TeacherFilter, args: PageArgs) -> Listing:
    readable = ctx.access.readable(TABLE)
    where = await conditions(ctx, f)
    return child_listing(ctx, readable, ByParent("school_id"), where, f, args, school_id)
