"""Duplicate IDs across provinces without moving ID numbers: two provincial hubs served over
real HTTP, the national hub's check (``compare_hubs``, as ``eduhub quality across`` runs it)
exchanging only keyed hashes; both provinces get a kind-3 record naming the other province,
none of the other child's data; a fixed duplicate closes; a hub that is down changes
nothing; the hash is keyed and normalised."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select, update

from hub.access.identity import mint_token
from hub.app import create_app
from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.demo.load import load_demo
from hub.quality.across import compare_hubs, digest
from hub.settings import Settings
from hub.sources.eduhub import EduhubSource
from hub.sources.mapping import load_sources
from hub.sources.resilience import SourceUnavailable
from hub.students.models import Student
from tests.fixtures.databases import BACKENDS, fresh_database

STUDENT = table_of(Student)
KEY = "shared-link-key-of-the-test-hubs"
LABELS = {"hub44": "广东省", "hub45": "广西壮族自治区"}
QUEUE = """
{ problemRecords(filter: {kind: ["3"]}, first: 100) { edges { node { detail memberCount
  status { code } students { studentNumber idNumber name } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def provincial_hub(url: str, province: str) -> AsyncIterator[tuple[str, Settings]]:
    engine = make_engine(url)
    await load_demo(engine, 300, int(province), school_size_cap=100, province=province)
    await engine.dispose()
    settings = Settings(database_url=url, link_key=KEY, sources_file=Path("/nonexistent.toml"))
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", settings
    finally:
        server.should_exit = True
        await task
        await app.state.hub.close()


def _hubs(
    directory: Path, urls: dict[str, str], user: str = "national.admin"
) -> list[EduhubSource]:
    token = mint_token(Settings(), user)
    text = "".join(
        f'[sources.hub{p}]\nkind = "eduhub"\nurl = "{url}"\ntoken = "{token}"\n'
        f"timeout_seconds = 10\nretries = 0\n\n"
        for p, url in urls.items()
    )
    sources = directory / "national.toml"
    sources.write_text(text, encoding="utf-8")
    return [EduhubSource(config) for config in load_sources(sources).values()]


async def _queue(url: str, settings: Settings) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post(
            "/graphql",
            json={"query": QUEUE},
            headers={"authorization": f"Bearer {mint_token(settings, 'national.admin')}"},
        )
    body = response.json()
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["problemRecords"]["edges"]]


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_two_provinces_learn_of_a_shared_id_without_exchanging_it(
    backend_name: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        settings: dict[str, Settings] = {}
        databases: dict[str, str] = {}
        for province in ("44", "45"):
            (tmp_path / province).mkdir()
            databases[province] = await stack.enter_async_context(
                fresh_database(backend_name, tmp_path / province)
            )
            urls[province], settings[province] = await stack.enter_async_context(
                provincial_hub(databases[province], province)
            )
        # A Guangdong pupil's ID is also on a Guangxi record (enrolled twice across provinces).
        engines = {p: make_engine(u) for p, u in databases.items()}
        try:
            async with engines["44"].connect() as connection:
                gd = (
                    await connection.execute(
                        select(STUDENT.c.id_number, STUDENT.c.name, STUDENT.c.student_number)
                        .order_by(STUDENT.c.id)
                        .limit(1)
                    )
                ).one()
            async with engines["45"].begin() as connection:
                gx_id = (
                    await connection.execute(select(STUDENT.c.id).order_by(STUDENT.c.id).limit(1))
                ).scalar_one()
                await connection.execute(
                    update(STUDENT).where(STUDENT.c.id == gx_id).values(id_number=gd.id_number)
                )
        finally:
            for engine in engines.values():
                await engine.dispose()

        hubs = _hubs(tmp_path, urls)
        try:
            # Every page of both hubs: 64-hex digests, never an ID number.
            digests, after = await hubs[0].id_digests(None, 120)
            assert after is not None and len(digests) <= 120
            assert all(len(d) == 64 for d in digests) and gd.id_number not in digests
            results = await compare_hubs(hubs, LABELS, page=120)
            assert results == {
                "hub44": {"shared": 1, "opened": 1, "kept": 0, "closed": 0},
                "hub45": {"shared": 1, "opened": 1, "kept": 0, "closed": 0},
            }
            again = await compare_hubs(hubs, LABELS, page=1000)
            assert again["hub44"] == {"shared": 1, "opened": 0, "kept": 1, "closed": 0}
        finally:
            for hub in hubs:
                await hub.close()
        gd_queue = await _queue(urls["44"], settings["44"])
        gx_queue = await _queue(urls["45"], settings["45"])
        assert [r["detail"] for r in gd_queue] == [
            "同一身份证件号在其他省份也有学籍（广西壮族自治区）；本省1条"
        ]
        assert [r["detail"] for r in gx_queue] == [
            "同一身份证件号在其他省份也有学籍（广东省）；本省1条"
        ]
        # Each province lists its own pupil only: no name or number of the other child.
        assert [s["studentNumber"] for s in gd_queue[0]["students"]] == [gd.student_number]
        assert gd.name not in str(gx_queue) and gd.student_number not in str(gx_queue)

        # A hub that is down: nothing is sent to anyone, the open record stays.
        down = _hubs(tmp_path, {**urls, "45": "http://127.0.0.1:9"})
        try:
            with pytest.raises(SourceUnavailable):
                await compare_hubs(down, LABELS)
        finally:
            for hub in down:
                await hub.close()
        assert len(await _queue(urls["44"], settings["44"])) == 1

        # The Guangxi record is corrected: the next national run closes both records.
        engine = make_engine(databases["45"])
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    update(STUDENT).where(STUDENT.c.id == gx_id).values(id_number=None)
                )
        finally:
            await engine.dispose()
        hubs = _hubs(tmp_path, urls)
        try:
            fixed = await compare_hubs(hubs, LABELS)
        finally:
            for hub in hubs:
                await hub.close()
        assert fixed["hub44"] == {"shared": 0, "opened": 0, "kept": 0, "closed": 1}
        assert [r["status"]["code"] for r in await _queue(urls["44"], settings["44"])] == ["5"]

        # Only a national service account may ask; a county user is refused.
        county = _hubs(tmp_path, urls, user="county.registrar")
        try:
            with pytest.raises(SourceUnavailable, match="403"):
                await county[0].id_digests(None, 10)
        finally:
            for hub in county:
                await hub.close()


def test_the_digest_is_keyed_and_normalised() -> None:
    number = "11010120150304001X"
    assert digest(KEY, number) == digest(KEY, f" {number.lower()} ")
    assert digest(KEY, number) != digest("another-key-of-sixteen+", number)
    assert number not in digest(KEY, number)
