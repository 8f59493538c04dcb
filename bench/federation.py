"""Overhead of live federation: the same page of docked students read live from the docked
system (SQLite, through the SQL adapter) against its synced copy in the hub store
(PostgreSQL), both through the hub over ASGI HTTP, in the same run.

    python -m bench.federation                  # after python -m bench.sync (reuses its data)
    python -m bench.federation --students 50000 --iterations 50
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.run import pct
from bench.sync import CACHE, DATABASE, EXAMPLE
from bench.sync import run as run_sync
from hub.access.identity import mint_token
from hub.app import create_app
from hub.db.engine import make_engine
from hub.settings import Settings

URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"
PAGE = """{ students(filter: {under: "45"}, first: 100) { edges { node {
    studentNumber name sex { label } grade { label } idNumber school { name } } } } }"""
BY_NUMBER = """query ($n: String!) { student(studentNumber: $n) {
    studentNumber name sex { label } grade { label } idNumber school { name } } }"""


async def ensure(students: int, seed: int) -> Path:
    legacy = CACHE / f"gx_{students}_{seed}.db"
    engine = make_engine(URL)
    try:
        async with engine.connect() as connection:
            synced = (await connection.execute(text("SELECT count(*) FROM student"))).scalar()
    except Exception:  # no database yet
        synced = 0
    if not legacy.exists() or not synced:
        await run_sync(students, seed, 2000)
    async with engine.begin() as connection:
        if not (await connection.execute(text("SELECT count(*) FROM hub_user"))).scalar():
            root = (
                await connection.execute(text("SELECT id FROM org_unit WHERE code = 'CN'"))
            ).scalar()
            await connection.execute(
                text(
                    "INSERT INTO hub_user (id, username, display_name, org_unit_id, active)"
                    " VALUES (1, 'bench.admin', 'bench', :root, true)"
                ),
                {"root": root},
            )
            await connection.execute(
                text(
                    "INSERT INTO role_assignment (user_id, role, org_unit_id, granted_by,"
                    " granted_at) VALUES (1, 'administrator', :root, 'bench', :now)"
                ),
                {"root": root, "now": dt.datetime.now(dt.UTC)},
            )
    await engine.dispose()
    return legacy


def sources_file(legacy: Path, routed: bool) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / ("sources-live.toml" if routed else "sources-store.toml")
    body = EXAMPLE.read_text(encoding="utf-8").replace("gx_students.db", str(legacy))
    if routed:
        body += '\n[routes]\nstudent = [ { under = "45", source = "gx_students" } ]\n'
    path.write_text(body, encoding="utf-8")
    return path


async def measure(
    legacy: Path, routed: bool, iterations: int, numbers: list[str] | None = None
) -> list[float]:
    settings = Settings(database_url=URL, sources_file=sources_file(legacy, routed))
    app = create_app(settings)
    token = mint_token(settings, "bench.admin", 3600)
    samples: list[float] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:

        async def once(i: int) -> None:
            if numbers:
                payload = {"query": BY_NUMBER, "variables": {"n": numbers[i % len(numbers)]}}
            else:
                payload = {"query": PAGE}
            response = await client.post(
                "/graphql", json=payload, headers={"authorization": f"Bearer {token}"}
            )
            body: dict[str, Any] = response.json()
            data = body.get("data") or {}
            found = data.get("student") if numbers else len(data["students"]["edges"]) == 100
            if "errors" in body or not found:
                raise RuntimeError(body.get("errors"))

        for i in range(10):
            await once(i)
        for i in range(iterations):
            started = time.perf_counter()
            await once(i)
            samples.append(time.perf_counter() - started)
    for adapter in app.state.hub.sources().values():
        await adapter.close()
    await app.state.hub.close()
    return samples


@dataclass
class Figures:
    """Two ways of serving the same request (live from the docked system, from the store)."""

    name: str
    hub: list[float]
    raw: list[float]

    def line(self) -> str:
        h50, h95 = pct(self.hub, 0.5), pct(self.hub, 0.95)
        r50, r95 = pct(self.raw, 0.5), pct(self.raw, 0.95)
        return (
            f"{self.name:<44} {h50:>8.2f} {h95:>8.2f} {r50:>8.2f} {r95:>8.2f}"
            f" {h50 / r50:>7.1f}x {h95 / r95:>7.1f}x"
        )


async def run(students: int, seed: int, iterations: int) -> None:
    legacy = await ensure(students, seed)
    engine = make_engine(URL)
    async with engine.connect() as connection:
        numbers = [
            row[0]
            for row in (
                await connection.execute(
                    text("SELECT student_number FROM student ORDER BY random() LIMIT 500")
                )
            ).all()
        ]
    await engine.dispose()
    results = [
        Figures(
            "first 100 docked students",
            await measure(legacy, True, iterations),
            await measure(legacy, False, iterations),
        ),
        Figures(
            "a docked student by number",
            await measure(legacy, True, iterations, numbers),
            await measure(legacy, False, iterations, numbers),
        ),
    ]
    print(
        f"\n{students:,} docked students; {iterations} iterations; ms per request over ASGI HTTP"
        "\n(live: read per request from the docked SQLite system through the SQL adapter;"
        " store: the synced copy in PostgreSQL)\n"
    )
    header = ("live p50", "live p95", "store50", "store95", "p50", "p95")
    print(f"{'scenario':<44} " + " ".join(f"{h:>8}" for h in header))
    for figures in results:
        print(figures.line())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=45)
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.students, args.seed, args.iterations))


if __name__ == "__main__":
    main()
