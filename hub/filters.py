"""Building blocks of the domains' filters (``hub/<domain>/filters.py``): typed filter values
become SQL conditions here, codes checked against their code sets, bad values refused with
the input field they came from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, select

from hub.access.scope import path_column, under_path
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.orgunits.models import OrgUnit

ORG_UNIT = table_of(OrgUnit)

# A filter's SQL conditions, to be combined with the viewer's ``Readable``.
Conditions = tuple[ColumnElement[bool], ...]


def _check_org_code(code: str) -> None:
    if code != "CN" and not (code.isdigit() and len(code) in (2, 4, 6, 10)):
        raise BadInput(
            f"'filter.under' must be an org unit code (\"CN\", 2, 4 or 6 digits of a division,"
            f" or a 10-digit school code), got {code!r}"
        )


async def path_of(ctx: Context, code: str) -> str | None:
    """Materialised path of the org unit ``code`` (not scoped: codes are public)."""

    async def load(codes: list[str]) -> list[str | None]:
        rows = await ctx.rows(
            select(ORG_UNIT.c.code, ORG_UNIT.c.path).where(ORG_UNIT.c.code.in_(codes))
        )
        found: dict[str, str] = {row[0]: row[1] for row in rows}
        return [found.get(c) for c in codes]

    path: str | None = await ctx.loader("org_unit_path_by_code", load).load(code)
    return path


async def under(ctx: Context, table: Table, code: str | None) -> list[ColumnElement[bool]]:
    """Condition for ``filter.under``: the subtree of an org unit, by its code."""
    if code is None:
        return []
    _check_org_code(code)
    path = await path_of(ctx, code)
    if path is None:
        raise BadInput(f"unknown org unit code {code!r} in 'filter.under'")
    return [under_path(path_column(table), path)]


def codes(
    ctx: Context, column: Any, code_set: str, value: str | Sequence[str] | None, where: str
) -> list[ColumnElement[bool]]:
    """Condition for a coded filter value (one code or a list of codes)."""
    if value is None:
        return []
    values = [value] if isinstance(value, str) else list(value)
    for v in values:
        ctx.codes.require(code_set, v, where)
    return [column == values[0]] if len(values) == 1 else [column.in_(values)]


def equals(column: Any, value: object) -> list[ColumnElement[bool]]:
    return [] if value is None else [column == value]


def prefix(
    column: Any, value: str | None, where: str, *, max_length: int = 50
) -> list[ColumnElement[bool]]:
    if value is None:
        return []
    if not value or len(value) > max_length:
        raise BadInput(f"'{where}' must be 1 to {max_length} characters, got {len(value)}")
    return [column.startswith(value, autoescape=True)]


@dataclass(frozen=True, slots=True)
class Pushed:
    """A given filter value as a routed source would have to apply it: the input field (for
    errors), the hub field it filters (None: no source can apply it) and the value."""

    where: str
    target: str | None
    value: str | bool | tuple[str, ...] | None
