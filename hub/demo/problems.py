"""Problem records in the demo province (问题学籍), so a newcomer sees the queue at once.

After the demo load, a few students per thousand get the problems the national system meets
(every kind of code set ``problem_kind``), half of them at the demo school and its county so
the demo users find them, and the decoys a check must see through. Pupils with a problem, and
a few new pupils awaiting their national number, hold temporary ``L`` numbers: they are what
``issueNationalNumbers`` works on once the records are resolved.

What was injected is returned, so the demo's population register can leave out and rename the
persons of kind 5, and tests can compare the check's findings with it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum.cn import ric

from hub.db.base import table_of
from hub.demo.users import demo_units
from hub.schools.models import School
from hub.students.models import Student
from hub.students.numbers import temporary_numbers

STUDENT = table_of(Student)
SCHOOL = table_of(School)


@dataclass
class Injected:
    """Student ids per kind (kinds 3 and 4 as groups), the register's discrepancies, the
    decoys and the pupils awaiting a national number."""

    kinds: dict[str, list[tuple[int, ...]]] = field(default_factory=lambda: defaultdict(list))
    missing: list[str] = field(default_factory=list)  # ID numbers the register leaves out
    renamed: list[str] = field(default_factory=list)  # ID numbers it holds under another name
    decoys: list[int] = field(default_factory=list)
    awaiting: list[int] = field(default_factory=list)
    # The second records of kind-3 pairs: not persons of the register (their ID is the first
    # record's); those under another name are kind 5 as well (the register knows the ID
    # under the first record's name: the ID was typed in from another pupil).
    copies: list[int] = field(default_factory=list)


def _with_check(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


async def inject_problems(connection: AsyncConnection, seed: int) -> Injected:
    """Give the loaded demo its problems (in the caller's transaction)."""
    rng = random.Random(seed * 7919 + 9)
    c = STUDENT.c
    total = int((await connection.execute(select(func.count()).select_from(STUDENT))).scalar() or 0)
    per = max(3, total // 2500)
    units = await demo_units(connection)

    async def pool(where: Any, limit: int) -> list[dict[str, Any]]:
        rows = await connection.execute(
            select(
                c.id,
                c.id_number,
                c.name,
                c.sex_code,
                c.birth_date,
                c.school_id,
                SCHOOL.c.division_code,
            )
            .join(SCHOOL, SCHOOL.c.id == c.school_id)
            .where(where, c.id_type_code == "1", c.status_code == "01")
            .order_by(c.id)
        )
        found = [dict(r._mapping) for r in rows]
        rng.shuffle(found)
        return found[:limit]

    school_path, county_path = units["school"][2], units["county"][2]
    local = await pool(c.path == school_path, per * 6)
    county = await pool(c.path.startswith(county_path) & (c.path != school_path), per * 6)
    sample = sorted(rng.sample(range(1, total + 1), min(total, per * 20)))
    near = {row["id"] for row in (*local, *county)}
    province = [r for r in await pool(c.id.in_(sample), per * 20) if r["id"] not in near]
    taken: set[int] = set()

    def take(
        from_local: int, rest: int, source: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        chosen: list[dict[str, Any]] = []
        for bucket, count in ((local, from_local), (source or province, rest)):
            for row in bucket:
                if len(chosen) >= from_local + rest or count == 0:
                    break
                if row["id"] not in taken:
                    taken.add(row["id"])
                    chosen.append(row)
                    count -= 1
        return chosen

    injected = Injected()
    changes: dict[int, dict[str, Any]] = defaultdict(dict)
    half, rest = (per + 1) // 2, per // 2

    # 1: invalid citizen IDs: a wrong check character, a birthplace that never existed
    # (430199…: the county code inside a real prefecture), a digit dropped.
    for i, row in enumerate(take(half, rest)):
        number = row["id_number"]
        if i % 3 == 0:
            wrong = "0" if number[17] != "0" else "1"
            changes[row["id"]]["id_number"] = number[:17] + wrong
        elif i % 3 == 1:
            changes[row["id"]]["id_number"] = _with_check(number[:4] + "99" + number[6:17])
        else:
            changes[row["id"]]["id_number"] = number[:10] + number[11:]
        injected.kinds["1"].append((row["id"],))
    # 2: the ID disagrees with the record: a birth date a day off, or the other sex.
    for i, row in enumerate(take(half, rest)):
        if i % 2 == 0:
            changes[row["id"]]["birth_date"] = row["birth_date"] + dt.timedelta(days=1)
        else:
            changes[row["id"]]["sex_code"] = "2" if row["sex_code"] == "1" else "1"
        injected.kinds["2"].append((row["id"],))
    # 3: one ID on two records: the same child enrolled twice (at the demo school and in its
    # county), or another pupil's ID typed in (the first of each pair keeps its G number).
    originals = take(half, rest)
    copies = take(0, len(originals), county)
    for i, (original, copy) in enumerate(zip(originals, copies, strict=False)):
        same = {
            "id_number": original["id_number"],
            "birth_date": original["birth_date"],
            "sex_code": original["sex_code"],
        }
        if i % 2 == 0:
            same["name"] = original["name"]
        changes[copy["id"]].update(same)
        injected.kinds["3"].append((original["id"], copy["id"]))
        injected.copies.append(copy["id"])
    # 4: pupils without an ID whose name, sex and birth date coincide.
    firsts = take(half, rest)
    seconds = take(0, len(firsts), county)
    for first, second in zip(firsts, seconds, strict=False):
        for row in (first, second):
            changes[row["id"]].update(id_type_code=None, id_number=None)
        changes[second["id"]].update(
            name=first["name"], sex_code=first["sex_code"], birth_date=first["birth_date"]
        )
        injected.kinds["4"].append((first["id"], second["id"]))
    # 5: the population register leaves some out and knows others by another name.
    for i, row in enumerate(take(half, rest)):
        (injected.missing if i % 2 == 0 else injected.renamed).append(row["id_number"])
        injected.kinds["5"].append((row["id"],))
    # Decoys: namesakes with their own valid IDs, a lower-case x and spaces around an ID,
    # pupils without an ID with one name but another birth date.
    namesakes = take(1, 1)
    if len(namesakes) == 2:
        changes[namesakes[1]["id"]]["name"] = namesakes[0]["name"]
    spaced = take(1, 1)
    for row in spaced:
        number = row["id_number"]
        changes[row["id"]]["id_number"] = f" {number[:-1]}{number[-1].lower()} "
    no_id = take(1, 1)
    if len(no_id) == 2:
        for row in no_id:
            changes[row["id"]].update(id_type_code=None, id_number=None)
        changes[no_id[1]["id"]].update(
            name=no_id[0]["name"],
            sex_code=no_id[0]["sex_code"],
            birth_date=no_id[0]["birth_date"] + dt.timedelta(days=366),
        )
    injected.decoys = [r["id"] for r in (*namesakes, *spaced, *no_id)]
    # New pupils awaiting their national number (clean: they get G or J numbers).
    awaiting = take(per, per)
    injected.awaiting = [r["id"] for r in awaiting]

    # Temporary numbers for everyone with a problem (but the first of each kind-3 pair, who
    # was there first) and the new pupils.
    kept = {r["id"] for r in originals}
    temporary = [
        row
        for row in (*local, *county, *province)
        if row["id"] in taken and row["id"] not in kept and row["id"] not in injected.decoys
    ]
    temporary = list({row["id"]: row for row in temporary}.values())
    places: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for row in temporary:
        birth = changes[row["id"]].get("birth_date", row["birth_date"])
        places[(row["division_code"], birth)].append(row["id"])
    numbers = await temporary_numbers(connection, {p: len(ids) for p, ids in places.items()})
    for place, ids in places.items():
        for pk, number in zip(ids, numbers[place], strict=True):
            changes[pk]["student_number"] = number
    for pk, values in changes.items():
        await connection.execute(update(STUDENT).where(c.id == pk).values(**values))
    return injected
