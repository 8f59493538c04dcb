"""Schools (学校) and classes (班级)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.assets import filters as assets_filters
from hub.buildings import filters as buildings_filters
from hub.schools import filters as schools_filters
from hub.students import filters as students_filters
from hub.teachers import filters as teachers_filters
from resolvers import assets as resolve_assets
from resolvers import buildings as resolve_buildings
from resolvers import orgunits as resolve_orgunits
from resolvers import schools as resolve
from resolvers import students as resolve_students
from resolvers import teachers as resolve_teachers
from schema.common import (
    Code,
    Connection,
    HubInfo,
    Node,
    RowType,
    built,
    code_field,
    connection,
    page_args,
    rows_to,
    tuple_of,
)
from schema.orgunits import OrgUnit

if TYPE_CHECKING:
    from schema.assets import Asset, AssetFilter
    from schema.buildings import Building, BuildingFilter
    from schema.students import Student, StudentFilter
    from schema.teachers import Teacher, TeacherFilter

StudentFilterInput = Annotated["StudentFilter", strawberry.lazy("schema.students")]
TeacherFilterInput = Annotated["TeacherFilter", strawberry.lazy("schema.teachers")]
BuildingFilterInput = Annotated["BuildingFilter", strawberry.lazy("schema.buildings")]
BuildingType = Annotated["Building", strawberry.lazy("schema.buildings")]
AssetFilterInput = Annotated["AssetFilter", strawberry.lazy("schema.assets")]


@strawberry.input(description="Filter for schools (学校筛选).")
class SchoolFilter:
    under: str | None = strawberry.field(
        default=None, description="Only schools in the subtree of this org unit code (所属区域)."
    )
    type: list[str] | None = strawberry.field(
        default=None, description="School types, code set school_type (办学类型)."
    )
    ownership: str | None = strawberry.field(
        default=None, description="Ownership, code set ownership (举办者类型)."
    )
    urban_rural: str | None = strawberry.field(
        default=None, description="Urban-rural type, code set urban_rural (城乡分类)."
    )
    name_prefix: str | None = strawberry.field(
        default=None, description="Name starts with (名称前缀)."
    )

    def build(self) -> schools_filters.SchoolFilter:
        """The typed filter the statements take (a renamed field fails type-checking)."""
        return schools_filters.SchoolFilter(
            under=self.under,
            type=tuple_of(self.type),
            ownership=self.ownership,
            urban_rural=self.urban_rural,
            name_prefix=self.name_prefix,
        )


@strawberry.type(description="A school (学校).")
class School(RowType, Node):
    type_name = "School"
    pk: strawberry.Private[int]
    code: str = strawberry.field(description="10-digit school identification code (学校标识码).")
    name: str = strawberry.field(description="Name (学校名称).")
    name_en: str | None = strawberry.field(description="English name (学校英文名称).")
    division_code: str = strawberry.field(description="County division code (所在地区划代码).")
    address: str | None = strawberry.field(description="Address (学校地址).")
    postcode: str | None = strawberry.field(description="Postcode (邮政编码).")
    founded_on: str | None = strawberry.field(description="Founded, YYYY-MM (建校年月).")
    organisation_code: str | None = strawberry.field(
        description="Unified social credit code (统一社会信用代码)."
    )
    head_name: str | None = strawberry.field(description="Head of school (校长).")
    phone: str | None = strawberry.field(description="Phone (联系电话).")
    teaching_language: str | None = strawberry.field(description="Teaching language (教学语言).")
    entry_age: int | None = strawberry.field(description="Entry age (入学年龄).")
    primary_years: int | None = strawberry.field(description="Years of primary (小学学制).")
    junior_years: int | None = strawberry.field(description="Years of junior (初中学制).")
    path: strawberry.Private[str]
    org_unit_id: strawberry.Private[int]
    type_code: strawberry.Private[str]
    ownership_code: strawberry.Private[str]
    urban_rural_code: strawberry.Private[str]

    type: Code = code_field("school_type", "type_code", "School type (办学类型).")
    ownership: Code = code_field("ownership", "ownership_code", "Ownership (举办者类型).")
    urban_rural: Code = code_field(
        "urban_rural", "urban_rural_code", "Urban-rural type (城乡分类)."
    )

    @strawberry.field(
        description=(
            "The school's own org unit (学校组织单元), level SCHOOL; its parent is the county."
        )
    )
    async def org_unit(self, info: HubInfo) -> OrgUnit | None:
        return OrgUnit.maybe(await resolve_orgunits.by_id(info.context, self.org_unit_id))

    @strawberry.field(description="Students of this school (在校学生).")
    async def students(
        self,
        info: HubInfo,
        filter: StudentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Student, strawberry.lazy("schema.students")]]:
        from schema.students import students_of

        return await students_of(info, "school_id", self.pk, filter, first, after)

    @strawberry.field(description="Teachers and staff of this school (教职工).")
    async def teachers(
        self,
        info: HubInfo,
        filter: TeacherFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Teacher, strawberry.lazy("schema.teachers")]]:
        from schema.teachers import Teacher

        args = page_args(info, first, after)
        listing = await resolve_teachers.of_school(
            info.context, self.pk, built(filter, teachers_filters.TeacherFilter), args
        )
        return connection(listing, Teacher.from_row, after is not None)

    @strawberry.field(description="Buildings of this school (校舍).")
    async def buildings(
        self,
        info: HubInfo,
        filter: BuildingFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Building, strawberry.lazy("schema.buildings")]]:
        from schema.buildings import Building

        args = page_args(info, first, after)
        listing = await resolve_buildings.of_school(
            info.context, self.pk, built(filter, buildings_filters.BuildingFilter), args
        )
        return connection(listing, Building.from_row, after is not None)

    @strawberry.field(description="Assets and equipment of this school (资产与设备).")
    async def assets(
        self,
        info: HubInfo,
        filter: AssetFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Asset, strawberry.lazy("schema.assets")]]:
        from schema.assets import Asset

        args = page_args(info, first, after)
        f = built(filter, assets_filters.AssetFilter)
        listing = await resolve_assets.of_parent(info.context, "school_id", self.pk, f, args)
        return connection(listing, Asset.from_row, after is not None)

    @strawberry.field(description="Classes of this school, by grade and number (班级).")
    async def classes(self, info: HubInfo) -> list[Class]:
        return rows_to(Class.from_row, await resolve.classes_of(info.context, self.pk))


@strawberry.type(name="Class", description="A class of a school (班级).")
class Class(RowType, Node):
    type_name = "Class"
    pk: strawberry.Private[int]
    name: str = strawberry.field(description="Class name (班级名称).")
    number: int = strawberry.field(description="Class number within the grade (班号).")
    entry_year: int = strawberry.field(description="Year of entry (入学年份).")
    school_id: strawberry.Private[int]
    grade_code: strawberry.Private[str]
    path: strawberry.Private[str]
    building_id: strawberry.Private[int | None]

    grade: Code = code_field("grade", "grade_code", "Grade (年级).")

    @strawberry.field(description="The school (所在学校).")
    async def school(self, info: HubInfo) -> School | None:
        return School.maybe(await resolve.by_id(info.context, self.school_id))

    @strawberry.field(
        description="The building the class is taught in (所在教学楼); null when not recorded"
        " or not visible to the viewer."
    )
    async def building(self, info: HubInfo) -> BuildingType | None:
        from schema.buildings import Building

        if self.building_id is None:
            return None
        return Building.maybe(await resolve_buildings.by_id(info.context, self.building_id))

    @strawberry.field(description="Students of this class (班级学生).")
    async def students(
        self,
        info: HubInfo,
        filter: StudentFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Student, strawberry.lazy("schema.students")]]:
        from schema.students import students_of

        return await students_of(info, "class_id", self.pk, filter, first, after)

    @strawberry.field(description="Number of students in the class (班额).")
    async def size(self, info: HubInfo) -> int:
        everyone = students_filters.StudentFilter()
        return await resolve_students.count_of_parent(info.context, "class_id", self.pk, everyone)


@strawberry.type
class SchoolQuery:
    @strawberry.field(description="A school by its 10-digit code (按标识码查学校).")
    async def school(self, info: HubInfo, code: str) -> School | None:
        return School.maybe(await resolve.by_code(info.context, code))

    @strawberry.field(description="Schools (学校列表).")
    async def schools(
        self,
        info: HubInfo,
        filter: SchoolFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[School]:
        args = page_args(info, first, after)
        listing = await resolve.page(
            info.context, built(filter, schools_filters.SchoolFilter), args
        )
        return connection(listing, School.from_row, after is not None)
