"""Teachers and staff (教职工)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from hub.teachers.models import Staff
from resolvers import filters
from resolvers.common import ByParent, Listing, child_page_loader, fetch_by_ids, listing

TABLE = table_of(Staff)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    async def load(ids: list[int]) -> list[Row[Any] | None]:
        return await fetch_by_ids(ctx, TABLE, ids)

    row: Row[Any] | None = await ctx.loader("staff_by_id", load).load(pk)
    return row


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    c = TABLE.c
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.equals(c.is_teacher, spec.get("teachers_only") or None),
        *filters.codes(ctx, c.subject_code, "subject", spec.get("subject"), "filter.subject"),
        *filters.codes(ctx, c.title_code, "title", spec.get("title"), "filter.title"),
        *filters.codes(ctx, c.status_code, "staff_status", spec.get("status"), "filter.status"),
        *filters.codes(ctx, c.post_code, "post", spec.get("post"), "filter.post"),
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
