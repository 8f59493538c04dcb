"""Sync bookkeeping: runs with their checkpoint, and rejected rows with their reasons."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, BigId


class SyncRun(Base):
    """One run of ``eduhub sync SOURCE ENTITY``; ``last_key`` is its checkpoint."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))  # running, done, failed
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_key: Mapped[str | None] = mapped_column(String(64))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why a failed run stopped

    __table_args__ = (Index("ix_sync_run_source_entity", "source", "entity", "id"),)


class SyncRejection(Base):
    """A source row the hub refused, with every reason and the row as delivered."""

    __tablename__ = "sync_rejection"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_run.id"), index=True)
    source: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    source_key: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of {field, value, problem}
    raw: Mapped[str] = mapped_column(Text)  # JSON of the source row
