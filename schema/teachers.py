"""Teachers and staff (教职工)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.access.masking import mask_id, mask_phone
from hub.teachers import filters as teachers_filters
from resolvers import schools as resolve_schools
from resolvers import teachers as resolve
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
    sensitive_field,
    tuple_of,
)

if TYPE_CHECKING:
    from schema.schools import School

SchoolType = Annotated["School", strawberry.lazy("schema.schools")]


@strawberry.input(description="Filter for teachers and staff (教职工筛选).")
class TeacherFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    teachers_only: bool | None = strawberry.field(
        default=None, description="Only full-time teachers (仅专任教师)."
    )
    subject: list[str] | None = strawberry.field(default=None, description="Subjects (任教学科).")
    title: list[str] | None = strawberry.field(
        default=None, description="Professional titles (专业技术职务)."
    )
    status: list[str] | None = strawberry.field(default=None, description="Statuses (当前状态).")
    post: list[str] | None = strawberry.field(default=None, description="Post kinds (岗位类别).")
    name_prefix: str | None = strawberry.field(
        default=None, description="Name starts with (姓名前缀)."
    )

    def build(self) -> teachers_filters.TeacherFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return teachers_filters.TeacherFilter(
            under=self.under,
            teachers_only=self.teachers_only,
            subject=tuple_of(self.subject),
            title=tuple_of(self.title),
            status=tuple_of(self.status),
            post=tuple_of(self.post),
            name_prefix=self.name_prefix,
        )


@strawberry.type(description="A teacher or staff member (教职工).")
class Teacher(RowType, Node):
    type_name = "Teacher"
    pk: strawberry.Private[int]
    staff_number: str = strawberry.field(description="Staff number (教职工号).")
    name: str = strawberry.field(description="Name (姓名).")
    birth_date: dt.date = strawberry.field(description="Date of birth (出生日期).")
    id_number: strawberry.Private[str | None]
    phone: strawberry.Private[str | None]
    is_teacher: bool = strawberry.field(description="Full-time teacher (是否专任教师).")
    started_work: str | None = strawberry.field(description="Started work YYYY-MM (参加工作年月).")
    joined_school: str | None = strawberry.field(
        description="Joined this school YYYY-MM (进本校年月)."
    )
    started_teaching: str | None = strawberry.field(
        description="Started teaching YYYY-MM (从教年月)."
    )
    school_id: strawberry.Private[int]
    path: strawberry.Private[str]
    sex_code: strawberry.Private[str]
    ethnicity_code: strawberry.Private[str]
    nationality_code: strawberry.Private[str]
    id_type_code: strawberry.Private[str]
    political_status_code: strawberry.Private[str | None]
    education_code: strawberry.Private[str]
    staffing_code: strawberry.Private[str]
    post_code: strawberry.Private[str]
    teaching_stage_code: strawberry.Private[str | None]
    subject_code: strawberry.Private[str | None]
    title_code: strawberry.Private[str]
    status_code: strawberry.Private[str]

    sex: Code = code_field("sex", "sex_code", "Sex (性别).")
    ethnicity: Code = code_field("ethnicity", "ethnicity_code", "Ethnicity (民族).")
    nationality: Code = code_field("nationality", "nationality_code", "Nationality (国籍/地区).")
    id_type: Code = code_field("id_type", "id_type_code", "ID type (身份证件类型).")
    political_status: Code | None = optional_code_field(
        "political_status", "political_status_code", "Political status (政治面貌)."
    )
    education: Code = code_field("education", "education_code", "Highest education (最高学历).")
    staffing: Code = code_field("staffing", "staffing_code", "Staffing category (编制类别).")
    post: Code = code_field("post", "post_code", "Post kind (岗位类别).")
    teaching_stage: Code | None = optional_code_field(
        "teaching_stage", "teaching_stage_code", "Main teaching stage (任教学段)."
    )
    subject: Code | None = optional_code_field(
        "subject", "subject_code", "Main subject (任教学科)."
    )
    title: Code = code_field("title", "title_code", "Professional title (专业技术职务).")
    status: Code = code_field("staff_status", "status_code", "Current status (当前状态).")
    id_number_value: str | None = sensitive_field(
        "teacher_sensitive", "id_number", mask_id, "ID number (身份证件号).", "idNumber"
    )
    phone_value: str | None = sensitive_field(
        "teacher_sensitive", "phone", mask_phone, "Phone (联系电话).", "phone"
    )

    @strawberry.field(description="The employing school (任职学校).")
    async def school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        return School.maybe(await resolve_schools.by_id(info.context, self.school_id))


@strawberry.type
class TeacherQuery:
    @strawberry.field(description="Teachers and staff (教职工列表).")
    async def teachers(
        self,
        info: HubInfo,
        filter: TeacherFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Teacher]:
        args = page_args(info, first, after)
        listing = await resolve.page(
            info.context, built(filter, teachers_filters.TeacherFilter), args
        )
        return connection(listing, Teacher.from_row, after is not None)
