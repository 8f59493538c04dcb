"""GB/T 2260 administrative divisions (行政区划) read from python-stdnum's maintained table.

Names carry validity periods there (``[1983-2005]东山区``); the current name is the one whose
period is open. Retired codes stay resolvable with their last name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stdnum import numdb

_PERIOD = re.compile(r"^\[(?P<start>\d{4})?-(?P<end>\d{4})?\](?P<name>.+)$")


@dataclass(frozen=True, slots=True)
class Division:
    code: str  # six digits
    name: str
    province_code: str  # two digits
    current: bool
    since: int | None = None  # first year of the current name, where the table says

    @property
    def level(self) -> str:
        if self.code.endswith("0000"):
            return "PROVINCE"
        if self.code.endswith("00"):
            return "CITY"
        return "COUNTY"


def _current_name(raw: str) -> tuple[str, bool, int | None]:
    """Pick the current (open-ended) name from ``[a-b]name,[c-]name``; else the latest.
    Returns (name, still current, first year of that name or None if always)."""
    best: tuple[int, str, bool, int | None] | None = None
    for part in raw.split(","):
        match = _PERIOD.match(part.strip())
        if match is None:
            return part.strip(), True, None
        end, start = match["end"], match["start"]
        rank = 9999 if end is None else int(end)
        if best is None or rank >= best[0]:
            best = (rank, match["name"], end is None, int(start) if start else None)
    if best is None:
        raise ValueError(f"no name in {raw!r}")
    return best[1], best[2], best[3]


@lru_cache(maxsize=1)
def all_divisions() -> dict[str, Division]:
    """Every province, prefecture and county code in the table, keyed by six-digit code."""
    table: Any = numdb.get("cn/loc")
    result: dict[str, Division] = {}
    for _length, low, _high, props, children in table.prefixes:
        province = props.get("province", "")
        for _l, suffix, _h, child_props, _c in children:
            name, current, since = _current_name(child_props.get("county", ""))
            code = low + suffix
            if suffix == "0000":
                name, current, since = province, True, None
            result[code] = Division(code, name, low, current, since)
    return result


def division(code: str) -> Division | None:
    return all_divisions().get(code)


def province_divisions(province_code: str) -> list[Division]:
    """Current cities and counties of one province, in code order."""
    return sorted(
        (d for d in all_divisions().values() if d.province_code == province_code and d.current),
        key=lambda d: d.code,
    )
