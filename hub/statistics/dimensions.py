"""What the statistics can be grouped by (统计维度), per counted entity.

Every dimension is an SQL expression over the entity's row (or its school's row) and a way to
label its values: a code set, yes/no, an age in years, or the org unit of a level. A
dimension an entity does not have is refused with the list of those it has."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, case, cast, extract, literal

from hub.assets.models import Asset
from hub.buildings.models import Building
from hub.db.base import table_of
from hub.schools.models import Class, School
from hub.students.models import Student
from hub.teachers.models import Teacher

STUDENT = table_of(Student)
TEACHER = table_of(Teacher)
SCHOOL = table_of(School)
CLASS = table_of(Class)
BUILDING = table_of(Building)
ASSET = table_of(Asset)


class Dimension(enum.Enum):
    """统计维度."""

    UNIT = "UNIT"  # 下级单位 (child units of `under`, or those of a chosen level)
    GRADE = "GRADE"  # 年级
    SEX = "SEX"  # 性别
    ETHNICITY = "ETHNICITY"  # 民族
    STATUS = "STATUS"  # 学籍状态 / 教职工当前状态 / 资产使用状况
    SCHOOL_TYPE = "SCHOOL_TYPE"  # 办学类型
    URBAN_RURAL = "URBAN_RURAL"  # 城乡分类
    OWNERSHIP = "OWNERSHIP"  # 举办者
    MIGRANT = "MIGRANT"  # 进城务工人员随迁子女
    LEFT_BEHIND = "LEFT_BEHIND"  # 留守儿童
    NEEDS_AID = "NEEDS_AID"  # 需要资助
    AGE = "AGE"  # 年龄 (周岁, at `ageAt`)
    DISABILITY = "DISABILITY"  # 残疾类型 (sensitive: small cells suppressed)
    HEALTH = "HEALTH"  # 健康状况 (sensitive: small cells suppressed)
    TITLE = "TITLE"  # 专业技术职务
    EDUCATION = "EDUCATION"  # 最高学历
    DANGER_RATING = "DANGER_RATING"  # 危房鉴定等级
    USE = "USE"  # 校舍用途
    CATEGORY = "CATEGORY"  # 资产分类
    BUILDING_RATING = "BUILDING_RATING"  # 上课教学楼的危房鉴定等级 (the class's building)


# The Chinese name of each dimension: the headers of downloaded tables (下载表头).
DIMENSION_LABELS: dict[Dimension, str] = {
    Dimension.UNIT: "单位",
    Dimension.GRADE: "年级",
    Dimension.SEX: "性别",
    Dimension.ETHNICITY: "民族",
    Dimension.STATUS: "状态",
    Dimension.SCHOOL_TYPE: "办学类型",
    Dimension.URBAN_RURAL: "城乡分类",
    Dimension.OWNERSHIP: "举办者类型",
    Dimension.MIGRANT: "随迁子女",
    Dimension.LEFT_BEHIND: "留守儿童",
    Dimension.NEEDS_AID: "需要资助",
    Dimension.AGE: "年龄",
    Dimension.DISABILITY: "残疾类型",
    Dimension.HEALTH: "健康状况",
    Dimension.TITLE: "专业技术职务",
    Dimension.EDUCATION: "最高学历",
    Dimension.DANGER_RATING: "危房鉴定等级",
    Dimension.USE: "校舍用途",
    Dimension.CATEGORY: "资产分类",
    Dimension.BUILDING_RATING: "上课教学楼危房等级",
}

# Dimensions whose small counts identify children (PIPL: health and disability data).
SENSITIVE = frozenset({Dimension.DISABILITY, Dimension.HEALTH})

YES_NO = "yes_no"  # the label of a boolean: 是 / 否
AGE = "age"  # the label of an age: N岁


@dataclass(frozen=True, slots=True)
class Grouping:
    """One dimension on one entity: its SQL value and how the value is labelled."""

    # The value, given the bound "age at" date (used by AGE only).
    expression: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    labels: str  # a code set, YES_NO or AGE
    via_school: bool = False  # the value is the school's (a join to school)
    via_building: bool = False  # the value is the class's teaching building's


def _column(table: Table, name: str, via_school: bool = False) -> Grouping:
    labels = {
        "grade_code": "grade",
        "sex_code": "sex",
        "ethnicity_code": "ethnicity",
        "type_code": "school_type",
        "urban_rural_code": "urban_rural",
        "ownership_code": "ownership",
        "left_behind_code": "left_behind",
        "disability_code": "disability",
        "health_code": "health",
        "title_code": "title",
        "education_code": "education",
        "danger_rating_code": "danger_rating",
        "use_code": "building_use",
        "category_code": "asset_category",
    }[name]
    return Grouping(lambda _at: table.c[name], labels, via_school)


def _flag(table: Table, name: str) -> Grouping:
    column = table.c[name]
    return Grouping(
        lambda _at: case((column.is_(True), literal("1")), (column.is_(False), literal("0"))),
        YES_NO,
    )


def _status(table: Table, code_set: str) -> Grouping:
    return Grouping(lambda _at: table.c.status_code, code_set)


def _age(table: Table) -> Grouping:
    birth = table.c.birth_date

    def years(at: ColumnElement[Any]) -> ColumnElement[Any]:
        # Full years at the date: the difference of years, less one before the birthday.
        before_birthday = case(
            (
                extract("month", birth) * 100 + extract("day", birth)
                > extract("month", at) * 100 + extract("day", at),
                1,
            ),
            else_=0,
        )
        return cast(extract("year", at) - extract("year", birth) - before_birthday, Integer)

    return Grouping(years, AGE)


def _school_of(name: str) -> Grouping:
    return _column(SCHOOL, name, via_school=True)


def _taught_in(name: str) -> Grouping:
    """A value of the building a student's class is taught in (Class.building)."""
    column = BUILDING.c[name]
    return Grouping(lambda _at: column, "danger_rating", via_building=True)


@dataclass(frozen=True, slots=True)
class Counted:
    """An entity the statistics count (统计对象): its table, what is summed besides the
    count, the access resource, and its dimensions."""

    name: str
    label: str
    table: Table
    dimensions: dict[Dimension, Grouping] = field(default_factory=dict)
    amount: str | None = None  # a summed column: floor area, asset value
    amount_label: str | None = None
    status_default: tuple[str, ...] | None = None  # counted unless asked otherwise


COUNTED: dict[str, Counted] = {
    "students": Counted(
        "students",
        "学生",
        STUDENT,
        {
            Dimension.GRADE: _column(STUDENT, "grade_code"),
            Dimension.SEX: _column(STUDENT, "sex_code"),
            Dimension.ETHNICITY: _column(STUDENT, "ethnicity_code"),
            Dimension.STATUS: _status(STUDENT, "student_status"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
            Dimension.OWNERSHIP: _school_of("ownership_code"),
            Dimension.MIGRANT: _flag(STUDENT, "migrant_child"),
            Dimension.LEFT_BEHIND: _column(STUDENT, "left_behind_code"),
            Dimension.NEEDS_AID: _flag(STUDENT, "needs_aid"),
            Dimension.AGE: _age(STUDENT),
            Dimension.DISABILITY: _column(STUDENT, "disability_code"),
            Dimension.HEALTH: _column(STUDENT, "health_code"),
            Dimension.BUILDING_RATING: _taught_in("danger_rating_code"),
        },
        status_default=("01",),  # 在读
    ),
    "teachers": Counted(
        "teachers",
        "教职工",
        TEACHER,
        {
            Dimension.SEX: _column(TEACHER, "sex_code"),
            Dimension.ETHNICITY: _column(TEACHER, "ethnicity_code"),
            Dimension.STATUS: _status(TEACHER, "staff_status"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
            Dimension.OWNERSHIP: _school_of("ownership_code"),
            Dimension.AGE: _age(TEACHER),
            Dimension.TITLE: _column(TEACHER, "title_code"),
            Dimension.EDUCATION: _column(TEACHER, "education_code"),
        },
        status_default=("01",),  # 在职
    ),
    "schools": Counted(
        "schools",
        "学校",
        SCHOOL,
        {
            Dimension.SCHOOL_TYPE: _column(SCHOOL, "type_code"),
            Dimension.URBAN_RURAL: _column(SCHOOL, "urban_rural_code"),
            Dimension.OWNERSHIP: _column(SCHOOL, "ownership_code"),
        },
    ),
    "classes": Counted(
        "classes",
        "班级",
        CLASS,
        {
            Dimension.GRADE: _column(CLASS, "grade_code"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
        },
    ),
    "buildings": Counted(
        "buildings",
        "校舍",
        BUILDING,
        {
            Dimension.DANGER_RATING: _column(BUILDING, "danger_rating_code"),
            Dimension.USE: _column(BUILDING, "use_code"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
        },
        amount="floor_area",
        amount_label="建筑面积(平方米)",
    ),
    "assets": Counted(
        "assets",
        "资产",
        ASSET,
        {
            Dimension.CATEGORY: _column(ASSET, "category_code"),
            Dimension.STATUS: _status(ASSET, "asset_status"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
        },
        amount="total_value",
        amount_label="资产总值(元)",
    ),
}
