"""A national hub federates two provincial hubs (two apps, two databases, real HTTP on
loopback): schools sync from them as reference data, students are read live, the national
hub's access rules apply on top of theirs."""

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
from sqlalchemy import text

from hub.access.identity import mint_token
from hub.app import create_app
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.demo.load import load_demo
from hub.ids import decode_federated_id
from hub.settings import Settings
from hub.sources.mapping import load_sources
from hub.sources.protocol import make_source
from hub.sources.sync import sync
from tests.fixtures.databases import BACKENDS, fresh_database
from tests.fixtures.users import make_user

PROVINCES = {"44": 500, "45": 400}
SOURCE = """
[sources.hub{p}]
kind = "eduhub"
label = "province {p} hub"
url = "{url}"
token = "{token}"
timeout_seconds = 10

[sources.hub{p}.entities.school]
table = "schools"
key = "id"
[sources.hub{p}.entities.school.fields]
code = "code"
name = "name"
division_code = "divisionCode"
type_code = "type.code"

[sources.hub{p}.entities.student]
table = "students"
key = "id"
scope = "school.code"
[sources.hub{p}.entities.student.fields]
student_number = "studentNumber"
name = "name"
sex_code = "sex.code"
birth_date = {{ column = "birthDate", date = "%Y-%m-%d" }}
id_type_code = "idType.code"
id_number = "idNumber"
grade_code = "grade.code"
status_code = "status.code"
school_code = "school.code"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def provincial_hub(url: str, province: str, students: int) -> AsyncIterator[str]:
    engine = make_engine(url)
    await load_demo(engine, students, 9, school_size_cap=100, province=province)
    await engine.dispose()
    app = create_app(Settings(database_url=url))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to await; 5 s at most
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await app.state.hub.close()


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_a_national_hub_federates_two_provincial_hubs(
    backend_name: str, tmp_path: Path
) -> None:
    async with AsyncExitStack() as stack:
        urls: dict[str, str] = {}
        for province, students in PROVINCES.items():
            database = await stack.enter_async_context(
                fresh_database(backend_name, tmp_path / province)
            )
            (tmp_path / province).mkdir(exist_ok=True)
            urls[province] = await stack.enter_async_context(
                provincial_hub(database, province, students)
            )
        national = await stack.enter_async_context(fresh_database(backend_name, tmp_path))
        service = Settings()  # the provincial hubs trust the development secret here
        sources = tmp_path / "sources.toml"
        sources.write_text(
            "".join(
                SOURCE.format(p=p, url=url, token=mint_token(service, "national.admin"))
                for p, url in urls.items()
            )
            + '\n[routes]\nstudent = [ { under = "44", source = "hub44" },'
            + ' { under = "45", source = "hub45" } ]\n',
            encoding="utf-8",
        )
        # Reference data: the provinces' schools (and their org-unit chains) sync over GraphQL.
        engine = make_engine(national)
        await upgrade(engine)
        configs = load_sources(sources)
        for name in configs:
            adapter = make_source(configs[name])
            summary = await sync(engine, adapter, "school", registry_from_packaged())
            await adapter.close()
            assert summary.rejected == 0
            assert summary.written > 0
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT code, id FROM org_unit"))).all()
            units: dict[str, int] = {row[0]: row[1] for row in rows}
            county = (
                await connection.execute(
                    text(
                        "SELECT code FROM org_unit WHERE level = 'COUNTY'"
                        " AND path LIKE '/CN/44/%' ORDER BY id LIMIT 1"
                    )
                )
            ).scalar()
        assert isinstance(county, str)
        await make_user(engine, "nation", units["CN"], [("administrator", units["CN"])])
        await make_user(engine, "county44", units[county], [("viewer", units[county])])
        await engine.dispose()

        settings = Settings(database_url=national, sources_file=sources)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://national.test")
        )

        async def query(document: str, user: str, **variables: Any) -> dict[str, Any]:
            response = await client.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"authorization": f"Bearer {mint_token(settings, user)}"},
            )
            body: dict[str, Any] = response.json()
            assert "errors" not in body, body["errors"]
            data: dict[str, Any] = body["data"]
            return data

        everything = await query(
            """{ students(first: 500) { totalCount pageInfo { hasNextPage endCursor }
                 edges { node { id studentNumber idNumber school { code } } } } }""",
            "nation",
        )
        students = everything["students"]
        assert students["totalCount"] == sum(PROVINCES.values())
        sources_seen = {decode_federated_id(e["node"]["id"])[1] for e in students["edges"]}  # type: ignore[index]
        assert sources_seen == {"hub44"}  # the first 500: the first route's province
        rest = await query(
            "query ($a: String) { students(first: 500, after: $a) { edges { node { id } } } }",
            "nation",
            a=students["pageInfo"]["endCursor"],
        )
        assert len(students["edges"]) + len(rest["students"]["edges"]) == sum(PROVINCES.values())

        scoped = await query(
            "{ students(first: 500) { totalCount edges { node { idNumber school { orgUnit {"
            " parent { code } } } } } } }",
            "county44",
        )
        assert 0 < scoped["students"]["totalCount"] < PROVINCES["44"]
        for edge in scoped["students"]["edges"]:
            assert edge["node"]["school"]["orgUnit"]["parent"]["code"] == county
            assert "*" in edge["node"]["idNumber"]  # a viewer here: masked again

        per_school = await query(
            '{ schools(filter: {under: "45"}, first: 100) { edges { node {'
            " students { totalCount } } } } }",
            "nation",
        )
        counted = [e["node"]["students"]["totalCount"] for e in per_school["schools"]["edges"]]
        assert sum(counted) == PROVINCES["45"]  # per-school counts asked of the other hub

        number = rest["students"]["edges"][-1]["node"]["id"]
        found = await query("query ($id: ID!) { node(id: $id) { id } }", "nation", id=number)
        assert found["node"]["id"] == number

        for adapter in app.state.hub.sources().values():
            await adapter.close()
        await app.state.hub.close()
