"""Org units (组织机构): lookups by code and id, lists under a subtree, children."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.orgunits.models import OrgLevel, OrgUnit
from hub.pagination import PageArgs
from resolvers import filters
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
    return await load_by_id(ctx, TABLE, pk)


def check_org_unit_code(code: str) -> str:
    if not code or len(code) > 16:
        raise BadInput(f"'code' must be an org unit code of 1 to 16 characters, got {code!r}")
    return code


async def by_code(ctx: Context, code: str) -> Row[Any] | None:
    check_org_unit_code(code)
    return await load_by_column(ctx, TABLE, "code", code)


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    level: OrgLevel | None = spec.get("level")
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.equals(TABLE.c.level, level.value if level else None),
        *filters.prefix(TABLE.c.name, spec.get("name_prefix"), "filter.namePrefix"),
    )


async def page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    return listing(ctx, TABLE, await conditions(ctx, spec), args)


async def children(ctx: Context, parent_id: int, spec: dict[str, Any], args: PageArgs) -> Listing:
    conditions_ = await conditions(ctx, spec)
    return child_listing(
        ctx, TABLE, ByParent("parent_id"), conditions_, filters.key(spec), args, parent_id
    )
