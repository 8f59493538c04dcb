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
    child_page_loader,
    fetch_by_column,
    fetch_by_ids,
    listing,
)

TABLE = table_of(OrgUnit)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    async def load(ids: list[int]) -> list[Row[Any] | None]:
        return await fetch_by_ids(ctx, TABLE, ids)

    row: Row[Any] | None = await ctx.loader("org_unit_by_id", load).load(pk)
    return row


async def by_code(ctx: Context, code: str) -> Row[Any] | None:
    if not code or len(code) > 16:
        raise BadInput(f"'code' must be an org unit code of 1 to 16 characters, got {code!r}")

    async def load(codes: list[str]) -> list[Row[Any] | None]:
        return await fetch_by_column(ctx, TABLE, "code", codes)

    row: Row[Any] | None = await ctx.loader("org_unit_by_code", load).load(code)
    return row


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
    load = child_page_loader(
        ctx,
        TABLE,
        ByParent("parent_id"),
        await conditions(ctx, spec),
        filters.key(spec),
        args,
    )
    return load.of(parent_id)
