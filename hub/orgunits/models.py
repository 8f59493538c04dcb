from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import PathType


class OrgLevel(enum.Enum):
    """Administrative level (管理层级)."""

    NATIONAL = "NATIONAL"
    PROVINCE = "PROVINCE"
    CITY = "CITY"
    COUNTY = "COUNTY"
    SCHOOL = "SCHOOL"


class OrgUnit(Base):
    """One node of the administration tree. ``path`` is the materialised path of codes ending
    in ``/``, e.g. ``/CN/44/4401/440106/4144000001/``: a subtree is one prefix range."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[OrgLevel] = mapped_column(
        Enum(OrgLevel, name="org_level", native_enum=False, length=10)
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    path: Mapped[str] = mapped_column(PathType, unique=True)
    # GB/T 2260 six-digit division code for administrative units (行政区划代码).
    division_code: Mapped[str | None] = mapped_column(String(6))

    __table_args__ = (Index("ix_org_unit_level_path", "level", "path"),)
