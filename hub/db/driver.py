"""Statements run on the driver itself (asyncpg), for the hot read path.

A cached plan's statement is compiled once, to its SQL text and the order of its
parameters; each request then sends it straight through asyncpg's own prepared-statement
cache, without SQLAlchemy's per-execution work (about a third of a cached lookup's CPU).
The statement runs outside any transaction: one round trip, where SQLAlchemy's driver
adapter would begin one first (BEGIN, then the statement). A single SELECT sees one
snapshot on its own; a request that goes on to write (its audit rows) begins its
transaction afterwards, through the session, as before.

Listeners of the engine's ``before_cursor_execute`` (statement counters, the per-request
tally of ``/metrics``) hear these statements as they hear every other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ClauseElement


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
