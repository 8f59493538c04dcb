"""School buildings (校舍)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.buildings.models import Building
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers import federation, filters
from resolvers.common import ByParent, Listing, child_listing, listing, load_by_id

TABLE = table_of(Building)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    c = TABLE.c
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.codes(
            ctx,
            c.danger_rating_code,
            "danger_rating",
            spec.get("danger_rating"),
            "filter.dangerRating",
        ),
        *filters.codes(ctx, c.use_code, "building_use", spec.get("use"), "filter.use"),
        *filters.codes(
            ctx, c.structure_code, "structure", spec.get("structure"), "filter.structure"
        ),
        *filters.codes(
            ctx,
            c.seismic_category_code,
            "seismic_category",
            spec.get("seismic_category"),
            "filter.seismicCategory",
        ),
        *filters.prefix(c.name, spec.get("name_prefix"), "filter.namePrefix"),
    )


async def page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    routes = await federation.routes_of(ctx, "building")
    if routes:
        return await federation.federated_listing(
            ctx, TABLE, await conditions(ctx, spec), spec, args, routes, "Building"
        )
    return listing(ctx, TABLE, await conditions(ctx, spec), args)


async def routed_by_key(ctx: Context, source: str, key: str) -> Any:
    """A building of a routed source by its key there (batched per source)."""
    return await federation.routed_by_key(ctx, "building", "Building", source, key)


async def of_school(ctx: Context, school_id: int, spec: dict[str, Any], args: PageArgs) -> Listing:
    routed = await federation.routed_school_listing(
        ctx, TABLE, "building", "Building", school_id, spec, args, conditions
    )
    if routed is not None:
        return routed
    conditions_ = await conditions(ctx, spec)
    return child_listing(
        ctx, TABLE, ByParent("school_id"), conditions_, filters.key(spec), args, school_id
    )
