"""Shared fixtures: per backend, one demo data set built once and read by every test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.access.identity import mint_token
from hub.app import create_app
from hub.db.engine import StatementCounter, make_engine
from hub.db.roles import grant_runtime
from hub.demo.load import LoadSummary, load_demo
from hub.demo.users import demo_units
from hub.quality.checks import check
from hub.settings import Settings
from tests.fixtures.databases import BACKENDS, fresh_database, runtime_role

DEMO_STUDENTS = 8000
DEMO_SEED = 11
SCHOOL_SIZE_CAP = 120  # many small schools: nested lists of 50+ schools from few rows


@dataclass
class Hub:
    """A running hub over one backend with demo data, reached over HTTP (ASGI). Queries run
    as ``national.admin`` unless ``user`` names another demo user (None: no token)."""

    backend: str
    url: str
    engine: AsyncEngine
    client: httpx.AsyncClient
    summary: LoadSummary
    settings: Settings
    units: dict[str, tuple[int, str, str]]
    owner_url: str  # the database owner's (migrations, tampering tests); url is the hub's

    @property
    def state(self) -> Any:
        """The app's process-wide ``HubState`` (caches, the audit writer)."""
        return self.client._transport.app.state.hub  # type: ignore[attr-defined]

    async def warm(self, user: str = "national.admin") -> None:
        """Load ``user``'s principal afresh, so that it stays cached for the next
        ``principal_cache_seconds`` (statement counts must not see it reloaded)."""
        self.state.principals.drop(user)
        await self.data("{ me { user } }", user=user)

    def headers(self, user: str | None) -> dict[str, str]:
        if user is None:
            return {}
        return {"authorization": f"Bearer {mint_token(self.settings, user)}"}

    async def query(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        user: str | None = "national.admin",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": document, "variables": variables or {}},
            headers={**self.headers(user), **(headers or {})},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        user: str = "national.admin",
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = await self.query(document, variables, user=user, headers=headers)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def counter(self) -> StatementCounter:
        return StatementCounter(self.engine)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@asynccontextmanager
async def running_hub(
    backend: str,
    directory: Path,
    students: int = DEMO_STUDENTS,
    seed: int = DEMO_SEED,
    sources: Path | None = None,
    problems: bool = False,
) -> AsyncIterator[Hub]:
    """A hub over a fresh database of ``backend`` with its own demo data; ``sources``: its
    sources file (none by default, whatever lies in the working directory); ``problems``:
    the demo's problem records, checked (kinds 1-4) before the hub starts."""
    async with fresh_database(backend, directory) as owner_url, runtime_role(owner_url) as url:
        # The owner loads (and migrates); the hub runs as a role that owns nothing (PostgreSQL).
        loader = make_engine(owner_url)
        try:
            summary = await load_demo(
                loader, students, seed, school_size_cap=SCHOOL_SIZE_CAP, problems=problems
            )
            if problems:
                async with loader.begin() as connection:
                    await check(connection)
            await grant_runtime(loader, url)
        finally:
            await loader.dispose()
        # The suite's documents read whole demo counties at once (first: 500 at several
        # levels); the cost budget itself is tested with the default (tests/api/test_limits).
        settings = Settings(
            database_url=url,
            migration_database_url=owner_url,
            max_query_cost=10**9,
            sources_file=sources or directory / "no-sources.toml",
            export_dir=directory / "exports",
        )
        app = create_app(settings)
        async with app.state.hub.engine.connect() as connection:
            units = await demo_units(connection)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Hub(
                backend, url, app.state.hub.engine, client, summary, settings, units, owner_url
            )
        await app.state.hub.close()


@pytest.fixture(scope="session")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    """The suite's shared hub: read-only (tests that write use ``running_hub`` of their own)."""
    async with running_hub(backend, tmp_path_factory.mktemp(backend)) as running:
        yield running


@pytest.fixture
def live(hub: Hub) -> Iterator[str]:
    """The hub served by uvicorn on a free loopback port, in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(hub.settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
