from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import Code, PathType


class School(Base):
    """School record (学校基本信息), DATA.md §5."""

    __tablename__ = "school"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), unique=True)
    # Ten-digit school identification code issued by the MoE (学校标识码).
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(PathType, index=True)
    division_code: Mapped[str] = mapped_column(String(6))
    type_code: Mapped[str | None] = mapped_column(Code(3))
    ownership_code: Mapped[str | None] = mapped_column(Code(2))
    urban_rural_code: Mapped[str | None] = mapped_column(Code(3))
    address: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(6))
    founded_on: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM
    organisation_code: Mapped[str | None] = mapped_column(String(18))
    head_name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    teaching_language: Mapped[str | None] = mapped_column(String(20))
    entry_age: Mapped[int | None] = mapped_column(Integer)
    primary_years: Mapped[int | None] = mapped_column(Integer)
    junior_years: Mapped[int | None] = mapped_column(Integer)
    # Where a synced record came from (NULL: entered in the hub) and its key there.
    sync_source: Mapped[str | None] = mapped_column(String(40))
    sync_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("sync_source", "sync_key", name="uq_school_sync_key"),)


class Class(Base):
    """A class (班级) of a school in one grade."""

    __tablename__ = "class"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    path: Mapped[str] = mapped_column(PathType, index=True)
    grade_code: Mapped[str] = mapped_column(Code(2))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    entry_year: Mapped[int] = mapped_column(Integer)
    # The building the class is taught in (所在教学楼); None where the source does not say.
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)

    # In the order a school's classes are listed (grade, number, then id).
    __table_args__ = (
        Index("ix_class_school_grade_number_id", "school_id", "grade_code", "number", "id"),
    )
