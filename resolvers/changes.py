"""The change feed (变更记录): the change log in commit order, within the viewer's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.changes.filters import ChangeFilter, conditions
from hub.changes.models import ChangeEvent
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers.common import Listing, in_commit_order, load_by_id

EVENT = table_of(ChangeEvent)


async def page(ctx: Context, f: ChangeFilter, args: PageArgs) -> Listing:
    return in_commit_order(ctx, ctx.access.readable(EVENT), await conditions(ctx, f), args)


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(EVENT), pk)
