"""The audit hash chain (审计链): every audit row carries the SHA-256 of its content and of the
row before it, so that a row altered, deleted or inserted afterwards, by anyone (the table's
owner included, or anybody with the SQLite file), breaks the chain at that row.

Appending takes the chain's head row first (an UPDATE: a row lock on PostgreSQL, the write
lock on SQLite), so concurrent requests append one after the other and ids are gapless.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    BindParameter,
    Dialect,
    Executable,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.access.models import AuditChain, AuditEvent
from hub.db.base import table_of
from hub.db.driver import DriverStatement, announce

EVENT = table_of(AuditEvent)
CHAIN = table_of(AuditChain)
GENESIS = "0" * 64
# The content a row's hash covers, in this order.
CHAINED = (
    "id",
    "at",
    "username",
    "user_path",
    "operation",
    "operation_type",
    "root_fields",
    "action",
    "resource",
    "fields",
    "subjects",
    "scope_path",
    "outcome",
    "purpose",
    "detail",
    "correlation_id",
    "user_agent",
    "prev_hash",
)


def _at(value: dt.datetime) -> str:
    """One text for a moment, however the database hands it back (SQLite: naive UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def row_hash(row: Mapping[Any, Any]) -> str:
    content = [_at(row["at"]) if name == "at" else row[name] for name in CHAINED]
    return hashlib.sha256(orjson.dumps(content)).hexdigest()


_TAKE_HEAD = (
    update(CHAIN)
    .where(CHAIN.c.id == 1)
    .values(last_id=CHAIN.c.last_id)
    .returning(CHAIN.c.last_id, CHAIN.c.last_hash)
)


def _linked(
    rows: Sequence[dict[str, Any]], head: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``rows`` linked after the head (its last id and hash): each with its id, the hash of
    the row before and its own; and the parameters of the PostgreSQL append statement."""
    if head is None:
        raise RuntimeError(
            "the audit chain has no head row: run the migrations (eduhub db upgrade)"
        )
    last_id, last_hash = int(head[0]), str(head[1])
    chained = []
    for row in rows:
        last_id += 1
        linked = {**row, "id": last_id, "prev_hash": last_hash}
        linked["at"] = linked["at"].astimezone(dt.UTC)
        last_hash = row_hash(linked)
        chained.append({**linked, "hash": last_hash})
    parameters = {"head_id": last_id, "head_hash": last_hash}
    for i, row in enumerate(chained):
        parameters.update({f"{name}_{i}": value for name, value in row.items()})
    return chained, parameters


async def append(session: AsyncSession | AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` at the end of the chain, in the transaction of ``session`` (a
    session or a connection)."""
    if not rows:
        return
    dialect = (
        session.dialect if isinstance(session, AsyncConnection) else session.get_bind().dialect
    )
    head = (await session.execute(_TAKE_HEAD)).first()
    chained, parameters = _linked(rows, head)
    if dialect.name == "postgresql":
        # One round trip less while the head is locked: the rows go in as a data-modifying
        # WITH of the head's update (PostgreSQL runs it once, to completion).
        await session.execute(_append_statement(len(chained), tuple(chained[0])), parameters)
        return
    await session.execute(insert(EVENT), chained)
    await session.execute(
        update(CHAIN)
        .where(CHAIN.c.id == 1)
        .values(last_id=parameters["head_id"], last_hash=parameters["head_hash"])
    )


@dataclass
class KnownHead:
    """The chain's head as this process last left it (None: to be read)."""

    last_id: int | None = None
    last_hash: str | None = None


async def append_by_swap(
    connection: AsyncConnection, rows: Sequence[dict[str, Any]], known: KnownHead
) -> None:
    """``append`` as one statement, without a transaction of its own (PostgreSQL, on
    asyncpg): the rows are linked after the head this process knows, and go in only if
    the head is still there when the statement moves it (compare and swap). If another
    writer moved it meanwhile, nothing is written; the head is read again and the rows
    linked anew. One round trip where the locked append takes four (BEGIN, take, append,
    COMMIT) when the head is this process's, as it is between one process's batches."""
    if not rows:
        return
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    read = _driver_statement(_READ_HEAD, connection.dialect)
    for _ in range(100):
        if known.last_id is None:
            announce(connection.sync_engine, read.sql, [])
            head = await driver.fetchrow(read.sql, *read.arguments({}))
            if head is None:
                raise RuntimeError(
                    "the audit chain has no head row: run the migrations (eduhub db upgrade)"
                )
            known.last_id, known.last_hash = int(head[0]), str(head[1])
        chained, parameters = _linked(rows, (known.last_id, known.last_hash))
        parameters["expected_id"] = known.last_id
        statement = _swap_statement(len(chained), tuple(chained[0]), connection.dialect)
        compiled = _driver_statement(statement, connection.dialect)
        arguments = compiled.arguments(parameters)
        announce(connection.sync_engine, compiled.sql, arguments)
        status = await driver.execute(compiled.sql, *arguments)
        if status == f"INSERT 0 {len(chained)}":
            known.last_id, known.last_hash = parameters["head_id"], parameters["head_hash"]
            return
        known.last_id = known.last_hash = None  # another writer moved the head
    raise RuntimeError("the audit chain's head kept moving: 100 attempts to append failed")


_READ_HEAD = select(CHAIN.c.last_id, CHAIN.c.last_hash).where(CHAIN.c.id == 1)

_SWAPS: dict[tuple[int, tuple[str, ...], str], Executable] = {}


def _swap_statement(count: int, names: tuple[str, ...], dialect: Dialect) -> Executable:
    """Move the head from ``expected_id`` and insert ``count`` rows only if it moved: one
    statement (the rows are a VALUES list with typed parameters, selected while the
    head's update returned a row)."""
    key = (count, names, dialect.name)
    found = _SWAPS.get(key)
    if found is None:
        # The columns' types for the casts (a collation belongs to the column, not a cast).
        types = {
            name: re.sub(r'\s+COLLATE\s+"[^"]*"', "", EVENT.c[name].type.compile(dialect=dialect))
            for name in names
        }
        found = _SWAPS[key] = text(
            f"WITH moved AS (UPDATE {CHAIN.name} SET last_id = :head_id,"
            " last_hash = :head_hash WHERE id = 1 AND last_id = :expected_id RETURNING 1)"
            f" INSERT INTO {EVENT.name} ({', '.join(names)})"
            f" SELECT * FROM (VALUES {_values(count, names, types)}) AS added"
            " WHERE EXISTS (SELECT 1 FROM moved)"
        ).bindparams(
            *_parameters(count, names), bindparam("expected_id", type_=CHAIN.c.last_id.type)
        )
    return found


_DRIVER: dict[tuple[int, str], DriverStatement] = {}


def _driver_statement(statement: Executable, dialect: Dialect) -> DriverStatement:
    key = (id(statement), dialect.name)  # the statements are kept for the process
    found = _DRIVER.get(key)
    if found is None:
        found = _DRIVER[key] = DriverStatement.compile(statement, dialect)  # type: ignore[arg-type]
    return found


@functools.cache
def _append_statement(count: int, names: tuple[str, ...]) -> Executable:
    """Insert ``count`` rows and move the head, as one statement with named parameters:
    a text clause, because SQLAlchemy compiles a multi-row INSERT anew each time (the same
    object is returned for each count and set of columns, so it is compiled once)."""
    return text(
        f"WITH added AS (INSERT INTO {EVENT.name} ({', '.join(names)})"
        f" VALUES {_values(count, names, None)})"
        f" UPDATE {CHAIN.name} SET last_id = :head_id, last_hash = :head_hash WHERE id = 1"
    ).bindparams(*_parameters(count, names))


def _values(count: int, names: tuple[str, ...], casts: dict[str, str] | None) -> str:
    """``count`` rows of named parameters (``:name_i``) as a VALUES list, cast if asked."""

    def one(name: str, i: int) -> str:
        return f":{name}_{i}" if casts is None else f"CAST(:{name}_{i} AS {casts[name]})"

    return ", ".join("(" + ", ".join(one(n, i) for n in names) + ")" for i in range(count))


def _parameters(count: int, names: tuple[str, ...]) -> list[BindParameter[Any]]:
    """The typed parameters of ``_values`` and of the head's move."""
    return [
        *(bindparam(f"{n}_{i}", type_=EVENT.c[n].type) for i in range(count) for n in names),
        bindparam("head_id", type_=CHAIN.c.last_id.type),
        bindparam("head_hash", type_=CHAIN.c.last_hash.type),
    ]


@dataclass(frozen=True, slots=True)
class Verdict:
    rows: int
    broken_at: int | None  # id of the first row whose link does not hold
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


async def verify(connection: AsyncConnection, batch: int = 5_000) -> Verdict:
    """Walk the chain in id order; report the first broken link. A row deleted from the
    middle breaks the link of the row after it; one deleted from the end, the head."""
    expected_prev, last_id, count = GENESIS, 0, 0
    after = 0
    columns = [EVENT.c[name] for name in CHAINED] + [EVENT.c.hash]
    while True:
        result = await connection.execute(
            select(*columns).where(EVENT.c.id > after).order_by(EVENT.c.id).limit(batch)
        )
        rows = result.mappings().all()
        if not rows:
            break
        for row in rows:
            pk = int(row["id"])
            if row["prev_hash"] != expected_prev:
                return Verdict(count, pk, "its link to the row before does not hold")
            if row["hash"] != row_hash(row):
                return Verdict(count, pk, "its content does not match its hash")
            expected_prev, last_id, count = row["hash"], pk, count + 1
        after = int(rows[-1]["id"])
    head = (await connection.execute(select(CHAIN.c.last_id, CHAIN.c.last_hash))).first()
    if head is None:
        return Verdict(count, last_id, "the chain has no head row")
    if int(head[0]) != last_id or head[1] != expected_prev:
        return Verdict(
            count,
            int(head[0]),
            f"the head says the chain ends at row {head[0]}, the table ends at row {last_id}:"
            " rows were removed from its end",
        )
    return Verdict(count, None, None)
