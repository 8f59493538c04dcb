"""Live federation: students of Guangxi (45) read per request from the docked system, next to
the store's own, under the same access, masking and audit; a failing source yields partial
data and SOURCE_UNAVAILABLE."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from examples.legacy.building_safety import buildings_for
from examples.legacy.building_safety import create_app as safety_app
from examples.legacy.provincial_students import build
from hub.access.identity import mint_token
from hub.app import create_app
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.demo.load import load_demo
from hub.ids import decode_federated_id
from hub.settings import Settings
from hub.sources.mapping import load_sources
from hub.sources.sql import SqlSource
from hub.sources.sync import sync
from tests.fixtures.databases import BACKENDS, fresh_database
from tests.fixtures.users import make_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy" / "sources.toml"
STORE_STUDENTS = 600
LEGACY_STUDENTS = 1200
COUNTY = "450102"


@dataclass
class Federated:
    url: str
    legacy: Path
    client: httpx.AsyncClient
    settings: Settings
    schools: list[str]
    sources: dict[str, Any]

    async def query(self, document: str, user: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"authorization": f"Bearer {mint_token(self.settings, user)}"},
        )
        body: dict[str, Any] = response.json()
        return body

    def legacy_count(self, where: str = "1=1") -> int:
        with sqlite3.connect(self.legacy) as connection:
            count: int = connection.execute(
                f"SELECT count(*) FROM XS_JBXX WHERE {where}"
            ).fetchone()[0]
            return count


def _sources_file(directory: Path, legacy: Path, safety: str = "http://127.0.0.1:9") -> Path:
    path = directory / "sources.toml"
    path.write_text(
        EXAMPLE.read_text(encoding="utf-8")
        .replace("gx_students.db", str(legacy))
        .replace("http://127.0.0.1:8765", safety)
        + "\n[routes]\n"
        + 'student = [ { under = "45", source = "gx_students" } ]\n'
        + 'building = [ { under = "45", source = "safety" } ]\n',
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module", params=BACKENDS)
async def federated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Federated]:
    directory = tmp_path_factory.mktemp(f"federated-{request.param}")
    legacy = directory / "gx.db"
    build(legacy, LEGACY_STUDENTS, seed=3)
    async with fresh_database(request.param, directory) as url:
        engine = make_engine(url)
        await load_demo(engine, STORE_STUDENTS, 5, school_size_cap=150)
        source = SqlSource(
            dc_replace(load_sources(EXAMPLE)["gx_students"], url=f"sqlite+aiosqlite:///{legacy}")
        )
        await sync(engine, source, "school", registry_from_packaged())  # reference data only
        await source.close()
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT code, id FROM org_unit"))).all()
            units: dict[str, int] = {row[0]: row[1] for row in rows}
        await make_user(engine, "gx.registrar", units[COUNTY], [("registrar", units[COUNTY])])
        await make_user(engine, "gx.viewer", units[COUNTY], [("viewer", units[COUNTY])])
        await engine.dispose()
        with sqlite3.connect(legacy) as connection:
            schools = [r[0] for r in connection.execute("SELECT XXDM FROM XX_JBXX")]
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(safety_app(schools), host="127.0.0.1", port=port, log_level="warning")
        )
        serving = asyncio.create_task(server.serve())
        for _ in range(500):  # uvicorn offers no event to await; 5 s at most
            if server.started:
                break
            await asyncio.sleep(0.01)
        safety = f"http://127.0.0.1:{port}"
        settings = Settings(database_url=url, sources_file=_sources_file(directory, legacy, safety))
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Federated(url, legacy, client, settings, schools, app.state.hub.sources())
        for adapter in app.state.hub.sources().values():
            await adapter.close()
        await app.state.hub.close()
        server.should_exit = True
        await serving


PAGE = """query ($after: String) { students(first: 500, after: $after) { totalCount
  pageInfo { hasNextPage endCursor } edges { node { id studentNumber school { code } } } } }"""


async def test_one_list_walks_the_store_then_the_docked_province(federated: Federated) -> None:
    ids: list[str] = []
    after = None
    while True:
        body = await federated.query(PAGE, "national.admin", after=after)
        assert "errors" not in body, body
        data = body["data"]["students"]
        assert data["totalCount"] == STORE_STUDENTS + LEGACY_STUDENTS
        ids.extend(e["node"]["id"] for e in data["edges"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert len(ids) == len(set(ids)) == STORE_STUDENTS + LEGACY_STUDENTS
    live = [i for i in ids if decode_federated_id(i)]
    assert len(live) == LEGACY_STUDENTS
    assert ids[:STORE_STUDENTS] == [i for i in ids if not decode_federated_id(i)]


async def test_a_county_of_the_docked_province_sees_its_students_unmasked_and_audited(
    federated: Federated,
) -> None:
    county_schools = "SELECT XXDM FROM XX_JBXX WHERE SSQXDM = '" + COUNTY + "'"
    expected = federated.legacy_count(f"XXDM IN ({county_schools})")
    document = """query Live { students(first: 500) { totalCount edges { node { id idNumber
        school { code orgUnit { parent { code } } } } } } }"""
    body = await federated.query(document, "gx.registrar")
    data = body["data"]["students"]
    assert data["totalCount"] == len(data["edges"]) == expected > 0
    for edge in data["edges"]:
        assert edge["node"]["school"]["orgUnit"]["parent"]["code"] == COUNTY
        assert "*" not in edge["node"]["idNumber"]
    masked = await federated.query(document, "gx.viewer")
    assert all("*" in e["node"]["idNumber"] for e in masked["data"]["students"]["edges"])
    engine = make_engine(federated.url)
    async with engine.connect() as connection:
        subjects = (
            await connection.execute(
                text(
                    "SELECT subjects FROM audit_event WHERE username = 'gx.registrar'"
                    " AND operation = 'Live' ORDER BY id DESC"
                )
            )
        ).scalar()
    await engine.dispose()
    assert subjects is not None
    assert data["edges"][0]["node"]["id"] in subjects


async def test_other_provinces_see_nothing_of_the_docked_one(federated: Federated) -> None:
    body = await federated.query(
        "{ students(first: 500) { totalCount edges { node { id } } } }", "county.registrar"
    )
    edges = body["data"]["students"]["edges"]
    assert edges
    assert not any(decode_federated_id(e["node"]["id"]) for e in edges)


async def test_filters_are_pushed_into_the_source_or_refused(federated: Federated) -> None:
    body = await federated.query(
        '{ students(filter: {under: "45", grade: ["11"], sex: "2"}, first: 0) { totalCount } }',
        "national.admin",
    )
    expected = federated.legacy_count("NJ = '一年级' AND XBM IN ('女', '2')")
    assert body["data"]["students"]["totalCount"] == expected > 0
    refused = await federated.query(
        '{ students(filter: {namePrefix: "王"}) { totalCount } }', "national.admin"
    )
    assert refused["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "gx_students" in refused["errors"][0]["message"]


async def test_lookups_by_number_and_global_id_reach_the_source(federated: Federated) -> None:
    with sqlite3.connect(federated.legacy) as connection:
        number = connection.execute("SELECT XJH FROM XS_JBXX ORDER BY XJH LIMIT 1").fetchone()[0]
    document = "query ($n: String!) { student(studentNumber: $n) { id name } }"
    found = await federated.query(document, "national.admin", n=number)
    student = found["data"]["student"]
    assert decode_federated_id(student["id"]) == ("Student", "gx_students", number)
    node = await federated.query(
        "query ($id: ID!) { node(id: $id) { id } }", "national.admin", id=student["id"]
    )
    assert node["data"]["node"]["id"] == student["id"]
    outsider = await federated.query(document, "county.registrar", n=number)
    assert outsider["data"]["student"] is None


async def test_a_failing_source_yields_the_rest_and_source_unavailable(
    federated: Federated, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=federated.url,
        sources_file=_sources_file(tmp_path, tmp_path / "missing" / "gx.db"),
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ students(first: 5) { totalCount edges { node { id } } } }"},
            headers={"authorization": f"Bearer {mint_token(settings, 'national.admin')}"},
        )
    for adapter in app.state.hub.sources().values():
        await adapter.close()
    await app.state.hub.close()
    body = response.json()
    assert body["data"]["students"]["totalCount"] == STORE_STUDENTS
    assert len(body["data"]["students"]["edges"]) == 5
    error = body["errors"][0]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert "gx_students" in error["message"]


async def test_one_request_reads_the_docked_system_the_safety_service_and_the_store(
    federated: Federated,
) -> None:
    """The issue's scenario: students from the docked provincial system, buildings from the
    REST service, schools and org units from the store; access and masking as everywhere."""
    document = """query Everything { me { user }
      students(first: 3) { totalCount edges { node { id idNumber school { code } } } }
      buildings(first: 200) { totalCount edges { node { id code dangerRating { code label }
        structure { label } floorArea school { code orgUnit { parent { code } } } } } }
      schools(first: 50) { totalCount edges { node { code name } } } }"""
    body = await federated.query(document, "gx.viewer")  # a viewer reads buildings too
    assert "errors" not in body, body.get("errors")
    data = body["data"]
    assert all("*" in e["node"]["idNumber"] for e in data["students"]["edges"])
    county_schools = {e["node"]["code"] for e in data["schools"]["edges"]}
    assert county_schools
    assert county_schools <= set(federated.schools)
    expected = [b for b in buildings_for(federated.schools) if b["xxdm"] in county_schools]
    buildings = [e["node"] for e in data["buildings"]["edges"]]
    assert data["buildings"]["totalCount"] == len(buildings) == len(expected)
    assert {b["code"] for b in buildings} == {b["jzwbh"] for b in expected}
    for building in buildings:
        assert decode_federated_id(building["id"])[1] == "safety"  # type: ignore[index]
        assert building["school"]["orgUnit"]["parent"]["code"] == COUNTY
        assert building["dangerRating"]["code"] in "ABCD"
    assert all(decode_federated_id(e["node"]["id"]) for e in data["students"]["edges"])
    dangerous = await federated.query(
        '{ buildings(filter: {dangerRating: ["D"]}) { totalCount } }', "gx.viewer"
    )
    assert dangerous["errors"][0]["extensions"]["code"] == "BAD_INPUT"  # the service cannot
    assert "safety" in dangerous["errors"][0]["message"]


async def test_nested_lists_of_a_routed_school_read_its_source(federated: Federated) -> None:
    body = await federated.query(
        """{ schools(first: 50) { edges { node { code
             students(first: 500, filter: {grade: ["11", "12", "13", "14", "15", "16", "21"]}) {
               totalCount edges { node { id school { code } } } }
             buildings(first: 50) { totalCount edges { node { code } } } } } } }""",
        "gx.viewer",
    )
    assert "errors" not in body, body.get("errors")
    schools = [e["node"] for e in body["data"]["schools"]["edges"]]
    assert schools
    buildings = buildings_for(federated.schools)
    for school in schools:
        expected = federated.legacy_count(f"XXDM = '{school['code']}'")  # every grade asked
        students = school["students"]
        assert students["totalCount"] == len(students["edges"]) == expected > 0
        assert all(decode_federated_id(e["node"]["id"]) for e in students["edges"])
        assert {e["node"]["school"]["code"] for e in students["edges"]} == {school["code"]}
        mine = [b for b in buildings if b["xxdm"] == school["code"]]
        assert school["buildings"]["totalCount"] == len(mine)


async def test_counts_of_routed_schools_take_one_source_call(
    federated: Federated, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    docked = federated.sources["gx_students"]
    original = docked.count_by

    async def counting(entity: str, scope: Any, where: Any = None) -> dict[str, int]:
        calls.append(list(scope))
        result: dict[str, int] = await original(entity, scope, where)
        return result

    monkeypatch.setattr(docked, "count_by", counting)
    body = await federated.query(
        '{ schools(filter: {under: "45"}, first: 50) { edges { node { code'
        " students { totalCount } } } } }",
        "national.admin",
    )
    schools = [e["node"] for e in body["data"]["schools"]["edges"]]
    assert len(schools) == len(federated.schools) > 1
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(s["code"] for s in schools)
    for school in schools:
        expected = federated.legacy_count(f"XXDM = '{school['code']}'")
        assert school["students"]["totalCount"] == expected


REQUEST_EXPORT = """
mutation ($under: String) {
  requestExport(input: {entity: STUDENTS, purpose: "学籍核对使用", format: CSV,
                        filter: {students: {under: $under}}}) {
    exportRequest { status { code } rowsTotal }
    errors { message code }
  }
}
"""


async def test_an_export_reaching_a_docked_subtree_is_refused_naming_it(
    federated: Federated,
) -> None:
    # The whole country reaches Guangxi, whose students live in the docked system: a file
    # holds hub rows only, so the request is refused and says where to narrow it.
    body = await federated.query(REQUEST_EXPORT, "national.admin", under=None)
    payload = body["data"]["requestExport"]
    assert payload["exportRequest"] is None
    assert payload["errors"][0]["code"] == "BAD_INPUT"
    assert "under 45" in payload["errors"][0]["message"]
    assert "gx_students" in payload["errors"][0]["message"]
    # The docked county's own people are refused too; the store's province is accepted.
    body = await federated.query(REQUEST_EXPORT, "gx.registrar", under=COUNTY)
    assert body["data"]["requestExport"]["errors"][0]["code"] == "BAD_INPUT"
    body = await federated.query(REQUEST_EXPORT, "national.admin", under="44")
    accepted = body["data"]["requestExport"]
    assert accepted["errors"] == []
    assert accepted["exportRequest"]["status"]["code"] == "1"
    assert accepted["exportRequest"]["rowsTotal"] == STORE_STUDENTS
