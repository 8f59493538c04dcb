"""The effective-dated org-unit tree (区划与机构的历史版本).

GB/T 2260 division codes change: counties are merged into districts, renamed with new codes.
The hub's ``org_unit`` table is today's tree; every version a change retires is kept in
``org_unit_version`` with the days it held. The tree of a past day is the current units that
had taken effect by then plus the versions in force that day (``units_at``), so statistics
as of a date group by that date's units.

Two operations rewrite the tree, each in the caller's transaction (all of it or nothing):
``merge`` (撤并) moves a unit's children under another unit of its level, records the
versions it retires, rewrites the materialised paths of every row in the subtree (so
today's scope and queries see them where they now are) and removes the merged unit;
``recode`` (代码变更, e.g. 撤县设区: a county becomes a district with a new code) gives a
unit a new code (and name), records the versions it retires and rewrites the paths below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Executable,
    String,
    Subquery,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.models import HubUser, RoleAssignment
from hub.access.scope import under_path
from hub.db.base import Base, table_of
from hub.errors import BadInput
from hub.orgunits.models import OrgLevel, OrgUnit, OrgUnitVersion
from hub.schools.models import School

UNIT = table_of(OrgUnit)
VERSION = table_of(OrgUnitVersion)
SCHOOL = table_of(School)
USER = table_of(HubUser)
ROLE = table_of(RoleAssignment)

Run = Callable[[Executable], Awaitable[Sequence[Any]]]

# Tables a merge does not re-path: the audit trail and the versions keep their history as
# written; org_unit is re-pathed by the merge itself.
_HISTORY = frozenset({"audit_event", "org_unit_version", "org_unit"})


def units_at(day: dt.date) -> Subquery:
    """The org-unit tree as it stood on ``day``: ``unit_id`` (the current unit the version
    lives on as), ``code``, ``name``, ``level``, ``path``, ``division_code``."""
    at = bindparam("tree_day", day, type_=Date, unique=True)
    current = select(
        UNIT.c.id.label("unit_id"),
        UNIT.c.code,
        UNIT.c.name,
        UNIT.c.level,
        UNIT.c.path,
        UNIT.c.division_code,
    ).where(or_(UNIT.c.valid_from.is_(None), UNIT.c.valid_from <= at))
    past = select(
        VERSION.c.unit_id,
        VERSION.c.code,
        VERSION.c.name,
        VERSION.c.level,
        VERSION.c.path,
        VERSION.c.division_code,
    ).where(
        or_(VERSION.c.valid_from.is_(None), VERSION.c.valid_from <= at), VERSION.c.valid_to > at
    )
    return union_all(current, past).subquery("unit_at")


def school_unit(units: Any, school: Any = SCHOOL) -> ColumnElement[bool]:
    """Join condition: ``units`` (a tree of a day) row of ``school``'s own unit."""
    return and_(units.c.unit_id == school.c.org_unit_id, units.c.level == OrgLevel.SCHOOL)


def subtree_upper(path: ColumnElement[str]) -> ColumnElement[str]:
    """The exclusive upper bound of the subtree at ``path`` (SQL): its trailing ``/`` made
    ``0``, the next character."""
    return func.substr(path, 1, func.length(path) - 1).concat("0")


def _unchanged(day: dt.date, under: Callable[[ColumnElement[str]], ColumnElement[bool]]) -> Any:
    """SQL: no unit whose path ``under`` accepts took effect after ``day``, and no version
    there has been retired since."""
    at = literal(day, Date, literal_execute=True)
    began = select(UNIT.c.id).where(UNIT.c.valid_from > at, under(UNIT.c.path))
    ended = select(VERSION.c.id).where(VERSION.c.valid_to > at, under(VERSION.c.path))
    return ~or_(began.exists(), ended.exists())


async def unchanged_since(run: Run, day: dt.date, path: str) -> bool:
    """Whether the subtree at ``path`` (a path of ``day``'s tree) is today's as it was on
    ``day``: no unit under it took effect after the day and no version under it has been
    retired since. Then that day's paths are today's and rows need no mapping through the
    versions (the common case: a tree changes once in years)."""
    rows = await run(select(_unchanged(day, lambda column: under_path(column, path))))
    return bool(rows[0][0])


@dataclass(frozen=True, slots=True)
class UnitVersion:
    """An org unit as it stood on a day: ``unit_id`` is the current unit it lives on as."""

    unit_id: int
    code: str
    name: str
    level: OrgLevel
    path: str
    # The subtree is today's as it stood that day (``unchanged_since``).
    unchanged: bool


async def version_at(run: Run, code: str, day: dt.date) -> UnitVersion | None:
    """The unit with ``code`` on ``day``, or None when no unit had that code then; whether
    its subtree has changed since is asked in the same statement."""
    units = units_at(day)

    def under(column: ColumnElement[str]) -> ColumnElement[bool]:
        return and_(column >= units.c.path, column < subtree_upper(units.c.path))

    found = await run(
        select(units, _unchanged(day, under).label("unchanged")).where(units.c.code == code)
    )
    if not found:
        return None
    row = found[0]
    return UnitVersion(
        row.unit_id, row.code, row.name, OrgLevel(row.level), row.path, bool(row.unchanged)
    )


async def known_span(run: Run, code: str) -> str:
    """What the hub knows of ``code`` across time, for an error: when it held, or never."""
    rows = await run(
        select(VERSION.c.valid_from, VERSION.c.valid_to, VERSION.c.change)
        .where(VERSION.c.code == code)
        .order_by(VERSION.c.valid_to)
    )
    current = await run(select(UNIT.c.valid_from).where(UNIT.c.code == code))
    spans = [
        f"{r.valid_from or '…'} to {r.valid_to - dt.timedelta(days=1)} ({r.change})" for r in rows
    ]
    spans.extend(f"{r.valid_from or '…'} to today" for r in current)
    return "; ".join(spans) if spans else "never"


@dataclass(frozen=True, slots=True)
class Merged:
    """What a merge did."""

    source: str
    target: str
    path: str  # the target's
    on: dt.date
    units_moved: int  # units below the merged one, now below the target
    rows_moved: dict[str, int]  # table -> rows whose path was rewritten
    note: str  # 变更说明, as recorded in the versions


def _path_tables() -> list[Table]:
    import hub.db.models  # noqa: F401  (every table in the metadata, whoever imported us)

    return [t for t in Base.metadata.sorted_tables if "path" in t.c and t.name not in _HISTORY]


def _repath(column: ColumnElement[str], old: str, new: str) -> ColumnElement[str]:
    """``column`` with its prefix ``old`` replaced by ``new``."""
    rest = func.substr(column, len(old) + 1)
    return literal(new, column.type).concat(rest)


async def _move_subtree(
    conn: AsyncConnection,
    unit: Any,
    new: str,
    on: dt.date,
    change: str,
    *,
    lives_on_as: int,
    division: tuple[str | None, str | None],
) -> tuple[int, dict[str, int]]:
    """What a merge and a recode share: retire the versions of ``unit`` (living on as the
    unit ``lives_on_as``) and of every unit below it from ``on``; give the units below
    ``unit``'s subtree path ``new`` from that day, and every row of the subtree (but the
    history) its path there; the schools' division code (old, new) follows. The units
    re-pathed and, per table, the rows."""
    old = unit.path
    below = under_path(UNIT.c.path, old)
    columns = ["unit_id", "code", "name", "level", "path", "division_code", "valid_from"]
    await conn.execute(
        insert(VERSION).from_select(
            [*columns, "valid_to", "change"],
            select(
                case((UNIT.c.id == unit.id, literal(lives_on_as)), else_=UNIT.c.id),
                *(UNIT.c[c] for c in columns[1:]),
                literal(on, Date),
                literal(change, String(200)),
            ).where(below),
        )
    )
    moved_units = (
        await conn.execute(
            update(UNIT)
            .where(below, UNIT.c.id != unit.id)
            .values(path=_repath(UNIT.c.path, old, new), valid_from=literal(on, Date))
        )
    ).rowcount
    was, becomes = division
    if was is not None and becomes is not None and was != becomes:
        await conn.execute(
            update(SCHOOL)
            .where(under_path(SCHOOL.c.path, old), SCHOOL.c.division_code == was)
            .values(division_code=becomes)
        )
    rows: dict[str, int] = {}
    for table in _path_tables():
        done = await conn.execute(
            update(table)
            .where(under_path(table.c.path, old))
            .values(path=_repath(table.c.path, old, new))
        )
        if done.rowcount:
            rows[table.name] = done.rowcount
    return moved_units, rows


async def merge(
    conn: AsyncConnection,
    source_code: str,
    target_code: str,
    on: dt.date,
    *,
    note: str | None = None,
) -> Merged:
    """Merge the unit ``source_code`` into ``target_code`` of the same level from ``on``
    (撤并: e.g. a county into a district): its children move below the target, their
    versions before ``on`` are kept, and the source leaves today's tree."""
    source = (await conn.execute(select(UNIT).where(UNIT.c.code == source_code))).first()
    target = (await conn.execute(select(UNIT).where(UNIT.c.code == target_code))).first()
    if source is None:
        raise BadInput(f"merge: no org unit {source_code!r} in today's tree")
    if target is None:
        raise BadInput(f"merge: no org unit {target_code!r} in today's tree")
    if source.id == target.id:
        raise BadInput(f"merge: {source_code} cannot be merged into itself")
    level = OrgLevel(source.level)
    if level in (OrgLevel.NATIONAL, OrgLevel.SCHOOL) or OrgLevel(target.level) is not level:
        raise BadInput(
            f"merge: {source_code} ({level.value}) and {target_code}"
            f" ({OrgLevel(target.level).value}) must be province, city or county units of"
            " one level"
        )
    if target.path.startswith(source.path):
        raise BadInput(f"merge: {target_code} lies inside {source_code}")
    for start in (source.valid_from, target.valid_from):
        if start is not None and start >= on:
            raise BadInput(
                f"merge: {on} is not after the day the current versions took effect ({start})"
            )
    bound = (
        await conn.execute(
            select(func.count()).select_from(USER).where(USER.c.org_unit_id == source.id)
        )
    ).scalar_one() + (
        await conn.execute(
            select(func.count()).select_from(ROLE).where(ROLE.c.org_unit_id == source.id)
        )
    ).scalar_one()
    if bound:
        raise BadInput(
            f"merge: {bound} users or role assignments belong to {source_code}: move or end"
            " them first (rights are not widened to the target silently)"
        )
    change = note or f"并入 {target.code} {target.name}"
    await conn.execute(
        update(UNIT).where(UNIT.c.parent_id == source.id).values(parent_id=target.id)
    )
    division = (source.division_code, target.division_code)
    moved_units, rows = await _move_subtree(
        conn, source, target.path, on, change, lives_on_as=target.id, division=division
    )
    await conn.execute(delete(UNIT).where(UNIT.c.id == source.id))
    return Merged(source.code, target.code, target.path, on, moved_units, rows, change)


@dataclass(frozen=True, slots=True)
class Recoded:
    """What a recode did."""

    old_code: str
    code: str
    name: str
    path: str
    on: dt.date
    units_moved: int  # units below the recoded one, re-pathed
    rows_moved: dict[str, int]  # table -> rows whose path was rewritten
    note: str  # 变更说明, as recorded in the versions


def _new_identity(unit: Any, code: str, name: str | None) -> str:
    """The name of ``unit`` under its new ``code``: ``name``; else, for a division, its
    name with the old division's name replaced by the new one's in GB/T 2260 (python-
    stdnum's table: 番禺县教育局 -> 番禺区教育局), the code checked against the table."""
    from hub.codes.divisions import division

    if unit.division_code is None:
        if not name:
            raise BadInput(f"recode: {unit.code} is not a division: give its new --name")
        return name
    if not (code.isdigit() and len(code) == 6):
        raise BadInput(f"recode: a division's code has six digits (GB/T 2260), got {code!r}")
    listed = division(code)
    level = OrgLevel(unit.level)
    if listed is not None and listed.level != level.value:
        raise BadInput(
            f"recode: {code} is a {listed.level} code of GB/T 2260, {unit.code} a {level.value}"
        )
    if name:
        return name
    before = division(unit.division_code)
    if listed is None or before is None or before.name not in unit.name:
        raise BadInput(
            f"recode: give the new --name of {unit.name} ({code} is not in python-stdnum's"
            " GB/T 2260 table, or the unit's name does not carry its division's)"
        )
    return str(unit.name).replace(before.name, listed.name)


async def recode(
    conn: AsyncConnection,
    code: str,
    new_code: str,
    on: dt.date,
    *,
    name: str | None = None,
    note: str | None = None,
) -> Recoded:
    """Give the unit ``code`` the code ``new_code`` (and a name) from ``on`` (代码变更: a
    county made a district, 撤县设区): the unit and everything below it keep their rows and
    rights; the versions before ``on`` are kept, so figures of a past day use the old code."""
    unit = (await conn.execute(select(UNIT).where(UNIT.c.code == code))).first()
    if unit is None:
        raise BadInput(f"recode: no org unit {code!r} in today's tree")
    level = OrgLevel(unit.level)
    if level in (OrgLevel.NATIONAL, OrgLevel.SCHOOL):
        raise BadInput(f"recode: {code} is a {level.value} unit; province, city or county only")
    if new_code == code:
        raise BadInput(f"recode: {code} already has that code")
    new_name = _new_identity(unit, new_code, name)
    taken = (await conn.execute(select(UNIT.c.name).where(UNIT.c.code == new_code))).first()
    if taken is not None:
        raise BadInput(f"recode: {new_code} is the code of {taken.name} in today's tree")
    parent = (await conn.execute(select(UNIT).where(UNIT.c.id == unit.parent_id))).first()
    if parent is not None and code.startswith(parent.code) and not new_code.startswith(parent.code):
        raise BadInput(
            f"recode: {new_code} does not lie under {parent.code} {parent.name} as {code} does"
            " (moving a unit to another parent is a merge)"
        )
    if unit.valid_from is not None and unit.valid_from >= on:
        raise BadInput(
            f"recode: {on} is not after the day the current version took effect ({unit.valid_from})"
        )
    change = note or f"代码变更为 {new_code} {new_name}"
    new = unit.path[: -len(code) - 1] + new_code + "/"
    division_code = new_code if unit.division_code == code else unit.division_code
    moved_units, rows = await _move_subtree(
        conn,
        unit,
        new,
        on,
        change,
        lives_on_as=unit.id,
        division=(unit.division_code, division_code),
    )
    await conn.execute(
        update(UNIT)
        .where(UNIT.c.id == unit.id)
        .values(code=new_code, name=new_name, path=new, division_code=division_code, valid_from=on)
    )
    return Recoded(code, new_code, new_name, new, on, moved_units, rows, change)
