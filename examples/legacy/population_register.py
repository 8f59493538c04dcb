"""An example population register (人口库): a SQLite database of persons by citizen ID, the
way a public-security register answers the education hub (公民身份号码, 姓名, 性别, 出生日期).

    python -m examples.legacy.population_register register.db --database URL \
        [--missing 20] [--renamed 20]

builds it from a hub's students with valid citizen IDs (their "true persons"), leaving out
``--missing`` of them and holding ``--renamed`` under another name: the kind-5 findings a check
against it should report, and nothing else. It also stores a few IDs with a lower-case ``x``
and a few names with surrounding spaces, which must not be reported.

The matching sources-file entries are ``SOURCES`` (see ``sources_entry``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

TABLE = "RK_JBXX"  # 人口基本信息
SEX = {"1": "男", "2": "女"}


def sources_entry(path: Path, name: str = "population") -> str:
    """The sources-file text declaring ``path`` as the population register."""
    return f'''
# The population register (人口库) that problem kind 5 compares students with.
[register]
source = "{name}"

[sources.{name}]
kind = "sql"
label = "人口库 (population register, example)"
url = "sqlite+aiosqlite:///{path}"
timeout_seconds = 5
retries = 2

[sources.{name}.entities.person]
table = "{TABLE}"
key = "GMSFHM"

[sources.{name}.entities.person.fields]
id_number = {{ column = "GMSFHM", upper = true }}
name = "XM"
sex_code = {{ column = "XB", translate = "label:sex" }}
birth_date = {{ column = "CSRQ", date = "%Y%m%d" }}
'''


def renamed(name: str) -> str:
    """Another person's name: the last character replaced (张伟 -> 张强)."""
    other = "强" if name[-1] != "强" else "军"
    return name[:-1] + other


def create(path: Path) -> sqlite3.Connection:
    """A fresh, empty register at ``path``."""
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    connection.execute(
        f"CREATE TABLE {TABLE} (GMSFHM TEXT PRIMARY KEY, XM TEXT NOT NULL, XB TEXT, CSRQ TEXT)"
    )
    return connection


def add(
    connection: sqlite3.Connection,
    persons: Iterable[tuple[str, str, str | None, dt.date | None]],
) -> None:
    """Hold ``persons`` (ID, name, sex code, birth date); an ID given twice is held once."""
    rows = (
        (number, name, SEX.get(sex or ""), None if birth is None else f"{birth:%Y%m%d}")
        for number, name, sex, birth in persons
    )
    connection.executemany(f"INSERT OR IGNORE INTO {TABLE} VALUES (?, ?, ?, ?)", rows)


async def hub_persons(
    engine: AsyncEngine,
    missing: Collection[str],
    renamed_ids: Collection[str],
    skip: Collection[int] = (),
) -> AsyncIterator[tuple[str, str, str | None, dt.date | None]]:
    """The hub's students with a valid citizen ID as register persons, but for the
    ``missing`` IDs, the students ``skip`` (records that are not a person of their own) and
    with the ``renamed_ids`` under another name; every 97th ID written with a lower-case
    ``x`` or its name with spaces around (which a check must see through)."""
    from hub.codes.identity import citizen_id_problem
    from hub.students.models import Student

    c = Student.__table__.c
    statement = (
        select(c.id, c.id_number, c.name, c.sex_code, c.birth_date)
        .where(c.id_type_code == "1", c.id_number.is_not(None))
        .order_by(c.id)
        .execution_options(yield_per=10_000)
    )
    async with engine.connect() as connection:
        result = await connection.stream(statement)
        n = 0
        async for pk, number, name, sex, birth in result:
            value = str(number).strip().upper()
            if pk in skip or value in missing or citizen_id_problem(value) is not None:
                continue
            n += 1
            shown = renamed(name) if value in renamed_ids else name
            if n % 97 == 0:
                value = value[:-1] + "x" if value.endswith("X") else value
                shown = f" {shown} "
            yield value, shown, sex, birth


async def build_from_hub(
    engine: AsyncEngine,
    path: Path,
    missing: Collection[str] = (),
    renamed_ids: Collection[str] = (),
    skip: Collection[int] = (),
) -> int:
    """A register at ``path`` from the hub's students (see ``hub_persons``), written in
    chunks (a million students never sit in memory); how many persons it holds."""
    connection = create(path)
    try:
        chunk: list[tuple[str, str, str | None, dt.date | None]] = []
        async for person in hub_persons(engine, set(missing), set(renamed_ids), set(skip)):
            chunk.append(person)
            if len(chunk) >= 10_000:
                add(connection, chunk)
                chunk = []
        add(connection, chunk)
        connection.commit()
        return int(connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
    finally:
        connection.close()


async def _main(args: argparse.Namespace) -> None:
    import random

    from sqlalchemy import func

    from hub.db.engine import make_engine
    from hub.students.models import Student

    engine = make_engine(args.database)
    try:
        async with engine.connect() as connection:
            c = Student.__table__.c
            numbers = (
                await connection.execute(
                    select(c.id_number)
                    .where(c.id_type_code == "1", c.id_number.is_not(None))
                    .order_by(func.random())
                    .limit(args.missing + args.renamed)
                )
            ).scalars()
            chosen = [str(n).strip().upper() for n in numbers]
        random.Random(args.seed).shuffle(chosen)
        held = await build_from_hub(
            engine, args.path, chosen[: args.missing], chosen[args.missing :]
        )
    finally:
        await engine.dispose()
    print(f"{args.path}: {held:,} persons ({args.missing} left out, {args.renamed} renamed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--database", required=True, help="The hub database to take persons from.")
    parser.add_argument("--missing", type=int, default=20)
    parser.add_argument("--renamed", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()


def add_docked(register: Path, legacy: Path) -> int:
    """Add the persons of the example docked Guangxi system (``provincial_students``) to the
    register (valid IDs only, as the system holds them): its students synced into the hub
    are then compared like the hub's own. How many were added."""
    from hub.codes.identity import citizen_id_problem, normalise

    source = sqlite3.connect(legacy)
    try:
        rows = source.execute("SELECT SFZJH, XM, XBM FROM XS_JBXX").fetchall()
    finally:
        source.close()
    sexes = {"男": "1", "女": "2", "1": "1", "2": "2"}
    persons = [
        (normalise(number), name, sexes.get(sex), None)
        for number, name, sex in rows
        if number and name and citizen_id_problem(number) is None
    ]
    connection = sqlite3.connect(register)
    try:
        before = connection.total_changes
        add(connection, persons)
        connection.commit()
        return connection.total_changes - before
    finally:
        connection.close()
