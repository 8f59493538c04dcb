"""The per-request context: principal, scope, database session, code sets, DataLoaders."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Dialect, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from hub.access.audit import AuditLog
from hub.access.policy import Access
from hub.access.principal import Principal
from hub.access.writer import AuditWriter, Coming
from hub.codes.registry import CodeRegistry
from hub.db.driver import DriverPool, DriverStatement
from hub.errors import HubError
from hub.settings import Settings

log = logging.getLogger("hub.context")


class AuditUnavailable(HubError):
    code = "INTERNAL_SERVER_ERROR"


# A row of any width (``Row[Any]`` would mean a row of exactly one column).
AnyRow = Row[*tuple[Any, ...]]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


class Context(BaseContext):
    """One per request. Resolvers read the database only through ``rows``/``scalar`` (one
    session, serialised: GraphQL resolves sibling fields concurrently) and batch through
    ``loader``, so a request's statement count follows the query's shape, not its rows.
    ``access`` answers what the viewer may see; ``audit`` collects what must be recorded;
    ``finish`` writes the audit and commits: the one place a request commits."""

    def __init__(
        self,
        *,
        settings: Settings,
        codes: CodeRegistry,
        access: Access,
        audit: AuditLog,
        authentication_error: str | None = None,
        state: Any = None,
        session: AsyncSession | None = None,
        sessions: Callable[[], AsyncSession] | None = None,
    ) -> None:
        """``session``: the request's session; or ``sessions``: how to open it when a
        statement first needs one (a request answered from a cached plan on PostgreSQL
        never does: its statements go to the driver's own pool)."""
        super().__init__()
        if (session is None) == (sessions is None):
            raise TypeError("a Context takes a session or a way to open one, not both")
        self._session = session
        self._sessions = sessions
        self.settings = settings
        self.codes = codes
        self.access = access
        self.audit = audit
        self.authentication_error = authentication_error
        # The process-wide HubState (grant changes update its enforcer and principal cache).
        self.state = state
        self._lock = asyncio.Lock()
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self.after_commit: list[Any] = []
        # Errors of sources that failed while the rest of the query was answered.
        self.partial_errors: list[Exception] = []
        # Set when a statement failed or a mutation reported errors: nothing is committed
        # but the audit (``finish``).
        self.failed = False
        # Set by the schema's Transaction extension once the document is parsed.
        self.operation_type: str | None = None
        # Which read path served the operation: "planner" or "resolvers" (and why).
        self.served_by: str | None = None
        self.fallback_reason: str | None = None
        self.planned_from_cache = False  # the plan of an earlier request of the same shape
        self._coming: Coming | None = None  # this request's word to the audit writer

    @property
    def principal(self) -> Principal | None:
        return self.access.principal

    @property
    def dialect(self) -> Dialect:
        """The database's SQL dialect, known without opening a session (from the process's
        engine; a context without the process state asks its session)."""
        engine = getattr(self.state, "engine", None)
        if engine is not None:
            dialect: Dialect = engine.dialect
            return dialect
        return self.session.get_bind().dialect

    @property
    def session(self) -> AsyncSession:
        """The request's session, opened on first use."""
        if self._session is None:
            assert self._sessions is not None
            self._session = self._sessions()
        return self._session

    async def close(self) -> None:
        """Close the request's session if this context opened it (rolled back unless
        committed); a session given to the context is its giver's to close."""
        if self._sessions is None or self._session is None:
            return
        session, self._session = self._session, None
        await session.close()

    async def finish(self, *, failed: bool = False) -> None:
        """Write the request's audit events and commit: the one place a request commits.

        A request that failed (errors, a failed statement, a mutation reporting errors) has
        its writes rolled back first; its audit rows are written all the same. If the audit
        cannot be written, nothing of the request is committed, its refusal is recorded in a
        transaction of its own and ``AuditUnavailable`` withholds the data."""
        failed = failed or self.failed
        async with self._lock:
            if failed:
                await self.session.rollback()
            try:
                await self.audit.flush(self.session)
                await self.session.commit()
            except Exception as error:
                await self.session.rollback()
                await self._withhold(error)
        actions, self.after_commit = self.after_commit, []
        if not failed:
            for action in actions:
                action()

    def reading(self) -> None:
        """Tell the process's audit writer (if any) that this request's rows will follow
        (``finish_read``), so that its batch waits for them."""
        writer: AuditWriter | None = getattr(self.state, "audit_writer", None)
        if writer is not None:
            self._coming = writer.coming()

    def done_reading(self) -> None:
        """The request hands no more rows (or handed them): the writer stops waiting."""
        coming, self._coming = self._coming, None
        writer: AuditWriter | None = getattr(self.state, "audit_writer", None)
        if coming is not None and writer is not None:
            writer.leave(coming)

    async def finish_read(self) -> None:
        """``finish`` for a request that only read (answered by the compiled read path):
        there is no transaction to commit, and its audit rows go to the process's audit
        writer (``hub.access.writer``: group commit). The answer leaves only once they are
        committed; if they cannot be, the data is withheld as in ``finish``."""
        writer = getattr(self.state, "audit_writer", None)
        if writer is None or self.failed:
            await self.finish()
            return
        async with self._lock:
            rows = self.audit.take()
            await self.close()  # a session's connection back to the pool while we wait
            if not rows:
                return
            coming, self._coming = self._coming, None
            try:
                await writer.append(rows, coming)
            except Exception as error:
                await self._withhold(error)

    async def _withhold(self, error: Exception) -> NoReturn:
        """The audit failed: record the refusal in a transaction of its own and withhold
        the data."""
        log.exception("audit of request %s failed", self.audit.correlation_id)
        self.audit.withhold(type(error).__name__)
        await self.audit.flush(self.session)
        await self.session.commit()
        raise AuditUnavailable(
            "The request could not be audited, so its data is withheld (reference"
            f" {self.audit.correlation_id})."
        ) from None

    async def rows(self, statement: Executable) -> Sequence[AnyRow]:
        result: Sequence[AnyRow] = await self._statement(statement, lambda r: r.all())
        return result

    async def scalar(self, statement: Executable) -> Any:
        return await self._statement(statement, lambda r: r.scalar())

    async def first(self, statement: Executable, parameters: dict[str, Any] | None = None) -> Any:
        return await self._statement(statement, lambda r: r.first(), parameters)

    async def driver_row(
        self, statement: DriverStatement, parameters: Mapping[str, Any]
    ) -> Sequence[Any] | None:
        """One row of a statement compiled for asyncpg, sent without a transaction of its
        own on the process's driver pool (``hub.db.driver``): for PostgreSQL only. A
        request that reads nothing else opens no session."""
        driver: DriverPool | None = getattr(self.state, "driver", None)
        if driver is None:
            raise RuntimeError("a statement for the driver, but the hub has no driver pool")
        try:
            return await driver.fetchrow(statement, parameters)
        except Exception:
            self.failed = True
            raise

    async def _statement(
        self,
        statement: Executable,
        take: Callable[[Any], Any],
        parameters: dict[str, Any] | None = None,
    ) -> Any:
        """Run one statement so that no field can leave the session unusable for the others.

        A field cancelled while its statement runs (graphql-core cancels the siblings of a
        failed non-null field) waits for the statement to finish before it gives up: a
        statement cut off midway invalidates the connection. A statement that fails rolls
        the transaction back, so the fields after it still read (reads lose nothing by it;
        a request with errors never commits its writes, see ``finish``)."""
        return await self._serialised(self._execute(statement, take, parameters))

    async def _serialised(self, statement: Coroutine[Any, Any, T]) -> T:
        """Run one statement at a time on the session, and to its end even if the field
        waiting for it is cancelled (see ``_statement``)."""
        async with self._lock:
            task = asyncio.ensure_future(statement)
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await task
                raise

    async def _execute(
        self,
        statement: Executable,
        take: Callable[[Any], Any],
        parameters: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return take(await self.session.execute(statement, parameters))
        except DBAPIError:
            self.failed = True
            await self.session.rollback()
            raise

    def loader(
        self, name: Hashable, load: Callable[[list[K]], Awaitable[Sequence[V]]]
    ) -> DataLoader[K, V]:
        """The request's DataLoader called ``name``, created on first use."""
        existing = self._loaders.get(name)
        if existing is None:
            existing = DataLoader(load_fn=load)
            self._loaders[name] = existing
        return existing
