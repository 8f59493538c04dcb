"""Problem record detection (查重查错), kinds 1 to 5 of code set ``problem_kind``.

1. invalid citizen ID (check character, birth date, birthplace code: python-stdnum's rules);
2. a valid citizen ID that disagrees with the record (birth date or sex);
3. one ID number on two or more records anywhere in the hub (every record of the group);
4. records without an ID number whose name, sex and birth date coincide (every record);
5. a valid citizen ID the population register does not hold, or holds under another name
   (only with a register configured: ``hub.quality.register``; deferred when it is down).

Kinds 1, 2 and 5 look at one row at a time: the rows under the checked unit are streamed in
partitions, never held together. Groups are found by the database (3: ``GROUP BY`` on the
indexed ID number; 4: one windowed pass over the rows without an ID); only the members of
groups come back. The findings are then reconciled
with the open records: new ones are opened, those that still apply are kept (their members
brought up to date), those that no longer apply close themselves (status 5, 已失效).

The caller owns the transaction: one check is all or nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.access.scope import under_path
from hub.codes.identity import citizen_id_problem, disagreements
from hub.db.base import table_of
from hub.db.sql import among
from hub.quality.models import ProblemMember, ProblemRecord
from hub.quality.register import Register
from hub.sources.resilience import SourceUnavailable
from hub.students.models import Student

STUDENT = table_of(Student)
RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)

KINDS = ("1", "2", "3", "4")  # found in the hub's own data
REGISTER_KIND = "5"  # found against the population register
CROSS = "cross:"  # group keys of duplicates across hubs (hub.quality.across)
OPEN = ("1", "2", "3")  # 待处理, 待审核, 已退回: a record someone still has to handle
RESOLVED = "4"  # 已解决: handled by the school and approved by the county
CLOSED = "5"  # 已失效: the data changed and the finding no longer applies
CITIZEN_ID = "1"  # id_type 居民身份证
PARTITION = 5000

# The reasons of ``citizen_id_problem`` as the users read them.
REASONS = {
    "must have 18 characters": "应为18位",
    "the first 17 characters must be digits": "前17位应为数字",
    "wrong check character": "校验码错误",
    "no valid birth date in positions 7-14": "第7-14位不是有效的出生日期",
    "no such birthplace code in the birth year": "出生地代码在出生年份不存在",
}
FIELD_LABELS = {"birth_date": "出生日期", "sex_code": "性别"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One record to hold: a kind about a group, at one school."""

    kind: str
    group_key: str
    school_id: int
    path: str
    members: tuple[int, ...]
    detail: str


@dataclass
class RegisterSummary:
    """How the comparison with the population register went (kind 5)."""

    source: str | None = None  # None: no register configured, kind 5 not checked
    checked: int = 0  # students compared
    deferred: int = 0  # students the register could not be asked about
    reason: str | None = None  # why (the adapter's last error)

    def add(self, other: RegisterSummary) -> None:
        """Count ``other`` (one batch's comparison) into this one (a run's)."""
        self.checked += other.checked
        self.deferred += other.deferred
        self.reason = other.reason or self.reason

    def describe(self) -> str:
        if self.source is None:
            return "kind 5 not checked (no [register] in the sources file)"
        text = f"register {self.source}: {self.checked:,} compared"
        if self.deferred:
            text += (
                f", {self.deferred:,} deferred ({self.reason}); no kind-5 record closed"
                " for them, check again when the register is back"
            )
        return text


@dataclass
class CheckSummary:
    examined: int = 0  # rows looked at one by one (kinds 1, 2)
    normalised: int = 0  # ID numbers trimmed or upper-cased first
    found: Counter[str] = field(default_factory=Counter)  # records per kind
    opened: int = 0
    kept: int = 0
    closed: int = 0
    register: RegisterSummary = field(default_factory=RegisterSummary)


@dataclass(frozen=True, slots=True)
class _Subject:
    """A student with a sound citizen ID, to compare with the register."""

    pk: int
    id_number: str
    name: str
    school_id: int
    path: str


class _RegisterCheck:
    """Kind 5 alongside a stream of rows: subjects are batched and looked up in the register
    while the stream goes on (at most ``concurrency`` calls in flight, so memory stays
    bounded); a batch the register cannot answer is counted as deferred."""

    def __init__(self, register: Register, summary: RegisterSummary) -> None:
        self.register = register
        self.summary = summary
        summary.source = register.name
        self.pending: list[_Subject] = []
        self.tasks: deque[asyncio.Task[list[Finding]]] = deque()
        self.findings: list[Finding] = []

    async def add(self, subject: _Subject) -> None:
        self.pending.append(subject)
        if len(self.pending) >= self.register.batch_size:
            await self._launch()

    async def _launch(self) -> None:
        batch, self.pending = self.pending, []
        self.tasks.append(asyncio.create_task(self._compare(batch)))
        while len(self.tasks) > self.register.concurrency:
            self.findings.extend(await self.tasks.popleft())

    async def _compare(self, batch: list[_Subject]) -> list[Finding]:
        try:
            persons = await self.register.persons([s.id_number for s in batch])
        except SourceUnavailable as error:
            self.summary.deferred += len(batch)
            self.summary.reason = str(error)
            return []
        self.summary.checked += len(batch)
        found = []
        for s in batch:
            detail = Register.disagreement(s.name, persons.get(s.id_number))
            if detail is not None:
                found.append(
                    Finding(REGISTER_KIND, f"student:{s.pk}", s.school_id, s.path, (s.pk,), detail)
                )
        return found

    async def finish(self) -> list[Finding]:
        if self.pending:
            await self._launch()
        while self.tasks:
            self.findings.extend(await self.tasks.popleft())
        return self.findings

    def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


async def check(
    connection: AsyncConnection,
    *,
    under: str = "/",
    now: dt.datetime | None = None,
    due_days: int = 30,
    progress: Callable[[int], None] | None = None,
    register: Register | None = None,
) -> CheckSummary:
    """Detect kinds 1-4 (and 5 with a ``register``) for the students under the path
    ``under`` and reconcile the open records there (a group reaching outside gets records at
    every school of the group)."""
    moment = now or dt.datetime.now(dt.UTC)
    summary = CheckSummary()
    summary.normalised = await normalise(connection, under)
    compare = None if register is None else _RegisterCheck(register, summary.register)
    try:
        rows = [f async for f in _row_findings(connection, under, summary, progress, compare)]
        beside = [] if compare is None else await compare.finish()
    finally:
        if compare is not None:
            compare.cancel()
    findings = [
        *rows,
        *await _duplicate_ids(connection, under),
        *await _no_id_suspects(connection, under),
    ]
    summary.found = Counter(f.kind for f in [*findings, *beside])
    scope: list[ColumnElement[bool]] = [under_path(RECORD.c.path, under)]
    await reconcile(connection, scope, findings, moment, due_days, summary)
    if compare is not None:
        await reconcile(
            connection,
            scope,
            beside,
            moment,
            due_days,
            summary,
            kinds=(REGISTER_KIND,),
            close=summary.register.deferred == 0,
        )
    return summary


async def check_students(
    connection: AsyncConnection,
    ids: Collection[int],
    *,
    now: dt.datetime | None = None,
    due_days: int = 30,
    normalised: bool = False,
    register: Register | None = None,
) -> CheckSummary:
    """Detection on a write or a sync (``normalised``: the caller wrote the ID numbers
    normalised already): kinds 1-4 (and 5 with a ``register``) for the students ``ids`` and
    the groups they are in, or were in (the other members of their open duplicate records),
    reconciled like a bulk check. Reads only those students and their groups (indexed lookups
    by ID number and by name and birth date), never the rest of the hub."""
    moment = now or dt.datetime.now(dt.UTC)
    summary = CheckSummary()
    targets = set(ids)
    if not targets:
        return summary
    if not normalised:
        summary.normalised = await _normalise_where(connection, STUDENT.c.id.in_(targets))
    m, r = MEMBER.c, RECORD.c
    dialect = connection.dialect
    theirs = select(m.record_id).where(among(dialect, m.student_id, targets))
    linked = await connection.execute(
        select(m.record_id, m.student_id)
        .join(RECORD, r.id == m.record_id)
        .where(r.status_code.in_(OPEN), m.record_id.in_(theirs))
    )
    records: set[int] = set()
    subjects = set(targets)
    for record_id, student_id in linked:
        records.add(record_id)
        subjects.add(student_id)
    c = STUDENT.c
    rows = (
        await connection.execute(
            select(
                c.id,
                c.id_type_code,
                c.id_number,
                c.birth_date,
                c.sex_code,
                c.name,
                c.school_id,
                c.path,
            ).where(among(dialect, c.id, subjects))
        )
    ).all()
    findings: list[Finding] = []
    keys = {f"student:{pk}" for pk in targets}
    numbers: set[str] = set()
    no_id: set[tuple[str, str, dt.date]] = set()
    compare = None if register is None else _RegisterCheck(register, summary.register)
    for pk, id_type, id_number, birth, sex, name, school_id, path in rows:
        if id_number is None:
            no_id.add((name, sex, birth))
            continue
        numbers.add(id_number)
        if pk in targets and id_type == CITIZEN_ID:
            summary.examined += 1
            found = row_problem(str(id_number), birth, sex)
            if found is not None:
                findings.append(
                    Finding(found[0], f"student:{pk}", school_id, path, (pk,), found[1])
                )
            elif compare is not None:
                await compare.add(_Subject(pk, str(id_number), str(name), school_id, path))
    try:
        beside = [] if compare is None else await compare.finish()
    finally:
        if compare is not None:
            compare.cancel()
    if numbers:
        findings.extend(await _duplicate_ids(connection, "/", among(dialect, c.id_number, numbers)))
        keys.update(_digest("id", n) for n in numbers)
    if no_id:
        same = [
            and_(c.name == name, c.sex_code == sex, c.birth_date == birth)
            for name, sex, birth in no_id
        ]
        findings.extend(await _no_id_suspects(connection, "/", or_(*same)))
        keys.update(_digest("no-id", name, sex, str(birth)) for name, sex, birth in no_id)
    summary.found = Counter(f.kind for f in [*findings, *beside])
    scope: list[ColumnElement[bool]] = [among(dialect, r.group_key, sorted(keys))]
    if records:
        scope.append(among(dialect, r.id, records))
    await reconcile(connection, scope, findings, moment, due_days, summary)
    if compare is not None:
        # Kind 5 is about one student: its records are those of the targets' own keys.
        mine = [among(dialect, r.group_key, sorted(f"student:{pk}" for pk in targets))]
        await reconcile(
            connection,
            mine,
            beside,
            moment,
            due_days,
            summary,
            kinds=(REGISTER_KIND,),
            close=summary.register.deferred == 0,
        )
    return summary


async def normalise(connection: AsyncConnection, under: str) -> int:
    """Trim ID numbers and upper-case their ``x``; blank ones become NULL (none given)."""
    return await _normalise_where(connection, under_path(STUDENT.c.path, under))


async def _normalise_where(connection: AsyncConnection, where: ColumnElement[bool]) -> int:
    column = STUDENT.c.id_number
    clean = func.upper(func.trim(column))
    result = await connection.execute(
        update(STUDENT)
        .where(where, or_(column != clean, clean == ""))
        .values(id_number=case((clean == "", None), else_=clean))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def row_problem(id_number: str, birth: dt.date | None, sex: str | None) -> tuple[str, str] | None:
    """The kind (1 or 2) and detail of one student's citizen ID, or None if it is sound."""
    reason = citizen_id_problem(id_number)
    if reason is not None:
        return "1", f"身份证件号无效（{REASONS.get(reason, reason)}）"
    wrong = [FIELD_LABELS[name] for name in disagreements(id_number, birth, sex)]
    if wrong:
        return "2", f"学籍的{'、'.join(wrong)}与身份证件号不符"
    return None


async def _row_findings(
    connection: AsyncConnection,
    under: str,
    summary: CheckSummary,
    progress: Callable[[int], None] | None,
    compare: _RegisterCheck | None = None,
) -> AsyncIterator[Finding]:
    c = STUDENT.c
    statement = (
        select(c.id, c.id_number, c.birth_date, c.sex_code, c.school_id, c.path, c.name)
        .where(under_path(c.path, under), c.id_type_code == CITIZEN_ID, c.id_number.is_not(None))
        .execution_options(yield_per=PARTITION)
    )
    result = await connection.stream(statement)
    async for partition in result.partitions():
        for pk, id_number, birth, sex, school_id, path, name in partition:
            found = row_problem(str(id_number), birth, sex)
            if found is not None:
                kind, detail = found
                yield Finding(kind, f"student:{pk}", school_id, path, (pk,), detail)
            elif compare is not None:
                await compare.add(_Subject(pk, str(id_number), str(name), school_id, path))
        summary.examined += len(partition)
        if progress is not None:
            progress(len(partition))


async def _duplicate_ids(
    connection: AsyncConnection, under: str, only: ColumnElement[bool] | None = None
) -> list[Finding]:
    """Kind 3: ID numbers held by two or more records, at least one of them under ``under``
    (``only``: just the groups of these ID numbers)."""
    c = STUDENT.c
    inside = func.sum(case((under_path(c.path, under), 1), else_=0))
    groups = (
        select(c.id_number)
        .where(c.id_number.is_not(None), true() if only is None else only)
        .group_by(c.id_number)
        .having(func.count() > 1, inside > 0)
        .subquery()
    )
    rows = await connection.execute(
        select(c.id, c.id_number, c.school_id, c.path)
        .join(groups, groups.c.id_number == c.id_number)
        .order_by(c.id_number, c.id)
    )
    by_group: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for pk, id_number, school_id, path in rows:
        by_group[str(id_number)].append((pk, school_id, path))
    return [
        finding
        for id_number, members in by_group.items()
        for finding in per_school(
            "3",
            _digest("id", id_number),
            members,
            f"同一身份证件号有{len(members)}条学籍（{len({m[1] for m in members})}所学校）",
        )
    ]


async def _no_id_suspects(
    connection: AsyncConnection, under: str, only: ColumnElement[bool] | None = None
) -> list[Finding]:
    """Kind 4: records without an ID number sharing name, sex and birth date (``only``: just
    the groups of these rows)."""
    c = STUDENT.c
    group = (c.name, c.sex_code, c.birth_date)
    here = case((under_path(c.path, under), 1), else_=0)
    # One pass over the rows without an ID (a window per group), not a join back to the
    # whole table: the planner cannot know how many rows lack an ID after a bulk change.
    candidates = (
        select(
            c.id,
            *group,
            c.school_id,
            c.path,
            func.count().over(partition_by=group).label("size"),
            func.sum(here).over(partition_by=group).label("inside"),
        )
        .where(c.id_number.is_(None), true() if only is None else only)
        .subquery()
    )
    k = candidates.c
    rows = await connection.execute(
        select(k.id, k.name, k.sex_code, k.birth_date, k.school_id, k.path)
        .where(k.size > 1, k.inside > 0)
        .order_by(k.name, k.sex_code, k.birth_date, k.id)
    )
    by_group: dict[tuple[str, str, str], list[tuple[int, int, str]]] = defaultdict(list)
    for pk, name, sex, birth, school_id, path in rows:
        by_group[(str(name), str(sex), str(birth))].append((pk, school_id, path))
    return [
        finding
        for key, members in by_group.items()
        for finding in per_school(
            "4",
            _digest("no-id", *key),
            members,
            f"无身份证件号，姓名、性别、出生日期相同的学籍有{len(members)}条",
        )
    ]


def per_school(
    kind: str, group_key: str, members: list[tuple[int, int, str]], detail: str
) -> list[Finding]:
    """A group's finding at each of its schools, every member of the group listed."""
    everyone = tuple(pk for pk, _school, _path in members)
    schools: dict[int, str] = {}
    for _pk, school_id, path in members:
        schools.setdefault(school_id, path)  # a student's path is its school's
    return [
        Finding(kind, group_key, school_id, path, everyone, detail)
        for school_id, path in schools.items()
    ]


async def reconcile(
    connection: AsyncConnection,
    scope: list[ColumnElement[bool]],
    findings: list[Finding],
    moment: dt.datetime,
    due_days: int,
    summary: CheckSummary,
    *,
    kinds: tuple[str, ...] = KINDS,
    close: bool = True,
    cross: bool = False,
) -> None:
    """Bring the open records of ``kinds`` in ``scope`` in line with ``findings``: open the
    new, keep (and update) those found again, close the rest, unless ``close`` is false (a
    comparison that could not be completed closes nothing). Records of duplicates across
    hubs (``cross``) are reconciled only with the national hub's report, never by a local
    check."""
    r = RECORD.c
    keys = {(f.kind, f.group_key, f.school_id) for f in findings}
    group_keys = sorted({f.group_key for f in findings})
    existing: dict[tuple[str, str, int], int] = {}
    lookups = list(scope)
    for start in range(0, len(group_keys), 1000):
        lookups.append(r.group_key.in_(group_keys[start : start + 1000]))
    rows = await connection.execute(
        select(r.id, r.kind_code, r.group_key, r.school_id).where(
            r.status_code.in_(OPEN),
            r.kind_code.in_(kinds),
            or_(*lookups),
            r.group_key.startswith(CROSS) if cross else ~r.group_key.startswith(CROSS),
        )
    )
    stale: list[int] = []
    for pk, kind, group_key, school_id in rows:
        key = (kind, group_key, school_id)
        if key in keys and key not in existing:
            existing[key] = pk
        elif close or key in existing:
            stale.append(pk)  # no longer found (or a second record of one finding)
    if stale:
        for start in range(0, len(stale), 1000):
            await connection.execute(
                update(RECORD)
                .where(r.id.in_(stale[start : start + 1000]))
                .values(status_code=CLOSED, closed_at=moment)
            )
    summary.closed += len(stale)
    due = moment.date() + dt.timedelta(days=due_days)
    unseen = sorted(
        {f.group_key for f in findings if (f.kind, f.group_key, f.school_id) not in existing}
    )
    accepted = await _accepted(connection, unseen)
    fresh = [
        f
        for f in findings
        if (f.kind, f.group_key, f.school_id) not in existing
        and accepted.get((f.kind, f.group_key, f.school_id)) != frozenset(f.members)
    ]
    kept = [f for f in findings if (f.kind, f.group_key, f.school_id) in existing]
    summary.opened += len(fresh)
    summary.kept += len(kept)
    members: list[dict[str, int]] = []
    if fresh:
        new_ids = await _insert_records(connection, fresh, moment, due)
        members.extend(
            {"record_id": pk, "student_id": s}
            for pk, f in zip(new_ids, fresh, strict=True)
            for s in f.members
        )
    # A kept group may have grown or shrunk: its members and detail as found now.
    kept_ids = [existing[(f.kind, f.group_key, f.school_id)] for f in kept]
    for start in range(0, len(kept_ids), 1000):
        batch = kept_ids[start : start + 1000]
        await connection.execute(delete(MEMBER).where(MEMBER.c.record_id.in_(batch)))
    if kept:
        await connection.execute(
            update(RECORD)
            .where(r.id == bindparam("pk"))
            .values(members=bindparam("size"), detail=bindparam("text"))
            .execution_options(synchronize_session=False),
            [
                {"pk": pk, "size": len(f.members), "text": f.detail}
                for pk, f in zip(kept_ids, kept, strict=True)
            ],
        )
    for pk, f in zip(kept_ids, kept, strict=True):
        members.extend({"record_id": pk, "student_id": s} for s in f.members)
    for start in range(0, len(members), 5000):
        await connection.execute(insert(MEMBER), members[start : start + 5000])


async def _accepted(
    connection: AsyncConnection, group_keys: list[str]
) -> dict[tuple[str, str, int], frozenset[int]]:
    """Findings the county accepted on evidence (resolved, ``EVIDENCE``), with the students
    they were about, among the groups ``group_keys`` (those of findings not open now): the
    same finding about the same students is not opened again (twins with one name stay
    twins); a group that changed is a new finding."""
    found: dict[tuple[str, str, int], set[int]] = defaultdict(set)
    r, m = RECORD.c, MEMBER.c
    for start in range(0, len(group_keys), 1000):
        rows = await connection.execute(
            select(r.kind_code, r.group_key, r.school_id, m.student_id)
            .join(MEMBER, m.record_id == r.id)
            .where(
                r.group_key.in_(group_keys[start : start + 1000]),
                r.status_code == RESOLVED,
                r.resolution == "EVIDENCE",
            )
        )
        for kind, group_key, school_id, student_id in rows:
            found[(kind, group_key, school_id)].add(student_id)
    return {key: frozenset(members) for key, members in found.items()}


async def _insert_records(
    connection: AsyncConnection, fresh: list[Finding], moment: dt.datetime, due: dt.date
) -> list[int]:
    """Insert the new records in batches; their ids in the order of ``fresh``."""
    rows = [
        {
            "kind_code": f.kind,
            "status_code": "1",
            "school_id": f.school_id,
            "path": f.path,
            "group_key": f.group_key,
            "detected_at": moment,
            "due_on": due,
            "detail": f.detail,
            "members": len(f.members),
        }
        for f in fresh
    ]
    for start in range(0, len(rows), 5000):
        await connection.execute(insert(RECORD), rows[start : start + 5000])
    # The new records are the open ones of this moment: one per (kind, group, school).
    r = RECORD.c
    found = await connection.execute(
        select(r.id, r.kind_code, r.group_key, r.school_id).where(
            r.detected_at == moment, r.status_code == "1"
        )
    )
    ids = {(kind, key, school): pk for pk, kind, key, school in found}
    return [ids[(f.kind, f.group_key, f.school_id)] for f in fresh]
