"""Appending to the change log (变更记录): the one function every write of the store calls, in
the transaction of the change, so the log holds exactly what was committed.

On PostgreSQL a writer first takes a transaction-level advisory lock: writers of the log
then commit one after another, so the log's ids are in commit order and a reader resuming
after id N never misses a change committed later with a smaller id. (SQLite has one writer
at a time anyway.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.changes.models import ChangeEvent
from hub.db.base import table_of

EVENT = table_of(ChangeEvent)
LOCK_KEY = 0x6564_7568_6368  # "eduhch": the change log's advisory lock


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot log a {type(value).__name__}")


def dumps(fields: Mapping[str, Any]) -> str:
    return orjson.dumps(dict(fields), default=_plain, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True, slots=True)
class Change:
    entity: str  # the GraphQL type name: Student, ...
    subject_id: int
    path: str
    action: str  # insert, update, delete
    fields: Mapping[str, Any]


async def append(
    connection: AsyncConnection,
    changes: Sequence[Change],
    *,
    actor: str,
    origin: str,
    at: dt.datetime,
) -> None:
    """Log ``changes`` (in this order) in the caller's transaction."""
    if not changes:
        return
    if connection.dialect.name == "postgresql":
        await connection.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_KEY})"))
    rows = [
        {
            "at": at,
            "actor": actor,
            "origin": origin,
            "entity": c.entity,
            "subject_id": c.subject_id,
            "path": c.path,
            "action": c.action,
            "fields": dumps(c.fields),
        }
        for c in changes
    ]
    if connection.dialect.name == "postgresql" and len(rows) > 50:  # a sync batch: COPY
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        columns = list(rows[0])
        await driver.copy_records_to_table(
            EVENT.name, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
        )
        return
    for start in range(0, len(rows), 5000):
        await connection.execute(insert(EVENT), rows[start : start + 5000])
