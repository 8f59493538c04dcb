"""School buildings (校舍)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.buildings.filters import BuildingFilter, conditions
from hub.buildings.models import Building
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers import federation
from resolvers.common import ByParent, Listing, child_listing, listing, load_by_id

TABLE = table_of(Building)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)


async def page(ctx: Context, f: BuildingFilter, args: PageArgs) -> Listing:
    readable = ctx.access.readable(TABLE)
    routes = await federation.routes_of(ctx, "building")
    if routes:
        return await federation.federated_listing(
            ctx, readable, await conditions(ctx, f), f, args, routes, "Building"
        )
    return listing(ctx, readable, await conditions(ctx, f), args)


async def routed_by_key(ctx: Context, source: str, key: str) -> Any:
    """A building of a routed source by its key there (batched per source)."""
    readable = ctx.access.readable(TABLE)
    return await federation.routed_by_key(ctx, readable, "Building", source, key)


async def of_school(ctx: Context, school_id: int, f: BuildingFilter, args: PageArgs) -> Listing:
    readable = ctx.access.readable(TABLE)
    routed = await federation.routed_school_listing(
        ctx, readable, "Building", school_id, f, args, conditions
    )
    if routed is not None:
        return routed
    where = await conditions(ctx, f)
    return child_listing(ctx, readable, ByParent("school_id"), where, f, args, school_id)
