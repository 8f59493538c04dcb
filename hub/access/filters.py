"""The audit log filter (审计日志筛选) and its SQL conditions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson
from sqlalchemy import ColumnElement

from hub import filters
from hub.access.models import AuditEvent
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.filters import Conditions

AUDIT_EVENT = table_of(AuditEvent)


@dataclass(frozen=True, slots=True)
class AuditEventFilter:
    """What a list of audit events is narrowed to (GraphQL ``AuditEventFilter``)."""

    under: str | None = None
    username: str | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    subject: str | None = None


async def conditions(ctx: Context, f: AuditEventFilter) -> Conditions:
    """By subtree, time range, actor, action and subject."""
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise BadInput("'filter.since' must be before 'filter.until'")
    c = AUDIT_EVENT.c
    return (
        *await filters.under(ctx, AUDIT_EVENT, f.under),
        *filters.equals(c.username, f.username),
        *filters.equals(c.action, f.action),
        *([] if f.since is None else [c.at >= _aware(f.since, "since")]),
        *([] if f.until is None else [c.at < _aware(f.until, "until")]),
        *_subject(f.subject),
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
    return [AUDIT_EVENT.c.subjects.contains(orjson.dumps(global_id).decode(), autoescape=True)]
