"""Operations: Prometheus metrics at /metrics and one JSON log line per request (运维监控).

Each app has its own registry (tests build many apps in one process). SQL statements are
counted per request through a context variable that the engine's ``before_cursor_execute``
event increments: tasks started by the request (GraphQL fields) inherit it.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

request_log = logging.getLogger("hub.request")


class StatementTally:
    def __init__(self) -> None:
        self.count = 0


CURRENT_TALLY: contextvars.ContextVar[StatementTally | None] = contextvars.ContextVar(
    "hub_statement_tally", default=None
)


def _count_statement(*_args: Any) -> None:
    tally = CURRENT_TALLY.get()
    if tally is not None:
        tally.count += 1


class BreakerStates(Collector):
    """Breaker state of each source as a gauge (0 closed, 1 half-open, 2 open)."""

    def __init__(self, states: Callable[[], dict[str, str]]) -> None:
        self.states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "eduhub_source_breaker_state",
            "Circuit breaker of each source: 0 closed, 1 half-open, 2 open",
            labels=["source"],
        )
        level = {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}
        for source, state in self.states().items():
            gauge.add_metric([source], level.get(state, 2))
        yield gauge


class Metrics:
    def __init__(self, engine: AsyncEngine, breaker_states: Callable[[], dict[str, str]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "eduhub_requests",
            "GraphQL requests by operation type and outcome (ok or the first error code)",
            ["operation_type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "eduhub_request_seconds",
            "GraphQL request latency by operation type and outcome",
            ["operation_type", "outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.statements = Histogram(
            "eduhub_sql_statements_per_request",
            "SQL statements sent for one GraphQL request",
            buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
            registry=self.registry,
        )
        self.audit_rows = Counter("eduhub_audit_rows", "Audit rows written", registry=self.registry)
        self.read_path = Counter(
            "eduhub_read_path",
            "GraphQL operations by the read path that served them (planner or resolvers)",
            ["path"],
            registry=self.registry,
        )
        self.source_calls = Counter(
            "eduhub_source_calls",
            "Calls to connected systems by outcome (ok, failed, refused by the breaker)",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.audit_batches = Histogram(
            "eduhub_audit_batch_requests",
            "Requests whose audit rows went onto the chain in one transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.registry.register(BreakerStates(breaker_states))
        event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)

    def source_call(self, source: str, outcome: str) -> None:
        self.source_calls.labels(source, outcome).inc()

    def request(
        self,
        operation_type: str,
        outcome: str,
        seconds: float,
        statements: int,
        audit_rows: int,
        log_fields: dict[str, Any],
    ) -> None:
        self.requests.labels(operation_type, outcome).inc()
        self.latency.labels(operation_type, outcome).observe(seconds)
        self.statements.observe(statements)
        if log_fields.get("served_by"):
            self.read_path.labels(log_fields["served_by"]).inc()
        if audit_rows:
            self.audit_rows.inc(audit_rows)
        if not request_log.isEnabledFor(logging.INFO):
            return
        request_log.info(
            orjson.dumps(
                {
                    "event": "graphql_request",
                    "operation_type": operation_type,
                    "outcome": outcome,
                    "ms": round(seconds * 1000, 2),
                    "statements": statements,
                    "audit_rows": audit_rows,
                    **log_fields,
                }
            ).decode()
        )
