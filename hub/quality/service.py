"""Handling problem records (问题学籍处理): the school proposes, the county decides.

- ``propose`` (the school, ``student/write`` at the record's school): evidence (佐证: the
  finding is right about the data but the data is right, e.g. twins), a correction of one of
  the group's students at the school (变更), or the deletion of a duplicate record there
  (删除). The record waits for review (待审核).
- ``decide`` (``student/approve`` above the school, not the proposer): approval carries the
  proposal out. Evidence resolves the record (已解决) and the same finding about the same
  students is not opened again; a correction is applied and the checks re-run: if the
  finding no longer applies the record is resolved, otherwise it goes back to the school
  (已退回) saying so; a deletion archives the record (``student_archive``) and the group is
  checked again without it. A return sends the record back with the reviewer's note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from hub.changes.log import dumps
from hub.db.base import table_of
from hub.errors import Conflict, Forbidden, NotFound
from hub.quality.models import ProblemAction, ProblemMember, ProblemRecord
from hub.students import service as students
from hub.writes import FieldProblem, InvalidInput, Writer, refuse

RECORD = table_of(ProblemRecord)
MEMBER = table_of(ProblemMember)
ACTION = table_of(ProblemAction)

PENDING, IN_REVIEW, RETURNED, RESOLVED, CLOSED = "1", "2", "3", "4", "5"
ACTIONS = ("EVIDENCE", "CORRECT", "DELETE")


async def _record(w: Writer, record_id: int) -> Any:
    row = (await w.session.execute(select(RECORD).where(RECORD.c.id == record_id))).first()
    if row is None or not w.access.may("student", "read", row.path):
        raise NotFound(f"problem record {record_id} not found")
    return row


async def _member_here(w: Writer, record: Any, student_id: int | None, where: str) -> Any:
    """A student of the record's group at the record's school (the school acts on its own)."""
    if student_id is None:
        raise refuse(where, f"'{where}': the student to act on is required")
    found = (
        await w.session.execute(
            select(MEMBER.c.student_id).where(
                MEMBER.c.record_id == record.id, MEMBER.c.student_id == student_id
            )
        )
    ).first()
    if found is None:
        raise refuse(where, f"'{where}': not a student of this problem record", "NOT_FOUND")
    row = await students.student_row(w, student_id, "read")
    if row.school_id != record.school_id:
        raise refuse(
            where, f"'{where}': that student is at another school; its own record is handled there"
        )
    return row


async def propose(
    w: Writer,
    record_id: int,
    action: str,
    note: str | None,
    student_id: int | None = None,
    correction: Mapping[str, Any] | None = None,
) -> None:
    """The school's proposal (处理意见) for an open record."""
    record = await _record(w, record_id)
    if not w.access.may("student", "write", record.path):
        raise Forbidden("proposing how a problem record is handled needs 'write' at its school")
    if record.status_code not in (PENDING, RETURNED):
        raise Conflict(
            f"problem record {record_id} is not waiting for the school (status"
            f" {record.status_code}): only pending or returned records take a proposal"
        )
    if action not in ACTIONS:
        raise refuse("action", f"'action': one of {', '.join(ACTIONS)}, got {action!r}")
    text = (note or "").strip()
    detail: dict[str, Any] = {}
    if action == "EVIDENCE":
        if not text:
            raise refuse("note", "'note': evidence needs a note saying what it is (佐证说明)")
    elif action == "CORRECT":
        row = await _member_here(w, record, student_id, "studentId")
        clean, problems = students.validate(correction or {}, w.codes, w.now.date())
        if not clean and not problems:
            problems.append(FieldProblem("correction", "'correction': no field to correct"))
        problems.extend(students.identity_problems({**dict(row._mapping), **clean}))
        if problems:
            raise InvalidInput(problems)
        detail = {"student_id": row.id, "fields": clean}
    else:  # DELETE: a duplicate record; the group keeps another
        row = await _member_here(w, record, student_id, "studentId")
        if record.kind_code not in ("3", "4") or record.members < 2:
            raise refuse(
                "action", "'action': DELETE removes a duplicate record: only for kinds 3 and 4"
            )
        detail = {"student_id": row.id, "student_number": row.student_number}
    await _act(w, record_id, "propose", action, text or None, detail or None)
    await _status(w, record_id, IN_REVIEW)


async def decide(w: Writer, record_id: int, approve: bool, note: str | None) -> str:
    """The county's decision on the proposal; returns the record's new status."""
    record = await _record(w, record_id)
    if not students.may_approve(w, record.path):
        raise Forbidden(
            "deciding on a problem record needs 'approve' on student records above the school"
            " (the county or higher)"
        )
    if record.status_code != IN_REVIEW:
        raise Conflict(f"problem record {record_id} has no proposal waiting for review")
    proposal = (
        await w.session.execute(
            select(ACTION)
            .where(ACTION.c.record_id == record_id, ACTION.c.step == "propose")
            .order_by(ACTION.c.id.desc())
            .limit(1)
        )
    ).one()
    if proposal.actor == w.actor:
        raise Forbidden("a proposal is decided by someone other than its proposer")
    text = (note or "").strip() or None
    if not approve:
        await _act(w, record_id, "return", proposal.action, text, None)
        await _status(w, record_id, RETURNED)
        return RETURNED
    await _act(w, record_id, "approve", proposal.action, text, None)
    detail = orjson.loads(proposal.correction) if proposal.correction else {}
    if proposal.action == "EVIDENCE":
        await _status(w, record_id, RESOLVED, resolution="EVIDENCE")
        return RESOLVED
    if proposal.action == "CORRECT":
        row = await students.student_row(w, int(detail["student_id"]), "read")
        fields = {k: students.stored(k, v) for k, v in detail["fields"].items()}
        changed = {k: v for k, v in fields.items() if dict(row._mapping).get(k) != v}
        await students.apply(w, row, changed)
        if not any(name in students.IDENTITY for name in changed):  # apply re-checked those
            await w.check([row.id])
    else:
        reason = f"问题学籍 {record_id}：删除重复学籍" + (f"（{text}）" if text else "")
        await students.delete_record(w, int(detail["student_id"]), reason)
    status = (
        await w.session.execute(select(RECORD.c.status_code).where(RECORD.c.id == record_id))
    ).scalar()
    if status == CLOSED or status is None:  # the finding no longer applies
        await _status(w, record_id, RESOLVED, resolution=proposal.action)
        return RESOLVED
    await _act(w, record_id, "return", proposal.action, "处理后问题仍然存在，请重新处理", None)
    await _status(w, record_id, RETURNED)
    return RETURNED


async def _act(
    w: Writer,
    record_id: int,
    step: str,
    action: str | None,
    note: str | None,
    correction: Mapping[str, Any] | None,
) -> None:
    await w.session.execute(
        insert(ACTION).values(
            record_id=record_id,
            at=w.now,
            actor=w.actor,
            step=step,
            action=action,
            note=note and note[:500],
            correction=None if correction is None else dumps(correction),
        )
    )


async def _status(w: Writer, record_id: int, status: str, resolution: str | None = None) -> None:
    values: dict[str, Any] = {"status_code": status}
    if status == RESOLVED:
        values.update(resolution=resolution, closed_at=w.now)
    await w.session.execute(update(RECORD).where(RECORD.c.id == record_id).values(values))
