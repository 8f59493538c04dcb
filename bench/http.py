"""Throughput over real HTTP: ``eduhub``'s app under uvicorn (two worker processes, one per
core), loaded by autocannon (npm, ``bench/node``) with 8 concurrent connections, the same
documents as ``bench/run.py``, as the registrar of the demo county (access control, masking,
audit and Chinese labels on). An empty query (``{ __typename }``) measures what the HTTP and
GraphQL framework cost per request before any data is read. Each scenario runs against the
planner and against the resolvers (``HUB_PLANNER=off``), interleaved.

    make bench-http                  # after make bench has loaded eduhub_bench
    python -m bench.http --seconds 10 --connections 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.run import (
    BENCH_DB,
    COUNTY_BUILDINGS,
    COUNTY_SCHOOLS,
    STUDENT_BY_NUMBER,
    STUDENT_PAGE,
    ensure_data,
)
from hub.access.identity import mint_token
from hub.access.scope import under_path
from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.demo.users import demo_units
from hub.settings import Settings
from hub.students.models import Student

NODE = Path(__file__).resolve().parent / "node"
AUTOCANNON = NODE / "node_modules" / ".bin" / "autocannon"
USER = "county.registrar"
# The registrar may not read buildings or assets: that scenario runs as the county's
# statistician, who may.
FACILITIES_USER = "county.statistician"
STUDENT = table_of(Student)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(url: str, planner: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_PLANNER": planner}
    command = [
        str(Path(sys.executable).with_name("eduhub")), "serve", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--database", url,
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the hub did not start")


def load(
    base: str, body: dict[str, Any], token: str, seconds: int, connections: int
) -> tuple[Any, str | None]:
    """autocannon's figures for ``body``, and which read path served it."""
    # One request first: the answer must be data, not errors.
    check = httpx.post(
        f"{base}/graphql", json=body, headers={"authorization": f"Bearer {token}"}, timeout=30
    ).json()
    if "errors" in check:
        raise RuntimeError(check["errors"])
    command = [
        str(AUTOCANNON), "-c", str(connections), "-d", str(seconds), "-m", "POST",
        "-H", "content-type=application/json", "-H", f"authorization=Bearer {token}",
        "-b", json.dumps(body), "--json", f"{base}/graphql",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, check=True, text=True).stdout
    return json.loads(out), check.get("extensions", {}).get("readPath", {}).get("servedBy")


async def samples(url: str) -> tuple[str, str]:
    """The demo county (as ``bench.run`` picks it) and one of its students' numbers."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            _id, county, path = (await demo_units(connection))["county"]
            number = (
                await connection.execute(
                    select(STUDENT.c.student_number)
                    .where(under_path(STUDENT.c.path, path))
                    .limit(1)
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return county, str(number)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if not AUTOCANNON.exists():
        raise SystemExit(f"the load tool is missing: npm install --prefix {NODE}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{BENCH_DB}"
    asyncio.run(ensure_data(url, args.students, args.seed))
    county, number = asyncio.run(samples(url))
    token = mint_token(Settings(), USER, 24 * 3600)
    facilities = mint_token(Settings(), FACILITIES_USER, 24 * 3600)
    scenarios: list[tuple[str, dict[str, Any]]] = [
        ("empty query { __typename }", {"query": "{ __typename }"}),
        ("student by number with school", {"query": STUDENT_BY_NUMBER, "variables": {"n": number}}),
        ("100 students + guardians + school", {"query": STUDENT_PAGE, "variables": {}}),
        ("county schools + student counts", {"query": COUNTY_SCHOOLS, "variables": {"c": county}}),
        (
            "county schools > buildings > assets",
            {"query": COUNTY_BUILDINGS, "variables": {"c": county}},
        ),
    ]
    servers = {mode: start(url, mode, args.workers) for mode in ("on", "off")}
    try:
        print(
            f"\nover HTTP: eduhub serve (uvicorn), {args.workers} workers; autocannon,"
            f" {args.connections} connections, {args.seconds} s per run; as {USER}"
            f" (county {county}; buildings as {FACILITIES_USER})\n"
        )
        header = ("req/s", "p50 ms", "p97.5", "req/s", "p50 ms", "p97.5")
        print(f"{'scenario':<38} {'planner':>26}   {'resolvers (HUB_PLANNER=off)':>28}")
        print(f"{'':<38} " + " ".join(f"{h:>8}" for h in header[:3]) + "   "
              + " ".join(f"{h:>8}" for h in header[3:]))  # fmt: skip
        for name, body in scenarios:
            cells = []
            for mode in ("on", "off"):
                who = facilities if "buildings" in name else token
                result, served = load(servers[mode][1], body, who, args.seconds, args.connections)
                failed = result["errors"] + result["non2xx"]
                if failed:
                    raise RuntimeError(f"{name}: {failed} failed requests")
                cells.append(
                    f"{result['requests']['average']:>8.0f} {result['latency']['p50']:>8.1f}"
                    f" {result['latency']['p97_5']:>8.1f}"
                )
                if mode == "on" and name != "empty query { __typename }" and served != "planner":
                    raise RuntimeError(f"{name}: served by {served}, not the planner")
            print(f"{name:<38} {cells[0]}   {cells[1]}")
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
