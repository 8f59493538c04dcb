"""What the statistics can be grouped by (统计维度), per counted entity.

Every dimension is an SQL expression over the entity's row (or its school's row) and a way to
label its values: a code set, yes/no, an age in years, or the org unit of a level. A
dimension an entity does not have is refused with the list of those it has."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Table,
    case,
    cast,
    extract,
    literal,
)

from hub.assets.models import Asset
from hub.buildings.models import Building
from hub.db.base import table_of
from hub.schools.models import Class, School
from hub.students.history import schools_at, students_at
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
class Sources:
    """The tables a grouping reads: the counted rows (a table, or the rows as they stood on
    a past day), their school and the building their class is taught in."""

    row: FromClause
    school: FromClause = SCHOOL
    building: FromClause = BUILDING


@dataclass(frozen=True, slots=True)
class Grouping:
    """One dimension on one entity: its SQL value and how the value is labelled."""

    # The value over the sources, given the bound "age at" date (used by AGE only).
    expression: Callable[[Sources, ColumnElement[Any]], ColumnElement[Any]]
    labels: str  # a code set, YES_NO or AGE
    via_school: bool = False  # the value is the school's (a join to school)
    via_building: bool = False  # the value is the class's teaching building's
    historic: bool = True  # the value as of a past day is known (not: today's building)


LABELS = {
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
}


def _column(name: str, via_school: bool = False) -> Grouping:
    def value(src: Sources, _at: ColumnElement[Any]) -> ColumnElement[Any]:
        return (src.school if via_school else src.row).c[name]

    return Grouping(value, LABELS[name], via_school)


def _flag(name: str) -> Grouping:
    def value(src: Sources, _at: ColumnElement[Any]) -> ColumnElement[Any]:
        column = src.row.c[name]
        return case((column.is_(True), literal("1")), (column.is_(False), literal("0")))

    return Grouping(value, YES_NO)


def _status(code_set: str) -> Grouping:
    return Grouping(lambda src, _at: src.row.c.status_code, code_set)


def _age() -> Grouping:
    def years(src: Sources, at: ColumnElement[Any]) -> ColumnElement[Any]:
        # Full years at the date: the difference of years, less one before the birthday.
        birth = src.row.c.birth_date
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
    return _column(name, via_school=True)


def _taught_in(name: str) -> Grouping:
    """A value of the building a student's class is taught in (Class.building): today's
    only, since classes and buildings keep no history."""
    return Grouping(
        lambda src, _at: src.building.c[name], "danger_rating", via_building=True, historic=False
    )


class AsOf(Protocol):
    """Rows as they stood on a past day (``students_at``, ``schools_at``): sources of rows
    that together are that day's, each with the columns of the table."""

    def __call__(
        self,
        day: dt.date,
        scope: ColumnElement[bool],
        under: str = "/",
        *,
        unchanged_tree: bool = False,
        columns: Collection[str] | None = None,
    ) -> Sequence[Select[Any]]: ...


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
    # The rows as they stood on a past day among those a scope selects today, read under a
    # path of that day's tree (the columns of ``table``, ``path`` a school's path in that
    # day's tree); None: no history kept.
    as_of: AsOf | None = None


COUNTED: dict[str, Counted] = {
    "students": Counted(
        "students",
        "学生",
        STUDENT,
        {
            Dimension.GRADE: _column("grade_code"),
            Dimension.SEX: _column("sex_code"),
            Dimension.ETHNICITY: _column("ethnicity_code"),
            Dimension.STATUS: _status("student_status"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
            Dimension.OWNERSHIP: _school_of("ownership_code"),
            Dimension.MIGRANT: _flag("migrant_child"),
            Dimension.LEFT_BEHIND: _column("left_behind_code"),
            Dimension.NEEDS_AID: _flag("needs_aid"),
            Dimension.AGE: _age(),
            Dimension.DISABILITY: _column("disability_code"),
            Dimension.HEALTH: _column("health_code"),
            Dimension.BUILDING_RATING: _taught_in("danger_rating_code"),
        },
        status_default=("01",),  # 在读
        as_of=students_at,
    ),
    "teachers": Counted(
        "teachers",
        "教职工",
        TEACHER,
        {
            Dimension.SEX: _column("sex_code"),
            Dimension.ETHNICITY: _column("ethnicity_code"),
            Dimension.STATUS: _status("staff_status"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
            Dimension.OWNERSHIP: _school_of("ownership_code"),
            Dimension.AGE: _age(),
            Dimension.TITLE: _column("title_code"),
            Dimension.EDUCATION: _column("education_code"),
        },
        status_default=("01",),  # 在职
    ),
    "schools": Counted(
        "schools",
        "学校",
        SCHOOL,
        {
            Dimension.SCHOOL_TYPE: _column("type_code"),
            Dimension.URBAN_RURAL: _column("urban_rural_code"),
            Dimension.OWNERSHIP: _column("ownership_code"),
        },
        as_of=schools_at,
    ),
    "classes": Counted(
        "classes",
        "班级",
        CLASS,
        {
            Dimension.GRADE: _column("grade_code"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
        },
    ),
    "buildings": Counted(
        "buildings",
        "校舍",
        BUILDING,
        {
            Dimension.DANGER_RATING: _column("danger_rating_code"),
            Dimension.USE: _column("use_code"),
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
            Dimension.CATEGORY: _column("category_code"),
            Dimension.STATUS: _status("asset_status"),
            Dimension.SCHOOL_TYPE: _school_of("type_code"),
            Dimension.URBAN_RURAL: _school_of("urban_rural_code"),
        },
        amount="total_value",
        amount_label="资产总值(元)",
    ),
}
