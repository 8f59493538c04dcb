"""In-memory view of the code sets, loaded once per process from the database (or the
packaged files), used for labels and for validating coded input."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.codes.divisions import all_divisions
from hub.codes.models import CodeValue, DivisionName
from hub.errors import BadInput

DIVISION = "division"
UNKNOWN_LABEL = "未知代码"


@dataclass(frozen=True, slots=True)
class CodeSetInfo:
    name: str
    label: str
    standard: str
    certain: bool


@dataclass
class CodeRegistry:
    """Labels of every code set; ``division`` is backed by the GB/T 2260 table."""

    sets: dict[str, CodeSetInfo] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    # Division names as the database holds them (table ``division_name``); None: not loaded
    # from a database, the GB/T 2260 table of python-stdnum labels them.
    divisions: dict[str, str] | None = None

    def label(self, code_set: str, code: str | None) -> str:
        if code is None:
            return ""
        if code_set == DIVISION:
            if self.divisions is not None:
                return self.divisions.get(code, UNKNOWN_LABEL)
            found = all_divisions().get(code)
            return found.name if found else UNKNOWN_LABEL
        labels = self.values.get(code_set, {})
        found_label = labels.get(code)
        if found_label is not None:
            return found_label
        if code_set == "asset_category":
            return self._category_label(labels, code)
        return UNKNOWN_LABEL

    @staticmethod
    def _category_label(labels: Mapping[str, str], code: str) -> str:
        """GB/T 14885 codes are hierarchical (1-2-2-2 digits): fall back to the nearest
        known ancestor, so an item code still reads as its class."""
        for keep in (5, 3, 1):
            ancestor = code[:keep].ljust(len(code), "0")
            if ancestor in labels:
                return labels[ancestor]
        return UNKNOWN_LABEL

    def contains(self, code_set: str, code: str) -> bool:
        if code_set == DIVISION:
            return code in all_divisions()
        return code in self.values.get(code_set, {})

    def require(self, code_set: str, code: str, where: str) -> str:
        """Return ``code`` if it is a member of ``code_set``; else a BAD_INPUT error."""
        if not self.contains(code_set, code):
            known = ", ".join(sorted(self.values.get(code_set, {}))[:20])
            raise BadInput(
                f"unknown code {code!r} for {where} (code set {code_set!r}; known: {known})"
            )
        return code

    def members(self, code_set: str) -> dict[str, str]:
        return dict(self.values.get(code_set, {}))


def packaged_code_sets() -> tuple[dict[str, CodeSetInfo], dict[str, dict[str, str]]]:
    """Read the CSV files shipped with the hub."""
    root = resources.files("hub.codes") / "data"
    sets: dict[str, CodeSetInfo] = {}
    with (root / "_sets.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            sets[row["name"]] = CodeSetInfo(
                row["name"], row["label"], row["standard"], row["certain"] == "yes"
            )
    values: dict[str, dict[str, str]] = {}
    for name in sets:
        with (root / f"{name}.csv").open(encoding="utf-8") as handle:
            values[name] = {row["code"]: row["label"] for row in csv.DictReader(handle)}
    return sets, values


def registry_from_packaged() -> CodeRegistry:
    sets, values = packaged_code_sets()
    return CodeRegistry(sets, values)


def code_value_rows() -> Iterable[dict[str, object]]:
    _sets, values = packaged_code_sets()
    for name, members in values.items():
        for code, label in members.items():
            yield {"code_set": name, "code": code, "label": label, "retired": False}


async def load_registry(conn: AsyncConnection) -> CodeRegistry:
    """The code sets in force: the ``code_value`` table, with set descriptions from the
    packaged index. An empty table means the packaged values have not been loaded yet."""
    sets, packaged = packaged_code_sets()
    rows = (await conn.execute(select(CodeValue.code_set, CodeValue.code, CodeValue.label))).all()
    named = (await conn.execute(select(DivisionName.code, DivisionName.name))).all()
    divisions: dict[str, str] | None = {str(r[0]): str(r[1]) for r in named} or None
    if not rows:
        return CodeRegistry(sets, packaged, divisions)
    values: dict[str, dict[str, str]] = {}
    for code_set, code, label in rows:
        values.setdefault(code_set, {})[code] = label
    for name, members in packaged.items():  # sets added by a newer hub than the table's
        values.setdefault(name, members)
    return CodeRegistry(sets, values, divisions)
