"""The audit log, as the viewer's audit scope allows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from hub.access.models import AuditEvent
from hub.context import Context
from hub.db.base import table_of
from hub.pagination import PageArgs
from resolvers import filters
from resolvers.common import Listing, listing, load_by_id

TABLE = table_of(AuditEvent)


async def audit_page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    conditions = (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.equals(TABLE.c.username, spec.get("username")),
        *filters.equals(TABLE.c.action, spec.get("action")),
    )
    return listing(ctx, TABLE, conditions, args)


async def audit_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)
