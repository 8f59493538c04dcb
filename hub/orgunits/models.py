from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, String
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
    # The day this version of the unit (its code, name and place in the tree) took effect;
    # NULL: as far back as the hub knows. Earlier versions are OrgUnitVersion rows.
    valid_from: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_org_unit_level_path", "level", "path"),)


class OrgUnitVersion(Base):
    """A past version of an org unit (历史区划/机构版本): the code, name, level and path it had
    from ``valid_from`` (NULL: as far back as known) until the day before ``valid_to``.

    GB/T 2260 codes change (a county merged into a district, a county renamed a district
    with a new code): the tree of a past day is the current units that had taken effect by
    then and the versions in force that day. ``unit_id`` is the current unit the version
    lives on as: the unit itself (a school moved with its county) or the unit it was merged
    into."""

    __tablename__ = "org_unit_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[OrgLevel] = mapped_column(
        Enum(OrgLevel, name="org_level", native_enum=False, length=10)
    )
    path: Mapped[str] = mapped_column(PathType)
    division_code: Mapped[str | None] = mapped_column(String(6))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)  # the first day it no longer held
    change: Mapped[str] = mapped_column(String(200))  # 变更说明, e.g. 并入 440106 某区

    __table_args__ = (
        Index("ix_org_unit_version_code", "code"),
        Index("ix_org_unit_version_valid", "valid_to", "valid_from"),
    )
