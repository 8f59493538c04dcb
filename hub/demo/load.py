"""Load a generated demo province through each database's bulk path, in one transaction:
PostgreSQL ``COPY`` (asyncpg), SQLite batched ``executemany``."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.codes.models import CodeValue
from hub.codes.registry import code_value_rows
from hub.db.migrate import upgrade
from hub.db.models import Base
from hub.demo.generate import COLUMNS, DEFAULT_PROVINCE, TABLE_ORDER, generate
from hub.demo.problems import Injected, inject_problems
from hub.demo.users import create_demo_users
from hub.meta import HubMeta

FLUSH_ROWS = 50_000
# Tables the demo owns; everything here is replaced by a new demo load (problem records hang
# on the demo's students and schools, so they go with them).
DERIVED = (
    "change_event",
    "change_request",
    "student_archive",
    "problem_action",
    "problem_member",
    "problem_record",
)
DEMO_TABLES = ("role_assignment", "hub_user", *DERIVED, *TABLE_ORDER, "code_value", "hub_meta")


@dataclass
class LoadSummary:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLE_ORDER, 0))
    seconds: float = 0.0
    injected: Injected | None = None  # the problems given to the demo (``problems=True``)

    @property
    def students(self) -> int:
        return self.rows["student"]


async def load_demo(
    engine: AsyncEngine,
    students: int,
    seed: int,
    *,
    on_students: Callable[[int], None] | None = None,
    school_size_cap: int | None = None,
    province: str = DEFAULT_PROVINCE,
    problems: bool = False,
) -> LoadSummary:
    """Replace the hub's data with a demo province; all or nothing. With ``problems``, a few
    students per thousand get problem-record material (``hub.demo.problems``)."""
    started = time.perf_counter()
    await upgrade(engine)
    summary = LoadSummary()
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as connection:
        await clear(connection, postgres=postgres)
        await load_code_values(connection)
        buffers: dict[str, list[tuple[object, ...]]] = {t: [] for t in TABLE_ORDER}
        buffered = 0
        for table, rows in generate(students, seed, province, school_size_cap=school_size_cap):
            buffers[table].extend(rows)
            buffered += len(rows)
            if buffered >= FLUSH_ROWS:
                await _flush(connection, buffers, summary, postgres, on_students)
                buffered = 0
        await _flush(connection, buffers, summary, postgres, on_students)
        if postgres:
            for table in (*TABLE_ORDER, "hub_user", "role_assignment"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                    )
                )
        await create_demo_users(connection)
        if problems:
            summary.injected = await inject_problems(connection, seed)
        await connection.execute(
            insert(HubMeta),
            [
                {"key": "demo_seed", "value": str(seed)},
                {"key": "demo_students", "value": str(summary.students)},
            ],
        )
    async with engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    summary.seconds = time.perf_counter() - started
    return summary


async def clear(connection: AsyncConnection, *, postgres: bool) -> None:
    if postgres:
        await connection.execute(text(f"TRUNCATE {', '.join(DEMO_TABLES)} RESTART IDENTITY"))
        return
    # Children before parents: foreign keys hold at every step.
    tables = ("role_assignment", "hub_user", *DERIVED, *reversed(TABLE_ORDER))
    for table in (*tables, "code_value", "hub_meta"):
        await connection.execute(delete(Base.metadata.tables[table]))


async def load_code_values(connection: AsyncConnection) -> None:
    """Replace the code sets in force with the packaged ones."""
    await connection.execute(delete(CodeValue))
    await connection.execute(insert(CodeValue), list(code_value_rows()))


async def _flush(
    connection: AsyncConnection,
    buffers: dict[str, list[tuple[object, ...]]],
    summary: LoadSummary,
    postgres: bool,
    on_students: Callable[[int], None] | None,
) -> None:
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    for table in TABLE_ORDER:  # parents before children: foreign keys hold at every step
        rows = buffers[table]
        if not rows:
            continue
        columns = COLUMNS[table]
        if postgres:
            await driver.copy_records_to_table(table, records=rows, columns=list(columns))
        else:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            await driver.executemany(sql, [tuple(map(_sqlite_value, row)) for row in rows])
        summary.rows[table] += len(rows)
        if table == "student" and on_students is not None:
            on_students(len(rows))
        rows.clear()


def _sqlite_value(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
