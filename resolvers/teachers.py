"""Teachers and staff (教职工)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from hub.teachers.models import Teacher
from resolvers import filters
from resolvers.common import ByParent, Listing, child_listing, listing, load_by_id

TABLE = table_of(Teacher)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)


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
    conditions_ = await conditions(ctx, spec)
    return child_listing(
        ctx, TABLE, ByParent("school_id"), conditions_, filters.key(spec), args, school_id
    )
