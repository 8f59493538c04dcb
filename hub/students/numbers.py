"""Temporary national student numbers (临时学籍号, ``L``).

``L`` + the school's 6-digit division code + the pupil's birth date (YYYYMMDD) + a 4-digit
sequence: 19 characters (DATA.md §2). The sequence is the next free one for that division
and birth date among current and former numbers; on PostgreSQL concurrent writers of one
prefix wait on an advisory lock, so two enrolments never take the same number.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db.base import table_of
from hub.students.models import Student

STUDENT = table_of(Student)
SEQUENCE_DIGITS = 4


def temporary_prefix(division_code: str, birth: dt.date) -> str:
    return f"L{division_code}{birth:%Y%m%d}"


async def _lock(connection: AsyncConnection, prefix: str) -> None:
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(prefix.encode())
        await connection.execute(text(f"SELECT pg_advisory_xact_lock(1, {key - 2**31})"))


async def next_temporary_numbers(
    connection: AsyncConnection, division_code: str, birth: dt.date, count: int = 1
) -> list[str]:
    """``count`` unused L numbers for pupils born on ``birth`` at a school of the division."""
    return await next_numbers(connection, temporary_prefix(division_code, birth), count)


SEQUENCE = re.compile(r"\{seq:0([3-8])d\}$")
MAX_LENGTH = 20  # student.student_number


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


def j_prefix(template: str, division_code: str, birth: dt.date) -> str:
    return template[: template.rindex("{seq")].format(division=division_code, birth=birth)


async def next_j_numbers(
    connection: AsyncConnection, template: str, division_code: str, birth: dt.date, count: int
) -> list[str]:
    prefix = j_prefix(template, division_code, birth)
    found = SEQUENCE.search(template)
    digits = int(found.group(1)) if found else SEQUENCE_DIGITS
    return await next_numbers(connection, prefix, count, digits)


async def next_numbers(
    connection: AsyncConnection, prefix: str, count: int, digits: int = SEQUENCE_DIGITS
) -> list[str]:
    """``count`` unused numbers ``prefix`` + a sequence of ``digits`` digits."""
    await _lock(connection, prefix)
    c = STUDENT.c
    highest = 0
    for column in (c.student_number, c.former_number):
        top = (
            await connection.execute(
                select(func.max(column)).where(
                    column >= prefix, column < prefix + "~", column.startswith(prefix)
                )
            )
        ).scalar()
        if top is not None and top[len(prefix) :].isdigit():
            highest = max(highest, int(top[len(prefix) :]))
    if highest + count >= 10**digits:
        raise OverflowError(f"no free numbers left under {prefix}")
    return [f"{prefix}{n:0{digits}d}" for n in range(highest + 1, highest + 1 + count)]


async def next_temporary_batch(
    connection: AsyncConnection, wanted: dict[tuple[str, dt.date], int]
) -> dict[tuple[str, dt.date], list[str]]:
    """L numbers for many (division, birth date) prefixes at once (a sync batch): one lock
    statement and one indexed range query per number column, whatever the count."""
    prefixes = {key: temporary_prefix(*key) for key in wanted}
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
    width = len(next(iter(prefixes.values())))
    for column in (c.student_number, c.former_number):
        ranges = [(column >= prefix) & (column < prefix + "~") for prefix in sorted(highest)]
        for start in range(0, len(ranges), 500):
            rows = await connection.execute(select(column).where(or_(*ranges[start : start + 500])))
            for (number,) in rows:
                head, tail = number[:width], number[width:]
                if head in highest and tail.isdigit() and len(tail) == SEQUENCE_DIGITS:
                    highest[head] = max(highest[head], int(tail))
    found: dict[tuple[str, dt.date], list[str]] = {}
    for key, count in wanted.items():
        prefix = prefixes[key]
        first = highest[prefix] + 1
        if first + count > 10**SEQUENCE_DIGITS:
            raise OverflowError(f"no free numbers left under {prefix}")
        found[key] = [f"{prefix}{n:0{SEQUENCE_DIGITS}d}" for n in range(first, first + count)]
    return found
