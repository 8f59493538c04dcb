from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, BigId
from hub.db.types import Code, PathType


class Student(Base):
    """Student record (学生学籍), DATA.md §3. Column comments name the national field."""

    __tablename__ = "student"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Person (个人基本信息)
    student_number: Mapped[str] = mapped_column(String(20), unique=True)  # 全国学籍号
    # The temporary (L) number a permanent G/J number replaced (原临时学籍号): kept, so
    # lookups by either find the student.
    former_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    local_number: Mapped[str | None] = mapped_column(String(30))  # 学籍辅号
    name: Mapped[str] = mapped_column(String(50))  # 姓名
    name_pinyin: Mapped[str | None] = mapped_column(String(100))  # 姓名拼音
    former_name: Mapped[str | None] = mapped_column(String(50))  # 曾用名
    sex_code: Mapped[str] = mapped_column(Code(1))  # 性别码 GB/T 2261.1
    birth_date: Mapped[dt.date] = mapped_column(Date)  # 出生日期
    birthplace_code: Mapped[str | None] = mapped_column(Code(6))  # 出生地 GB/T 2260
    native_place_code: Mapped[str | None] = mapped_column(Code(6))  # 籍贯
    ethnicity_code: Mapped[str | None] = mapped_column(Code(2))  # 民族码 GB 3304
    nationality_code: Mapped[str | None] = mapped_column(Code(3))  # 国籍 GB/T 2659
    id_type_code: Mapped[str | None] = mapped_column(Code(1))  # 身份证件类型
    id_number: Mapped[str | None] = mapped_column(String(30), index=True)  # 身份证件号
    id_valid_until: Mapped[dt.date | None] = mapped_column(Date)  # 身份证件有效期
    overseas_status_code: Mapped[str | None] = mapped_column(Code(2))  # 港澳台侨外
    political_status_code: Mapped[str | None] = mapped_column(Code(2))  # 政治面貌
    health_code: Mapped[str | None] = mapped_column(Code(2))  # 健康状况
    # Residence (户籍与住址)
    household_place_code: Mapped[str | None] = mapped_column(Code(6))  # 户口所在地
    household_type_code: Mapped[str | None] = mapped_column(Code(1))  # 户口性质
    current_address: Mapped[str | None] = mapped_column(String(200))  # 现住址
    mailing_address: Mapped[str | None] = mapped_column(String(200))  # 通信地址
    home_address: Mapped[str | None] = mapped_column(String(200))  # 家庭地址
    phone: Mapped[str | None] = mapped_column(String(20))  # 联系电话
    postcode: Mapped[str | None] = mapped_column(String(6))  # 邮政编码
    email: Mapped[str | None] = mapped_column(String(100))  # 电子信箱
    # Schooling (学籍信息)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("class.id"))
    path: Mapped[str] = mapped_column(PathType)
    grade_code: Mapped[str] = mapped_column(Code(2))  # 年级
    enrolled_on: Mapped[str | None] = mapped_column(String(7))  # 入学年月 YYYY-MM
    enrolment_mode_code: Mapped[str | None] = mapped_column(Code(2))  # 入学方式
    attendance_mode_code: Mapped[str | None] = mapped_column(Code(1))  # 就读方式
    source_code: Mapped[str | None] = mapped_column(Code(1))  # 学生来源
    in_class_number: Mapped[int | None] = mapped_column(Integer)  # 班内学号
    status_code: Mapped[str] = mapped_column(Code(2))  # 学籍状态
    # The day of the latest status change (最近异动日期), kept by the database itself
    # (triggers on ``status_change``, 0016) whoever writes the changes: a student with
    # none after a day stood that day as it stands today (figures as of a day).
    changed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Welfare flags (资助与关爱)
    only_child: Mapped[bool | None] = mapped_column(Boolean)  # 是否独生子女
    had_preschool: Mapped[bool | None] = mapped_column(Boolean)  # 是否受过学前教育
    left_behind_code: Mapped[str | None] = mapped_column(Code(1))  # 留守儿童
    migrant_child: Mapped[bool | None] = mapped_column(Boolean)  # 是否进城务工人员随迁子女
    orphan: Mapped[bool | None] = mapped_column(Boolean)  # 是否孤儿
    martyr_child: Mapped[bool | None] = mapped_column(Boolean)  # 是否烈士或优抚子女
    inclusive_education: Mapped[bool | None] = mapped_column(Boolean)  # 随班就读
    disability_code: Mapped[str | None] = mapped_column(Code(1))  # 残疾类型
    government_place: Mapped[bool | None] = mapped_column(Boolean)  # 是否由政府购买学位
    needs_aid: Mapped[bool | None] = mapped_column(Boolean)  # 是否需要申请资助
    living_subsidy: Mapped[bool | None] = mapped_column(Boolean)  # 是否享受一补
    distance_km: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))  # 上下学距离
    travel_mode_code: Mapped[str | None] = mapped_column(Code(1))  # 上下学方式
    needs_school_bus: Mapped[bool | None] = mapped_column(Boolean)  # 是否需要乘坐校车
    # Where a synced record came from (NULL: entered in the hub) and its key there.
    sync_source: Mapped[str | None] = mapped_column(String(40))
    sync_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_student_school_id_id", "school_id", "id", postgresql_include=["path"]),
        Index("ix_student_class_id_id", "class_id", "id", postgresql_include=["path"]),
        Index("ix_student_path_id", "path", "id"),
        # Who of a unit changed after a day (figures as of a day), kept by triggers (0016).
        Index(
            "ix_student_path_changed_on",
            "path",
            "changed_on",
            postgresql_where=text("changed_on IS NOT NULL"),
            sqlite_where=text("changed_on IS NOT NULL"),
        ),
        # Name searches and the no-ID duplicate check of one pupil (name, sex, birth date).
        Index("ix_student_name_birth_date", "name", "birth_date"),
        UniqueConstraint("sync_source", "sync_key", name="uq_student_sync_key"),
    )


class Guardian(Base):
    """Family member or guardian of a student (家庭成员或监护人)."""

    __tablename__ = "guardian"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    relationship_code: Mapped[str] = mapped_column(Code(2))  # 关系 GB/T 4761
    is_guardian: Mapped[bool] = mapped_column(Boolean)  # 是否监护人
    ethnicity_code: Mapped[str | None] = mapped_column(Code(2))
    employer: Mapped[str | None] = mapped_column(String(100))  # 工作单位
    address: Mapped[str | None] = mapped_column(String(200))  # 现住址
    household_place_code: Mapped[str | None] = mapped_column(Code(6))  # 户口所在地
    phone: Mapped[str | None] = mapped_column(String(20))  # 联系电话
    id_type_code: Mapped[str | None] = mapped_column(Code(1))
    id_number: Mapped[str | None] = mapped_column(String(30))

    # In the order a student's guardians are listed (position, then id): read in index
    # order, with no sort per student.
    __table_args__ = (Index("ix_guardian_student_id_position_id", "student_id", "position", "id"),)


class StatusChange(Base):
    """A status change of a student record (学籍异动), appended, never edited."""

    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(PathType, index=True)
    type_code: Mapped[str] = mapped_column(Code(2))  # 异动类别
    # 学籍状态 before and after the change (code set student_status). Before NULL: the
    # student was not on the hub's roll (enrolled or transferred in from outside by it).
    status_before_code: Mapped[str | None] = mapped_column(Code(2))
    status_after_code: Mapped[str | None] = mapped_column(Code(2))
    reason: Mapped[str | None] = mapped_column(String(200))  # 异动原因
    occurred_on: Mapped[dt.date] = mapped_column(Date)  # 异动日期
    approved_on: Mapped[dt.date | None] = mapped_column(Date)  # 审批日期
    document_number: Mapped[str | None] = mapped_column(String(50))  # 批准文号
    handler: Mapped[str | None] = mapped_column(String(50))  # 经办人
    from_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    to_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    grade_before_code: Mapped[str | None] = mapped_column(Code(2))
    grade_after_code: Mapped[str | None] = mapped_column(Code(2))
    class_before: Mapped[str | None] = mapped_column(String(50))
    class_after: Mapped[str | None] = mapped_column(String(50))

    __table_args__ = (
        Index("ix_status_change_student_id_id", "student_id", "id", postgresql_include=["path"]),
        Index("ix_status_change_occurred_on", "occurred_on"),
        # A student's changes after a day (figures as of a day: who changed since).
        Index("ix_status_change_student_id_occurred_on", "student_id", "occurred_on"),
        # Transfers out of a school after a day (who left a unit's schools since).
        Index(
            "ix_status_change_from_school_id",
            "from_school_id",
            "occurred_on",
            postgresql_where=text("from_school_id IS NOT NULL"),
            sqlite_where=text("from_school_id IS NOT NULL"),
        ),
    )


class ChangeRequest(Base):
    """A school's change to a student's identity fields (学籍变更申请), in force only once the
    county (a reviewer holding ``approve`` above the school) approves it."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(PathType)  # the student's school: scope of the reviewers
    # JSON {field: [value before, value asked for]} in the model's field names.
    changes: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))  # 申请理由
    status_code: Mapped[str] = mapped_column(Code(1))  # code set change_request_status
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(String(500))  # 审核意见

    __table_args__ = (
        Index("ix_change_request_path_id", "path", "id"),
        Index("ix_change_request_student_id", "student_id"),
    )


class StudentArchive(Base):
    """A deleted student record (已删除学籍), kept whole: the row, its family members and
    status changes as JSON, who deleted it, when and why (a duplicate, usually)."""

    __tablename__ = "student_archive"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    student_id: Mapped[int] = mapped_column(BigId)  # the id it had (no longer a row)
    student_number: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(PathType)
    deleted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    record: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_student_archive_path_id", "path", "id"),)
