from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base
from hub.db.types import Code, PathType


class Teacher(Base):
    """A teacher or other staff member (教职工); ``is_teacher``: a full-time teacher (专任教师)."""

    __tablename__ = "teacher"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_number: Mapped[str] = mapped_column(String(20), unique=True)  # 教职工号
    name: Mapped[str] = mapped_column(String(50))
    sex_code: Mapped[str] = mapped_column(Code(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    ethnicity_code: Mapped[str] = mapped_column(Code(2))
    nationality_code: Mapped[str] = mapped_column(Code(3))
    id_type_code: Mapped[str] = mapped_column(Code(1))
    id_number: Mapped[str | None] = mapped_column(String(30), index=True)
    political_status_code: Mapped[str | None] = mapped_column(Code(2))
    phone: Mapped[str | None] = mapped_column(String(20))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    path: Mapped[str] = mapped_column(PathType)
    is_teacher: Mapped[bool] = mapped_column(Boolean)
    education_code: Mapped[str] = mapped_column(Code(2))  # 最高学历
    started_work: Mapped[str | None] = mapped_column(String(7))  # 参加工作年月
    joined_school: Mapped[str | None] = mapped_column(String(7))  # 进本校年月
    started_teaching: Mapped[str | None] = mapped_column(String(7))  # 从教年月
    staffing_code: Mapped[str] = mapped_column(Code(1))  # 编制类别
    post_code: Mapped[str] = mapped_column(Code(2))  # 岗位类别
    teaching_stage_code: Mapped[str | None] = mapped_column(Code(2))  # 任教学段
    subject_code: Mapped[str | None] = mapped_column(Code(2))  # 任教学科
    title_code: Mapped[str] = mapped_column(Code(3))  # 专业技术职务
    status_code: Mapped[str] = mapped_column(Code(2))  # 当前状态

    __table_args__ = (
        Index("ix_teacher_school_id_id", "school_id", "id", postgresql_include=["path"]),
        Index("ix_teacher_path_id", "path", "id"),
    )
