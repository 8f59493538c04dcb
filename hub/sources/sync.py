"""``eduhub sync``: copy a source's records into the hub store (同步).

Rows are read in key order in batches. Each batch is mapped, validated against DATA.md
(citizen ID with python-stdnum, code sets, mandatory fields, schools known to the hub) and
written in one transaction together with its rejected rows and the run's checkpoint, so a run
killed at any point resumes where its last batch ended and finishes in the state one clean
run would have left. Upserts are keyed by (source, key in the source): running again changes
nothing that did not change in the source.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.buildings.models import Building
from hub.changes.log import Change, append
from hub.codes.divisions import all_divisions
from hub.codes.identity import normalise
from hub.codes.registry import CodeRegistry
from hub.db.base import table_of
from hub.db.sql import among
from hub.orgunits.models import OrgLevel, OrgUnit
from hub.quality.checks import RegisterSummary, check_students
from hub.quality.register import Register
from hub.schools.models import School
from hub.sources.mapping import MappedRow, Mapper, Problem, covers
from hub.sources.models import SyncRejection, SyncRun
from hub.sources.protocol import Source, continuation
from hub.students.models import Student
from hub.students.numbers import temporary_numbers

UNIT = table_of(OrgUnit)
SCHOOL = table_of(School)
BUILDING = table_of(Building)
STUDENT = table_of(Student)
RUN = table_of(SyncRun)
REJECTION = table_of(SyncRejection)

REQUIRED = {
    "school": ("code", "name", "division_code"),
    "building": ("code", "name", "school_code"),
    "student": (
        "name",
        "sex_code",
        "birth_date",
        "school_code",
        "grade_code",
        "status_code",
    ),
}
STUDENT_NUMBER = re.compile(r"^[GJL][0-9A-Z]{1,19}$")


@dataclass
class SyncSummary:
    run_id: int
    source: str
    entity: str
    resumed: bool
    read: int = 0
    written: int = 0
    rejected: int = 0
    seconds: float = 0.0
    # The kind-5 comparison of the written students with the population register.
    register: RegisterSummary = field(default_factory=RegisterSummary)


def _insert(connection: AsyncConnection, target: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


async def _upsert(
    connection: AsyncConnection, target: Table, records: list[dict[str, Any]], *, ids: bool
) -> dict[str, int]:
    """Insert or update ``records`` keyed by (sync_source, sync_key), in one statement per
    batch, and (``ids``) return their ids by key. PostgreSQL: COPY into a staging table, then
    INSERT … SELECT … ON CONFLICT … RETURNING (the bulk path); SQLite: executemany, paged by
    SQLAlchemy, then the ids."""
    if not records:
        return {}
    columns = sorted({k for record in records for k in record})
    updates = [c for c in columns if c not in ("sync_source", "sync_key")]
    if connection.dialect.name == "postgresql":
        stage = f"sync_stage_{target.name}"
        names = ", ".join(columns)
        await connection.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS"
                f" SELECT {names} FROM {target.name} WITH NO DATA"
            )
        )
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(
            stage, records=[tuple(map(r.get, columns)) for r in records], columns=columns
        )
        assignments = ", ".join(f"{c} = excluded.{c}" for c in updates)
        written = await connection.execute(
            text(
                f"INSERT INTO {target.name} ({names}) SELECT {names} FROM {stage}"
                f" ON CONFLICT (sync_source, sync_key) DO UPDATE SET {assignments}"
                " RETURNING sync_key, id"
            )
        )
        returned = {str(key): int(pk) for key, pk in written}
        await connection.execute(text(f"TRUNCATE {stage}"))
        return returned
    rows = [{c: record.get(c) for c in columns} for record in records]
    statement = _insert(connection, target)
    statement = statement.on_conflict_do_update(
        index_elements=["sync_source", "sync_key"],
        set_={c: statement.excluded[c] for c in updates},
    )
    await connection.execute(statement, rows)
    if not ids:
        return {}
    source = str(records[0]["sync_source"])
    keys = [str(r["sync_key"]) for r in records]
    found: dict[str, int] = {}
    for start in range(0, len(keys), 5000):
        found.update(
            {
                str(key): int(pk)
                for key, pk in await connection.execute(
                    select(target.c.sync_key, target.c.id).where(
                        target.c.sync_source == source,
                        target.c.sync_key.in_(keys[start : start + 5000]),
                    )
                )
            }
        )
    return found


async def _open_run(engine: AsyncEngine, source: str, entity: str) -> tuple[int, str | None, bool]:
    """Resume the unfinished run of (source, entity), or start one."""
    async with engine.begin() as connection:
        row = (
            await connection.execute(
                select(RUN.c.id, RUN.c.last_key)
                .where(
                    RUN.c.source == source,
                    RUN.c.entity == entity,
                    RUN.c.status.in_(("running", "failed")),
                )
                .order_by(RUN.c.id.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            await connection.execute(
                update(RUN).where(RUN.c.id == row[0]).values(status="running", error=None)
            )
            return int(row[0]), row[1], True
        result = await connection.execute(
            insert(RUN).values(
                source=source,
                entity=entity,
                status="running",
                started_at=dt.datetime.now(dt.UTC),
                rows_read=0,
                rows_written=0,
                rows_rejected=0,
            )
        )
        run_id = (result.inserted_primary_key or (0,))[0]
        return int(run_id or 0), None, False


class SyncFailed(Exception):
    """A run stopped on an error: marked ``failed`` with the cause, resumable from its
    checkpoint (the batches before the failing one are committed)."""

    def __init__(self, run_id: int, cause: str) -> None:
        super().__init__(
            f"sync run {run_id} failed: {cause}. The batches before it are written; run the"
            " same sync again to resume from its checkpoint."
        )
        self.run_id = run_id
        self.cause = cause


async def sync(
    engine: AsyncEngine,
    source: Source,
    entity: str,
    codes: CodeRegistry,
    *,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
    register: Register | None = None,
) -> SyncSummary:
    """Copy ``entity`` of ``source`` into the store, batch by batch from the run's checkpoint;
    with a ``register``, written students are compared with it too (kind 5)."""
    if entity not in REQUIRED:
        raise ValueError(f"cannot sync entity {entity!r} (known: {', '.join(REQUIRED)})")
    started = time.perf_counter()
    mapper = Mapper(source.config, source.entity(entity), codes)
    run_id, after, resumed = await _open_run(engine, source.name, entity)
    summary = SyncSummary(run_id, source.name, entity, resumed)
    if register is not None:
        summary.register.source = register.name
    try:
        await _batches(engine, source, mapper, summary, after, batch_size, on_batch, register)
    except Exception as error:
        cause = f"{type(error).__name__}: {error}"[:2000]
        async with engine.begin() as connection:
            await connection.execute(
                update(RUN)
                .where(RUN.c.id == run_id)
                .values(status="failed", error=cause, finished_at=dt.datetime.now(dt.UTC))
            )
        raise SyncFailed(run_id, cause) from error
    async with engine.begin() as connection:
        await connection.execute(
            update(RUN)
            .where(RUN.c.id == run_id)
            .values(status="done", finished_at=dt.datetime.now(dt.UTC))
        )
        totals = (
            await connection.execute(
                select(RUN.c.rows_read, RUN.c.rows_written, RUN.c.rows_rejected).where(
                    RUN.c.id == run_id
                )
            )
        ).one()
    summary.read, summary.written, summary.rejected = (int(v) for v in totals)
    if summary.written >= 10_000:
        # Fresh statistics after a large load, or the planner keeps planning for the old table.
        await _analyze(engine, entity)
    summary.seconds = time.perf_counter() - started
    return summary


TARGETS = {"school": SCHOOL, "student": STUDENT, "building": BUILDING}


async def _analyze(engine: AsyncEngine, entity: str) -> float:
    """Refresh PostgreSQL's statistics of the entity's table; its estimated rows after."""
    if engine.dialect.name != "postgresql":
        return 0.0
    name = TARGETS[entity].name
    async with engine.connect() as connection:
        await connection.execute(text(f"ANALYZE {name}"))
        await connection.commit()
    return await _table_rows(engine, name)


class _Growth:
    """Statistics kept up with a growing table during a load (PostgreSQL). The per-batch
    lookups by key (existing rows, number holders, duplicate groups) are planned with the
    table's statistics; planned for the few rows of the run's start they scan every row of
    the source instead of probing the keys, and each batch gets slower than the last.
    ANALYZE whenever the run has written as many rows as the table held at the last one
    (geometric: a handful for a million rows, each a bounded sample)."""

    FLOOR = 5_000

    def __init__(self, engine: AsyncEngine, entity: str) -> None:
        self.engine, self.entity = engine, entity
        self.since = 0
        self.size: float | None = None

    async def grew(self, written: int) -> None:
        if self.engine.dialect.name != "postgresql":
            return
        if self.size is None:
            self.size = await _table_rows(self.engine, TARGETS[self.entity].name)
        self.since += written
        if self.since >= max(self.size, self.FLOOR):
            self.size = await _analyze(self.engine, self.entity)
            self.since = 0


async def _table_rows(engine: AsyncEngine, name: str) -> float:
    """PostgreSQL's estimate of the table's rows (0 before its first ANALYZE)."""
    async with engine.connect() as connection:
        rows = await connection.scalar(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:name AS regclass)"),
            {"name": name},
        )
    return max(float(rows or 0), 0.0)


async def _batches(
    engine: AsyncEngine,
    source: Source,
    mapper: Mapper,
    summary: SyncSummary,
    after: str | None,
    batch_size: int,
    on_batch: Callable[[int], None] | None,
    register: Register | None = None,
) -> None:
    """Read, check and write batch after batch, each with its checkpoint in one transaction.
    The next batch is read from the source and mapped while this one is written (a legacy
    system is usually across a network): a read that fails surfaces after the batch before
    it has committed, so the checkpoint stays exact."""
    growth = _Growth(engine, summary.entity)
    ahead = asyncio.ensure_future(_read(source, mapper, after, batch_size))
    try:
        while True:
            raw_rows, mapped = await ahead
            if not raw_rows:
                return
            after = continuation(raw_rows[-1], mapper.entity.key)
            ahead = asyncio.ensure_future(_read(source, mapper, after, batch_size))
            written = await _write_batch(
                engine, source, mapper, summary, raw_rows, mapped, after, register
            )
            await growth.grew(written)
            if on_batch is not None:
                on_batch(len(raw_rows))
    finally:
        if not ahead.done():
            ahead.cancel()
        elif not ahead.cancelled():
            ahead.exception()  # a read ahead that failed after the write did: retrieved


async def _read(
    source: Source, mapper: Mapper, after: str | None, batch_size: int
) -> tuple[list[dict[str, Any]], list[MappedRow]]:
    """The next batch from the source, mapped (its mapping runs while the database works on
    the batch before)."""
    raw_rows = await source.rows_after(mapper.entity.name, after, batch_size)
    mapped = [mapper.map(raw) for raw in raw_rows]
    for row in mapped:
        _required(mapper.entity.name, row, mapper)
    return raw_rows, mapped


async def _write_batch(
    engine: AsyncEngine,
    source: Source,
    mapper: Mapper,
    summary: SyncSummary,
    raw_rows: list[dict[str, Any]],
    mapped: list[MappedRow],
    after: str,
    register: Register | None,
) -> int:
    """Check and write one mapped batch with its rejections and the run's checkpoint
    ``after``, in one transaction; the rows written."""
    entity, run_id = summary.entity, summary.run_id
    async with engine.begin() as connection:
        if entity == "student":
            written, rejected = await _write_students(
                connection, source.name, mapped, source.config.region, register, summary
            )
        else:
            write = {"school": _write_schools, "building": _write_buildings}[entity]
            written, rejected = await write(connection, source.name, mapped, source.config.region)
        rejections = [
            {
                "run_id": run_id,
                "source": source.name,
                "entity": entity,
                "source_key": row.key[:64],
                "reasons": orjson.dumps([p.as_dict() for p in row.problems]).decode(),
                "raw": orjson.dumps(raw_rows[i], default=str).decode(),
            }
            for i, row in enumerate(mapped)
            if row.problems
        ]
        if rejections:
            await connection.execute(insert(REJECTION), rejections)
        await connection.execute(
            update(RUN)
            .where(RUN.c.id == run_id)
            .values(
                last_key=after,
                rows_read=RUN.c.rows_read + len(raw_rows),
                rows_written=RUN.c.rows_written + written,
                rows_rejected=RUN.c.rows_rejected + rejected,
            )
        )
    summary.read += len(raw_rows)
    summary.written += written
    summary.rejected += rejected
    return written


def _required(entity: str, row: MappedRow, mapper: Mapper) -> None:
    """Mandatory hub fields: missing from the mapping or empty in the row."""
    columns = {f.target: f.column for f in mapper.entity.fields}
    failed = {p.field for p in row.problems}
    for name in REQUIRED[entity]:
        if name not in failed and row.values.get(name) in (None, ""):
            row.problems.append(Problem(name, columns.get(name), None, "mandatory value missing"))


async def _ensure_county(connection: AsyncConnection, county_code: str) -> tuple[int, str]:
    """The org units from the root down to the county, created from GB/T 2260 if missing."""
    divisions = all_divisions()
    chain: list[tuple[str, str, OrgLevel, str | None]] = [
        ("CN", "中华人民共和国教育部", OrgLevel.NATIONAL, None)
    ]
    province, city = county_code[:2] + "0000", county_code[:4] + "00"
    for code6, level, code in (
        (province, OrgLevel.PROVINCE, county_code[:2]),
        (city, OrgLevel.CITY, county_code[:4]),
        (county_code, OrgLevel.COUNTY, county_code),
    ):
        division = divisions.get(code6)
        name = (division.name if division else code6) + (
            "教育厅" if level is OrgLevel.PROVINCE else "教育局"
        )
        chain.append((code, name, level, code6))
    parent_id: int | None = None
    path = "/"
    for code, name, level, division_code in chain:
        path = f"{path}{code}/"
        existing = (
            await connection.execute(select(UNIT.c.id, UNIT.c.path).where(UNIT.c.code == code))
        ).first()
        if existing is None:
            result = await connection.execute(
                insert(UNIT).values(
                    code=code,
                    name=name,
                    level=level,
                    parent_id=parent_id,
                    path=path,
                    division_code=division_code,
                )
            )
            parent_id = int((result.inserted_primary_key or (0,))[0])
        else:
            parent_id, path = int(existing[0]), str(existing[1])
    assert parent_id is not None
    return parent_id, path


async def _write_schools(
    connection: AsyncConnection, source: str, rows: list[MappedRow], region: str | None
) -> tuple[int, int]:
    divisions = all_divisions()
    written = 0
    for row in rows:
        values = row.values
        code = str(values.get("code") or "")
        if not row.problems and not (len(code) == 10 and code.isdigit()):
            row.problems.append(Problem("code", None, code, "not a 10-digit school code"))
        division = divisions.get(str(values.get("division_code") or ""))
        if not row.problems and (division is None or division.level != "COUNTY"):
            row.problems.append(
                Problem("division_code", None, values.get("division_code"), "not a county code")
            )
        if not row.problems and not covers(region, str(values["division_code"])):
            row.problems.append(
                Problem(
                    "division_code",
                    None,
                    str(values["division_code"]),
                    f"outside the source's region {region}",
                )
            )
        if not row.problems:
            taken = (
                await connection.execute(
                    select(SCHOOL.c.sync_source, SCHOOL.c.sync_key).where(SCHOOL.c.code == code)
                )
            ).first()
            if taken is not None and (taken[0], taken[1]) != (source, row.key):
                row.problems.append(
                    Problem("code", None, code, "school code already held by another record")
                )
        if row.problems:
            continue
        county_id, county_path = await _ensure_county(connection, str(values["division_code"]))
        path = f"{county_path}{code}/"
        unit = (await connection.execute(select(UNIT.c.id).where(UNIT.c.code == code))).first()
        if unit is None:
            result = await connection.execute(
                insert(UNIT).values(
                    code=code,
                    name=values["name"],
                    level=OrgLevel.SCHOOL,
                    parent_id=county_id,
                    path=path,
                    division_code=None,
                )
            )
            unit_id = int((result.inserted_primary_key or (0,))[0])
        else:
            unit_id = int(unit[0])
            await connection.execute(
                update(UNIT).where(UNIT.c.id == unit_id).values(name=values["name"])
            )
        record = {
            "org_unit_id": unit_id,
            "code": code,
            "name": values["name"],
            "path": path,
            "division_code": values["division_code"],
            "type_code": values.get("type_code"),
            "ownership_code": values.get("ownership_code"),
            "urban_rural_code": values.get("urban_rural_code"),
            "address": values.get("address"),
            "head_name": values.get("head_name"),
            "sync_source": source,
            "sync_key": row.key,
        }
        statement = _insert(connection, SCHOOL).values(record)
        statement = statement.on_conflict_do_update(
            index_elements=["sync_source", "sync_key"],
            set_={k: statement.excluded[k] for k in record if k not in ("sync_source", "sync_key")},
        )
        await connection.execute(statement)
        written += 1
    return written, sum(1 for row in rows if row.problems)


async def _write_students(
    connection: AsyncConnection,
    source: str,
    rows: list[MappedRow],
    region: str | None,
    register: Register | None = None,
    summary: SyncSummary | None = None,
) -> tuple[int, int]:
    """Students are admitted whatever their identity problems (an invalid or duplicate ID, a
    number held by another record, none at all): they are written, with an L number when
    the source gives no usable one, and the checks of the rows written open their problem
    records in the same transaction. Rejected are only rows that cannot be placed: no
    school in the hub (or outside the source's region), a mandatory value missing or a value
    no code set holds."""
    candidates = [row for row in rows if not row.problems]
    if connection.dialect.name == "postgresql":
        # Lookups by key arrays (one prepared statement each) are planned for this batch:
        # the table grows during a load, and a plan made when it was empty would scan it.
        # They are index probes: priced as such, not as a scan of the whole key list.
        await connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        await connection.execute(text("SET LOCAL random_page_cost = 1.1"))
    for row in candidates:
        _normalise_identity(row)
    schools = await _schools_by_code(connection, {str(r.values["school_code"]) for r in candidates})
    placed: list[tuple[MappedRow, tuple[int, str, str]]] = []
    for row in candidates:
        school = schools.get(str(row.values["school_code"]))
        if school is None:
            row.problems.append(
                Problem(
                    "school_code",
                    None,
                    str(row.values["school_code"]),
                    "school not in the hub (sync the schools first)",
                )
            )
        elif not _in_region(region, school[1]):
            row.problems.append(_outside(region, str(row.values["school_code"])))
        else:
            placed.append((row, school))
    existing = await _existing_students(connection, source, [row.key for row, _ in placed])
    numbers = [str(r.values["student_number"]) for r, _ in placed if r.values.get("student_number")]
    holders = await _holders(connection, STUDENT.c.student_number, numbers)
    columns = set(STUDENT.c.keys())
    records: list[dict[str, Any]] = []
    changes: list[Change] = []
    temporary: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}
    for row, (school_id, path, division) in placed:
        record = {k: v for k, v in row.values.items() if k in columns}
        record.update(school_id=school_id, path=path, sync_source=source, sync_key=row.key)
        before = existing.get(row.key)
        record["student_number"] = _number(row, before, holders, source)
        if record["student_number"] is None:
            temporary.setdefault((division, record["birth_date"]), []).append(record)
        records.append(record)
    allocated = await temporary_numbers(
        connection, {key: len(group) for key, group in temporary.items()}
    )
    for key, group in temporary.items():
        for record, number in zip(group, allocated[key], strict=True):
            record["student_number"] = number
    written = [r for r in records if _changed(r, existing.get(r["sync_key"]))]
    ids = await _upsert(connection, STUDENT, written, ids=True)
    if written:
        for record in written:
            before = existing.get(record["sync_key"])
            fields = record if before is None else _diff(record, before)
            action = "insert" if before is None else "update"
            pk = ids[record["sync_key"]]
            changes.append(Change("Student", pk, record["path"], action, _loggable(fields)))
        await append(
            connection, changes, actor=f"sync:{source}", origin=f"sync:{source}", at=_now()
        )
        checked = await check_students(
            connection, list(ids.values()), now=_now(), normalised=True, register=register
        )
        if summary is not None:
            summary.register.add(checked.register)
    return len(records), sum(1 for row in rows if row.problems)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _normalise_identity(row: MappedRow) -> None:
    """ID numbers as the checks compare them; a student number that is no national number
    (G, J or L and letters and digits) is not kept: the record gets an L number."""
    values = row.values
    number = values.get("student_number")
    if number is not None and not STUDENT_NUMBER.match(str(number)):
        values["student_number"] = None
    id_number = values.get("id_number")
    if isinstance(id_number, str):
        values["id_number"] = normalise(id_number) or None


def _number(
    row: MappedRow,
    before: dict[str, Any] | None,
    holders: dict[str, tuple[str | None, str | None]],
    source: str,
) -> str | None:
    """The record's national number: a permanent number the hub issued stays; else the
    source's, unless another record holds it; else the one it had; None: a new L number."""
    kept = None if before is None else str(before["student_number"])
    if kept is not None and kept[0] in "GJ":
        return kept
    given = row.values.get("student_number")
    if given is not None:
        holder = holders.get(str(given))
        if holder is None or holder == (source, row.key):
            return str(given)
    return kept


async def _existing_students(
    connection: AsyncConnection, source: str, keys: list[str]
) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    rows = await connection.execute(
        select(STUDENT).where(
            STUDENT.c.sync_source == source, among(connection.dialect, STUDENT.c.sync_key, keys)
        )
    )
    return {str(row.sync_key): dict(row._mapping) for row in rows}


def _diff(record: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if before.get(k) != v}


def _changed(record: dict[str, Any], before: dict[str, Any] | None) -> bool:
    return before is None or bool(_diff(record, before))


def _loggable(fields: dict[str, Any]) -> dict[str, Any]:
    logged = dict(fields)
    logged.pop("sync_source", None)
    logged.pop("sync_key", None)
    return logged


async def _schools_by_code(
    connection: AsyncConnection, codes: set[str]
) -> dict[str, tuple[int, str, str]]:
    """(id, path, division code) of the hub's schools by code."""
    rows = await connection.execute(
        select(SCHOOL.c.id, SCHOOL.c.code, SCHOOL.c.path, SCHOOL.c.division_code).where(
            SCHOOL.c.code.in_(codes)
        )
    )
    return {code: (pk, path, division) for pk, code, path, division in rows.all()}


async def _holders(
    connection: AsyncConnection, column: Any, values: list[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Which record (sync source and key) already holds each of these unique values."""
    table = column.table
    rows = await connection.execute(
        select(column, table.c.sync_source, table.c.sync_key).where(
            among(connection.dialect, column, values)
        )
    )
    return {value: (src, key) for value, src, key in rows.all()}


async def _write_buildings(
    connection: AsyncConnection, source: str, rows: list[MappedRow], region: str | None
) -> tuple[int, int]:
    candidates = [row for row in rows if not row.problems]
    schools = await _schools_by_code(connection, {str(r.values["school_code"]) for r in candidates})
    holders = await _holders(
        connection, BUILDING.c.code, [str(r.values["code"]) for r in candidates]
    )
    columns = set(BUILDING.c.keys())
    records = []
    for row in candidates:
        school = schools.get(str(row.values["school_code"]))
        if school is None:
            row.problems.append(
                Problem(
                    "school_code", None, str(row.values["school_code"]), "school not in the hub"
                )
            )
            continue
        if not _in_region(region, school[1]):
            row.problems.append(_outside(region, str(row.values["school_code"])))
            continue
        holder = holders.get(str(row.values["code"]))
        if holder is not None and holder != (source, row.key):
            row.problems.append(
                Problem(
                    "code", None, str(row.values["code"]), "building number held by another record"
                )
            )
            continue
        record = {k: v for k, v in row.values.items() if k in columns}
        record.update(school_id=school[0], path=school[1], sync_source=source, sync_key=row.key)
        records.append(record)
    await _upsert(connection, BUILDING, records, ids=False)
    return len(records), sum(1 for row in rows if row.problems)


def _in_region(region: str | None, path: str) -> bool:
    return region in (None, "CN") or f"/{region}/" in path


def _outside(region: str | None, school_code: str) -> Problem:
    return Problem("school_code", None, school_code, f"school outside the source's region {region}")
