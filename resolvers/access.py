"""The audit log, as the viewer's audit scope allows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.access.filters import AuditEventFilter, conditions
from hub.access.models import AuditEvent
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers.common import Listing, load_by_id, newest_first

TABLE = table_of(AuditEvent)


async def audit_page(ctx: Context, f: AuditEventFilter, args: PageArgs) -> Listing:
    """Events newest first, inside the viewer's audit scope."""
    return newest_first(ctx, ctx.access.readable(TABLE), await conditions(ctx, f), args)


async def audit_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)
