"""Problem records (问题学籍): a finding of one kind about a group of students, held by one
school (the school of the students it concerns; a group spread over schools gets a record in
each), with the students of the whole group as members."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, BigId
from hub.db.types import Code, PathType


class ProblemRecord(Base):
    """A problem record (问题学籍): kind (code set ``problem_kind``), status (``problem_status``),
    the school that must handle it, when it was found and when it is due."""

    __tablename__ = "problem_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind_code: Mapped[str] = mapped_column(Code(1))
    status_code: Mapped[str] = mapped_column(Code(1))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    path: Mapped[str] = mapped_column(PathType)  # the school's: scope and ordering
    # What the finding is about, the same at every detection: the student (kinds 1, 2, 5), a
    # SHA-256 of the normalised ID number (3) or of name, sex and birth date (4). Never the
    # value itself: the queue must not become a second copy of citizen IDs.
    group_key: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text)  # what was found, without sensitive values
    members: Mapped[int] = mapped_column(Integer)  # students in the group, all schools
    # How it was resolved (EVIDENCE, CORRECT, DELETE) once the county approved; a record
    # resolved by evidence stays resolved while its group is the same students.
    resolution: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        Index("ix_problem_record_kind_group", "kind_code", "group_key", "school_id"),
        # Detection on a write or a sync batch looks records up by group alone.
        Index("ix_problem_record_group_key", "group_key"),
        Index("ix_problem_record_path_id", "path", "id"),
    )


class ProblemMember(Base):
    """A student of a problem record's group (in any school)."""

    __tablename__ = "problem_member"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("problem_record.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("student.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProblemAction(Base):
    """One step in the handling of a problem record (处理记录), appended: a school's proposal
    (EVIDENCE, CORRECT, DELETE with a note and correction), the county's approval or return."""

    __tablename__ = "problem_action"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("problem_record.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(8))  # propose, approve, return
    action: Mapped[str | None] = mapped_column(String(8))  # EVIDENCE, CORRECT, DELETE
    note: Mapped[str | None] = mapped_column(String(500))
    correction: Mapped[str | None] = mapped_column(Text)  # JSON, for CORRECT and DELETE

    __table_args__ = (Index("ix_problem_action_record_id_id", "record_id", "id"),)
