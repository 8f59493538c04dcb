"""Citizen ID numbers (GB 11643, 公民身份号码) checked with python-stdnum.

``stdnum.cn.ric.validate`` looks the birthplace up in its division table on every call, which
dominates a bulk check; here the (birthplace, year) answer is cached and the rest is stdnum's
own check digit and birth-date parsing, so the verdict is the same, hundreds of times faster.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from stdnum.cn import ric
from stdnum.exceptions import ValidationError


@lru_cache(maxsize=65536)
def birthplace_existed(place: str, year: int) -> bool:
    """Whether ``place`` was a division code in force in ``year`` (per stdnum's table).

    stdnum raises ``KeyError`` (not a validation error) for a county code that does not
    exist inside a known prefecture (``430199``): any failure of the lookup means "no such
    birthplace", never a crash of the caller (a sync, a bulk check)."""
    try:
        ric.get_birth_place(f"{place}{year}01010000")
    except (ValidationError, LookupError, ValueError, TypeError):
        return False
    return True


def normalise(number: str) -> str:
    """A citizen ID as stored and compared: no surrounding spaces, upper-case ``X``."""
    return number.strip().upper()


def citizen_id_problem(number: str) -> str | None:
    """Why ``number`` is not a valid 18-character citizen ID, or None if it is. Never raises:
    whatever the input, the answer is a reason or None."""
    value = normalise(number)
    if len(value) != 18:
        return "must have 18 characters"
    if not (value[:17].isascii() and value[:17].isdigit()):  # "１２…" are digits too
        return "the first 17 characters must be digits"
    if value[17] != ric.calc_check_digit(value):
        return "wrong check character"
    birth = birth_date_of(value)
    if birth is None:
        return "no valid birth date in positions 7-14"
    if not birthplace_existed(value[:6], birth.year):
        return "no such birthplace code in the birth year"
    return None


def birth_date_of(number: str) -> dt.date | None:
    """The birth date written in positions 7-14 of a citizen ID (None: none there)."""
    value = normalise(number)
    try:  # what ric.get_birth_date does, without re-cleaning the number each time
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def sex_of(number: str) -> str:
    """The sex code (GB/T 2261.1: 1 male, 2 female) of a citizen ID's 17th digit."""
    return "1" if int(normalise(number)[16]) % 2 == 1 else "2"


def disagreements(number: str, birth: dt.date | None, sex: str | None) -> list[str]:
    """The record's fields (``birth_date``, ``sex_code``) that a valid citizen ID
    contradicts; a field not given contradicts nothing."""
    wrong = []
    if birth is not None and birth_date_of(number) != birth:
        wrong.append("birth_date")
    if sex in ("1", "2") and sex != sex_of(number):
        wrong.append("sex_code")
    return wrong
