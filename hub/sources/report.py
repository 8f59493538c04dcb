"""The mapping report (映射报告) of a source: per hub field, whether it is mapped and from
which column, how often the source fills it, which source values cannot be translated (with
their counts), and where the synced copy in the hub disagrees with the source today."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.buildings.models import Building
from hub.codes.registry import CodeRegistry
from hub.db.base import table_of
from hub.schools.models import School
from hub.sources.mapping import CODED_FIELDS, Mapper
from hub.sources.protocol import Source, continuation
from hub.students.models import Student

TARGETS: dict[str, Table] = {
    "school": table_of(School),
    "student": table_of(Student),
    "building": table_of(Building),
}
INTERNAL = {"id", "path", "school_id", "org_unit_id", "class_id", "sync_source", "sync_key"}


@dataclass
class FieldReport:
    hub_field: str
    column: str | None
    mapped: bool
    filled: float | None  # share of source rows with a value in the column
    untranslatable: dict[str, int] = field(default_factory=dict)
    disagreements: int = 0


@dataclass
class EntityReport:
    entity: str
    rows: int
    fields: list[FieldReport]
    synced_rows_compared: int = 0

    @property
    def coverage(self) -> float:
        return sum(1 for f in self.fields if f.mapped) / len(self.fields) if self.fields else 0.0


async def entity_report(
    source: Source,
    entity: str,
    codes: CodeRegistry,
    engine: AsyncEngine | None = None,
    batch_size: int = 2000,
) -> EntityReport:
    mapper = Mapper(source.config, source.entity(entity), codes)
    specs = {f.target: f for f in mapper.entity.fields}
    total, filled = await source.column_stats(entity)
    target = TARGETS[entity]
    names = [c for c in target.c.keys() if c not in INTERNAL]  # noqa: SIM118 - iterating yields Columns
    names += [t for t in specs if t not in names]
    reports: dict[str, FieldReport] = {}
    for name in names:
        spec = specs.get(name)
        column = spec.column if spec else None
        share = None
        if spec is not None:
            share = 1.0 if column is None else (filled.get(column, 0) / total if total else 0.0)
        report = FieldReport(name, column, spec is not None, share)
        checked = spec is not None and (
            spec.translate or spec.date or spec.boolean or name in CODED_FIELDS
        )
        if spec is not None and column is not None and checked:
            for value, count in (await source.value_counts(entity, column)).items():
                mapped = mapper.map({mapper.entity.key: "x", column: value})
                if any(p.field == name for p in mapped.problems):
                    report.untranslatable[value] = count
        reports[name] = report
    compared = 0
    if engine is not None:
        compared = await _disagreements(source, entity, mapper, engine, target, reports, batch_size)
    return EntityReport(entity, total, list(reports.values()), compared)


async def _disagreements(
    source: Source,
    entity: str,
    mapper: Mapper,
    engine: AsyncEngine,
    target: Table,
    reports: dict[str, FieldReport],
    batch_size: int,
) -> int:
    """Compare today's source values with the synced copy, field by field."""
    columns = [c for c in reports if c in target.c and reports[c].mapped]
    compared = 0
    after: str | None = None
    while True:
        raw_rows = await source.rows_after(entity, after, batch_size)
        if not raw_rows:
            return compared
        after = continuation(raw_rows[-1], mapper.entity.key)
        mapped = {row.key: row for row in (mapper.map(r) for r in raw_rows)}
        async with engine.connect() as connection:
            stored = (
                await connection.execute(
                    select(target.c.sync_key, *[target.c[c] for c in columns]).where(
                        target.c.sync_source == source.name,
                        target.c.sync_key.in_(list(mapped)),
                    )
                )
            ).all()
        differences: Counter[str] = Counter()
        for row in stored:
            current = mapped[row[0]]
            compared += 1
            for i, name in enumerate(columns, start=1):
                if name in current.values and _differs(current.values[name], row[i]):
                    differences[name] += 1
        for name, count in differences.items():
            reports[name].disagreements += count


def _differs(source_value: Any, stored: Any) -> bool:
    if source_value is None and stored is None:
        return False
    return str(source_value) != str(stored)
