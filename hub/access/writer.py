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
        self.transactions = 0  # batches committed (for tests and metrics)

    async def append(self, rows: Rows) -> None:
        """Return once ``rows`` are committed on the chain; raise if they cannot be."""
        if not rows:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        # A request cancelled while it waits leaves its rows to be written all the same.
        await asyncio.shield(future)

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # requests answered in this turn of the loop join the first
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
