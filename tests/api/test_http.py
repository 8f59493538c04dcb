"""The HTTP surface: health, GraphiQL in development, the committed SDL."""

from __future__ import annotations

from pathlib import Path

import httpx

import schema
from hub.app import create_app
from hub.db.migrate import upgrade
from hub.settings import Settings
from tests.conftest import Hub


async def test_healthz_reports_the_database(hub: Hub) -> None:
    response = await hub.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "dialect": hub.engine.dialect.name, "revision": "0001"}


async def test_healthz_says_when_the_database_is_unreachable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "hub.db"
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{missing}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.get("/healthz")
    await app.state.hub.engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


async def test_graphiql_is_served_in_development(hub: Hub) -> None:
    response = await hub.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_production_hides_graphiql_and_introspection(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}", env="production")
    app = create_app(settings)
    await upgrade(app.state.hub.engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}
        )
    await app.state.hub.engine.dispose()
    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    assert introspection.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"


def test_committed_sdl_matches_the_code() -> None:
    committed = schema.SDL_PATH.read_text(encoding="utf-8")
    assert committed == schema.sdl(), "schema/schema.graphql is stale: run `make sdl`"


def test_sdl_carries_every_entry_point_of_the_contract() -> None:
    sdl = schema.sdl()
    for entry in (
        "me: Viewer!",
        "node(id: ID!): Node",
        "orgUnit(code: String!): OrgUnit",
        "orgUnits(filter: OrgUnitFilter",
        "school(code: String!): School",
        "schools(filter: SchoolFilter",
        "student(studentNumber: String!): Student",
        "students(filter: StudentFilter",
        "teachers(filter: TeacherFilter",
        "buildings(filter: BuildingFilter",
        "assets(filter: AssetFilter",
        "enum OrgLevel",
    ):
        assert entry in sdl, entry
