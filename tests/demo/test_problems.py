"""The demo's problem records: what ``eduhub demo`` injects is exactly what the check finds
(every kind, at the demo users' units too), decoys and new pupils are in no record, and the
new pupils are the ones national numbers are issued to; on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from examples.legacy.population_register import build_from_hub, sources_entry
from hub.codes.registry import registry_from_packaged
from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.demo.load import load_demo
from hub.quality.checks import check
from hub.quality.models import ProblemMember, ProblemRecord
from hub.quality.register import open_register
from hub.students.models import Student
from tests.fixtures.databases import BACKENDS, fresh_database

STUDENT = table_of(Student)
RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)


async def _groups(engine: AsyncEngine) -> dict[str, set[frozenset[int]]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(RECORD.c.id, RECORD.c.kind_code, MEMBER.c.student_id)
            .join(MEMBER, MEMBER.c.record_id == RECORD.c.id)
            .where(RECORD.c.status_code == "1")
        )
        members: dict[int, set[int]] = {}
        kinds: dict[int, str] = {}
        for pk, kind, student in rows:
            members.setdefault(pk, set()).add(student)
            kinds[pk] = kind
    found: dict[str, set[frozenset[int]]] = {}
    for pk, kind in kinds.items():
        found.setdefault(kind, set()).add(frozenset(members[pk]))
    return found


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_the_demo_queue_holds_exactly_the_injected_problems(
    backend_name: str, tmp_path: Path
) -> None:
    async with fresh_database(backend_name, tmp_path) as url:
        engine = make_engine(url)
        try:
            summary = await load_demo(engine, 3000, seed=4, problems=True)
            injected = summary.injected
            assert injected is not None
            people = tmp_path / "register.db"
            await build_from_hub(
                engine, people, injected.missing, injected.renamed, injected.copies
            )
            sources = tmp_path / "sources.toml"
            sources.write_text(sources_entry(people), encoding="utf-8")
            register = open_register(sources, registry_from_packaged())
            try:
                async with engine.begin() as connection:
                    result = await check(connection, register=register)
            finally:
                assert register is not None
                await register.close()
            found = await _groups(engine)
            async with engine.connect() as connection:
                rows = await connection.execute(select(STUDENT.c.id, STUDENT.c.name))
                names: dict[int, str] = {row[0]: row[1] for row in rows}
        finally:
            await engine.dispose()
    assert result.register.deferred == 0
    for kind in ("1", "2", "3", "4"):
        assert found[kind] == {frozenset(g) for g in injected.kinds[kind]}, kind
        assert len(injected.kinds[kind]) >= 3
    # Kind 5: the persons left out or renamed, and the second records of kind-3 pairs that
    # carry another pupil's ID under their own name.
    mistyped = {
        frozenset((second,))
        for first, second in injected.kinds["3"]
        if names[first] != names[second]
    }
    assert mistyped
    assert found["5"] == {frozenset(g) for g in injected.kinds["5"]} | mistyped
    flagged = {pk for groups in found.values() for group in groups for pk in group}
    assert not flagged & {*injected.decoys, *injected.awaiting}
    assert len(injected.decoys) == 6
