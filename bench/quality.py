"""Problem record detection over the bench province (``make bench``'s ``eduhub_bench``).

    python -m bench.quality                      # the whole hub (1,000,000 students)
    python -m bench.quality --inject 10000       # with that many injected problems
    python -m bench.quality --register           # with kind 5 against a local register

With ``--register``, an example population register (``examples.legacy.population_register``,
a SQLite database of the bench province's persons with 200 left out and 200 renamed) is
built once in ``bench/.data/register.db`` and compared with every valid citizen ID through
the SQL adapter, as ``eduhub quality check --sources`` does; the baseline then also reads
the register's persons by key in the same batches, straight from sqlite3.

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
import sqlite3
import time
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.codes.identity import citizen_id_problem
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.quality.checks import check
from hub.quality.register import Register, RegisterSpec
from hub.sources.mapping import load_sources
from hub.sources.protocol import make_source

URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/eduhub_bench"
REGISTER = Path(__file__).parent / ".data" / "register.db"


async def ensure_register() -> Path:
    """The bench province's example register (built once: about 20 s)."""
    if not REGISTER.exists():
        from examples.legacy.population_register import build_from_hub

        REGISTER.parent.mkdir(parents=True, exist_ok=True)
        engine = make_engine(URL)
        try:
            async with engine.connect() as connection:
                chosen = (
                    await connection.execute(
                        text(
                            "SELECT upper(trim(id_number)) FROM student WHERE id_type_code = '1'"
                            " AND id_number IS NOT NULL ORDER BY id DESC LIMIT 400"
                        )
                    )
                ).scalars()
                numbers = list(chosen)
            await build_from_hub(engine, REGISTER, numbers[:200], numbers[200:])
        finally:
            await engine.dispose()
    return REGISTER


def open_register() -> Register:
    from examples.legacy.population_register import sources_entry

    sources = REGISTER.parent / "register.toml"
    sources.write_text(sources_entry(REGISTER), encoding="utf-8")
    configs = load_sources(sources)
    return Register(
        make_source(configs["population"]), registry_from_packaged(), RegisterSpec("population")
    )


async def baseline(register: bool) -> tuple[int, float]:
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/eduhub_bench")
    people = sqlite3.connect(REGISTER) if register else None
    started = time.perf_counter()
    examined = 0
    keys: list[str] = []
    async with connection.transaction():
        cursor = connection.cursor(
            "SELECT id, id_number, birth_date, sex_code, name FROM student"
            " WHERE id_type_code = '1' AND id_number IS NOT NULL"
        )
        async for row in cursor:
            if citizen_id_problem(row[1]) is None and people is not None:
                keys.append(row[1])
                if len(keys) == 1000:
                    _lookup(people, keys)
                    keys = []
            examined += 1
    if people is not None and keys:
        _lookup(people, keys)
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


def _lookup(people: sqlite3.Connection, keys: list[str]) -> None:
    marks = ",".join("?" * len(keys))
    people.execute(f"SELECT GMSFHM, XM FROM RK_JBXX WHERE GMSFHM IN ({marks})", keys).fetchall()


async def hub(inject: int, register: bool) -> tuple[str, float]:
    engine = make_engine(URL)
    await upgrade(engine)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            if inject:
                await _inject(connection, inject)
            people = open_register() if register else None
            started = time.perf_counter()
            summary = await check(connection, register=people)
            seconds = time.perf_counter() - started
            await transaction.rollback()
            if people is not None:
                await people.close()
    finally:
        await engine.dispose()
    found = ", ".join(f"kind {k}: {n:,}" for k, n in sorted(summary.found.items())) or "none"
    described = f"examined {summary.examined:,}; found {found}"
    if register:
        described += f"; {summary.register.describe()}"
    return described, seconds


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
    parser.add_argument("--register", action="store_true")
    args = parser.parse_args()
    if args.register:
        await ensure_register()
    examined, floor = await baseline(args.register)
    described, seconds = await hub(args.inject, args.register)
    what = "check each ID, two GROUP BYs" + (", register by key" if args.register else "")
    print(f"baseline (asyncpg, {what}): {examined:,} rows in {floor:.1f} s")
    print(f"hub quality check: {described} in {seconds:.1f} s ({seconds / floor:.1f}x baseline)")


if __name__ == "__main__":
    asyncio.run(main())
