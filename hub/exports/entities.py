"""What can leave the hub as rows (可导出的数据): each entity's fields with their Chinese
headers, the SQL that reads them inside the viewer's scope, and how sensitive values are
masked (the same functions as the GraphQL fields, ``hub.access.masking``).

A coded field becomes two columns, its code and its label (``性别码``, ``性别``), so a sheet
can be filtered by either."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Table

from hub.access.masking import (
    mask_email,
    mask_id,
    mask_phone,
    mask_student_number,
    mask_text,
)
from hub.assets import filters as assets_filters
from hub.assets.models import Asset
from hub.buildings import filters as buildings_filters
from hub.buildings.models import Building
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.filters import Conditions
from hub.schools import filters as schools_filters
from hub.schools.models import Class, School
from hub.students import filters as students_filters
from hub.students.models import Student
from hub.teachers import filters as teachers_filters
from hub.teachers.models import Teacher

STUDENT = table_of(Student)
TEACHER = table_of(Teacher)
SCHOOL = table_of(School)
CLASS = table_of(Class)
BUILDING = table_of(Building)
ASSET = table_of(Asset)


class ExportEntity(enum.Enum):
    """What is exported (导出对象)."""

    STUDENTS = "students"
    TEACHERS = "teachers"
    SCHOOLS = "schools"
    BUILDINGS = "buildings"
    ASSETS = "assets"


@dataclass(frozen=True, slots=True)
class Field:
    """One exportable field: its schema name, its Chinese header, the SQL column, its code
    set (a Code: two columns) and, if sensitive, its mask."""

    name: str
    header: str
    column: ColumnElement[Any]
    code_set: str | None = None
    mask: Callable[[str], str] | None = None
    masked_code: bool = False  # a sensitive code: one mask whatever the value

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.header + "码", self.header) if self.code_set else (self.header,)

    @property
    def sensitive(self) -> bool:
        return self.mask is not None or self.masked_code


# The function turning a filter of the entity's domain (StudentFilter, ...) into SQL.
FilterConditions = Callable[[Context, Any], Awaitable[Conditions]]


@dataclass(frozen=True, slots=True)
class Exportable:
    entity: ExportEntity
    label: str  # 学生, ...
    table: Table
    source: FromClause  # the table joined with what its fields read (the school, ...)
    fields: tuple[Field, ...]
    filter_type: type
    conditions: FilterConditions
    sensitive: str | None = None  # the resource whose unmask reveals the sensitive fields
    routable: str | None = None  # the entity name of routes (records in legacy systems)

    def chosen(self, names: Sequence[str] | None) -> tuple[Field, ...]:
        """The fields named (all, when none are), in the order asked; an unknown name is
        refused with the names there are."""
        if not names:
            return self.fields
        known = {f.name: f for f in self.fields}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BadInput(
                f"unknown field(s) {', '.join(map(repr, unknown))} of {self.entity.value}"
                f" in 'fields'; known: {', '.join(known)}"
            )
        if len(set(names)) != len(names):
            raise BadInput("'fields' names a field more than once")
        return tuple(known[n] for n in names)


def _school_fields() -> tuple[Field, ...]:
    return (
        Field("schoolCode", "学校标识码", SCHOOL.c.code),
        Field("schoolName", "学校名称", SCHOOL.c.name),
    )


S, T, B, A, K = STUDENT.c, TEACHER.c, BUILDING.c, ASSET.c, SCHOOL.c

STUDENTS = Exportable(
    ExportEntity.STUDENTS,
    "学生",
    STUDENT,
    STUDENT.join(SCHOOL, S.school_id == K.id).outerjoin(CLASS, S.class_id == CLASS.c.id),
    (
        Field("studentNumber", "全国学籍号", S.student_number, mask=mask_student_number),
        Field("name", "姓名", S.name),
        Field("sex", "性别", S.sex_code, "sex"),
        Field("birthDate", "出生日期", S.birth_date),
        Field("ethnicity", "民族", S.ethnicity_code, "ethnicity"),
        Field("idType", "身份证件类型", S.id_type_code, "id_type"),
        Field("idNumber", "身份证件号", S.id_number, mask=mask_id),
        *_school_fields(),
        Field("grade", "年级", S.grade_code, "grade"),
        Field("className", "班级", CLASS.c.name),
        Field("status", "学籍状态", S.status_code, "student_status"),
        Field("enrolledOn", "入学年月", S.enrolled_on),
        Field("householdPlace", "户口所在地", S.household_place_code, "division"),
        Field("currentAddress", "现住址", S.current_address, mask=mask_text),
        Field("phone", "联系电话", S.phone, mask=mask_phone),
        Field("email", "电子信箱", S.email, mask=mask_email),
        Field("migrantChild", "进城务工人员随迁子女", S.migrant_child),
        Field("leftBehind", "留守儿童", S.left_behind_code, "left_behind"),
        Field("needsAid", "需要申请资助", S.needs_aid),
        Field("health", "健康状况", S.health_code, "health", masked_code=True),
        Field("disability", "残疾类型", S.disability_code, "disability", masked_code=True),
    ),
    students_filters.StudentFilter,
    students_filters.conditions,
    sensitive="student_sensitive",
    routable="student",
)

TEACHERS = Exportable(
    ExportEntity.TEACHERS,
    "教职工",
    TEACHER,
    TEACHER.join(SCHOOL, T.school_id == K.id),
    (
        Field("staffNumber", "教职工号", T.staff_number),
        Field("name", "姓名", T.name),
        Field("sex", "性别", T.sex_code, "sex"),
        Field("birthDate", "出生日期", T.birth_date),
        Field("ethnicity", "民族", T.ethnicity_code, "ethnicity"),
        Field("idType", "身份证件类型", T.id_type_code, "id_type"),
        Field("idNumber", "身份证件号", T.id_number, mask=mask_id),
        Field("phone", "联系电话", T.phone, mask=mask_phone),
        *_school_fields(),
        Field("isTeacher", "是否专任教师", T.is_teacher),
        Field("education", "最高学历", T.education_code, "education"),
        Field("staffing", "编制类别", T.staffing_code, "staffing"),
        Field("post", "岗位类别", T.post_code, "post"),
        Field("subject", "任教学科", T.subject_code, "subject"),
        Field("title", "专业技术职务", T.title_code, "title"),
        Field("status", "当前状态", T.status_code, "staff_status"),
    ),
    teachers_filters.TeacherFilter,
    teachers_filters.conditions,
    sensitive="teacher_sensitive",
)

SCHOOLS = Exportable(
    ExportEntity.SCHOOLS,
    "学校",
    SCHOOL,
    SCHOOL,
    (
        Field("code", "学校标识码", K.code),
        Field("name", "学校名称", K.name),
        Field("division", "所在地区", K.division_code, "division"),
        Field("type", "办学类型", K.type_code, "school_type"),
        Field("ownership", "举办者类型", K.ownership_code, "ownership"),
        Field("urbanRural", "城乡分类", K.urban_rural_code, "urban_rural"),
        Field("address", "地址", K.address),
        Field("headName", "校长", K.head_name),
        Field("phone", "联系电话", K.phone),
    ),
    schools_filters.SchoolFilter,
    schools_filters.conditions,
)

BUILDINGS = Exportable(
    ExportEntity.BUILDINGS,
    "校舍",
    BUILDING,
    BUILDING.join(SCHOOL, B.school_id == K.id),
    (
        Field("code", "建筑物编号", B.code),
        Field("name", "建筑物名称", B.name),
        *_school_fields(),
        Field("use", "用途", B.use_code, "building_use"),
        Field("structure", "结构类型", B.structure_code, "structure"),
        Field("storeys", "层数", B.storeys),
        Field("builtOn", "建成年月", B.built_on),
        Field("floorArea", "建筑面积", B.floor_area),
        Field("dangerRating", "危房鉴定等级", B.danger_rating_code, "danger_rating"),
        Field("appraisedOn", "鉴定日期", B.appraised_on),
        Field("seismicCategory", "抗震设防类别", B.seismic_category_code, "seismic_category"),
    ),
    buildings_filters.BuildingFilter,
    buildings_filters.conditions,
    routable="building",
)

ASSETS = Exportable(
    ExportEntity.ASSETS,
    "资产",
    ASSET,
    ASSET.join(SCHOOL, A.school_id == K.id),
    (
        Field("code", "资产编号", A.code),
        Field("name", "资产名称", A.name),
        Field("category", "资产分类", A.category_code, "asset_category"),
        *_school_fields(),
        Field("quantity", "数量", A.quantity),
        Field("unitValue", "单价(元)", A.unit_value),
        Field("totalValue", "总价(元)", A.total_value),
        Field("acquiredOn", "取得日期", A.acquired_on),
        Field("status", "使用状况", A.status_code, "asset_status"),
    ),
    assets_filters.AssetFilter,
    assets_filters.conditions,
)

EXPORTABLE: dict[ExportEntity, Exportable] = {
    e.entity: e for e in (STUDENTS, TEACHERS, SCHOOLS, BUILDINGS, ASSETS)
}
