"""Temporary national student numbers (临时学籍号, ``L``).

``L`` + the school's 6-digit division code + the pupil's birth date (YYYYMMDD) + a 4-digit
sequence: 19 characters (DATA.md §2). The sequence is the next free one for that division
and birth date among current and former numbers; on PostgreSQL concurrent writers of one
prefix wait on an advisory lock, so two enrolments never take the same number.
"""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import func, select, text
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
    prefix = temporary_prefix(division_code, birth)
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
    if highest + count >= 10**SEQUENCE_DIGITS:
        raise OverflowError(f"no free temporary numbers left under {prefix}")
    return [f"{prefix}{n:0{SEQUENCE_DIGITS}d}" for n in range(highest + 1, highest + 1 + count)]
