"""School buildings (校舍)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.buildings.models import Building
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers import filters
from resolvers.common import ByParent, Listing, child_page_loader, fetch_by_ids, listing

TABLE = table_of(Building)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    async def load(ids: list[int]) -> list[Row[Any] | None]:
        return await fetch_by_ids(ctx, TABLE, ids)

    row: Row[Any] | None = await ctx.loader("building_by_id", load).load(pk)
    return row


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
    return listing(ctx, TABLE, await conditions(ctx, spec), args)


async def of_school(ctx: Context, school_id: int, spec: dict[str, Any], args: PageArgs) -> Listing:
    load = child_page_loader(
        ctx,
        TABLE,
        ByParent("school_id"),
        await conditions(ctx, spec),
        filters.key(spec),
        args,
    )
    return load.of(school_id)
