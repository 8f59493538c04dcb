"""Syncing the example docked provincial system into a fresh hub, on both databases."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from examples.legacy.provincial_students import build
from hub.access.identity import mint_token
from hub.app import create_app
from hub.codes.registry import registry_from_packaged
from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.quality.models import ProblemMember, ProblemRecord
from hub.settings import Settings
from hub.sources.mapping import MappingError, load_sources
from hub.sources.models import SyncRejection, SyncRun
from hub.sources.report import entity_report
from hub.sources.routes import load_routes
from hub.sources.sql import SqlSource
from hub.sources.sync import sync
from hub.students.models import Student
from tests.fixtures.databases import BACKENDS, fresh_database
from tests.fixtures.users import make_user

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy" / "sources.toml"
STUDENTS = 1500
STUDENT = table_of(Student)
REJECTION = table_of(SyncRejection)
RUN = table_of(SyncRun)
RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)


def _source(legacy: Path) -> SqlSource:
    config = load_sources(EXAMPLE)["gx_students"]
    return SqlSource(replace(config, url=f"sqlite+aiosqlite:///{legacy}"))


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("legacy") / "gx.db"
    defects = build(path, STUDENTS, seed=7)
    return path, defects


async def _problem_details(url: str, kind: str) -> dict[str, str]:
    """The open problem records of ``kind`` by the source key of their student."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(STUDENT.c.sync_key, RECORD.c.detail)
                .join(MEMBER, MEMBER.c.student_id == STUDENT.c.id)
                .join(RECORD, RECORD.c.id == MEMBER.c.record_id)
                .where(RECORD.c.kind_code == kind, RECORD.c.status_code == "1")
            )
            return {str(key): str(detail) for key, detail in rows}
    finally:
        await engine.dispose()


async def _state(url: str) -> tuple[list[tuple[Any, ...]], Counter[tuple[str, str]]]:
    """What a sync leaves behind: the synced students and the last runs' rejections."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            students = [
                tuple(row)
                for row in (
                    await connection.execute(
                        select(*[c for c in STUDENT.c if c.name != "id"])
                        .where(STUDENT.c.sync_source == "gx_students")
                        .order_by(STUDENT.c.sync_key)
                    )
                ).all()
            ]
            last_run = (
                select(RUN.c.id)
                .where(RUN.c.entity == "student")
                .order_by(RUN.c.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            rejections = Counter(
                (row[0], row[1])
                for row in (
                    await connection.execute(
                        select(REJECTION.c.source_key, REJECTION.c.reasons).where(
                            REJECTION.c.run_id == last_run
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    return students, rejections


async def _sync_all(url: str, legacy: Path, batch_size: int = 200) -> None:
    engine = make_engine(url)
    source = _source(legacy)
    try:
        await upgrade(engine)
        codes = registry_from_packaged()
        for entity in ("school", "student"):
            await sync(engine, source, entity, codes, batch_size=batch_size)
    finally:
        await source.close()
        await engine.dispose()


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_sync_keeps_every_row_written_or_rejected_with_reasons(
    backend_name: str, tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    path, defects = legacy
    async with fresh_database(backend_name, tmp_path) as url:
        await _sync_all(url, path)
        students, rejections = await _state(url)
        assert len(students) + sum(rejections.values()) == STUDENTS
        problems = Counter(
            problem["problem"].split(":")[0]
            for (_key, reasons), n in rejections.items()
            for problem in json.loads(reasons)
            for _ in range(n)
        )
        assert problems["no translation"] == defects["abbreviated_ethnicity"]
        assert problems["not a date (%Y%m%d)"] == defects["bad_date"]
        # Identity problems are admitted and flagged, never rejected (问题学籍).
        assert not any("citizen ID" in reason for reason in problems)
        flagged = await _problem_details(url, "1")
        assert len(flagged) >= defects["invalid_id"] - defects["bad_date"]
        # A second run over unchanged data changes no record and rejects the same rows.
        await _sync_all(url, path)
        again, rejections_again = await _state(url)
        assert again == students
        assert rejections_again == rejections


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_a_killed_sync_resumes_to_the_state_of_a_clean_run(
    backend_name: str, tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    path, _defects = legacy
    sources = tmp_path / "sources.toml"
    sources.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("gx_students.db", str(path)), encoding="utf-8"
    )
    async with (
        fresh_database(backend_name, tmp_path / "a") as crashed,
        fresh_database(backend_name, tmp_path / "b") as clean,
    ):
        for directory in (tmp_path / "a", tmp_path / "b"):
            directory.mkdir(exist_ok=True)
        await _sync_all(crashed, path, batch_size=10_000)  # schools (and all students) once
        engine = make_engine(crashed)
        async with engine.begin() as connection:  # start over for students only
            await connection.execute(text("DELETE FROM sync_rejection"))
            await connection.execute(text("DELETE FROM student"))
            await connection.execute(text("DELETE FROM sync_run WHERE entity = 'student'"))
        command = [
            sys.executable,
            "-m",
            "hub.cli",
            "sync",
            "gx_students",
            "student",
            "--sources",
            str(sources),
            "--batch-size",
            "10",
            "--database",
            crashed,
        ]
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        try:
            deadline = time.monotonic() + 60
            progressed = 0
            while time.monotonic() < deadline and progressed < 100:
                async with engine.connect() as connection:
                    progressed = (
                        await connection.execute(
                            select(RUN.c.rows_read).where(RUN.c.entity == "student")
                        )
                    ).scalar() or 0
                await asyncio.sleep(0.01)
            assert process.returncode is None, "the sync finished before it could be killed"
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        async with engine.connect() as connection:
            status, read = (
                await connection.execute(
                    select(RUN.c.status, RUN.c.rows_read).where(RUN.c.entity == "student")
                )
            ).one()
        await engine.dispose()
        assert status == "running"
        assert 0 < read < STUDENTS
        await _sync_all(crashed, path)  # resumes the student run from its checkpoint
        await _sync_all(clean, path)
        assert await _state(crashed) == await _state(clean)


async def test_scope_is_pushed_into_the_source_query(legacy: tuple[Path, dict[str, int]]) -> None:
    path, _defects = legacy
    source = _source(path)
    try:
        rows = await source.rows_after("student", None, 10_000, scope=["4145000001"])
        with sqlite3.connect(path) as connection:
            expected = connection.execute(
                "SELECT count(*) FROM XS_JBXX WHERE XXDM = '4145000001'"
            ).fetchone()[0]
        assert len(rows) == expected > 0
        assert {row["XXDM"] for row in rows} == {"4145000001"}
        assert await source.rows_after("student", None, 10, scope=[]) == []
        assert await source.health()
    finally:
        await source.close()


async def test_mapping_report_counts_untranslatable_values_and_disagreements(
    tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    path, defects = legacy
    copy = tmp_path / "gx.db"
    copy.write_bytes(path.read_bytes())
    async with fresh_database("sqlite", tmp_path) as url:
        await _sync_all(url, copy)
        with sqlite3.connect(copy) as connection:  # the source changes after the sync
            key = connection.execute(
                "SELECT XJH FROM XS_JBXX WHERE MZM = '汉族' AND length(CSRQ) = 8 LIMIT 1"
            ).fetchone()[0]
            connection.execute("UPDATE XS_JBXX SET XM = '改名' WHERE XJH = ?", (key,))
            no_phone = dict(
                connection.execute(
                    "SELECT XXDM, count(*) FROM XS_JBXX WHERE coalesce(trim(LXDH), '') = ''"
                    " GROUP BY XXDM"
                ).fetchall()
            )
        source = _source(copy)
        engine = make_engine(url)
        try:
            report = await entity_report(source, "student", registry_from_packaged(), engine)
        finally:
            await source.close()
            await engine.dispose()
    fields = {f.hub_field: f for f in report.fields}
    assert report.rows == STUDENTS
    assert fields["ethnicity_code"].untranslatable == {"汉": defects["abbreviated_ethnicity"]}
    assert sum(fields["birth_date"].untranslatable.values()) == defects["bad_date"]
    assert fields["name"].disagreements == 1
    assert fields["phone"].filled is not None
    assert fields["phone"].filled < 1.0
    assert not fields["health_code"].mapped
    assert 0 < report.coverage < 1
    # 漏填 by school: blank phones counted where they are; a birth date in another format is
    # untranslatable, not blank; a mandatory field the mapping leaves out is listed once.
    assert no_phone and sum(no_phone.values()) == defects["missing_phone"]
    by_school = {s.school: s for s in report.completeness}
    assert {code: s.blank["phone"] for code, s in by_school.items()} == no_phone
    assert all(s.blank["birth_date"] == 0 and s.blank["name"] == 0 for s in by_school.values())
    assert report.completeness == sorted(
        report.completeness, key=lambda s: (-sum(s.blank.values()), s.school)
    )
    assert all(0 < s.complete < 1 for s in report.completeness)
    assert {"health_code", "postcode", "only_child"} <= set(report.unmapped_mandatory)
    assert "phone" not in report.unmapped_mandatory


async def test_synced_records_are_served_with_access_and_sources_report_status(
    tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    path, _defects = legacy
    sources = tmp_path / "sources.toml"
    sources.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("gx_students.db", str(path)), encoding="utf-8"
    )
    async with fresh_database("sqlite", tmp_path) as url:
        await _sync_all(url, path)
        engine = make_engine(url)
        async with engine.connect() as connection:
            units = {
                code: unit_id
                for unit_id, code in (
                    await connection.execute(text("SELECT id, code FROM org_unit"))
                ).all()
            }
        await make_user(engine, "gx.admin", units["45"], [("administrator", units["45"])])
        await make_user(engine, "gx.viewer", units["450102"], [("viewer", units["450102"])])
        await engine.dispose()
        settings = Settings(database_url=url, sources_file=sources)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        query = """{ sources { name health breakerState lastSync { entity rowsRead rowsRejected } }
                     sourceReport(name: "gx_students", entity: "student") { rows coverage
                       fields { hubField column mapped untranslatable { value count } }
                       unmappedMandatory completeness { school rows blank { hubField count } } }
                     students(first: 1) { totalCount edges { node { idNumber
                       school { orgUnit { parent { code } } } } } } }"""
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            answers = []
            for user in ("gx.admin", "gx.viewer"):
                response = await client.post(
                    "/graphql",
                    json={"query": query},
                    headers={"authorization": f"Bearer {mint_token(settings, user)}"},
                )
                answers.append(response.json())
        admin, viewer = answers
        for source in app.state.hub.sources().values():
            await source.close()
        await app.state.hub.close()
    report = admin["data"]["sourceReport"]
    assert report["rows"] == STUDENTS
    assert "health_code" in report["unmappedMandatory"]
    blank_phones = sum(
        b["count"] for s in report["completeness"] for b in s["blank"] if b["hubField"] == "phone"
    )
    assert blank_phones == _defects["missing_phone"]
    ethnicity = next(f for f in report["fields"] if f["hubField"] == "ethnicity_code")
    assert ethnicity["column"] == "MZM"
    assert ethnicity["untranslatable"] == [
        {"value": "汉", "count": _defects["abbreviated_ethnicity"]}
    ]
    status = admin["data"]["sources"][0]
    assert status["name"] == "gx_students"
    assert status["health"] is True
    assert status["breakerState"] == "CLOSED"
    assert status["lastSync"]["rowsRead"] == STUDENTS
    student = admin["data"]["students"]["edges"][0]["node"]
    assert "*" not in student["idNumber"]
    assert viewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert viewer["errors"][0]["path"] == ["sources"]
    assert viewer["data"] is None or viewer["data"].get("students") is None


SCOPED = """{ sources { name region }
  sourceReport(name: "gx_students", entity: "student") {
    fields { hubField untranslatable { value count } } } }"""


async def test_sources_are_shown_only_inside_the_viewer_region_and_reports_masked(
    tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    """A source's region (45) bounds who sees it: national and Guangxi administrators and
    auditors do, a Guangxi city's administrator does not (the source holds the whole
    province). Raw values of a sensitive field are masked for the auditor (no unmask) and
    shown to the administrator, whose reading is audited."""
    path, defects = legacy
    sources = tmp_path / "sources.toml"
    sources.write_text(  # health fed from the ethnicity column: every value untranslatable
        EXAMPLE.read_text(encoding="utf-8")
        .replace("gx_students.db", str(path))
        .replace(
            'status_code = { column = "XJZT"',
            'health_code = "MZM"\nstatus_code = { column = "XJZT"',
        ),
        encoding="utf-8",
    )
    async with fresh_database("sqlite", tmp_path) as url:
        await _sync_all(url, path)
        engine = make_engine(url)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT code, id FROM org_unit"))).all()
            units: dict[str, int] = {row[0]: row[1] for row in rows}
        for name, role, unit in (
            ("cn.auditor", "auditor", "CN"),
            ("gx.admin", "administrator", "45"),
            ("gx.auditor", "auditor", "45"),
            ("nanning.admin", "administrator", "4501"),
        ):
            await make_user(engine, name, units[unit], [(role, units[unit])])
        app = create_app(Settings(database_url=url, sources_file=sources))
        transport = httpx.ASGITransport(app=app)
        answers: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            for user in ("cn.auditor", "gx.admin", "gx.auditor", "nanning.admin"):
                token = mint_token(app.state.hub.settings, user)
                for key, query in ((user, SCOPED), (f"{user}#list", "{ sources { name } }")):
                    response = await client.post(
                        "/graphql",
                        json={"query": query},
                        headers={"authorization": f"Bearer {token}"},
                    )
                    answers[key] = response.json()
        for source in app.state.hub.sources().values():
            await source.close()
        await app.state.hub.close()
        async with engine.connect() as connection:
            audited = (
                await connection.execute(
                    text(
                        "SELECT username, action, resource, detail FROM audit_event"
                        " WHERE action = 'unmask'"
                    )
                )
            ).all()
        await engine.dispose()

    def health(user: str) -> list[dict[str, Any]]:
        fields = answers[user]["data"]["sourceReport"]["fields"]
        found: list[dict[str, Any]] = next(
            f["untranslatable"] for f in fields if f["hubField"] == "health_code"
        )
        return found

    guangxi = {"gx_students": "45", "safety": "45"}
    for user in ("cn.auditor", "gx.admin", "gx.auditor"):
        assert "errors" not in answers[user], answers[user]
        shown = {s["name"]: s["region"] for s in answers[user]["data"]["sources"]}
        # school_upload declares no region: the whole country, for national viewers only.
        assert shown == (guangxi | {"school_upload": None} if user == "cn.auditor" else guangxi)
    raw = health("gx.admin")
    assert len(raw) > 1 and all(v["value"] != "*" for v in raw)
    for auditor in ("cn.auditor", "gx.auditor"):
        assert health(auditor) == [{"value": "*", "count": sum(v["count"] for v in raw)}]
    ethnicity = next(
        f
        for f in answers["gx.auditor"]["data"]["sourceReport"]["fields"]
        if f["hubField"] == "ethnicity_code"
    )
    assert ethnicity["untranslatable"] == [
        {"value": "汉", "count": defects["abbreviated_ethnicity"]}
    ]
    city = answers["nanning.admin"]
    assert city["data"] is None or city["data"].get("sourceReport") is None
    assert city["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert city["errors"][0]["message"] == "no source 'gx_students' (known: none)"
    assert answers["nanning.admin#list"]["data"] == {"sources": []}
    assert [tuple(row) for row in audited] == [
        (
            "gx.admin",
            "unmask",
            "student_sensitive",
            "mapping report of gx_students/student: raw values of health_code",
        )
    ]


async def test_sync_refuses_rows_outside_the_source_region(
    tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    path, _defects = legacy
    with sqlite3.connect(path) as connection:
        counties = Counter(r[0] for r in connection.execute("SELECT SSQXDM FROM XX_JBXX"))
    inside = next(iter(counties))
    source = SqlSource(
        replace(_source(path).config, url=f"sqlite+aiosqlite:///{path}", region=inside)
    )
    async with fresh_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        try:
            await upgrade(engine)
            summary = await sync(engine, source, "school", registry_from_packaged())
            async with engine.connect() as connection:
                reasons = [
                    json.loads(r[0])
                    for r in (await connection.execute(select(REJECTION.c.reasons))).all()
                ]
                held = (await connection.execute(text("SELECT division_code FROM school"))).all()
        finally:
            await source.close()
            await engine.dispose()
    assert summary.written == counties[inside] == len(held)
    assert {r[0] for r in held} == {inside}
    assert summary.rejected == sum(counties.values()) - counties[inside] > 0
    assert all(
        r
        == [
            {
                "field": "division_code",
                "column": None,
                "value": r[0]["value"],
                "problem": f"outside the source's region {inside}",
            }
        ]
        for r in reasons
    )


def test_routes_outside_a_source_region_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        EXAMPLE.read_text(encoding="utf-8")
        + '\n[routes]\nstudent = [ { under = "4401", source = "gx_students" } ]\n',
        encoding="utf-8",
    )
    regions = {name: config.region for name, config in load_sources(path).items()}
    with pytest.raises(MappingError, match="'4401' lies outside the region '45' of 'gx_students'"):
        load_routes(path, regions)


def _with_bad_birthplace(legacy: Path, into: Path) -> str:
    """A copy of the legacy system where one pupil's citizen ID names county 430199 (a
    one-digit typo; python-stdnum raises KeyError there). Returns that pupil's key."""
    from stdnum.cn import ric

    into.write_bytes(legacy.read_bytes())
    first17 = "43019920150601123"
    number = first17 + ric.calc_check_digit(first17 + "0")
    connection = sqlite3.connect(into)
    try:
        (key,) = connection.execute(
            "SELECT XJH FROM XS_JBXX ORDER BY XJH LIMIT 1 OFFSET 300"
        ).fetchone()
        connection.execute("UPDATE XS_JBXX SET SFZJH = ? WHERE XJH = ?", (number, key))
        connection.commit()
    finally:
        connection.close()
    return str(key)


class _FailsAfter(SqlSource):
    """The legacy source, dying on its ``calls``-th read (a system that went away)."""

    def __init__(self, inner: SqlSource, calls: int) -> None:
        super().__init__(inner.config)
        self.left = calls

    async def rows_after(
        self,
        entity_name: str,
        after: str | None,
        limit: int,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> list[dict[str, Any]]:
        self.left -= 1
        if self.left < 0:
            raise ConnectionResetError("the provincial system closed the connection")
        return await super().rows_after(entity_name, after, limit, scope, where)


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_a_failing_sync_is_marked_failed_with_its_cause_and_resumes(
    backend_name: str, tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    from hub.sources.sync import SyncFailed

    path, _ = legacy
    (tmp_path / "clean").mkdir()
    async with fresh_database(backend_name, tmp_path / "clean") as clean_url:
        await _sync_all(clean_url, path)
        clean = await _state(clean_url)
    async with fresh_database(backend_name, tmp_path) as url:
        engine = make_engine(url)
        codes = registry_from_packaged()
        source = _source(path)
        try:
            await upgrade(engine)
            await sync(engine, source, "school", codes)
            failing = _FailsAfter(source, calls=3)
            with pytest.raises(SyncFailed, match="closed the connection") as caught:
                await sync(engine, failing, "student", codes, batch_size=200)
            await failing.close()
            async with engine.connect() as connection:
                status, error, read = (
                    await connection.execute(
                        select(RUN.c.status, RUN.c.error, RUN.c.rows_read).where(
                            RUN.c.id == caught.value.run_id
                        )
                    )
                ).one()
            assert status == "failed"
            assert "ConnectionResetError" in error
            assert read == 600  # the three batches before the failure are committed
            summary = await sync(engine, source, "student", codes, batch_size=200)
            assert summary.resumed and summary.run_id == caught.value.run_id
            assert summary.read == STUDENTS
        finally:
            await source.close()
            await engine.dispose()
        assert await _state(url) == clean


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_a_citizen_id_with_an_unknown_county_does_not_stop_the_sync(
    backend_name: str, tmp_path: Path, legacy: tuple[Path, dict[str, int]]
) -> None:
    path, _ = legacy
    broken = tmp_path / "broken.db"
    key = _with_bad_birthplace(path, broken)
    async with fresh_database(backend_name, tmp_path) as url:
        await _sync_all(url, broken)
        students, rejections = await _state(url)
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                statuses = (await connection.execute(select(RUN.c.status))).scalars().all()
        finally:
            await engine.dispose()
        flagged = await _problem_details(url, "1")
    assert set(statuses) == {"done"}
    assert len(students) + sum(rejections.values()) == STUDENTS
    assert not [r for (k, r) in rejections if k == key], "admitted, not rejected"
    assert flagged.get(key) == "身份证件号无效（出生地代码在出生年份不存在）"
