from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import Code, PathType


class Asset(Base):
    """An asset or piece of equipment (资产/仪器设备), classified under GB/T 14885."""

    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)  # 资产编号
    name: Mapped[str] = mapped_column(String(100))
    category_code: Mapped[str] = mapped_column(Code(7))  # 资产分类 GB/T 14885
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    path: Mapped[str] = mapped_column(PathType)
    room: Mapped[str | None] = mapped_column(String(50))  # 存放地点
    quantity: Mapped[int] = mapped_column(Integer)
    unit_value: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 单价(元)
    total_value: Mapped[Decimal] = mapped_column(Numeric(16, 2))  # 总价(元)
    acquired_on: Mapped[dt.date] = mapped_column(Date)  # 取得日期
    funding_source_code: Mapped[str | None] = mapped_column(Code(2))
    status_code: Mapped[str] = mapped_column(Code(1))  # 使用状况
    responsible_person: Mapped[str | None] = mapped_column(String(50))  # 责任人

    __table_args__ = (
        Index("ix_asset_school_id_id", "school_id", "id", postgresql_include=["path"]),
        Index("ix_asset_building_id_id", "building_id", "id", postgresql_include=["path"]),
        Index("ix_asset_path_id", "path", "id"),
        Index("ix_asset_category_code", "category_code"),
    )
