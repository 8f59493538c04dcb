"""Problem record detection (查重查错) on a demo province with injected problems and decoys,
on both databases: every kind found, nothing else, records reconciled on a second run."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from stdnum.cn import ric

from hub.db.base import table_of
from hub.db.engine import make_engine
from hub.demo.load import load_demo
from hub.quality.checks import check
from hub.quality.models import ProblemMember, ProblemRecord
from hub.students.models import Student
from tests.fixtures.databases import BACKENDS, fresh_database

STUDENT = table_of(Student)
RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)


def _citizen_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def _ending_in_x() -> str:
    return next(
        n for n in (_citizen_id(f"440103201501011{d:02d}") for d in range(100)) if n[-1] == "X"
    )


async def _students(connection: AsyncConnection) -> list[Any]:
    c = STUDENT.c
    rows = await connection.execute(
        select(c.id, c.school_id, c.name, c.sex_code, c.birth_date, c.id_number)
        .where(c.id_type_code == "1", c.id_number.is_not(None))
        .order_by(c.school_id, c.id)
    )
    return list(rows)


async def _set(connection: AsyncConnection, pk: int, **values: Any) -> None:
    await connection.execute(update(STUDENT).where(STUDENT.c.id == pk).values(**values))


async def _records(engine: AsyncEngine) -> dict[tuple[str, str], set[frozenset[int]]]:
    """(kind, status) -> the member sets of the records."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(RECORD.c.id, RECORD.c.kind_code, RECORD.c.status_code, MEMBER.c.student_id).join(
                MEMBER, MEMBER.c.record_id == RECORD.c.id
            )
        )
        members: dict[int, set[int]] = {}
        kinds: dict[int, tuple[str, str]] = {}
        for pk, kind, status, student in rows:
            members.setdefault(pk, set()).add(student)
            kinds[pk] = (kind, status)
    found: dict[tuple[str, str], set[frozenset[int]]] = {}
    for pk, key in kinds.items():
        found.setdefault(key, set()).add(frozenset(members[pk]))
    return found


@pytest.mark.parametrize("backend_name", BACKENDS)
async def test_every_kind_is_found_and_decoys_are_not(backend_name: str, tmp_path: Path) -> None:
    async with fresh_database(backend_name, tmp_path) as url:
        engine = make_engine(url)
        try:
            await load_demo(engine, 600, seed=11, school_size_cap=120)
            async with engine.begin() as connection:
                baseline = await check(connection)
            assert sum(baseline.found.values()) == 0, "the demo has no problems of its own"

            async with engine.begin() as connection:
                rows = await _students(connection)
                by_school: dict[int, list[Any]] = {}
                for row in rows:
                    by_school.setdefault(row.school_id, []).append(row)
                a, b, c, d, e, f, g, h, i, j, k, m, n, o = rows[:14]
                other_school = next(r for r in rows if r.school_id != f.school_id)
                # kind 1: a wrong check character; a county code that does not exist.
                await _set(connection, a.id, id_number=a.id_number[:17] + "Y")
                await _set(connection, b.id, id_number=_citizen_id("43019920150601123"))
                # kind 2: birth date one day off; sex flipped.
                await _set(connection, c.id, birth_date=c.birth_date + dt.timedelta(days=1))
                await _set(connection, d.id, sex_code="2" if d.sex_code == "1" else "1")
                # kind 3: e's ID also on another school's pupil; an ID ending in X written
                # twice, once as " …x " (one group after normalising, and valid).
                await _set(  # the same child enrolled twice
                    connection,
                    other_school.id,
                    id_number=e.id_number,
                    birth_date=e.birth_date,
                    sex_code=e.sex_code,
                )
                x = _ending_in_x()
                born = dt.date(2015, 1, 1)
                await _set(connection, f.id, id_number=f" {x.lower()} ", birth_date=born)
                await _set(connection, g.id, id_number=x, birth_date=born)
                await _set(connection, f.id, sex_code=ric_sex(x))
                await _set(connection, g.id, sex_code=ric_sex(x))
                # kind 4: h and i have no ID and the same name, sex and birth date.
                await _set(connection, h.id, id_number=None)
                await _set(
                    connection,
                    i.id,
                    id_number="  ",
                    name=h.name,
                    sex_code=h.sex_code,
                    birth_date=h.birth_date,
                )
                # decoys: no ID, same name and sex, another birth date; namesakes with
                # different valid IDs (same name, sex, birth).
                await _set(
                    connection,
                    j.id,
                    id_number=None,
                    name=h.name,
                    sex_code=h.sex_code,
                    birth_date=h.birth_date + dt.timedelta(days=400),
                )
                namesake = next(r for r in rows[14:] if r.sex_code == k.sex_code)
                await _set(connection, namesake.id, name=k.name)
                del m, n, o
            async with engine.begin() as connection:
                first = await check(connection)
            assert first.normalised == 2  # f's spaces and lower-case x, i's blank
            records = await _records(engine)
            assert records == {
                ("1", "1"): {frozenset({a.id}), frozenset({b.id})},
                ("2", "1"): {frozenset({c.id}), frozenset({d.id})},
                ("3", "1"): {frozenset({e.id, other_school.id}), frozenset({f.id, g.id})},
                ("4", "1"): {frozenset({h.id, i.id})},
            }
            # e and other_school are in two schools: one record each.
            assert first.found == Counter({"1": 2, "2": 2, "3": 2 + _schools(f, g), "4": 1})

            # Run again on unchanged data: nothing new, nothing closed.
            async with engine.begin() as connection:
                again = await check(connection)
            assert (again.opened, again.closed) == (0, 0)
            assert await _records(engine) == records

            # The data changes: i gets its own birth date, a its correct ID back.
            async with engine.begin() as connection:
                await _set(connection, i.id, birth_date=h.birth_date - dt.timedelta(days=30))
                await _set(connection, a.id, id_number=a.id_number)
                later = await check(connection)
            assert later.closed == 2 and later.opened == 0
            records = await _records(engine)
            assert records[("4", "5")] == {frozenset({h.id, i.id})}
            assert frozenset({a.id}) in records[("1", "5")]
            assert ("4", "1") not in records
        finally:
            await engine.dispose()


def ric_sex(number: str) -> str:
    return "1" if int(number[16]) % 2 == 1 else "2"


def _schools(*rows: Any) -> int:
    return len({r.school_id for r in rows})
