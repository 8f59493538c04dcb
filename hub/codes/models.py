from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base


class CodeValue(Base):
    """One member of a code set (代码集成员)."""

    __tablename__ = "code_value"

    code_set: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class DivisionName(Base):
    """A GB/T 2260 division code and its name (行政区划名称), as the hub labels it: filled by
    migration 0006 from python-stdnum's table, so SQL (the compiled read path) and Python
    label a code alike."""

    __tablename__ = "division_name"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
