"""Status of the connected systems: health, circuit breaker, last sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select

from hub.context import Context
from hub.db.base import table_of
from hub.errors import Forbidden
from hub.sources.models import SyncRun

RUN = table_of(SyncRun)


def require_sources_reader(ctx: Context) -> None:
    if not ctx.access.scope("sources", "read").prefixes:
        raise Forbidden("the status of sources is for administrators and auditors")


async def last_runs(ctx: Context) -> dict[str, Row[Any]]:
    """The newest finished sync run of each source (any entity)."""
    newest = (
        select(RUN.c.source, func.max(RUN.c.id).label("id"))
        .where(RUN.c.status == "done")
        .group_by(RUN.c.source)
        .subquery()
    )
    statement = select(RUN).join(newest, newest.c.id == RUN.c.id)
    return {row.source: row for row in await ctx.rows(statement)}
