"""Org units (组织机构): lookups by code and id, lists under a subtree, children."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.orgunits.filters import OrgUnitFilter, conditions
from hub.orgunits.models import OrgUnit
from hub.pagination import PageArgs
from resolvers.common import (
    ByParent,
    Listing,
    child_listing,
    listing,
    load_by_column,
    load_by_id,
)

TABLE = table_of(OrgUnit)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)


def check_org_unit_code(code: str) -> str:
    if not code or len(code) > 16:
        raise BadInput(f"'code' must be an org unit code of 1 to 16 characters, got {code!r}")
    return code


async def by_code(ctx: Context, code: str) -> Row[Any] | None:
    check_org_unit_code(code)
    return await load_by_column(ctx, ctx.access.readable(TABLE), "code", code)


async def page(ctx: Context, f: OrgUnitFilter, args: PageArgs) -> Listing:
    return listing(ctx, ctx.access.readable(TABLE), await conditions(ctx, f), args)


async def children(ctx: Context, parent_id: int, f: OrgUnitFilter, args: PageArgs) -> Listing:
    readable = ctx.access.readable(TABLE)
    where = await conditions(ctx, f)
    return child_listing(ctx, readable, ByParent("parent_id"), where, f, args, parent_id)
