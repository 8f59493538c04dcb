"""Schools (学校) and classes (班级)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.pagination import PageArgs
from hub.schools.filters import SchoolFilter, conditions
from hub.schools.models import Class, School
from resolvers.common import (
    InSubtree,
    Listing,
    child_listing,
    fetch_children,
    listing,
    load_by_column,
    load_by_id,
)

TABLE = table_of(School)
CLASS = table_of(Class)


def check_school_code(code: str) -> str:
    if not (len(code) == 10 and code.isdigit()):
        raise BadInput(f"'code' must be a 10-digit school identification code, got {code!r}")
    return code


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)


async def by_code(ctx: Context, code: str) -> Row[Any] | None:
    check_school_code(code)
    return await load_by_column(ctx, ctx.access.readable(TABLE), "code", code)


async def page(ctx: Context, f: SchoolFilter, args: PageArgs) -> Listing:
    return listing(ctx, ctx.access.readable(TABLE), await conditions(ctx, f), args)


async def in_org_unit(ctx: Context, org_unit_id: int, f: SchoolFilter, args: PageArgs) -> Listing:
    readable = ctx.access.readable(TABLE)
    where = await conditions(ctx, f)
    return child_listing(ctx, readable, InSubtree(), where, f, args, org_unit_id)


async def class_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(CLASS), pk)


async def classes_of(ctx: Context, school_id: int) -> list[Row[Any]]:
    """All classes of a school, by grade and number (a school has tens, not thousands)."""
    readable = ctx.access.readable(CLASS)

    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        return await fetch_children(ctx, readable, "school_id", ids, order=("grade_code", "number"))

    rows: list[Row[Any]] = await ctx.loader("classes_by_school", load).load(school_id)
    return rows
