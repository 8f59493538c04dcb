"""The mapping report (映射报告) of a source: per hub field, whether it is mapped and from
which column, how often the source fills it, which source values cannot be translated (with
their counts), where the synced copy in the hub disagrees with the source today, and, per
school, how many records leave a mandatory (★) field of the national collection blank
(漏填)."""

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
from hub.sources.mapping import CODED_FIELDS, MappedRow, Mapper
from hub.sources.protocol import Source, continuation
from hub.students.models import Student

TARGETS: dict[str, Table] = {
    "school": table_of(School),
    "student": table_of(Student),
    "building": table_of(Building),
}
INTERNAL = {"id", "path", "school_id", "org_unit_id", "class_id", "sync_source", "sync_key"}

# The mandatory fields (★) of the national student collection that the hub's student record
# holds (the data dictionary's section 3); the ID number is mandatory unless the ID type is
# Z (其他).
STARRED: dict[str, tuple[str, ...]] = {
    "student": (
        "name",
        "sex_code",
        "birth_date",
        "birthplace_code",
        "native_place_code",
        "ethnicity_code",
        "nationality_code",
        "id_type_code",
        "id_number",
        "overseas_status_code",
        "health_code",
        "household_place_code",
        "household_type_code",
        "current_address",
        "mailing_address",
        "home_address",
        "phone",
        "postcode",
        "grade_code",
        "enrolled_on",
        "enrolment_mode_code",
        "attendance_mode_code",
        "only_child",
        "had_preschool",
    ),
}
ID_TYPE_OTHER = "Z"


@dataclass
class FieldReport:
    hub_field: str
    column: str | None
    mapped: bool
    filled: float | None  # share of source rows with a value in the column
    untranslatable: dict[str, int] = field(default_factory=dict)
    disagreements: int = 0


@dataclass
class SchoolCompleteness:
    """One school's records (by the source's scope value) and, per mandatory field, how many
    leave it blank (漏填): a value the source gives but the mapping cannot take is not blank,
    it is untranslatable."""

    school: str
    mandatory: int  # mandatory fields the mapping feeds (those it leaves out are not counted)
    rows: int = 0
    blank: Counter[str] = field(default_factory=Counter)

    @property
    def complete(self) -> float:
        """Share of the school's mandatory values that are filled."""
        wanted = self.rows * self.mandatory
        return 1.0 if not wanted else 1 - sum(self.blank.values()) / wanted


@dataclass
class EntityReport:
    entity: str
    rows: int
    fields: list[FieldReport]
    synced_rows_compared: int = 0
    # Schools with at least one blank mandatory value, most blanks first; the mandatory
    # fields the mapping leaves out altogether (blank everywhere, not counted per school).
    completeness: list[SchoolCompleteness] = field(default_factory=list)
    unmapped_mandatory: list[str] = field(default_factory=list)

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
    result = EntityReport(entity, total, list(reports.values()))
    result.unmapped_mandatory = [f for f in STARRED.get(entity, ()) if f not in specs]
    await _scan(source, entity, mapper, engine, target, reports, batch_size, result)
    return result


async def _scan(
    source: Source,
    entity: str,
    mapper: Mapper,
    engine: AsyncEngine | None,
    target: Table,
    reports: dict[str, FieldReport],
    batch_size: int,
    report: EntityReport,
) -> None:
    """One pass over the source: blank mandatory values per school and (with ``engine``)
    today's source values compared with the synced copy, field by field."""
    columns = [c for c in reports if c in target.c and reports[c].mapped]
    starred = [f for f in STARRED.get(entity, ()) if f not in report.unmapped_mandatory]
    scope = mapper.entity.scope_column
    schools: dict[str, SchoolCompleteness] = {}
    after: str | None = None
    while True:
        raw_rows = await source.rows_after(entity, after, batch_size)
        if not raw_rows:
            break
        after = continuation(raw_rows[-1], mapper.entity.key)
        mapped: dict[str, MappedRow] = {}
        for raw in raw_rows:
            row = mapper.map(raw)
            mapped[row.key] = row
            if starred:
                where = str(raw.get(scope) or "").strip() if scope else ""
                where = where or "(none)"
                if where not in schools:
                    schools[where] = SchoolCompleteness(where, len(starred))
                schools[where].rows += 1
                schools[where].blank.update(_blanks(row, starred))
        if engine is None:
            continue
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
        for copy in stored:
            current = mapped[copy[0]]
            report.synced_rows_compared += 1
            for i, name in enumerate(columns, start=1):
                if name in current.values and _differs(current.values[name], copy[i]):
                    differences[name] += 1
        for name, count in differences.items():
            reports[name].disagreements += count
    report.completeness = sorted(
        (s for s in schools.values() if s.blank),
        key=lambda s: (-sum(s.blank.values()), s.school),
    )


def _blanks(row: MappedRow, starred: list[str]) -> list[str]:
    """The mandatory fields a mapped row leaves blank (the ID number may be blank when the
    ID type is Z, 其他)."""
    failed = {p.field for p in row.problems}
    return [
        name
        for name in starred
        if row.values.get(name) is None
        and name not in failed
        and not (name == "id_number" and row.values.get("id_type_code") == ID_TYPE_OTHER)
    ]


def _differs(source_value: Any, stored: Any) -> bool:
    if source_value is None and stored is None:
        return False
    return str(source_value) != str(stored)
