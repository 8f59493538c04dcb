"""Statistics tables (统计表): counts (and sums) of an entity grouped by dimensions, computed
by one aggregate statement inside the viewer's scope, never by loading rows.

``UNIT`` groups by the org units of a level below ``under`` (one level down by default): a
row lies in a unit when its path lies in the unit's subtree, so a join on path ranges does
it on both databases without knowing how codes are formed. Counts of sensitive dimensions
(disability, health) below ``SMALL_CELL`` are suppressed for viewers who may not unmask
students' sensitive data everywhere under ``under``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Executable,
    Subquery,
    and_,
    bindparam,
    false,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.sql.visitors import iterate

from hub.access.scope import Readable, under_path
from hub.codes.registry import CodeRegistry
from hub.db.base import table_of
from hub.errors import BadInput
from hub.orgunits.history import subtree_upper, units_at
from hub.orgunits.models import OrgLevel, OrgUnit
from hub.statistics.dimensions import (
    AGE,
    BUILDING,
    CLASS,
    COUNTED,
    SCHOOL,
    SENSITIVE,
    YES_NO,
    Counted,
    Dimension,
    Grouping,
    Sources,
)

UNIT = table_of(OrgUnit)
LEVELS = list(OrgLevel)  # national first, school last
SMALL_CELL = 5  # counts below this of a sensitive dimension are suppressed (小单元格抑制)
NOT_GIVEN = ""  # the code of a group whose value is not filled in
NOT_GIVEN_LABEL = "未填报"
SUPPRESSED_LABEL = "<5"

Run = Callable[[Executable], Awaitable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class Place:
    """The unit statistics are asked under: its code, name, path and level; asked as of a
    day, whether its subtree is today's as it stood then (``unchanged_since``)."""

    code: str
    name: str
    path: str
    level: OrgLevel
    unchanged: bool = True


@dataclass(frozen=True, slots=True)
class Key:
    code: str
    label: str


@dataclass(frozen=True, slots=True)
class Cell:
    keys: tuple[Key, ...]
    count: int | None  # None: suppressed
    amount: Decimal | None
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Table:
    entity: Counted
    dimensions: tuple[Dimension, ...]
    rows: tuple[Cell, ...]
    count: int  # the whole table
    amount: Decimal | None
    suppressed: int  # cells suppressed


def level_below(place: Place) -> OrgLevel | None:
    """The level one below ``place``; None for a school."""
    below = LEVELS.index(place.level) + 1
    return LEVELS[below] if below < len(LEVELS) else None


def child_level(place: Place, level: OrgLevel | None) -> OrgLevel:
    """The level of the units to group by: one below ``place``, or ``level`` if below it."""
    below = LEVELS.index(place.level) + 1
    if level is None:
        default = level_below(place)
        if default is None:
            raise BadInput(f"'{place.code}' is a school: it has no child units to group by")
        return default
    if LEVELS.index(level) < below:
        raise BadInput(
            f"level {level.value} is not below {place.code} ({place.level.value}): choose"
            f" one of {', '.join(v.value for v in LEVELS[below:]) or 'none'}"
        )
    return level


def unit_join(path: ColumnElement[str] | None, place: Place, level: OrgLevel | None) -> Any:
    """Join condition placing ``path`` in the units of ``level`` under ``place`` (no level:
    the place itself); without a path, the condition choosing those units."""
    units = (
        UNIT.c.path == literal(place.path, UNIT.c.path.type)
        if level is None
        else and_(UNIT.c.level == level, under_path(UNIT.c.path, place.path))
    )
    if path is None:
        return units
    return and_(units, path >= UNIT.c.path, path < subtree_upper(UNIT.c.path))


def school_units_at(day: dt.date, place: Place, level: OrgLevel) -> Subquery:
    """Each school of ``day``'s tree under ``place`` with the unit of ``level`` it lay in
    that day (``school_path``, ``code``, ``name``): schools by their units, a few thousand
    rows, which rows of that day then join on their path."""
    schools = units_at(day).alias("school_then")
    units = units_at(day).alias("unit_then")
    return (
        select(schools.c.path.label("school_path"), units.c.code, units.c.name)
        .select_from(schools)
        .join(
            units,
            and_(
                units.c.level == level,
                under_path(units.c.path, place.path),
                schools.c.path >= units.c.path,
                schools.c.path < subtree_upper(units.c.path),
            ),
        )
        .where(schools.c.level == OrgLevel.SCHOOL)
        .subquery("school_unit")
    )


def _check_as_of(counted: Counted, dims: Sequence[Dimension]) -> None:
    if counted.as_of is None:
        having = ", ".join(c.name for c in COUNTED.values() if c.as_of is not None)
        raise BadInput(
            f"asOf: {counted.name} keep no history in the hub (only their current state);"
            f" figures of a past day exist for {having}"
        )
    today_only = [
        d.value for d in dims if d in counted.dimensions and not counted.dimensions[d].historic
    ]
    if today_only:
        raise BadInput(
            f"asOf: {', '.join(today_only)} has no history (classes and buildings keep only"
            " their current state): leave it out of `by` for a past day"
        )


async def tabulate(
    run: Run,
    readable: Readable,
    counted: Counted,
    place: Place,
    codes: CodeRegistry,
    *,
    by: Sequence[Dimension] = (),
    level: OrgLevel | None = None,
    age_at: dt.date,
    status: Sequence[str] | None = None,
    suppress: bool,
    buildings: Readable | None = None,
    as_of: dt.date | None = None,
) -> Table:
    """``counted`` under ``place`` within ``readable``, grouped by ``by`` (``status``: the
    status codes counted; ``suppress``: hide small cells of sensitive dimensions; ``as_of``:
    the rows as they stood that day, ``place`` a unit of that day's tree)."""
    dims = tuple(dict.fromkeys(by))
    missing = [d for d in dims if d is not Dimension.UNIT and d not in counted.dimensions]
    if missing:
        offered = ", ".join(["UNIT", *(d.value for d in counted.dimensions)])
        raise BadInput(
            f"{counted.name} cannot be grouped by {', '.join(d.value for d in missing)}"
            f" (they can by: {offered})"
        )
    if status is not None and Dimension.STATUS not in counted.dimensions:
        raise BadInput(f"{counted.name} have no status to select")
    at = bindparam("age_at", age_at, type_=Date)
    chosen_groupings = [counted.dimensions[d] for d in dims if d in counted.dimensions]
    chosen = counted.status_default if status is None else tuple(status)

    def grouped(t: Any, *where: ColumnElement[bool]) -> tuple[Any, list[Any], list[Any], list[Any]]:
        """The rows ``t`` joined for the chosen dimensions: (source, the dimensions' group
        expressions but UNIT's, the measures, the conditions)."""
        source: Any = t
        if any(g.via_school for g in chosen_groupings):
            source = source.join(SCHOOL, SCHOOL.c.id == t.c.school_id)
        if any(g.via_building for g in chosen_groupings):
            # Through the class to its building; a building the viewer may not read (or
            # none recorded) groups as not given.
            source = source.outerjoin(CLASS, CLASS.c.id == t.c.class_id).outerjoin(
                BUILDING,
                and_(
                    BUILDING.c.id == CLASS.c.building_id,
                    buildings.where if buildings is not None else false(),
                ),
            )
        src = Sources(t)
        groups = [
            counted.dimensions[d].expression(src, at).label(f"g_{d.value.lower()}")
            for d in dims
            if d is not Dimension.UNIT
        ]
        measures: list[Any] = [func.count().label("n")]
        if counted.amount is not None:
            measures.append(func.sum(t.c[counted.amount]).label("amount"))
        conditions = [*where, under_path(t.c.path, place.path)]
        if Dimension.STATUS in counted.dimensions and chosen:
            conditions.append(t.c.status_code.in_(chosen))
        return source, groups, measures, conditions

    if as_of is None:
        t = counted.table
        source, others, measures, conditions = grouped(t, readable.where)
        unit: list[Any] = []
        if Dimension.UNIT in dims:
            source = source.join(UNIT, unit_join(t.c.path, place, child_level(place, level)))
            unit = [UNIT.c.code, UNIT.c.name]
    else:
        # As of a day: each source of rows (those unchanged since, those rolled back) is
        # counted per school path on its own, so the planner plans today's part as it plans
        # today's figures; then the cells are summed, placed in that day's units.
        _check_as_of(counted, dims)
        assert counted.as_of is not None
        unchanged = place.unchanged
        parts = []
        sources = counted.as_of(
            as_of,
            readable.where,
            place.path,
            unchanged_tree=unchanged,
            columns=_read(counted, chosen_groupings, at),
        )
        for i, rows_of_day in enumerate(sources):
            part = rows_of_day.subquery(f"rows_{i}")
            part_source, part_groups, part_measures, part_conditions = grouped(part)
            parts.append(
                select(part.c.path.label("school_path"), *part_groups, *part_measures)
                .select_from(part_source)
                .where(*part_conditions)
                .group_by(part.c.path, *part_groups)
            )
        per_school = union_all(*parts).subquery("per_school")
        others = [per_school.c[f"g_{d.value.lower()}"] for d in dims if d is not Dimension.UNIT]
        measures = [func.sum(per_school.c.n).label("n")]
        if counted.amount is not None:
            measures.append(func.sum(per_school.c.amount).label("amount"))
        source, conditions, unit = per_school, [], []
        if Dimension.UNIT in dims and unchanged:
            # The subtree is that day's: its units are today's (an index range, as today).
            school_path = per_school.c.school_path
            source = per_school.join(UNIT, unit_join(school_path, place, child_level(place, level)))
            unit = [UNIT.c.code, UNIT.c.name]
        elif Dimension.UNIT in dims:
            then = school_units_at(as_of, place, child_level(place, level))
            source = per_school.join(then, then.c.school_path == per_school.c.school_path)
            unit = [then.c.code, then.c.name]
    # The group columns in the order of ``dims`` (UNIT: code and name).
    groups: list[Any] = []
    rest = iter(others)
    for d in dims:
        groups.extend(unit if d is Dimension.UNIT else [next(rest)])
    statement = select(*groups, *measures).select_from(source).where(*conditions)
    if groups:
        statement = statement.group_by(*groups).order_by(*groups)
    rows = await run(statement)
    cells: list[Cell] = []
    sensitive = suppress and any(d in SENSITIVE for d in dims)
    total = 0
    total_amount = Decimal(0) if counted.amount is not None else None
    for row in rows:
        values = list(row)
        keys: list[Key] = []
        for d in dims:
            if d is Dimension.UNIT:
                code, name = values.pop(0), values.pop(0)
                keys.append(Key(str(code), str(name)))
            else:
                keys.append(_key(codes, counted.dimensions[d].labels, values.pop(0)))
        count = int(values.pop(0))
        amount = _decimal(values.pop(0)) if counted.amount is not None else None
        total += count
        if total_amount is not None and amount is not None:
            total_amount += amount
        small = sensitive and 0 < count < SMALL_CELL
        cells.append(Cell(tuple(keys), None if small else count, None if small else amount, small))
    cells = _complement(cells) if sensitive else cells
    return Table(
        counted,
        dims,
        tuple(cells),
        total,
        total_amount,
        sum(1 for c in cells if c.suppressed),
    )


def _read(counted: Counted, groupings: Sequence[Grouping], at: Any) -> set[str]:
    """The columns of the counted table a count grouped by ``groupings`` reads: where the
    row lies, its school and status, the amount summed, those the groupings' values use."""
    table = counted.table
    used = {"path", "school_id", "status_code", *([counted.amount] if counted.amount else [])}
    for grouping in groupings:
        value = grouping.expression(Sources(table), at)
        used.update(c.name for c in iterate(value) if isinstance(c, Column) and c.table is table)
    return used & set(table.c.keys())


def _complement(cells: list[Cell]) -> list[Cell]:
    """A lone suppressed cell could be recovered from the total: suppress the next smallest
    cell too (secondary suppression on the table's total; margins of several dimensions are
    not protected beyond this)."""
    hidden = [c for c in cells if c.suppressed]
    shown = [c for c in cells if not c.suppressed]
    if len(hidden) != 1 or not shown:
        return cells
    smallest = min(shown, key=lambda c: c.count or 0)
    return [Cell(c.keys, None, None, True) if c is smallest else c for c in cells]


def _key(codes: CodeRegistry, labels: str, value: Any) -> Key:
    if value is None or value == "":
        return Key(NOT_GIVEN, NOT_GIVEN_LABEL)
    if labels == YES_NO:
        return Key(str(value), "是" if str(value) == "1" else "否")
    if labels == AGE:
        return Key(str(int(value)), f"{int(value)}岁")
    return Key(str(value), codes.label(labels, str(value)))


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))
