"""Group commit of the audit (审计批量提交): the rows of concurrent read requests go onto the
hash chain together, in one transaction.

Appending takes the chain's head row, and holds it until the transaction commits (its WAL
flush included), so requests that each append their own rows are served one at a time by
the database: an audited read could not go faster than one commit after another. Read
requests that were answered by the compiled read path (they wrote nothing else) hand
their rows to this process's writer instead and wait: while one transaction is being
committed, the rows of the requests arriving meanwhile gather, and go in the next. A
request's answer still leaves only once its rows are committed; if the batch fails, each
request's rows are tried alone, so one bad row fails its own request only.

A request answered from a cached plan says so before its statement runs (``coming``):
the writer then knows rows are on their way, and a batch waits for the rows of every
request whose statement is under way, up to ``GATHER_SECONDS``. Without it, a batch
took the rows of whichever requests had finished at that instant (1.5 requests a batch
on average for the student lookup under load), and each request paid for most of a
transaction of its own; a request alone (nothing else under way) never waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.access.chain import KnownHead, append, append_by_swap
from hub.db.driver import DriverPool

log = logging.getLogger("hub.audit")

Rows = list[dict[str, Any]]
# How long a batch waits at most for the rows of requests whose statements are under way.
GATHER_SECONDS = 0.001


class Coming:
    """A request whose rows are on their way to the writer (``AuditWriter.coming``)."""

    __slots__ = ("open",)

    def __init__(self) -> None:
        self.open = True


class AuditWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        observe: Callable[[int], None] | None = None,
        lane: int = 1,
        driver: DriverPool | None = None,
    ) -> None:
        self._engine = engine
        # PostgreSQL: the process's asyncpg pool (hub/db/driver.py), for the appends by
        # swap; without one (SQLite), each batch takes the lane's head in a transaction.
        self._driver = driver
        self._observe = observe  # told the number of requests of each committed batch
        self._head = KnownHead(lane)  # where this process last left its lane of the chain
        self._pending: list[tuple[Rows, asyncio.Future[None]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._coming = 0  # requests whose rows are on their way
        self._arrival: asyncio.Future[None] | None = None  # woken when one arrives or leaves
        self.transactions = 0  # batches committed (for tests and metrics)

    def coming(self) -> Coming:
        """A request's word that its rows will follow (``append``) or that it will leave
        (``leave``): batches wait for it a little."""
        self._coming += 1
        return Coming()

    def leave(self, coming: Coming) -> None:
        """The request will hand no rows after all (or has handed them): stop waiting."""
        if coming.open:
            coming.open = False
            self._coming -= 1
            arrival = self._arrival
            if arrival is not None and not arrival.done():
                arrival.set_result(None)

    async def append(self, rows: Rows, coming: Coming | None = None) -> None:
        """Return once ``rows`` are committed on the chain; raise if they cannot be."""
        if not rows:
            if coming is not None:
                self.leave(coming)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        if coming is not None:
            self.leave(coming)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        # A request cancelled while it waits leaves its rows to be written all the same.
        await asyncio.shield(future)

    async def _gather(self) -> None:
        """Wait, up to ``GATHER_SECONDS``, until no request's rows are on their way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_SECONDS
        while self._coming > 0:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            arrival = self._arrival = loop.create_future()
            timer = loop.call_later(remaining, _settle, arrival, None)
            try:
                await arrival
            finally:
                timer.cancel()
                self._arrival = None

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # requests answered in this turn of the loop join the first
        await self._gather()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write([row for rows, _ in batch for row in rows])
                if self._observe is not None:
                    self._observe(len(batch))
            except Exception as error:
                if len(batch) == 1:
                    _settle(batch[0][1], error)
                    continue
                log.warning("an audit batch failed (%s): its requests go alone", error)
                for rows, future in batch:
                    try:
                        await self._write(rows)
                    except Exception as alone:
                        _settle(future, alone)
                    else:
                        if self._observe is not None:
                            self._observe(1)
                        _settle(future, None)
            else:
                for _, future in batch:
                    _settle(future, None)

    async def _write(self, rows: Rows) -> None:
        if self._driver is not None:
            await append_by_swap(self._driver, rows, self._head)
        else:
            async with self._engine.begin() as connection:
                await append(connection, rows, self._head.lane)
        self.transactions += 1


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
