"""Writes to student records (学籍维护): enrolment, corrections, change requests and their
review by the level above (审核), deletion of a duplicate record.

Rules:
- a school enrols a pupil (``student/write`` at the school); the hub gives an ``L`` number.
  A pupil is never refused for a record problem: an invalid or duplicate ID is admitted and
  gets a problem record (detection runs on every write, for the rows touched);
- fields other than identity apply at once; identity fields (name, sex, birth date, ID type
  and number) changed by someone who may not approve above the school become a change
  request (学籍变更申请), in force once a reviewer holding ``student/approve`` above the
  school (the county or higher) approves it; one waits per student at a time;
- input is checked field by field and refused whole: nothing is written if one field is
  wrong. Every change is logged (``hub.changes.log``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update

from hub.changes.log import Change, append, dumps
from hub.codes.identity import normalise
from hub.codes.registry import CodeRegistry
from hub.db.base import table_of
from hub.errors import Conflict, Forbidden, NotFound
from hub.quality.checks import OPEN
from hub.quality.models import ProblemMember, ProblemRecord
from hub.schools.models import Class, School
from hub.students.models import ChangeRequest, Guardian, StatusChange, Student, StudentArchive
from hub.students.numbers import temporary_numbers
from hub.writes import FieldProblem, InvalidInput, Writer, camel, refuse

STUDENT = table_of(Student)
SCHOOL = table_of(School)
CLASS = table_of(Class)
REQUEST = table_of(ChangeRequest)
ARCHIVE = table_of(StudentArchive)
GUARDIAN = table_of(Guardian)
MEMBER = table_of(ProblemMember)
RECORD = table_of(ProblemRecord)
STATUS_CHANGE = table_of(StatusChange)

ENTITY = "Student"
IDENTITY = ("name", "sex_code", "birth_date", "id_type_code", "id_number")
PENDING, APPROVED, REFUSED = "1", "2", "3"  # code set change_request_status
ENROLLED = "01"  # 在读
REGISTERED = "11"  # 异动类别 入学注册
NO_ID_NUMBER_TYPE = "Z"  # 其他: no number required

# Writable fields by kind (the model's names). Status changes (transfers, graduation) are
# 学籍异动, not corrections: ``status_code`` and ``school_id`` are not written here.
TEXT = {
    "name": 50,
    "name_pinyin": 100,
    "former_name": 50,
    "id_number": 30,
    "current_address": 200,
    "mailing_address": 200,
    "home_address": 200,
    "phone": 20,
    "postcode": 6,
    "email": 100,
    "local_number": 30,
}
CODED = {
    "sex_code": "sex",
    "ethnicity_code": "ethnicity",
    "nationality_code": "nationality",
    "id_type_code": "id_type",
    "birthplace_code": "division",
    "native_place_code": "division",
    "household_place_code": "division",
    "health_code": "health",
    "household_type_code": "household_type",
    "overseas_status_code": "overseas_status",
    "political_status_code": "political_status",
    "grade_code": "grade",
    "enrolment_mode_code": "enrolment_mode",
    "attendance_mode_code": "attendance_mode",
    "source_code": "student_source",
    "left_behind_code": "left_behind",
    "disability_code": "disability",
    "travel_mode_code": "travel_mode",
}
FLAGS = (
    "only_child",
    "had_preschool",
    "migrant_child",
    "orphan",
    "martyr_child",
    "inclusive_education",
    "government_place",
    "needs_aid",
    "living_subsidy",
    "needs_school_bus",
)
DATES = ("birth_date", "id_valid_until")
OTHER = ("enrolled_on", "class_id", "in_class_number", "distance_km")
WRITABLE = frozenset((*TEXT, *CODED, *FLAGS, *DATES, *OTHER))
REQUIRED = ("name", "sex_code", "birth_date", "grade_code")
YEAR_MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$")
OLDEST_PUPIL_YEARS = 30


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    applied: tuple[str, ...]  # fields changed at once
    request_id: int | None  # the change request waiting for review (identity fields)


def validate(
    data: Mapping[str, Any], codes: CodeRegistry, today: dt.date
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The values as they would be stored, and every problem with them (all fields at once)."""
    clean: dict[str, Any] = {}
    problems: list[FieldProblem] = []

    def wrong(name: str, message: str) -> None:
        problems.append(FieldProblem(name, f"'{camel(name)}': {message}"))

    for name, value in data.items():
        if name not in WRITABLE:
            wrong(name, "not a field that can be written here")
            continue
        if value is None:
            if name in REQUIRED:
                wrong(name, "required, cannot be cleared")
            else:
                clean[name] = None
            continue
        if name in TEXT:
            text = normalise(str(value)) if name == "id_number" else str(value).strip()
            if name in REQUIRED and not text:
                wrong(name, "required, must not be blank")
            elif len(text) > TEXT[name]:
                wrong(name, f"at most {TEXT[name]} characters, got {len(text)}")
            else:
                clean[name] = text or None
        elif name in CODED:
            code = str(value).strip()
            if not codes.contains(CODED[name], code):
                wrong(name, f"unknown code {code!r} (code set {CODED[name]})")
            else:
                clean[name] = code
        elif name in FLAGS:
            clean[name] = bool(value)
        elif name in DATES:
            if not isinstance(value, dt.date):
                wrong(name, f"expected a date, got {value!r}")
            elif name == "birth_date" and value > today:
                wrong(name, f"impossible birth date {value.isoformat()}: in the future")
            elif name == "birth_date" and value.year < today.year - OLDEST_PUPIL_YEARS:
                wrong(
                    name,
                    f"impossible birth date {value.isoformat()}: a pupil older than"
                    f" {OLDEST_PUPIL_YEARS} years",
                )
            else:
                clean[name] = value
        elif name == "enrolled_on":
            if not YEAR_MONTH.match(str(value)):
                wrong(name, f"expected YYYY-MM, got {value!r}")
            else:
                clean[name] = str(value)
        elif name == "in_class_number":
            if not isinstance(value, int) or not 0 < value < 1000:
                wrong(name, f"expected a number from 1 to 999, got {value!r}")
            else:
                clean[name] = value
        elif name == "distance_km":
            try:
                distance = Decimal(str(value))
            except ArithmeticError:
                distance = Decimal(-1)
            if not Decimal(0) <= distance < Decimal(10000):
                wrong(name, f"expected kilometres from 0 to 9999.99, got {value!r}")
            else:
                clean[name] = distance.quantize(Decimal("0.01"))
        else:  # class_id: checked against the school by the caller
            clean[name] = value
    return clean, problems


def identity_problems(record: Mapping[str, Any]) -> list[FieldProblem]:
    """ID type and number go together (a number needs its type; only type Z has none). The
    number's validity is not checked here: an invalid ID is admitted and becomes a problem
    record, never a refusal."""
    id_type, number = record.get("id_type_code"), record.get("id_number")
    if number is not None and id_type is None:
        return [FieldProblem("id_type_code", "'idTypeCode': required when 'idNumber' is given")]
    if id_type is not None and id_type != NO_ID_NUMBER_TYPE and number is None:
        return [
            FieldProblem(
                "id_number", f"'idNumber': required for ID type {id_type!r} (only Z has none)"
            )
        ]
    return []


async def _school(w: Writer, school_id: int) -> Any:
    row = (
        await w.session.execute(
            select(SCHOOL.c.id, SCHOOL.c.path, SCHOOL.c.division_code).where(
                SCHOOL.c.id == school_id
            )
        )
    ).first()
    if row is None or not w.access.may("school", "read", row.path):
        raise refuse("school_id", "'schoolId': no such school", "NOT_FOUND")
    if not w.access.may("student", "write", row.path):
        raise refuse(
            "school_id",
            "'schoolId': the school is outside the subtree where you may write student records",
            "FORBIDDEN",
        )
    return row


async def _check_class(w: Writer, class_id: int | None, school_id: int) -> list[FieldProblem]:
    if class_id is None:
        return []
    found = (
        await w.session.execute(select(CLASS.c.school_id).where(CLASS.c.id == class_id))
    ).scalar()
    if found != school_id:
        return [FieldProblem("class_id", "'classId': no such class at the student's school")]
    return []


async def enrol(w: Writer, school_id: int, data: Mapping[str, Any]) -> int:
    """Enrol a pupil at a school (新生注册): a new record with an ``L`` number; returns its id."""
    school = await _school(w, school_id)
    clean, problems = validate(data, w.codes, w.now.date())
    missing = [n for n in REQUIRED if n not in data]
    problems.extend(FieldProblem(n, f"'{camel(n)}': required") for n in missing)
    clean.setdefault("nationality_code", "CHN")
    problems.extend(identity_problems(clean))
    problems.extend(await _check_class(w, clean.get("class_id"), school.id))
    if problems:
        raise InvalidInput(problems)
    connection = await w.connection()
    place = (school.division_code, clean["birth_date"])
    (number,) = (await temporary_numbers(connection, {place: 1}))[place]
    record = {
        **clean,
        "student_number": number,
        "school_id": school.id,
        "path": school.path,
        "status_code": ENROLLED,
    }
    result = await connection.execute(insert(STUDENT).values(record).returning(STUDENT.c.id))
    pk = int(result.scalar_one())
    # The roll's history: from today the pupil is on it (入学注册), so figures as of an
    # earlier day leave the pupil out (hub/students/history.py).
    await connection.execute(
        insert(STATUS_CHANGE).values(
            student_id=pk,
            path=school.path,
            type_code=REGISTERED,
            status_before_code=None,
            status_after_code=ENROLLED,
            occurred_on=w.now.date(),
            approved_on=w.now.date(),
            handler=w.actor[:50],
            to_school_id=school.id,
            grade_after_code=clean["grade_code"],
        )
    )
    await append(
        connection,
        [Change(ENTITY, pk, school.path, "insert", record)],
        actor=w.actor,
        origin=w.origin,
        at=w.now,
    )
    await w.check([pk])
    return pk


async def student_row(w: Writer, student_id: int, action: str = "write") -> Any:
    row = (await w.session.execute(select(STUDENT).where(STUDENT.c.id == student_id))).first()
    if row is None or not w.access.may("student", "read", row.path):
        raise NotFound(f"student {student_id} not found")
    if not w.access.may("student", action, row.path):
        raise Forbidden(f"you may not {action} the records of this student's school")
    return row


def parent_path(path: str) -> str:
    """The unit above a school (its county): ``/CN/44/4401/440103/S/`` → ``…/440103/``."""
    return path[: path.rstrip("/").rindex("/") + 1]


def may_approve(w: Writer, path: str) -> bool:
    """Whether the writer reviews records of the school at ``path``: ``student/approve``
    held above the school (at its county or higher), not at the school itself."""
    return w.access.may("student", "approve", parent_path(path))


async def correct(
    w: Writer, student_id: int, data: Mapping[str, Any], reason: str | None = None
) -> UpdateOutcome:
    """Correct a student record (学籍信息变更). Changed identity fields wait for review unless
    the writer may approve them; the other fields apply at once."""
    row = await student_row(w, student_id)
    clean, problems = validate(data, w.codes, w.now.date())
    current = dict(row._mapping)
    changed = {k: v for k, v in clean.items() if current.get(k) != v}
    problems.extend(identity_problems({**current, **changed}))
    problems.extend(await _check_class(w, changed.get("class_id"), row.school_id))
    if problems:
        raise InvalidInput(problems)
    identity = {k: v for k, v in changed.items() if k in IDENTITY}
    at_once = {k: v for k, v in changed.items() if k not in IDENTITY}
    request_id = None
    if identity and not may_approve(w, row.path):
        request_id = await _request(w, row, identity, reason)
    else:
        at_once.update(identity)
    await apply(w, row, at_once)
    return UpdateOutcome(tuple(sorted(at_once)), request_id)


async def apply(w: Writer, row: Any, changes: Mapping[str, Any]) -> None:
    """Write ``changes`` to the student ``row``, log them, and re-run the checks of the
    student and its groups when an identity field changed."""
    if not changes:
        return
    connection = await w.connection()
    await connection.execute(update(STUDENT).where(STUDENT.c.id == row.id).values(dict(changes)))
    await append(
        connection,
        [Change(ENTITY, row.id, row.path, "update", changes)],
        actor=w.actor,
        origin=w.origin,
        at=w.now,
    )
    if any(name in IDENTITY for name in changes):
        await w.check([row.id])


async def _request(w: Writer, row: Any, identity: Mapping[str, Any], reason: str | None) -> int:
    waiting = (
        await w.session.execute(
            select(REQUEST.c.id).where(
                REQUEST.c.student_id == row.id, REQUEST.c.status_code == PENDING
            )
        )
    ).scalar()
    if waiting is not None:
        raise Conflict(
            f"a change request for this student is already waiting for review (request"
            f" {waiting}); it must be reviewed before another is made"
        )
    current = dict(row._mapping)
    changes = {k: [current.get(k), v] for k, v in identity.items()}
    result = await w.session.execute(
        insert(REQUEST)
        .values(
            student_id=row.id,
            path=row.path,
            changes=dumps(changes),
            reason=(reason or None) and reason[:500],
            status_code=PENDING,
            requested_by=w.actor,
            requested_at=w.now,
        )
        .returning(REQUEST.c.id)
    )
    return int(result.scalar_one())


def stored(name: str, value: Any) -> Any:
    """A value of a change request's JSON as the column holds it."""
    if value is not None and name in DATES:
        return dt.date.fromisoformat(value)
    return value


async def review(w: Writer, request_id: int, approve: bool, note: str | None) -> str:
    """Approve or refuse a change request; returns its new status. Approval applies the
    changes as asked, unless the record changed meanwhile (then CONFLICT: ask again)."""
    request = (await w.session.execute(select(REQUEST).where(REQUEST.c.id == request_id))).first()
    if request is None or not w.access.may("student", "read", request.path):
        raise NotFound(f"change request {request_id} not found")
    if not may_approve(w, request.path):
        raise Forbidden(
            "reviewing a change request needs 'approve' on student records above the school"
            " (the county or higher)"
        )
    if request.requested_by == w.actor:
        raise Forbidden("a change request is reviewed by someone other than its requester")
    if request.status_code != PENDING:
        raise Conflict(f"change request {request_id} has already been reviewed")
    status = APPROVED if approve else REFUSED
    if approve:
        row = await student_row(w, request.student_id, "read")
        asked = orjson.loads(request.changes)
        current = dict(row._mapping)
        moved = [k for k, (before, _after) in asked.items() if current.get(k) != stored(k, before)]
        if moved:
            raise Conflict(
                "the record changed since the request was made ("
                + ", ".join(camel(k) for k in moved)
                + "): refuse it and ask again"
            )
        await apply(w, row, {k: stored(k, after) for k, (_before, after) in asked.items()})
    await w.session.execute(
        update(REQUEST)
        .where(REQUEST.c.id == request_id)
        .values(
            status_code=status,
            reviewed_by=w.actor,
            reviewed_at=w.now,
            review_note=(note or None) and note[:500],
        )
    )
    return status


async def delete_record(w: Writer, student_id: int, reason: str) -> None:
    """Delete a student record (a duplicate), keeping it whole in ``student_archive``: the
    row, its family members and its status changes; the deletion is logged."""
    row = await student_row(w, student_id, "read")
    connection = await w.connection()
    guardians = (
        await connection.execute(select(GUARDIAN).where(GUARDIAN.c.student_id == student_id))
    ).all()
    history = (
        await connection.execute(
            select(STATUS_CHANGE).where(STATUS_CHANGE.c.student_id == student_id)
        )
    ).all()
    record = {
        "student": dict(row._mapping),
        "guardians": [dict(g._mapping) for g in guardians],
        "status_changes": [dict(h._mapping) for h in history],
    }
    await connection.execute(
        insert(ARCHIVE).values(
            student_id=row.id,
            student_number=row.student_number,
            path=row.path,
            deleted_at=w.now,
            deleted_by=w.actor,
            reason=reason[:500],
            record=dumps(record),
        )
    )
    # The other students of its open groups: their records are reconciled without it.
    m, r = MEMBER.c, RECORD.c
    others = (
        await connection.execute(
            select(m.student_id)
            .join(RECORD, r.id == m.record_id)
            .where(
                r.status_code.in_(OPEN),
                m.record_id.in_(select(m.record_id).where(m.student_id == student_id)),
                m.student_id != student_id,
            )
        )
    ).scalars()
    others_ids = sorted(set(others))
    await connection.execute(delete(STUDENT).where(STUDENT.c.id == student_id))
    await append(
        connection,
        [Change(ENTITY, row.id, row.path, "delete", {})],
        actor=w.actor,
        origin=w.origin,
        at=w.now,
    )
    await w.check(others_ids)
