"""Users (用户), their role assignments (角色授权) and the audit log (审计日志)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, BigId
from hub.db.types import PathType


class HubUser(Base):
    """A user of the hub, belonging to one org unit (所属单位)."""

    __tablename__ = "hub_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoleAssignment(Base):
    """A role held in a domain: the subtree of an org unit (Casbin ``g`` line)."""

    __tablename__ = "role_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("hub_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "role", "org_unit_id", name="uq_role_assignment_grant"),
    )


class AuditEvent(Base):
    """One audited event. Append-only: the hub's runtime role may only INSERT and SELECT it
    (PostgreSQL), a trigger refuses UPDATE and DELETE, and every row carries a hash chain
    (``hash`` = SHA-256 of its content and ``prev_hash``) that ``eduhub audit verify`` checks.
    The chain has lanes, one per writing process (``audit_chain`` holds each lane's head): a
    row links to the row before it in its lane, and ``seq``, its place there, is gapless.
    Ids are the table's sequence: unique across lanes, in the order rows were written."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(64))
    user_path: Mapped[str | None] = mapped_column(PathType)  # actor's home org unit
    operation: Mapped[str | None] = mapped_column(String(100))  # GraphQL operation name
    action: Mapped[str] = mapped_column(String(20))  # unmask, denied, grant, revoke, ...
    resource: Mapped[str] = mapped_column(String(40))
    fields: Mapped[str | None] = mapped_column(Text)  # comma-separated field names
    subjects: Mapped[str | None] = mapped_column(Text)  # JSON list of subject ids
    scope_path: Mapped[str] = mapped_column(PathType)  # smallest subtree holding the subjects
    outcome: Mapped[str] = mapped_column(String(10))  # allowed, denied
    purpose: Mapped[str | None] = mapped_column(String(200))  # stated purpose (X-Hub-Purpose)
    detail: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(String(32))
    operation_type: Mapped[str | None] = mapped_column(String(12))  # query, mutation
    root_fields: Mapped[str | None] = mapped_column(Text)  # comma-separated root fields
    user_agent: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    lane: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    seq: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_audit_event_scope_path_id", "scope_path", "id"),
        Index("ux_audit_event_lane_seq", "lane", "seq", unique=True),
    )


class AuditChain(Base):
    """The heads of the audit hash chain's lanes: one row per lane (``id``), with the place
    (``last_seq``: the lane's last ``seq``) and hash of its last row. A writer appends to its
    own process's lane, moving the head by compare and swap or after locking it (UPDATE),
    so writers of one lane append one after the other and writers of two never wait."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
