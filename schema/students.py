"""Students (学生学籍), family members (家庭成员) and status changes (学籍异动)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.access.masking import mask_email, mask_id, mask_phone, mask_text
from hub.students import filters as students_filters
from resolvers import quality as resolve_quality
from resolvers import schools as resolve_schools
from resolvers import students as resolve
from schema.common import (
    Code,
    Connection,
    HubInfo,
    Node,
    RowType,
    built,
    code_field,
    connection,
    optional_code_field,
    page_args,
    rows_to,
    sensitive_code_field,
    sensitive_field,
    sensitive_flag_field,
    student_number_field,
    tuple_of,
)

if TYPE_CHECKING:
    from schema.quality import ProblemRecord
    from schema.schools import Class, School

SchoolType = Annotated["School", strawberry.lazy("schema.schools")]
SENSITIVE = "student_sensitive"  # the resource whose unmask grant reveals these fields
ClassType = Annotated["Class", strawberry.lazy("schema.schools")]
ProblemRecordType = Annotated["ProblemRecord", strawberry.lazy("schema.quality")]


@strawberry.input(description="Filter for students (学生筛选).")
class StudentFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    school_codes: list[str] | None = strawberry.field(
        default=None, description="Only students of these schools, by 10-digit code (学校)."
    )
    grade: list[str] | None = strawberry.field(
        default=None, description="Grades, code set grade (年级)."
    )
    class_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this class (班级)."
    )
    status: list[str] | None = strawberry.field(
        default=None, description="Record statuses, code set student_status (学籍状态)."
    )
    sex: str | None = strawberry.field(default=None, description="Sex, code set sex (性别).")
    ethnicity: str | None = strawberry.field(default=None, description="Ethnicity (民族).")
    migrant_child: bool | None = strawberry.field(
        default=None, description="Migrant worker's child (进城务工人员随迁子女)."
    )
    left_behind: list[str] | None = strawberry.field(
        default=None, description="Left-behind status, code set left_behind (留守儿童)."
    )
    disability: list[str] | None = strawberry.field(
        default=None, description="Disability types, code set disability (残疾类型)."
    )
    inclusive_education: bool | None = strawberry.field(
        default=None, description="Learning in a regular class with a disability (随班就读)."
    )
    needs_aid: bool | None = strawberry.field(
        default=None, description="Needs financial aid (需要资助)."
    )
    name_prefix: str | None = strawberry.field(
        default=None, description="Name starts with (姓名前缀)."
    )

    def build(self) -> students_filters.StudentFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return students_filters.StudentFilter(
            under=self.under,
            school_codes=tuple_of(self.school_codes),
            grade=tuple_of(self.grade),
            class_id=self.class_id,
            status=tuple_of(self.status),
            sex=self.sex,
            ethnicity=self.ethnicity,
            migrant_child=self.migrant_child,
            left_behind=tuple_of(self.left_behind),
            disability=tuple_of(self.disability),
            inclusive_education=self.inclusive_education,
            needs_aid=self.needs_aid,
            name_prefix=self.name_prefix,
        )


@strawberry.type(name="Guardian", description="A family member or guardian (家庭成员或监护人).")
class Guardian(RowType, Node):
    type_name = "Guardian"
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Name (姓名).")
    is_guardian: bool = strawberry.field(description="Is a legal guardian (是否监护人).")
    employer: str | None = strawberry.field(description="Employer (工作单位).")
    address: strawberry.Private[str | None]
    phone: strawberry.Private[str | None]
    id_number: strawberry.Private[str | None]
    path: strawberry.Private[str]  # the student's: family members have none of their own
    position: strawberry.Private[int]
    student_id: strawberry.Private[int]
    relationship_code: strawberry.Private[str]
    ethnicity_code: strawberry.Private[str | None]
    household_place_code: strawberry.Private[str | None]
    id_type_code: strawberry.Private[str | None]

    relationship: Code = code_field("relationship", "relationship_code", "Relationship (关系).")
    ethnicity: Code | None = optional_code_field("ethnicity", "ethnicity_code", "Ethnicity (民族).")
    household_place: Code | None = optional_code_field(
        "division", "household_place_code", "Household registration place (户口所在地)."
    )
    id_type: Code | None = optional_code_field("id_type", "id_type_code", "ID type (身份证件类型).")
    address_value: str | None = sensitive_field(
        SENSITIVE, "address", mask_text, "Current address (现住址).", "address"
    )
    phone_value: str | None = sensitive_field(
        SENSITIVE, "phone", mask_phone, "Phone (联系电话).", "phone"
    )
    id_number_value: str | None = sensitive_field(
        SENSITIVE, "id_number", mask_id, "ID number (身份证件号).", "idNumber"
    )


@strawberry.type(description="A status change of a student record (学籍异动).")
class StatusChange(RowType, Node):
    type_name = "StatusChange"
    pk: strawberry.Private[int]
    reason: str | None = strawberry.field(description="Reason (异动原因).")
    occurred_on: dt.date = strawberry.field(description="Date (异动日期).")
    approved_on: dt.date | None = strawberry.field(description="Approval date (审批日期).")
    document_number: str | None = strawberry.field(description="Document number (批准文号).")
    handler: str | None = strawberry.field(description="Handled by (经办人).")
    class_before: str | None = strawberry.field(description="Class before (原班级).")
    class_after: str | None = strawberry.field(description="Class after (现班级).")
    student_id: strawberry.Private[int]
    path: strawberry.Private[str]
    type_code: strawberry.Private[str]
    from_school_id: strawberry.Private[int | None]
    to_school_id: strawberry.Private[int | None]
    grade_before_code: strawberry.Private[str | None]
    grade_after_code: strawberry.Private[str | None]

    type: Code = code_field("status_change_type", "type_code", "Kind of change (异动类别).")
    grade_before: Code | None = optional_code_field(
        "grade", "grade_before_code", "Grade before (原年级)."
    )
    grade_after: Code | None = optional_code_field(
        "grade", "grade_after_code", "Grade after (现年级)."
    )

    @strawberry.field(description="Sending school (原学校).")
    async def from_school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        if self.from_school_id is None:
            return None
        return School.maybe(await resolve_schools.by_id(info.context, self.from_school_id))

    @strawberry.field(description="Receiving school (现学校).")
    async def to_school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        if self.to_school_id is None:
            return None
        return School.maybe(await resolve_schools.by_id(info.context, self.to_school_id))


@strawberry.type(description="A student record (学生学籍).")
class Student(RowType, Node):
    type_name = "Student"
    pk: strawberry.Private[int | None]  # None: read live from a routed source
    student_number: strawberry.Private[str]
    local_number: str | None = strawberry.field(description="Provincial local number (学籍辅号).")
    former_number: str | None = strawberry.field(
        description="The temporary (L) number a permanent number replaced (原临时学籍号);"
        " student(studentNumber:) finds the student by it too."
    )
    name: str = strawberry.field(description="Name (姓名).")
    name_pinyin: str | None = strawberry.field(description="Name in pinyin (姓名拼音).")
    former_name: str | None = strawberry.field(description="Former name (曾用名).")
    birth_date: dt.date = strawberry.field(description="Date of birth (出生日期).")
    id_number: strawberry.Private[str | None]
    id_valid_until: dt.date | None = strawberry.field(description="ID valid until (证件有效期).")
    current_address: strawberry.Private[str | None]
    mailing_address: strawberry.Private[str | None]
    home_address: strawberry.Private[str | None]
    phone: strawberry.Private[str | None]
    postcode: str = strawberry.field(description="Postcode (邮政编码).")
    email: strawberry.Private[str | None]
    enrolled_on: str | None = strawberry.field(
        description="Enrolment year-month YYYY-MM (入学年月)."
    )
    in_class_number: int | None = strawberry.field(description="Number in class (班内学号).")
    only_child: bool | None = strawberry.field(description="Only child (独生子女).")
    had_preschool: bool | None = strawberry.field(
        description="Had pre-school education (受过学前教育)."
    )
    migrant_child: bool | None = strawberry.field(
        description="Migrant worker's child (进城务工人员随迁子女)."
    )
    orphan: bool | None = strawberry.field(description="Orphan (孤儿).")
    martyr_child: bool | None = strawberry.field(
        description="Martyr's or entitled child (烈士或优抚子女)."
    )
    inclusive_education: strawberry.Private[bool | None]
    government_place: bool | None = strawberry.field(
        description="Place purchased by government (政府购买学位)."
    )
    needs_aid: bool | None = strawberry.field(description="Needs financial aid (需要申请资助).")
    living_subsidy: bool | None = strawberry.field(
        description="Receives living subsidy (享受一补)."
    )
    distance_km: Decimal | None = strawberry.field(
        description="Distance to school in km (上下学距离)."
    )
    needs_school_bus: bool | None = strawberry.field(
        description="Needs the school bus (需要乘坐校车)."
    )
    school_id: strawberry.Private[int]
    class_id: strawberry.Private[int | None]
    path: strawberry.Private[str]
    sex_code: strawberry.Private[str]
    birthplace_code: strawberry.Private[str | None]
    native_place_code: strawberry.Private[str | None]
    ethnicity_code: strawberry.Private[str | None]
    nationality_code: strawberry.Private[str | None]
    id_type_code: strawberry.Private[str | None]
    overseas_status_code: strawberry.Private[str | None]
    political_status_code: strawberry.Private[str | None]
    health_code: strawberry.Private[str | None]
    household_place_code: strawberry.Private[str | None]
    household_type_code: strawberry.Private[str | None]
    grade_code: strawberry.Private[str]
    enrolment_mode_code: strawberry.Private[str | None]
    attendance_mode_code: strawberry.Private[str | None]
    source_code: strawberry.Private[str | None]
    status_code: strawberry.Private[str]
    left_behind_code: strawberry.Private[str | None]
    disability_code: strawberry.Private[str | None]
    travel_mode_code: strawberry.Private[str | None]
    sync_source: strawberry.Private[str | None]
    sync_key: strawberry.Private[str | None]

    student_number_value: str = student_number_field(
        SENSITIVE, "National student number (全国学籍号)."
    )
    sex: Code = code_field("sex", "sex_code", "Sex (性别).")
    birthplace: Code | None = optional_code_field(
        "division", "birthplace_code", "Birthplace (出生地)."
    )
    native_place: Code | None = optional_code_field(
        "division", "native_place_code", "Native place (籍贯)."
    )
    ethnicity: Code | None = optional_code_field("ethnicity", "ethnicity_code", "Ethnicity (民族).")
    nationality: Code | None = optional_code_field(
        "nationality", "nationality_code", "Nationality (国籍/地区)."
    )
    id_type: Code | None = optional_code_field("id_type", "id_type_code", "ID type (身份证件类型).")
    overseas_status: Code | None = optional_code_field(
        "overseas_status", "overseas_status_code", "HK/Macau/Taiwan/overseas status (港澳台侨外)."
    )
    political_status: Code | None = optional_code_field(
        "political_status", "political_status_code", "Political status (政治面貌)."
    )
    health: Code | None = sensitive_code_field(
        SENSITIVE, "health", "health_code", "Health (健康状况).", "health"
    )
    household_place: Code | None = optional_code_field(
        "division", "household_place_code", "Household registration place (户口所在地)."
    )
    household_type: Code | None = optional_code_field(
        "household_type", "household_type_code", "Household type (户口性质)."
    )
    grade: Code = code_field("grade", "grade_code", "Grade (年级).")
    enrolment_mode: Code | None = optional_code_field(
        "enrolment_mode", "enrolment_mode_code", "Enrolment mode (入学方式)."
    )
    attendance_mode: Code | None = optional_code_field(
        "attendance_mode", "attendance_mode_code", "Attendance mode (就读方式)."
    )
    source: Code | None = optional_code_field("student_source", "source_code", "Source (学生来源).")
    status: Code = code_field("student_status", "status_code", "Record status (学籍状态).")
    left_behind: Code | None = optional_code_field(
        "left_behind", "left_behind_code", "Left-behind child (留守儿童)."
    )
    disability: Code | None = sensitive_code_field(
        SENSITIVE, "disability", "disability_code", "Disability type (残疾类型).", "disability"
    )
    id_number_value: str | None = sensitive_field(
        SENSITIVE, "id_number", mask_id, "ID number (身份证件号).", "idNumber"
    )
    current_address_value: str | None = sensitive_field(
        SENSITIVE, "current_address", mask_text, "Current address (现住址).", "currentAddress"
    )
    mailing_address_value: str | None = sensitive_field(
        SENSITIVE, "mailing_address", mask_text, "Mailing address (通信地址).", "mailingAddress"
    )
    home_address_value: str | None = sensitive_field(
        SENSITIVE, "home_address", mask_text, "Home address (家庭地址).", "homeAddress"
    )
    phone_value: str | None = sensitive_field(
        SENSITIVE, "phone", mask_phone, "Phone (联系电话).", "phone"
    )
    email_value: str | None = sensitive_field(
        SENSITIVE, "email", mask_email, "Email (电子信箱).", "email"
    )
    inclusive_education_value: bool | None = sensitive_flag_field(
        SENSITIVE,
        "inclusive_education",
        "Learning in a regular class with a disability (随班就读).",
        "inclusiveEducation",
    )
    travel_mode: Code | None = optional_code_field(
        "travel_mode", "travel_mode_code", "Travel mode (上下学方式)."
    )

    @strawberry.field(description="The school (就读学校).")
    async def school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        return School.maybe(await resolve_schools.by_id(info.context, self.school_id))

    @strawberry.field(name="class", description="The class (所在班级).")
    async def class_(self, info: HubInfo) -> ClassType | None:
        from schema.schools import Class

        if self.class_id is None:
            return None
        return Class.maybe(await resolve_schools.class_by_id(info.context, self.class_id))

    @strawberry.field(description="Class name (班级名称).")
    async def class_name(self, info: HubInfo) -> str | None:
        if self.class_id is None:
            return None
        row = await resolve_schools.class_by_id(info.context, self.class_id)
        return None if row is None else str(row.name)

    @strawberry.field(description="Family members and guardians (家庭成员或监护人).")
    async def guardians(self, info: HubInfo) -> list[Guardian]:
        if self.pk is None:  # the docked systems deliver no family members yet
            return []
        return rows_to(Guardian.from_row, await resolve.guardians_of(info.context, self.pk))

    @strawberry.field(description="Status changes, oldest first (学籍异动记录).")
    async def status_changes(self, info: HubInfo) -> list[StatusChange]:
        if self.pk is None:
            return []
        return rows_to(StatusChange.from_row, await resolve.changes_of(info.context, self.pk))

    @strawberry.field(
        description="Problem records this student is in, oldest first: open ones unless"
        " includeClosed (问题学籍)."
    )
    async def problems(
        self, info: HubInfo, include_closed: bool = False
    ) -> list[ProblemRecordType]:
        from schema.quality import ProblemRecord

        if self.pk is None:
            return []
        rows = await resolve_quality.of_student(info.context, self.pk, include_closed)
        return rows_to(ProblemRecord.from_row, rows)


async def students_of(
    info: HubInfo,
    column: str,
    parent_id: int,
    filter: StudentFilter | None,
    first: int | None,
    after: str | None,
) -> Connection[Student]:
    """The students of a school (``school_id``) or a class (``class_id``) as a connection."""
    args = page_args(info, first, after)
    f = built(filter, students_filters.StudentFilter)
    listing = await resolve.of_parent(info.context, column, parent_id, f, args)
    return connection(listing, Student.from_row, after is not None)


@strawberry.type
class StudentQuery:
    @strawberry.field(description="A student by national student number (按全国学籍号查学生).")
    async def student(self, info: HubInfo, student_number: str) -> Student | None:
        return Student.maybe(await resolve.by_number(info.context, student_number))

    @strawberry.field(description="Students (学生列表).")
    async def students(
        self,
        info: HubInfo,
        filter: StudentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Student]:
        args = page_args(info, first, after)
        f = built(filter, students_filters.StudentFilter)
        listing = await resolve.page(info.context, f, args)
        return connection(listing, Student.from_row, after is not None)
