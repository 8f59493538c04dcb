"""Engines and sessions. Nothing connects at import time: the app factory, the CLI and the
tests each build their own engine from a URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.access.masking import mask_email
from hub.ids import b64url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# How the hub's connections to PostgreSQL are opened (asyncpg's keywords), for the engine's
# pool and for the driver's own (hub/db/driver.py).
ASYNCPG_CONNECT_ARGS: dict[str, Any] = {
    # asyncpg keeps prepared statements of up to 15 kB by default; a compiled read (a page
    # with its nested lists and code labels) is often longer, and was then parsed and
    # planned anew each time (2-6 ms of planning instead of none).
    "max_cacheable_statement_size": 1024 * 1024,
    # PostgreSQL's JIT compiles a statement whose estimated cost passes jit_above_cost; the
    # statistics of a province cross it and spent 0.1-0.9 s compiling for a 0.4-1 s query
    # (bench.statistics). The hub's statements are index reads and one-pass aggregates,
    # which JIT does not pay back.
    "server_settings": {"jit": "off"},
}


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create an async engine for a hub database URL (SQLite or PostgreSQL)."""
    kwargs: dict[str, Any] = {"echo": echo}
    if not is_sqlite(url):
        kwargs.update(pool_size=10, max_overflow=10, connect_args=ASYNCPG_CONNECT_ARGS)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine.pool, "checkout", _closed_is_gone)
    return engine


def _closed_is_gone(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, an idle timeout) is replaced
    before a request gets it. asyncpg notices a closed socket by itself, so this costs no
    round trip, unlike a ping before every checkout (``pool_pre_ping``: one more statement
    per request). A connection that dies mid-request fails that request, and the pool
    drops it (SQLAlchemy invalidates connections on disconnect errors)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def _b64(text: str | None) -> str | None:
    """base64url without padding: global ids and cursors built by the compiled read path."""
    return None if text is None else b64url(text)


def _mask_email(value: str | None) -> str | None:
    if value is None:
        return None
    return mask_email(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function("hub_b64", 1, _b64, deterministic=True)
    dbapi_connection.create_function("hub_mask_email", 1, _mask_email, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class StatementCounter:
    """Counts SQL statements sent through an engine (used by tests and benchmarks)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine: Engine = engine.sync_engine
        self.statements: list[str] = []

    def _on_execute(self, *args: Any) -> None:
        self.statements.append(str(args[2]))

    def __enter__(self) -> StatementCounter:
        self.statements.clear()
        event.listen(self._engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._on_execute)

    @property
    def count(self) -> int:
        return len(self.statements)
