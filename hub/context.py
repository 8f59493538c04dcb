"""The per-request context: principal, scope, database session, code sets, DataLoaders."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from hub.access.audit import AuditLog
from hub.access.policy import Access
from hub.access.principal import Principal
from hub.codes.registry import CodeRegistry
from hub.settings import Settings

# A row of any width (``Row[Any]`` would mean a row of exactly one column).
AnyRow = Row[*tuple[Any, ...]]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Context(BaseContext):
    """One per request. Resolvers read the database only through ``rows``/``scalar`` (one
    session, serialised: GraphQL resolves sibling fields concurrently) and batch through
    ``loader``, so a request's statement count follows the query's shape, not its rows.
    ``access`` answers what the viewer may see; ``audit`` collects what must be recorded;
    ``finish`` writes the audit and commits: the one place a request commits."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        settings: Settings,
        codes: CodeRegistry,
        access: Access,
        audit: AuditLog,
        authentication_error: str | None = None,
        state: Any = None,
    ) -> None:
        super().__init__()
        self.session = session
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

    @property
    def principal(self) -> Principal | None:
        return self.access.principal

    async def finish(self) -> None:
        """Write the request's audit events and commit its transaction."""
        async with self._lock:
            await self.audit.flush(self.session)
            await self.session.commit()
        for action in self.after_commit:
            action()
        self.after_commit.clear()

    async def rows(self, statement: Executable) -> Sequence[AnyRow]:
        result: Sequence[AnyRow] = await self._statement(statement, lambda r: r.all())
        return result

    async def scalar(self, statement: Executable) -> Any:
        return await self._statement(statement, lambda r: r.scalar())

    async def _statement(self, statement: Executable, take: Callable[[Any], Any]) -> Any:
        """Run one statement so that no field can leave the session unusable for the others.

        A field cancelled while its statement runs (graphql-core cancels the siblings of a
        failed non-null field) waits for the statement to finish before it gives up: a
        statement cut off midway invalidates the connection. A statement that fails rolls
        the transaction back, so the fields after it still read (reads lose nothing by it;
        a request with errors never commits its writes, see ``finish``)."""
        async with self._lock:
            task = asyncio.ensure_future(self._execute(statement, take))
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await task
                raise

    async def _execute(self, statement: Executable, take: Callable[[Any], Any]) -> Any:
        try:
            return take(await self.session.execute(statement))
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
