"""Key/value facts about the loaded data set (e.g. which demo seed built it)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class HubMeta(Base):
    __tablename__ = "hub_meta"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
