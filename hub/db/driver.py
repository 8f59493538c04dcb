"""Statements run on the driver itself (asyncpg), for the hot read path.

A cached plan's statement is compiled once, to its SQL text and the order of its
parameters; each request then sends it straight through asyncpg's own prepared-statement
cache, without SQLAlchemy's per-execution work (about a third of a cached lookup's CPU).
The statement runs outside any transaction: one round trip, where SQLAlchemy's driver
adapter would begin one first (BEGIN, then the statement). A single SELECT sees one
snapshot on its own. It goes through ``DriverPool``, asyncpg's own pool, not the engine's:
a request answered from a cached plan opens no SQLAlchemy session at all, and its audit
rows go to the process's audit writer, which appends them on the same pool.

Listeners of the engine's ``before_cursor_execute`` (statement counters, the per-request
tally of ``/metrics``) hear these statements as they hear every other.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Dialect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement

from hub.db.engine import ASYNCPG_CONNECT_ARGS


@dataclass(frozen=True, slots=True)
class DriverStatement:
    sql: str
    names: tuple[str, ...]  # parameter names in $1, $2, … order
    defaults: Mapping[str, Any]  # the values of the parameters a request does not fill
    processors: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> DriverStatement:
        options = {"render_postcompile": True}
        compiled: Any = statement.compile(dialect=dialect, compile_kwargs=options)
        names = tuple(compiled.positiontup or ())
        processors = {
            name: processor
            for name, processor in (compiled._bind_processors or {}).items()
            if name in names and processor is not None
        }
        return cls(compiled.string, names, dict(compiled.params), processors)

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            value = parameters[name] if name in parameters else self.defaults[name]
            processor = self.processors.get(name)
            values.append(value if processor is None or value is None else processor(value))
        return values


def announce(engine: Engine, sql: str, arguments: list[Any]) -> None:
    """Tell the engine's ``before_cursor_execute`` listeners of a statement sent directly."""
    engine.dispatch.before_cursor_execute(None, None, sql, arguments, None, False)


async def _nothing_to_reset(_connection: asyncpg.Connection) -> None:
    """The pool's reset of a connection given back. asyncpg's own sends a query (advisory
    locks, cursors, listeners, settings: one more round trip per statement); the statements
    sent here change none of those, and asyncpg still rolls back a transaction left open."""


class DriverPool:
    """asyncpg's own pool, for the statements the hot path sends to the driver itself (the
    compiled read path's statement, the audit writer's appends): PostgreSQL only.

    Through the engine, each of them paid for SQLAlchemy's async adaptation: a connection
    checked out and returned, a greenlet per call (each with a fresh stack of its own,
    mapped and unmapped), a session closed. Here a connection is taken from asyncpg's pool
    and given back; nothing else. The connections are opened as the engine's are (the same
    URL and keywords), lazily, and the statements are still announced to the engine's
    listeners (statement counts, ``/metrics``)."""

    def __init__(self, engine: AsyncEngine, size: int = 10) -> None:
        self.engine = engine
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None

    async def _open(self) -> asyncpg.Pool:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                _args, keywords = self.engine.dialect.create_connect_args(self.engine.url)
                self._pool = await asyncpg.create_pool(
                    **keywords,
                    **ASYNCPG_CONNECT_ARGS,
                    min_size=0,
                    max_size=self._size,
                    reset=_nothing_to_reset,
                )
        return self._pool

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool or await self._open()
        async with pool.acquire() as connection:
            yield connection

    async def fetchrow(
        self, statement: DriverStatement, parameters: Mapping[str, Any]
    ) -> asyncpg.Record | None:
        arguments = statement.arguments(parameters)
        announce(self.engine.sync_engine, statement.sql, arguments)
        pool = self._pool or await self._open()
        row: asyncpg.Record | None = await pool.fetchrow(statement.sql, *arguments)
        return row

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
