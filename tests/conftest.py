"""Shared fixtures: per backend, one demo data set built once and read by every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.db.engine import StatementCounter, make_engine
from hub.demo.load import LoadSummary, load_demo
from hub.settings import Settings
from tests.fixtures.databases import BACKENDS, fresh_database

DEMO_STUDENTS = 8000
DEMO_SEED = 11
SCHOOL_SIZE_CAP = 120  # many small schools: nested lists of 50+ schools from few rows


@dataclass
class Hub:
    """A running hub over one backend with demo data, reached over HTTP (ASGI)."""

    backend: str
    url: str
    engine: AsyncEngine
    client: httpx.AsyncClient
    summary: LoadSummary

    async def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": document, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self.query(document, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def counter(self) -> StatementCounter:
        return StatementCounter(self.engine)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(scope="session")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    directory: Path = tmp_path_factory.mktemp(backend)
    async with fresh_database(backend, directory) as url:
        loader = make_engine(url)
        try:
            summary = await load_demo(
                loader, DEMO_STUDENTS, DEMO_SEED, school_size_cap=SCHOOL_SIZE_CAP
            )
        finally:
            await loader.dispose()
        app = create_app(Settings(database_url=url))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Hub(backend, url, app.state.hub.engine, client, summary)
        await app.state.hub.engine.dispose()
