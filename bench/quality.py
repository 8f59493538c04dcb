"""Problem record detection over the bench province (``make bench``'s ``eduhub_bench``).

    python -m bench.quality                      # the whole hub (1,000,000 students)
    python -m bench.quality --inject 10000       # with that many injected problems

Measured in the same run, on the same database:
- baseline: the floor of the work, hand-written on asyncpg: read the ID columns of every
  citizen-ID row, check each with ``citizen_id_problem``, and run the two grouping queries;
- hub: ``hub.quality.checks.check`` (normalise, stream and check, group, reconcile), in a
  transaction rolled back afterwards so every run starts from the same state.

With ``--inject N``, about N students get a problem first (a wrong check character, another
pupil's ID, a no-ID twin: a third each), inside the rolled-back transaction too.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.codes.identity import citizen_id_problem
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.quality.checks import check

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/eduhub_bench"


async def baseline() -> tuple[int, float]:
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/eduhub_bench")
    started = time.perf_counter()
    examined = 0
    async with connection.transaction():
        cursor = connection.cursor(
            "SELECT id, id_number, birth_date, sex_code FROM student"
            " WHERE id_type_code = '1' AND id_number IS NOT NULL"
        )
        async for row in cursor:
            citizen_id_problem(row[1])
            examined += 1
    await connection.fetch(
        "SELECT id_number FROM student WHERE id_number IS NOT NULL"
        " GROUP BY id_number HAVING count(*) > 1"
    )
    await connection.fetch(
        "SELECT name, sex_code, birth_date FROM student WHERE id_number IS NULL"
        " GROUP BY name, sex_code, birth_date HAVING count(*) > 1"
    )
    seconds = time.perf_counter() - started
    await connection.close()
    return examined, seconds


async def hub(inject: int) -> tuple[str, float]:
    engine = make_engine(URL)
    await upgrade(engine)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            if inject:
                await _inject(connection, inject)
            started = time.perf_counter()
            summary = await check(connection)
            seconds = time.perf_counter() - started
            await transaction.rollback()
    finally:
        await engine.dispose()
    found = ", ".join(f"kind {k}: {n:,}" for k, n in sorted(summary.found.items())) or "none"
    return f"examined {summary.examined:,}; found {found}", seconds


async def _inject(connection: AsyncConnection, count: int) -> None:
    third = max(1, count // 3)
    statements = (
        # kind 1: a wrong check character
        "UPDATE student SET id_number = substr(id_number, 1, 17) || 'Y' WHERE id IN"
        " (SELECT id FROM student WHERE id_type_code = '1' ORDER BY id LIMIT :n)",
        # kind 3: an even pupil's record copied (ID, birth date, sex) onto the next one
        "UPDATE student s SET id_number = t.id_number, birth_date = t.birth_date,"
        " sex_code = t.sex_code FROM (SELECT id + 1 AS target, id_number, birth_date, sex_code"
        " FROM student WHERE id_type_code = '1' AND id % 2 = 0 ORDER BY id DESC LIMIT :n) t"
        " WHERE s.id = t.target",
        # kind 4: pairs without an ID sharing name, sex and birth date
        "UPDATE student s SET id_number = NULL, name = t.name, sex_code = t.sex_code,"
        " birth_date = t.birth_date FROM (SELECT id + 1 AS target, name, sex_code, birth_date"
        " FROM student WHERE id % 2 = 0 ORDER BY id DESC OFFSET 100000 LIMIT :n) t"
        " WHERE s.id = t.target",
        "UPDATE student SET id_number = NULL WHERE id IN (SELECT id FROM student"
        " WHERE id % 2 = 0 ORDER BY id DESC OFFSET 100000 LIMIT :n)",
    )
    for statement in statements:
        await connection.execute(text(statement), {"n": third})


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inject", type=int, default=0)
    args = parser.parse_args()
    examined, floor = await baseline()
    described, seconds = await hub(args.inject)
    print(f"baseline (asyncpg, check each ID, two GROUP BYs): {examined:,} rows in {floor:.1f} s")
    print(f"hub quality check: {described} in {seconds:.1f} s ({seconds / floor:.1f}x baseline)")


if __name__ == "__main__":
    asyncio.run(main())
