"""Every call to another system: a timeout, bounded retries with backoff for reads only, and a
circuit breaker per source. A failing source raises ``SourceUnavailable`` (code
``SOURCE_UNAVAILABLE``, with the source's name), never hangs the hub."""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from hub.errors import HubError

T = TypeVar("T")


class SourceUnavailable(HubError):
    code = "SOURCE_UNAVAILABLE"

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source {source!r} is unavailable: {message}")
        self.source = source


class BreakerState(enum.Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``reset_seconds`` lets one trial
    call through (half-open): success closes it, failure opens it again."""

    def __init__(
        self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None
        self.trial_running = False  # the one call admitted while half-open

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self.opened_at >= self.reset_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Closed: yes. Open: no. Half-open: yes to exactly one caller until its trial call
        ends (``success``, ``failure`` or ``abandon``); no to everyone else meanwhile."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self.trial_running:
            return False
        self.trial_running = True
        return True

    def success(self) -> None:
        self.consecutive = 0
        self.opened_at = None
        self.trial_running = False

    def failure(self) -> None:
        self.consecutive += 1
        if self.trial_running or self.consecutive >= self.failures:
            self.opened_at = self.clock()
        self.trial_running = False

    def abandon(self) -> None:
        """The trial call was cancelled before it could tell: let another caller try."""
        self.trial_running = False


class Resilience:
    """Timeout, retries and breaker of one source."""

    def __init__(
        self,
        source: str,
        timeout_seconds: float,
        retries: int,
        breaker: CircuitBreaker,
        backoff_seconds: float = 0.1,
        observe: Callable[[str, str], None] | None = None,
    ) -> None:
        self.observe = observe  # (source, outcome) of every call, for /metrics
        self.source = source
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self.breaker = breaker
        self.backoff_seconds = backoff_seconds

    async def call(self, operation: Callable[[], Awaitable[T]], *, read: bool) -> T:
        if not self.breaker.allow():
            self._observe("refused")
            raise SourceUnavailable(self.source, "circuit open after repeated failures")
        try:
            result = await self._attempts(operation, read=read)
        except SourceUnavailable:
            self._observe("failed")
            raise
        except BaseException:  # cancelled: the trial (if any) told nothing
            self.breaker.abandon()
            raise
        self._observe("ok")
        return result

    def _observe(self, outcome: str) -> None:
        if self.observe is not None:
            self.observe(self.source, outcome)

    async def _attempts(self, operation: Callable[[], Awaitable[T]], *, read: bool) -> T:
        attempts = self.retries + 1 if read else 1
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=wait_exponential(multiplier=self.backoff_seconds, max=2.0),
                retry=retry_if_exception(lambda e: not isinstance(e, SourceUnavailable)),
                reraise=True,
            ):
                with attempt:
                    result = await asyncio.wait_for(operation(), self.timeout_seconds)
        except TimeoutError:
            self.breaker.failure()
            raise SourceUnavailable(
                self.source, f"no answer within {self.timeout_seconds:g}s"
            ) from None
        except SourceUnavailable:
            self.breaker.failure()
            raise
        except Exception as error:  # any failure of the other system: report, never crash
            self.breaker.failure()
            raise SourceUnavailable(self.source, f"{type(error).__name__}: {error}") from None
        self.breaker.success()
        return result
