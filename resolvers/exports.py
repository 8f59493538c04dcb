"""Export requests (数据导出申请) as a list: the viewer's own, and those of the subtrees
where it may decide them, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from hub.context import Context
from hub.db.base import table_of
from hub.errors import Unauthenticated
from hub.exports import service
from hub.exports.models import ExportRequest
from hub.pagination import PageArgs, encode_cursor
from resolvers.common import Listing, Page, once

REQUEST = table_of(ExportRequest)


@dataclass(frozen=True, slots=True)
class ExportRequestFilter:
    """What the list of export requests is narrowed to (GraphQL ``ExportRequestFilter``)."""

    status: tuple[str, ...] | None = None
    mine: bool | None = None  # true: only the viewer's own; false: only others'


def page(ctx: Context, f: ExportRequestFilter, args: PageArgs) -> Listing:
    principal = ctx.access.principal
    if principal is None:
        raise Unauthenticated("Authentication required to list export requests.")
    args.require_list(REQUEST.name, top_level=False)
    own = REQUEST.c.requested_by == principal.user
    base = [or_(own, ctx.access.reviewable(REQUEST).where)]
    if f.status is not None:
        for code in f.status:
            ctx.codes.require("export_status", code, "filter.status")
        base.append(REQUEST.c.status_code.in_(f.status))
    if f.mine is not None:
        base.append(own if f.mine else ~own)
    key = REQUEST.c.id
    where = [*base, *([] if args.after is None else [key < args.after])]

    async def rows() -> Page:
        statement = select(REQUEST).where(*where).order_by(key.desc()).limit(args.first + 1)
        found = await ctx.rows(statement)
        shown = found[: args.first]
        cursors = [encode_cursor(r.id, REQUEST.name) for r in shown]
        return Page(shown, len(found) > args.first, cursors)

    async def count() -> int:
        total = await ctx.scalar(select(func.count()).select_from(REQUEST).where(*base))
        return int(total or 0)

    return Listing(once(rows), once(count))


async def by_id(ctx: Context, pk: int) -> Any:
    """An export request the viewer may see (its own, or one it may decide); else None."""
    row = await ctx.first(select(REQUEST).where(REQUEST.c.id == pk))
    return row if row is not None and service.visible(ctx, row) else None
