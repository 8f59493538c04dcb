"""Allocating national student numbers (学籍号) that end in a sequence.

- ``L`` (temporary, 临时学籍号): ``L`` + the school's 6-digit division code + the pupil's
  birth date (YYYYMMDD) + a 4-digit sequence: 19 characters (DATA.md §2).
- ``J`` (permanent, no citizen ID): ``Settings.j_number_format``, by default the same shape
  with a ``J``.

The sequence is the next free one of its prefix among current and former numbers. On
PostgreSQL writers of one prefix wait on an advisory lock until the first commits, so two
transactions never take the same number.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db.base import table_of
from hub.students.models import Student

STUDENT = table_of(Student)
SEQUENCE_DIGITS = 4
SEQUENCE = re.compile(r"\{seq:0([3-8])d\}$")
MAX_LENGTH = 20  # student.student_number
Place = tuple[str, dt.date]  # (the school's division code, the pupil's birth date)


def temporary_prefix(division_code: str, birth: dt.date) -> str:
    return f"L{division_code}{birth:%Y%m%d}"


def j_prefix(template: str, division_code: str, birth: dt.date) -> str:
    return template[: template.rindex("{seq")].format(division=division_code, birth=birth)


def check_number_format(template: str) -> None:
    """A J number format: a J, then {division} and {birth:...} as wanted, ending in
    {seq:0Nd}; at most 20 characters once filled in."""
    found = SEQUENCE.search(template)
    if not template.startswith("J") or found is None:
        raise ValueError(
            f"a J number format starts with J and ends with {{seq:0Nd}} (N 3-8), got {template!r}"
        )
    try:
        sample = j_prefix(template, "110101", dt.date(2015, 1, 1)) + "0" * int(found.group(1))
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"a J number format may use {{division}} and {{birth}}: {error}") from None
    if len(sample) > MAX_LENGTH or not sample[1:].isalnum():
        raise ValueError(
            f"a J number is at most {MAX_LENGTH} letters and digits, {template!r} gives {sample!r}"
        )


async def temporary_numbers(
    connection: AsyncConnection, wanted: dict[Place, int]
) -> dict[Place, list[str]]:
    """``count`` unused L numbers for each (division, birth date)."""
    prefixes = {place: temporary_prefix(*place) for place in wanted}
    return await _allocate(connection, prefixes, wanted, SEQUENCE_DIGITS)


async def j_numbers(
    connection: AsyncConnection, template: str, wanted: dict[Place, int]
) -> dict[Place, list[str]]:
    """``count`` unused J numbers of the format ``template`` for each (division, birth)."""
    found = SEQUENCE.search(template)
    digits = int(found.group(1)) if found else SEQUENCE_DIGITS
    prefixes = {place: j_prefix(template, *place) for place in wanted}
    return await _allocate(connection, prefixes, wanted, digits)


async def _allocate(
    connection: AsyncConnection,
    prefixes: dict[Place, str],
    wanted: dict[Place, int],
    digits: int,
) -> dict[Place, list[str]]:
    """The next free numbers of every prefix at once (a sync batch, a unit's J numbers): one
    lock statement and one indexed range query per number column, whatever the count."""
    if not prefixes:
        return {}
    if connection.dialect.name == "postgresql":
        keys = sorted({zlib.crc32(p.encode()) - 2**31 for p in prefixes.values()})
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(1, k) FROM unnest(CAST(:keys AS int[])) AS k"),
            {"keys": keys},
        )
    highest: dict[str, int] = dict.fromkeys(prefixes.values(), 0)
    c = STUDENT.c
    for column in (c.student_number, c.former_number):
        ranges = [(column >= prefix) & (column < prefix + "~") for prefix in sorted(highest)]
        for start in range(0, len(ranges), 500):
            rows = await connection.execute(select(column).where(or_(*ranges[start : start + 500])))
            for (number,) in rows:
                head, tail = number[:-digits], number[-digits:]
                if head in highest and tail.isdigit():
                    highest[head] = max(highest[head], int(tail))
    found: dict[Place, list[str]] = {}
    for place, count in wanted.items():
        prefix = prefixes[place]
        first = highest[prefix] + 1
        if first + count > 10**digits:
            raise OverflowError(f"no free numbers left under {prefix}")
        found[place] = [f"{prefix}{n:0{digits}d}" for n in range(first, first + count)]
    return found
