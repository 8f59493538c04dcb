"""Declarative mappings from a source's columns and codes to the hub's fields (映射配置).

A sources file (TOML) names each source, how to reach it and, per entity, which column feeds
which hub field, with value translation tables, date formats and defaults. Mapping a row
never guesses: a value that cannot be translated or parsed is reported as a problem.

    [sources.gx]
    kind = "sql"
    url = "sqlite+aiosqlite:///gx.db"        # relative paths: against the sources file

    [sources.gx.entities.student]
    table = "XS_JBXX"
    key = "XJH"
    [sources.gx.entities.student.fields]
    name = "XM"
    sex_code = { column = "XBM", translate = "sex" }
    ethnicity_code = { column = "MZM", translate = "label:ethnicity" }  # by Chinese label
    birth_date = { column = "CSRQ", date = "%Y%m%d" }

    [sources.gx.translations.sex]
    "男" = "1"
    "女" = "2"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hub.codes.registry import CodeRegistry

# Hub fields whose values are codes, by code set (checked after translation).
CODED_FIELDS = {
    "sex_code": "sex",
    "ethnicity_code": "ethnicity",
    "nationality_code": "nationality",
    "id_type_code": "id_type",
    "grade_code": "grade",
    "status_code": "student_status",
    "health_code": "health",
    "household_type_code": "household_type",
    "enrolment_mode_code": "enrolment_mode",
    "attendance_mode_code": "attendance_mode",
    "left_behind_code": "left_behind",
    "disability_code": "disability",
    "type_code": "school_type",
    "ownership_code": "ownership",
    "urban_rural_code": "urban_rural",
    "division_code": "division",
    "structure_code": "structure",
    "use_code": "building_use",
    "danger_rating_code": "danger_rating",
    "seismic_intensity_code": "seismic_intensity",
    "seismic_category_code": "seismic_category",
    "birthplace_code": "division",
    "household_place_code": "division",
}


class MappingError(ValueError):
    """The sources file itself is wrong (unknown option, missing table, ...)."""


@dataclass(frozen=True, slots=True)
class FieldMap:
    target: str
    column: str | None
    translate: str | None = None
    date: str | None = None
    default: str | None = None
    strip: bool = True
    upper: bool = False
    boolean: bool = False
    integer: bool = False
    decimal: bool = False


@dataclass(frozen=True, slots=True)
class EntityMap:
    name: str
    table: str
    key: str
    fields: tuple[FieldMap, ...]
    # Column holding the school code (students) or the division code (schools): the handle
    # scope conditions are pushed down on.
    scope_column: str | None = None

    def columns(self) -> list[str]:
        found = {self.key, *(f.column for f in self.fields if f.column)}
        if self.scope_column:
            found.add(self.scope_column)
        return sorted(found)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    kind: str
    url: str
    label: str
    entities: Mapping[str, EntityMap]
    translations: Mapping[str, Mapping[str, str]]
    timeout_seconds: float = 5.0
    retries: int = 2
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    # Kind-specific settings (an eduhub source's ``token`` or ``token_env``).
    options: Mapping[str, str] = field(default_factory=dict)
    # The subtree the source holds data for (数据范围), an org unit code: sync refuses rows
    # outside it, routes must lie inside it, and only viewers whose ``sources`` grant covers
    # it see the source. None: undeclared, seen by national viewers only.
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a value could not be taken: the source column, the value, the problem."""

    field: str
    column: str | None
    value: str | None
    problem: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "field": self.field,
            "column": self.column,
            "value": self.value,
            "problem": self.problem,
        }


@dataclass
class MappedRow:
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


_FIELD_OPTIONS = {
    "column",
    "translate",
    "date",
    "default",
    "strip",
    "upper",
    "boolean",
    "integer",
    "decimal",
}
_KIND_OPTIONS = {"token", "token_env"}
_SOURCE_OPTIONS = {
    "kind",
    "url",
    "label",
    "entities",
    "translations",
    "timeout_seconds",
    "retries",
    "breaker_failures",
    "breaker_reset_seconds",
    "region",
    *_KIND_OPTIONS,
}


def covers(region: str | None, code: str) -> bool:
    """Whether the org unit ``code`` (a division code prefix or a 10-digit school code) lies
    in ``region``; no region or ``CN``: everywhere."""
    return region in (None, "CN") or code.startswith(region)


def _region(value: Any, where: str) -> str | None:
    if value is None:
        return None
    region = str(value)
    if region != "CN" and not (region.isdigit() and len(region) in (2, 4, 6)):
        raise MappingError(
            f'{where}.region: an org unit code ("CN" or 2, 4 or 6 digits of a division),'
            f" got {region!r}"
        )
    return region


def _field(target: str, spec: Any, where: str) -> FieldMap:
    if isinstance(spec, str):
        return FieldMap(target, spec)
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: a field maps to a column name or a table of options")
    unknown = set(spec) - _FIELD_OPTIONS
    if unknown:
        raise MappingError(f"{where}: unknown options {sorted(unknown)}")
    if spec.get("column") is None and spec.get("default") is None:
        raise MappingError(f"{where}: needs a column or a default")
    return FieldMap(
        target,
        spec.get("column"),
        spec.get("translate"),
        spec.get("date"),
        None if spec.get("default") is None else str(spec["default"]),
        bool(spec.get("strip", True)),
        bool(spec.get("upper", False)),
        bool(spec.get("boolean", False)),
        bool(spec.get("integer", False)),
        bool(spec.get("decimal", False)),
    )


def load_sources(path: Path) -> dict[str, SourceConfig]:
    """Read a sources file; relative SQLite paths are resolved against its folder."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"{path}: {error}") from None
    configs: dict[str, SourceConfig] = {}
    for name, spec in document.get("sources", {}).items():
        where = f"{path}: sources.{name}"
        unknown = set(spec) - _SOURCE_OPTIONS
        if unknown:
            raise MappingError(f"{where}: unknown options {sorted(unknown)}")
        url = str(spec.get("url", ""))
        for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
            if url.startswith(prefix) and not url.startswith(prefix + "/"):
                url = prefix + str((path.parent / url[len(prefix) :]).resolve())
        if spec.get("kind") == "file" and not url.startswith("/"):
            url = str((path.parent / url).resolve())
        entities: dict[str, EntityMap] = {}
        for entity, entity_spec in spec.get("entities", {}).items():
            for required in ("table", "key", "fields"):
                if required not in entity_spec:
                    raise MappingError(f"{where}.entities.{entity}: missing '{required}'")
            fields = tuple(
                _field(target, field_spec, f"{where}.entities.{entity}.fields.{target}")
                for target, field_spec in entity_spec["fields"].items()
            )
            entities[entity] = EntityMap(
                entity, entity_spec["table"], entity_spec["key"], fields, entity_spec.get("scope")
            )
        configs[name] = SourceConfig(
            name=name,
            kind=str(spec.get("kind", "sql")),
            url=url,
            label=str(spec.get("label", name)),
            entities=entities,
            translations={k: dict(v) for k, v in spec.get("translations", {}).items()},
            timeout_seconds=float(spec.get("timeout_seconds", 5.0)),
            retries=int(spec.get("retries", 2)),
            breaker_failures=int(spec.get("breaker_failures", 5)),
            breaker_reset_seconds=float(spec.get("breaker_reset_seconds", 30.0)),
            options={k: str(spec[k]) for k in _KIND_OPTIONS if k in spec},
            region=_region(spec.get("region"), where),
        )
    return configs


class Mapper:
    """Applies one entity's mapping to raw source rows."""

    def __init__(self, source: SourceConfig, entity: EntityMap, codes: CodeRegistry) -> None:
        self.source = source
        self.entity = entity
        self.codes = codes
        self._by_label: dict[str, dict[str, str]] = {}
        # Parsed dates by (format, text): a province's rows share a few thousand birth dates.
        self._dates: dict[tuple[str, str], dt.date | None] = {}
        # Per field, resolved once: its translation table and its code set.
        self._fields = [
            (
                spec,
                self.table(spec.translate) if spec.translate else None,
                CODED_FIELDS.get(spec.target),
            )
            for spec in entity.fields
        ]

    def table(self, name: str) -> Mapping[str, str] | None:
        """A translation table: declared in the sources file, or ``label:SET`` (a code set's
        Chinese labels to its codes)."""
        if name.startswith("label:"):
            code_set = name[len("label:") :]
            if code_set not in self._by_label:
                self._by_label[code_set] = {
                    label: code for code, label in self.codes.members(code_set).items()
                }
            return self._by_label[code_set]
        return self.source.translations.get(name)

    def translatable(self, spec: FieldMap, raw: str) -> bool:
        table = self.table(spec.translate) if spec.translate else None
        return table is None or raw in table

    def map(self, raw: Mapping[str, Any]) -> MappedRow:
        key = raw.get(self.entity.key)
        row = MappedRow(key="" if key is None else str(key).strip())
        if not row.key:
            row.problems.append(Problem("key", self.entity.key, None, "the record has no key"))
        values = row.values
        for spec, table, code_set in self._fields:
            value, problem = self._value(spec, raw, table, code_set)
            if problem is not None:
                row.problems.append(problem)
            else:
                values[spec.target] = value
        return row

    def _date(self, form: str, text: str) -> dt.date | None:
        key = (form, text)
        if key in self._dates:
            return self._dates[key]
        try:
            date: dt.date | None = dt.datetime.strptime(text, form).date()
        except ValueError:
            date = None
        if len(self._dates) >= 100_000:
            self._dates.clear()
        self._dates[key] = date
        return date

    def _value(
        self,
        spec: FieldMap,
        raw: Mapping[str, Any],
        table: Mapping[str, str] | None,
        code_set: str | None,
    ) -> tuple[Any, Problem | None]:
        value = raw.get(spec.column) if spec.column else None
        if isinstance(value, str):
            value = value.strip() if spec.strip else value
            value = value.upper() if spec.upper else value
            if value == "":
                value = None
        if value is None:
            value = spec.default
        if value is None:
            return None, None
        text = value if isinstance(value, str) else str(value)
        if spec.translate:
            if table is None:
                raise MappingError(f"unknown translation table {spec.translate!r}")
            if text not in table:
                return None, Problem(spec.target, spec.column, text, "no translation")
            text = table[text]
        if spec.date:
            date = self._date(spec.date, text)
            if date is None:
                return None, Problem(spec.target, spec.column, text, f"not a date ({spec.date})")
            return date, None
        if spec.boolean:
            if text in ("1", "是", "Y", "y", "true", "True"):
                return True, None
            if text in ("0", "否", "N", "n", "false", "False"):
                return False, None
            return None, Problem(spec.target, spec.column, text, "not a yes/no value")
        if spec.integer or spec.decimal:
            try:
                number = Decimal(text)
            except InvalidOperation:
                return None, Problem(spec.target, spec.column, text, "not a number")
            if spec.integer:
                if number != number.to_integral_value():
                    return None, Problem(spec.target, spec.column, text, "not a whole number")
                return int(number), None
            return number, None
        if code_set is not None and not self.codes.contains(code_set, text):
            return None, Problem(spec.target, spec.column, text, f"not in code set {code_set}")
        return text, None
