from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import Code, PathType


class Building(Base):
    """A school building (校舍)."""

    __tablename__ = "building"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # 建筑物编号
    name: Mapped[str] = mapped_column(String(100))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    path: Mapped[str] = mapped_column(PathType)
    use_code: Mapped[str | None] = mapped_column(Code(2))  # 用途
    use_status_code: Mapped[str | None] = mapped_column(Code(1))  # 使用状况
    ownership_code: Mapped[str | None] = mapped_column(Code(1))  # 产权
    structure_code: Mapped[str | None] = mapped_column(Code(2))  # 结构类型
    storeys: Mapped[int | None] = mapped_column(Integer)  # 层数
    built_on: Mapped[str | None] = mapped_column(String(7))  # 建成年月 YYYY-MM
    investment: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # 总投资(万元)
    funding_source_code: Mapped[str | None] = mapped_column(Code(2))  # 经费来源
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 建筑面积 m²
    usable_area: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 使用面积
    seismic_intensity_code: Mapped[str | None] = mapped_column(Code(1))  # 抗震设防烈度
    seismic_category_code: Mapped[str | None] = mapped_column(Code(1))  # 抗震设防类别
    design_life_years: Mapped[int | None] = mapped_column(Integer)  # 设计使用年限
    deed_number: Mapped[str | None] = mapped_column(String(50))  # 产权证号
    danger_rating_code: Mapped[str | None] = mapped_column(Code(1))  # 危房鉴定等级 A/B/C/D
    appraisal_org: Mapped[str | None] = mapped_column(String(100))  # 鉴定单位
    appraisal_document: Mapped[str | None] = mapped_column(String(50))  # 鉴定文号
    appraised_on: Mapped[dt.date | None] = mapped_column(Date)  # 鉴定日期
    retrofitted_on: Mapped[dt.date | None] = mapped_column(Date)  # 最近加固日期
    emergency_shelter: Mapped[bool | None] = mapped_column(Boolean)  # 是否应急避难场所
    area_teaching: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 教学及辅助用房
    area_living: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 生活用房
    area_admin: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 行政办公用房
    area_other: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 其他用房
    # Where a synced record came from (NULL: entered in the hub) and its key there.
    sync_source: Mapped[str | None] = mapped_column(String(40))
    sync_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_building_school_id_id", "school_id", "id", postgresql_include=["path"]),
        Index("ix_building_path_id", "path", "id"),
        UniqueConstraint("sync_source", "sync_key", name="uq_building_sync_key"),
    )
