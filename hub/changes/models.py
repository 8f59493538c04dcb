"""The change log (变更记录), appended in the transaction of the change it records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, BigId
from hub.db.types import PathType


class ChangeEvent(Base):
    """One insert, update or delete of a row of the store: the entity (GraphQL type name),
    the row's key, where it is (its path after the change; before it, for a delete), who
    changed it, and the fields as they are after the change (JSON; all of them for an
    insert, the changed ones for an update, none for a delete)."""

    __tablename__ = "change_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigId)
    path: Mapped[str] = mapped_column(PathType)
    action: Mapped[str] = mapped_column(String(8))  # insert, update, delete
    fields: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(40))  # graphql, sync:NAME, quality, numbers

    __table_args__ = (Index("ix_change_event_path_id", "path", "id"),)
