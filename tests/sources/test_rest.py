"""The REST adapter against a real HTTP service on loopback, healthy and misbehaving: slow,
503, malformed JSON, dropped connections. Every failure is SOURCE_UNAVAILABLE, reads are
retried a bounded number of times, the breaker stops calls to a failing service."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from examples.legacy.building_safety import create_app as safety_app
from examples.legacy.provincial_students import build
from hub.buildings.models import Building
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.sources.mapping import load_sources
from hub.sources.resilience import SourceUnavailable
from hub.sources.rest import RestSource
from hub.sources.sql import SqlSource
from hub.sources.sync import sync
from tests.fixtures.databases import BACKENDS, fresh_database

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy" / "sources.toml"
SCHOOLS = [f"41450000{n:02d}" for n in range(1, 8)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
async def service() -> AsyncIterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(safety_app(SCHOOLS), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to await; 5 s at most
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def dropping() -> AsyncIterator[str]:
    """A server that accepts connections and closes them without a word."""

    async def drop(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


def _source(url: str, **changes: object) -> RestSource:
    config = replace(load_sources(EXAMPLE)["safety"], url=url, **changes)  # type: ignore[arg-type]
    return RestSource(config)


async def _fault(url: str, mode: str) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        await client.post("/_faults", json={"mode": mode})


async def _hits(url: str) -> int:
    async with httpx.AsyncClient(base_url=url) as client:
        hits: int = (await client.get("/_stats")).json()["hits"]
        return hits


async def test_pages_keys_scope_and_nested_fields(service: str) -> None:
    await _fault(service, "ok")
    source = _source(service)
    try:
        first = await source.rows_after("building", None, 5)
        assert len(first) == 5
        assert first == sorted(first, key=lambda r: r["jzwbh"])
        assert "jd.dj" in first[0]  # nested objects are flattened to dotted names
        rest = await source.rows_after("building", first[-1]["jzwbh"], 1000)
        assert all(r["jzwbh"] > first[-1]["jzwbh"] for r in rest)
        scoped = await source.rows_after("building", None, 1000, scope=[SCHOOLS[0]])
        assert scoped
        assert {r["xxdm"] for r in scoped} == {SCHOOLS[0]}
        assert await source.rows_after("building", None, 10, scope=[]) == []
        counts = await source.count_by("building", SCHOOLS[:2])
        assert counts == {
            code: sum(1 for r in await source.rows_after("building", None, 1000, scope=[code]))
            for code in SCHOOLS[:2]
        }
        keys = [first[2]["jzwbh"], "no-such-building", first[0]["jzwbh"]]
        before = await _hits(service)
        fetched = await source.fetch("building", keys)
        assert await _hits(service) == before + 1  # one call for the whole batch
        assert [r["jzwbh"] if r else None for r in fetched] == [keys[0], None, keys[2]]
        assert await source.health()
    finally:
        await source.close()


@pytest.mark.parametrize(
    ("mode", "message"),
    [("503", "HTTPStatusError"), ("malformed", "not JSON"), ("slow", "no answer within")],
)
async def test_a_misbehaving_service_is_unavailable_after_bounded_retries(
    service: str, mode: str, message: str
) -> None:
    await _fault(service, mode)
    source = _source(service, timeout_seconds=0.3, retries=2)
    try:
        before = await _hits(service)
        with pytest.raises(SourceUnavailable, match=message) as caught:
            await source.rows_after("building", None, 10)
        assert caught.value.code == "SOURCE_UNAVAILABLE"
        assert caught.value.source == "safety"
        assert await _hits(service) - before == 3  # the first try and two retries
        assert not await source.health()
    finally:
        await _fault(service, "ok")
        await source.close()


async def test_a_dropped_connection_is_unavailable(dropping: str) -> None:
    source = _source(dropping, retries=1)
    try:
        with pytest.raises(SourceUnavailable, match="safety"):
            await source.fetch("building", ["x"])
    finally:
        await source.close()


async def test_the_breaker_stops_calls_to_a_failing_service(service: str) -> None:
    await _fault(service, "503")
    source = _source(service, retries=0, breaker_failures=2, breaker_reset_seconds=60)
    try:
        for _ in range(2):
            with pytest.raises(SourceUnavailable):
                await source.rows_after("building", None, 10)
        before = await _hits(service)
        with pytest.raises(SourceUnavailable, match="circuit open"):
            await source.rows_after("building", None, 10)
        assert await _hits(service) == before  # fails fast: the service is spared
        assert source.resilience.breaker.state.value == "OPEN"
    finally:
        await _fault(service, "ok")
        await source.close()


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_buildings_sync_from_the_service(
    service: str, backend_name: str, tmp_path: Path
) -> None:
    await _fault(service, "ok")
    legacy = tmp_path / "gx.db"
    build(legacy, 2800, seed=7)  # seven schools: the ones the service knows
    students = SqlSource(
        replace(load_sources(EXAMPLE)["gx_students"], url=f"sqlite+aiosqlite:///{legacy}")
    )
    buildings = _source(service)
    codes = registry_from_packaged()
    async with fresh_database(backend_name, tmp_path) as url:
        engine = make_engine(url)
        try:
            await upgrade(engine)
            await sync(engine, students, "school", codes)
            summary = await sync(engine, buildings, "building", codes, batch_size=7)
            again = await sync(engine, buildings, "building", codes, batch_size=7)
            async with engine.connect() as connection:
                stored = (
                    await connection.execute(
                        select(func.count())
                        .select_from(Building.__table__)
                        .where(Building.sync_source == "safety")
                    )
                ).scalar()
                ratings = (
                    (await connection.execute(select(Building.danger_rating_code).distinct()))
                    .scalars()
                    .all()
                )
        finally:
            await students.close()
            await buildings.close()
            await engine.dispose()
    assert summary.rejected == 0
    assert summary.written == summary.read == stored
    assert again.written == summary.written
    assert set(ratings) <= {"A", "B", "C", "D"}
