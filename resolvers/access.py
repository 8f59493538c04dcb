"""The audit log, as the viewer's audit scope allows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Row

from hub.access.models import AuditEvent
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.pagination import PageArgs
from resolvers import filters
from resolvers.common import Listing, load_by_id, newest_first

TABLE = table_of(AuditEvent)


async def audit_page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    """Events newest first, inside the viewer's audit scope, by subtree, time range, actor,
    action and subject."""
    return newest_first(ctx, TABLE, await conditions(ctx, spec), args)


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    """The conditions of ``filter`` on the audit log (the compiled read path's too)."""
    since, until = spec.get("since"), spec.get("until")
    if since is not None and until is not None and since >= until:
        raise BadInput("'filter.since' must be before 'filter.until'")
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.equals(TABLE.c.username, spec.get("username")),
        *filters.equals(TABLE.c.action, spec.get("action")),
        *([] if since is None else [TABLE.c.at >= _aware(since, "since")]),
        *([] if until is None else [TABLE.c.at < _aware(until, "until")]),
        *_subject(spec.get("subject")),
    )


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise BadInput(f"'filter.{name}' needs a time zone (e.g. 2026-11-23T08:00:00+08:00)")
    return moment.astimezone(dt.UTC)


def _subject(global_id: str | None) -> list[ColumnElement[bool]]:
    """Events naming this subject: ``subjects`` is a JSON list of global ids, so the quoted
    id is matched as a whole element."""
    if global_id is None:
        return []
    if not global_id or len(global_id) > 200:
        raise BadInput(f"'filter.subject' must be a global id, got {len(global_id)} characters")
    return [TABLE.c.subjects.contains(orjson.dumps(global_id).decode(), autoescape=True)]


async def audit_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)
