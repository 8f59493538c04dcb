"""The problem record filter (问题学籍筛选) and its SQL conditions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement

from hub import filters
from hub.context import Context
from hub.db.base import table_of
from hub.filters import Conditions
from hub.quality.checks import OPEN
from hub.quality.models import ProblemRecord

RECORD = table_of(ProblemRecord)


@dataclass(frozen=True, slots=True)
class ProblemRecordFilter:
    """What the queue is narrowed to (GraphQL ``ProblemRecordFilter``); ``None``: any."""

    under: str | None = None
    kind: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    overdue: bool | None = None


def overdue_condition(today: dt.date) -> ColumnElement[bool]:
    """Still open (待处理, 待审核, 已退回) after its due date: listed to the level above."""
    r = RECORD.c
    return r.status_code.in_(OPEN) & (r.due_on < today)


async def conditions(ctx: Context, f: ProblemRecordFilter) -> Conditions:
    c = RECORD.c
    found: list[ColumnElement[bool]] = [
        *await filters.under(ctx, RECORD, f.under),
        *filters.codes(ctx, c.kind_code, "problem_kind", f.kind, "filter.kind"),
        *filters.codes(ctx, c.status_code, "problem_status", f.status, "filter.status"),
    ]
    if f.overdue is not None:
        late = overdue_condition(dt.date.today())
        found.append(late if f.overdue else ~late)
    return tuple(found)
