"""Sync throughput: legacy student rows from the example docked system into PostgreSQL.

    python -m bench.sync                    # 1,000,000 legacy rows (built once into .bench/)
    python -m bench.sync --students 50000   # a quicker look

Measured in the same run: ``eduhub sync`` (map, validate, upsert, reject, checkpoint) and a
baseline that reads the same rows through the same adapter and COPYs them unmapped into an
unlogged table, the floor any sync pays for moving the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from examples.legacy.provincial_students import build
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.sources.mapping import load_sources
from hub.sources.sql import SqlSource
from hub.sources.sync import sync

ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DATABASE = "eduhub_bench_sync"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "legacy" / "sources.toml"
CACHE = Path(__file__).resolve().parents[1] / ".bench"


async def fresh_database() -> str:
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    await admin.dispose()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"


async def baseline(source: SqlSource, batch_size: int) -> tuple[int, float]:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{DATABASE}")
    entity = source.entity("student")
    columns = entity.columns()
    await connection.execute(
        "CREATE UNLOGGED TABLE raw_copy (" + ", ".join(f'"{c}" text' for c in columns) + ")"
    )
    started = time.perf_counter()
    after: str | None = None
    moved = 0
    while True:
        rows = await source.rows_after("student", after, batch_size)
        if not rows:
            break
        after = str(rows[-1][entity.key])
        records = [tuple(None if r[c] is None else str(r[c]) for c in columns) for r in rows]
        await connection.copy_records_to_table("raw_copy", records=records, columns=columns)
        moved += len(rows)
    seconds = time.perf_counter() - started
    await connection.close()
    return moved, seconds


async def run(students: int, seed: int, batch_size: int) -> None:
    CACHE.mkdir(exist_ok=True)
    legacy = CACHE / f"gx_{students}_{seed}.db"
    if not legacy.exists():
        print(f"building {students:,} legacy rows into {legacy} ...", flush=True)
        build(legacy, students, seed)
    config = load_sources(EXAMPLE)["gx_students"]
    source = SqlSource(replace(config, url=f"sqlite+aiosqlite:///{legacy}", timeout_seconds=120))
    url = await fresh_database()
    engine = make_engine(url)
    await upgrade(engine)
    codes = registry_from_packaged()
    await sync(engine, source, "school", codes, batch_size=batch_size)
    summary = await sync(engine, source, "student", codes, batch_size=batch_size)
    await engine.dispose()
    moved, base_seconds = await baseline(source, batch_size)
    await source.close()
    hub_rate = summary.read / summary.seconds
    base_rate = moved / base_seconds
    print(
        f"\n{summary.read:,} legacy student rows, batches of {batch_size}, into PostgreSQL\n"
        f"  eduhub sync:            {summary.seconds:8.1f} s  {hub_rate:10,.0f} rows/s"
        f"  (written {summary.written:,}, rejected {summary.rejected:,})\n"
        f"  baseline read + COPY:   {base_seconds:8.1f} s  {base_rate:10,.0f} rows/s\n"
        f"  ratio baseline/sync:    {base_rate / hub_rate:8.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=45)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.students, args.seed, args.batch_size))


if __name__ == "__main__":
    main()
