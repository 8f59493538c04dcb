"""The audit hash chain (审计链): every audit row carries the SHA-256 of its content and of the
row before it, so that a row altered, deleted or inserted afterwards, by anyone (the table's
owner included, or anybody with the SQLite file), breaks the chain at that row.

The chain has lanes (分道), one per writing process (``HUB_AUDIT_LANE``; ``eduhub serve
--workers`` gives each worker its own): a row's ``prev_hash`` is the hash of the row before
it in its lane, ``seq`` its gapless place there, and ``audit_chain`` holds each lane's head.
Writers of one lane append one after the other: the locked append takes the lane's head row
first (an UPDATE: a row lock on PostgreSQL, the write lock on SQLite), the swap moves it
only from where its writer last left it. Writers of different lanes never wait for each
other, so server processes do not serialise on one head row. ``verify`` walks every lane.
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
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub.access.models import AuditChain, AuditEvent
from hub.db.base import table_of
from hub.db.driver import DriverPool, DriverStatement, announce

EVENT = table_of(AuditEvent)
CHAIN = table_of(AuditChain)
GENESIS = "0" * 64
# The content a row's hash covers, in this order.
CHAINED = (
    "seq",  # the row's place in its lane (before lanes: its id, which equals it there)
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
    .where(CHAIN.c.id == bindparam("lane"))
    .values(last_seq=CHAIN.c.last_seq)
    .returning(CHAIN.c.last_seq, CHAIN.c.last_hash)
)
_READ_HEAD = select(CHAIN.c.last_seq, CHAIN.c.last_hash).where(CHAIN.c.id == bindparam("lane"))
# A lane's head, at the chain's start, the first time a process writes to it (PostgreSQL and
# SQLite both know ON CONFLICT; two processes opening one lane at once open it once).
_OPEN_LANE = text(
    f"INSERT INTO {CHAIN.name} (id, last_seq, last_hash) VALUES (:lane, 0, :genesis)"
    " ON CONFLICT (id) DO NOTHING"
).bindparams(
    bindparam("lane", type_=CHAIN.c.id.type), bindparam("genesis", type_=CHAIN.c.last_hash.type)
)


def _linked(
    rows: Sequence[dict[str, Any]], head: Any, lane: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``rows`` linked after the head of ``lane`` (its last place and hash): each with its
    lane, place, the hash of the row before and its own; and the parameters of the
    PostgreSQL append statements."""
    if head is None:
        raise RuntimeError(f"the audit chain's lane {lane} has no head row")
    last_seq, last_hash = int(head[0]), str(head[1])
    chained = []
    for row in rows:
        last_seq += 1
        linked = {**row, "lane": lane, "seq": last_seq, "prev_hash": last_hash}
        linked["at"] = linked["at"].astimezone(dt.UTC)
        last_hash = row_hash(linked)
        chained.append({**linked, "hash": last_hash})
    parameters: dict[str, Any] = {"lane": lane, "head_seq": last_seq, "head_hash": last_hash}
    for i, row in enumerate(chained):
        parameters.update({f"{name}_{i}": value for name, value in row.items()})
    return chained, parameters


async def append(
    session: AsyncSession | AsyncConnection, rows: Sequence[dict[str, Any]], lane: int = 1
) -> None:
    """Insert ``rows`` at the end of ``lane`` of the chain, in the transaction of
    ``session`` (a session or a connection)."""
    if not rows:
        return
    dialect = (
        session.dialect if isinstance(session, AsyncConnection) else session.get_bind().dialect
    )
    head = (await session.execute(_TAKE_HEAD, {"lane": lane})).first()
    if head is None:
        await session.execute(_OPEN_LANE, {"lane": lane, "genesis": GENESIS})
        head = (await session.execute(_TAKE_HEAD, {"lane": lane})).first()
    chained, parameters = _linked(rows, head, lane)
    if dialect.name == "postgresql":
        # One round trip less while the head is locked: the rows go in as a data-modifying
        # WITH of the head's update (PostgreSQL runs it once, to completion).
        await session.execute(_append_statement(len(chained), tuple(chained[0])), parameters)
        return
    await session.execute(insert(EVENT), chained)
    await session.execute(
        update(CHAIN)
        .where(CHAIN.c.id == lane)
        .values(last_seq=parameters["head_seq"], last_hash=parameters["head_hash"])
    )


@dataclass
class KnownHead:
    """The head of a process's lane as the process last left it (None: to be read)."""

    lane: int = 1
    last_seq: int | None = None
    last_hash: str | None = None


async def append_by_swap(
    driver: DriverPool, rows: Sequence[dict[str, Any]], known: KnownHead
) -> None:
    """``append`` as one statement, without a transaction of its own (PostgreSQL, on
    asyncpg's own connection): the rows are linked after the head of this process's lane
    as the process left it, and go in only if the head is still there when the statement
    moves it (compare and swap). If another writer of the lane moved it meanwhile, nothing
    is written; the head is read again and the rows linked anew. One round trip where the
    locked append takes four (BEGIN, take, append, COMMIT)."""
    if not rows:
        return
    engine = driver.engine
    lane = {"lane": known.lane}
    async with driver.connection() as connection:

        async def run(
            statement: Executable, parameters: dict[str, Any], *, row: bool = False
        ) -> Any:
            compiled = _driver_statement(statement, engine.dialect)
            arguments = compiled.arguments(parameters)
            announce(engine.sync_engine, compiled.sql, arguments)
            if row:
                return await connection.fetchrow(compiled.sql, *arguments)
            return await connection.execute(compiled.sql, *arguments)

        for _ in range(100):
            if known.last_seq is None:
                head = await run(_READ_HEAD, lane, row=True)
                if head is None:
                    await run(_OPEN_LANE, {**lane, "genesis": GENESIS})
                    head = await run(_READ_HEAD, lane, row=True)
                known.last_seq, known.last_hash = int(head[0]), str(head[1])
            chained, parameters = _linked(rows, (known.last_seq, known.last_hash), known.lane)
            parameters["expected_seq"] = known.last_seq
            statement = _swap_statement(len(chained), tuple(chained[0]), engine.dialect)
            if await run(statement, parameters) == f"INSERT 0 {len(chained)}":
                known.last_seq, known.last_hash = parameters["head_seq"], parameters["head_hash"]
                return
            known.last_seq = known.last_hash = None  # another writer of the lane moved it
    raise RuntimeError(
        f"the head of the audit chain's lane {known.lane} kept moving: 100 attempts to append"
        " failed"
    )


_SWAPS: dict[tuple[int, tuple[str, ...], str], Executable] = {}


def _swap_statement(count: int, names: tuple[str, ...], dialect: Dialect) -> Executable:
    """Move the lane's head from ``expected_seq`` and insert ``count`` rows only if it moved: one
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
            f"WITH moved AS (UPDATE {CHAIN.name} SET last_seq = :head_seq,"
            " last_hash = :head_hash WHERE id = :lane AND last_seq = :expected_seq"
            " RETURNING 1)"
            f" INSERT INTO {EVENT.name} ({', '.join(names)})"
            f" SELECT * FROM (VALUES {_values(count, names, types)}) AS added"
            " WHERE EXISTS (SELECT 1 FROM moved)"
        ).bindparams(
            *_parameters(count, names), bindparam("expected_seq", type_=CHAIN.c.last_seq.type)
        )
    return found


_DRIVER: dict[tuple[int, str], DriverStatement] = {}


def _driver_statement(statement: Executable, dialect: Dialect) -> DriverStatement:
    """``statement`` compiled for the driver, once per process."""
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
        f" UPDATE {CHAIN.name} SET last_seq = :head_seq, last_hash = :head_hash"
        " WHERE id = :lane"
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
        bindparam("head_seq", type_=CHAIN.c.last_seq.type),
        bindparam("head_hash", type_=CHAIN.c.last_hash.type),
        bindparam("lane", type_=CHAIN.c.id.type),
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
    """Walk each lane of the chain in order; report the first broken link. A row deleted
    from the middle of a lane breaks the link of the row after it; one deleted from its
    end, the lane's head; a row whose lane has no head (or no longer has one) is reported
    too, since no head vouches for it."""
    heads = (
        await connection.execute(
            select(CHAIN.c.id, CHAIN.c.last_seq, CHAIN.c.last_hash).order_by(CHAIN.c.id)
        )
    ).all()
    if not heads:
        return Verdict(0, 0, "the chain has no head row")
    columns = [EVENT.c[name] for name in CHAINED] + [EVENT.c.id, EVENT.c.hash]
    count = 0
    for lane, head_seq, head_hash in heads:
        expected_prev, last_seq, last_id, after = GENESIS, 0, 0, 0
        while True:
            result = await connection.execute(
                select(*columns)
                .where(EVENT.c.lane == lane, EVENT.c.seq > after)
                .order_by(EVENT.c.seq)
                .limit(batch)
            )
            rows = result.mappings().all()
            if not rows:
                break
            for row in rows:
                pk = int(row["id"])
                if row["prev_hash"] != expected_prev:
                    return Verdict(
                        count, pk, f"lane {lane}: its link to the row before does not hold"
                    )
                if row["hash"] != row_hash(row):
                    return Verdict(count, pk, f"lane {lane}: its content does not match its hash")
                expected_prev, last_seq, last_id = row["hash"], int(row["seq"]), pk
                count += 1
            after = last_seq
        if int(head_seq) != last_seq or head_hash != expected_prev:
            return Verdict(
                count,
                last_id,
                f"the head of lane {lane} says the lane ends at its row {head_seq}, the table"
                f" ends it at row {last_seq}: rows were removed from its end",
            )
    total = (await connection.execute(select(func.count()).select_from(EVENT))).scalar_one()
    if total != count:
        lanes = [int(lane) for lane, _, _ in heads]
        stray = (
            await connection.execute(select(func.min(EVENT.c.id)).where(EVENT.c.lane.not_in(lanes)))
        ).scalar()
        return Verdict(
            count,
            stray,
            f"{total - count} rows lie in lanes that have no head row: nothing vouches for them",
        )
    return Verdict(count, None, None)
