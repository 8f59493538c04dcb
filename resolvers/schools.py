"""Schools (学校) and classes (班级)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.pagination import PageArgs
from hub.schools.models import Class, School
from resolvers import filters
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
CLASS_TABLE = table_of(Class)


def check_school_code(code: str) -> str:
    if not (len(code) == 10 and code.isdigit()):
        raise BadInput(f"'code' must be a 10-digit school identification code, got {code!r}")
    return code


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)


async def by_code(ctx: Context, code: str) -> Row[Any] | None:
    check_school_code(code)

    return await load_by_column(ctx, TABLE, "code", code)


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    c = TABLE.c
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.codes(ctx, c.type_code, "school_type", spec.get("type"), "filter.type"),
        *filters.codes(
            ctx, c.ownership_code, "ownership", spec.get("ownership"), "filter.ownership"
        ),
        *filters.codes(
            ctx, c.urban_rural_code, "urban_rural", spec.get("urban_rural"), "filter.urbanRural"
        ),
        *filters.prefix(c.name, spec.get("name_prefix"), "filter.namePrefix"),
    )


async def page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    return listing(ctx, TABLE, await conditions(ctx, spec), args)


async def in_org_unit(
    ctx: Context, org_unit_id: int, spec: dict[str, Any], args: PageArgs
) -> Listing:
    conditions_ = await conditions(ctx, spec)
    return child_listing(ctx, TABLE, InSubtree(), conditions_, filters.key(spec), args, org_unit_id)


async def class_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, CLASS_TABLE, pk)


async def classes_of(ctx: Context, school_id: int) -> list[Row[Any]]:
    """All classes of a school, by grade and number (a school has tens, not thousands)."""

    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        return await fetch_children(
            ctx, CLASS_TABLE, "school_id", ids, order=("grade_code", "number"), with_scope=True
        )

    rows: list[Row[Any]] = await ctx.loader("classes_by_school", load).load(school_id)
    return rows
