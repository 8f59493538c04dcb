"""Problem kind 5 (与人口库不符) against a real population register: an SQLite database read
through the SQL adapter, named by a sources file's ``[register]``, on both hub databases."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.cn import ric

from examples.legacy.population_register import TABLE, build_from_hub, sources_entry
from hub.codes.registry import registry_from_packaged
from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.demo.load import load_demo
from hub.quality.checks import check
from hub.quality.models import ProblemMember, ProblemRecord
from hub.quality.register import NOT_HELD, OTHER_NAME, Register, load_register, open_register
from hub.sources.mapping import MappingError, load_sources
from hub.students.models import Student
from tests.conftest import Hub, running_hub
from tests.fixtures.databases import BACKENDS, fresh_database

STUDENT = table_of(Student)
RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)


async def _kind5(engine: AsyncEngine) -> dict[int, tuple[str, str]]:
    """student -> (status, detail) of its kind-5 records."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(MEMBER.c.student_id, RECORD.c.status_code, RECORD.c.detail)
            .join(RECORD, RECORD.c.id == MEMBER.c.record_id)
            .where(RECORD.c.kind_code == "5")
        )
        return {student: (status, detail) for student, status, detail in rows}


def _people(path: Path, statement: str, *values: Any) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute(statement, values)
        connection.commit()
    finally:
        connection.close()


async def _open(engine: AsyncEngine, sources: Path) -> Register:
    register = open_register(sources, registry_from_packaged())
    assert register is not None
    return register


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_register_mismatches_are_found_deferred_when_down_and_closed_when_fixed(
    backend_name: str, tmp_path: Path
) -> None:
    async with fresh_database(backend_name, tmp_path) as url:
        engine = make_engine(url)
        try:
            await load_demo(engine, 600, seed=11, school_size_cap=120)
            async with engine.begin() as connection:
                c = STUDENT.c
                rows = list(
                    await connection.execute(
                        select(c.id, c.name, c.id_number)
                        .where(c.id_type_code == "1")
                        .order_by(c.id)
                    )
                )
                missing, renamed, dotted, spaced, invalid, namesake = rows[:6]
                with_x = next(r for r in rows[6:] if r.id_number.endswith("X"))
                # decoys: a Uyghur name written with another middle dot in the register, a
                # namesake (another child with the same name and its own valid ID), an
                # invalid ID (kind 1, never compared)
                await connection.execute(
                    update(STUDENT).where(c.id == dotted.id).values(name="阿卜杜·艾力")
                )
                await connection.execute(
                    update(STUDENT).where(c.id == namesake.id).values(name=missing.name)
                )
                wrong = invalid.id_number[:17] + ("0" if invalid.id_number[17] != "0" else "1")
                await connection.execute(
                    update(STUDENT).where(c.id == invalid.id).values(id_number=wrong)
                )
            people = tmp_path / "register.db"
            await build_from_hub(engine, people, [missing.id_number], [renamed.id_number])
            _people(
                people,
                f"UPDATE {TABLE} SET XM = ? WHERE GMSFHM = ?",
                "阿卜杜•艾力",
                dotted.id_number,
            )
            _people(
                people,
                f"UPDATE {TABLE} SET XM = ' ' || XM || '　' WHERE GMSFHM = ?",
                spaced.id_number,
            )
            _people(
                people,
                f"UPDATE {TABLE} SET GMSFHM = ? WHERE GMSFHM = ?",
                with_x.id_number[:-1] + "x",
                with_x.id_number,
            )
            sources = tmp_path / "sources.toml"
            sources.write_text(sources_entry(people), encoding="utf-8")

            register = await _open(engine, sources)
            try:
                async with engine.begin() as connection:
                    summary = await check(connection, register=register)
            finally:
                await register.close()
            assert summary.found["5"] == 2
            assert summary.found["1"] == 1
            assert summary.register.deferred == 0
            assert summary.register.checked == len(rows) - 1  # all but the invalid ID
            assert await _kind5(engine) == {
                missing.id: ("1", NOT_HELD),
                renamed.id: ("1", OTHER_NAME),
            }

            # The register is down: nothing is guessed, nothing closed, the run says so.
            people.rename(tmp_path / "away.db")
            register = await _open(engine, sources)
            try:
                async with engine.begin() as connection:
                    down = await check(connection, register=register)
            finally:
                await register.close()
            assert down.register.checked == 0
            assert down.register.deferred == len(rows) - 1
            assert down.register.reason and "population" in down.register.describe()
            assert down.found["5"] == 0 and down.closed == 0
            assert await _kind5(engine) == {
                missing.id: ("1", NOT_HELD),
                renamed.id: ("1", OTHER_NAME),
            }

            # Back, with the renamed person's name corrected: that record closes itself.
            (tmp_path / "away.db").rename(people)
            _people(
                people,
                f"UPDATE {TABLE} SET XM = ? WHERE GMSFHM = ?",
                renamed.name,
                renamed.id_number,
            )
            register = await _open(engine, sources)
            try:
                async with engine.begin() as connection:
                    back = await check(connection, register=register)
            finally:
                await register.close()
            assert back.found["5"] == 1 and back.closed == 1 and back.kept == 1 + 1  # + kind 1
            assert await _kind5(engine) == {
                missing.id: ("1", NOT_HELD),
                renamed.id: ("5", OTHER_NAME),
            }
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
async def register_hub(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Hub, Path]]:
    directory = tmp_path_factory.mktemp(f"register-{backend}")
    people = directory / "register.db"
    sources = directory / "sources.toml"
    sources.write_text(sources_entry(people), encoding="utf-8")
    async with running_hub(backend, directory, 300, sources=sources) as hub:
        await build_from_hub(hub.engine, people)
        yield hub, people


ENROL = """
mutation ($input: EnrolStudentInput!) {
  enrolStudent(input: $input) {
    student { id problems { kind { code } detail } }
    errors { field message code }
    registerCheck { source compared deferred reason }
  }
}
"""


def _citizen_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


async def _enrol(hub: Hub, name: str, id_number: str | None) -> dict[str, Any]:
    code = hub.units["school"][1]
    school = (await hub.data("query ($c: String!) { school(code: $c) { id } }", {"c": code}))[
        "school"
    ]
    student = {
        "name": name,
        "sexCode": "1",
        "birthDate": "2015-03-04",
        "gradeCode": "13",
        "idTypeCode": "1" if id_number else "Z",
        "idNumber": id_number,
    }
    body = await hub.query(
        ENROL, {"input": {"schoolId": school["id"], "student": student}}, user="school.registrar"
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["enrolStudent"]
    assert payload["errors"] == []
    return payload


async def test_an_enrolment_is_compared_with_the_register_and_deferred_when_it_is_down(
    register_hub: tuple[Hub, Path],
) -> None:
    hub, people = register_hub
    held = _citizen_id("11010120150304001")  # odd 17th digit: male, born 2015-03-04
    _people(people, f"INSERT INTO {TABLE} VALUES (?, ?, '男', '20150304')", held, "登记 甲")
    same = await _enrol(hub, "登记甲", held)
    assert same["student"]["problems"] == []
    compared = {"source": "population", "compared": 1, "deferred": 0, "reason": None}
    assert same["registerCheck"] == compared
    other = await _enrol(hub, "别的名字", _citizen_id("11010120150304003"))
    assert [(p["kind"]["code"], p["detail"]) for p in other["student"]["problems"]] == [
        ("5", NOT_HELD)
    ]
    assert other["registerCheck"] == compared
    # The register fails (its table gone): the enrolment still succeeds; kind 5 waits for it,
    # and the payload says so.
    _people(people, f"ALTER TABLE {TABLE} RENAME TO away")
    try:
        later = await _enrol(hub, "另一个", _citizen_id("11010120150304005"))
        assert later["student"]["problems"] == []
        check = later["registerCheck"]
        assert (check["source"], check["compared"], check["deferred"]) == ("population", 0, 1)
        assert check["reason"]
    finally:
        _people(people, f"ALTER TABLE away RENAME TO {TABLE}")
    # No ID to compare: nothing compared, nothing deferred.
    nothing = await _enrol(hub, "无证件", None)
    assert nothing["registerCheck"] == {**compared, "compared": 0}


def test_a_register_named_wrongly_says_where(tmp_path: Path) -> None:
    people = tmp_path / "register.db"
    good = sources_entry(people)
    cases = {
        good.replace('source = "population"', 'source = "nowhere"'): "no source 'nowhere'",
        good.replace(
            "[sources.population.entities.person]", "[sources.population.entities.p]"
        ).replace("entities.person.fields", "entities.p.fields"): "maps no entity 'person'",
        good.replace('name = "XM"\n', ""): "missing name",
        good.replace('source = "population"', 'source = "population"\nbatch_size = 0'): (
            "register.batch_size"
        ),
        good.replace('source = "population"', 'source = "population"\nwho = 1'): "unknown options",
    }
    for text, message in cases.items():
        sources = tmp_path / "sources.toml"
        sources.write_text(text, encoding="utf-8")
        with pytest.raises(MappingError, match=message):
            load_register(sources, load_sources(sources))
    sources.write_text(good, encoding="utf-8")
    spec = load_register(sources, load_sources(sources))
    assert spec is not None and spec.source == "population" and spec.batch_size == 1000
