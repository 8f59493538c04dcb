"""Assets and equipment (资产与仪器设备)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.assets.filters import AssetFilter, conditions
from hub.assets.models import Asset
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers.common import ByParent, Listing, child_listing, listing, load_by_id

TABLE = table_of(Asset)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)


async def page(ctx: Context, f: AssetFilter, args: PageArgs) -> Listing:
    return listing(ctx, ctx.access.readable(TABLE), await conditions(ctx, f), args)


async def of_parent(
    ctx: Context, column: str, parent_id: int, f: AssetFilter, args: PageArgs
) -> Listing:
    """Assets of a school (``school_id``) or a building (``building_id``), batched."""
    readable = ctx.access.readable(TABLE)
    where = await conditions(ctx, f)
    return child_listing(ctx, readable, ByParent(column), where, f, args, parent_id)
