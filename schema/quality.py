"""Problem records (问题学籍) in the schema: the queue, their students, their handling."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import strawberry

from hub.access.masking import masked_values, sensitive_values
from hub.errors import NotFound
from hub.ids import encode_id
from hub.quality import filters as quality_filters
from hub.quality.checks import OPEN
from resolvers import orgunits as resolve_orgunits
from resolvers import quality as resolve
from resolvers import schools as resolve_schools
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

if TYPE_CHECKING:
    from schema.orgunits import OrgUnit
    from schema.schools import School
    from schema.students import Student

OrgUnitType = Annotated["OrgUnit", strawberry.lazy("schema.orgunits")]
SchoolType = Annotated["School", strawberry.lazy("schema.schools")]
StudentType = Annotated["Student", strawberry.lazy("schema.students")]
SENSITIVE = "student_sensitive"


@strawberry.enum(description="How a school proposes to handle a problem record (处理方式).")
class ProblemResolution(Enum):
    EVIDENCE = "EVIDENCE"  # 佐证: the data is right (twins, say)
    CORRECT = "CORRECT"  # 变更: correct a record
    DELETE = "DELETE"  # 删除: delete a duplicate record


@strawberry.type(description="A step in handling a problem record (处理记录).")
class ProblemStep:
    at: dt.datetime = strawberry.field(description="When (时间).")
    actor: str = strawberry.field(description="Who (操作人).")
    step: str = strawberry.field(
        description="propose (学校提出), approve (审核通过) or return (退回) (环节)."
    )
    action: str | None = strawberry.field(description="EVIDENCE, CORRECT or DELETE (处理方式).")
    note: str | None = strawberry.field(description="Note or evidence (说明).")
    correction_json: strawberry.Private[str | None]
    record_id: strawberry.Private[int]
    path: strawberry.Private[str]

    @strawberry.field(
        description="The proposed correction or deletion as JSON (更正内容): field names as in"
        " the schema's StudentFieldsInput; sensitive values masked unless unmask is granted."
    )
    def correction(self, info: HubInfo) -> str | None:
        if self.correction_json is None:
            return None
        detail: dict[str, Any] = orjson.loads(self.correction_json)
        fields = detail.get("fields")
        if isinstance(fields, dict) and sensitive_values("student", fields):
            ctx = info.context
            if ctx.access.may(SENSITIVE, "unmask", self.path):
                subject = encode_id("Student", int(detail.get("student_id", 0)))
                ctx.audit.unmasked(SENSITIVE, "correction", subject, self.path)
            else:
                detail["fields"] = masked_values("student", fields)
        return orjson.dumps(detail).decode()

    @classmethod
    def from_row(cls, row: Any) -> ProblemStep:
        return cls(
            at=row.at,
            actor=row.actor,
            step=row.step,
            action=row.action,
            note=row.note,
            correction_json=row.correction,
            record_id=row.record_id,
            path=row.path,
        )


@strawberry.type(description="A problem record (问题学籍): a finding about a group of records.")
class ProblemRecord(RowType, Node):
    type_name = "ProblemRecord"
    pk: strawberry.Private[int]
    kind_code: strawberry.Private[str]
    status_code: strawberry.Private[str]
    school_id: strawberry.Private[int]
    path: strawberry.Private[str]
    detected_at: dt.datetime = strawberry.field(description="When it was found (发现时间).")
    due_on: dt.date = strawberry.field(description="To be handled by (处理期限).")
    closed_at: dt.datetime | None = strawberry.field(
        description="When it was resolved or stopped applying (关闭时间)."
    )
    detail: str = strawberry.field(description="What was found (问题说明).")
    members: strawberry.Private[int]
    resolution: str | None = strawberry.field(
        description="How it was resolved: EVIDENCE, CORRECT or DELETE (处理方式)."
    )

    kind: Code = code_field("problem_kind", "kind_code", "Kind (问题类型).")
    status: Code = code_field("problem_status", "status_code", "Status (处理状态).")

    @strawberry.field(
        description="Students in the group, all schools and provinces (涉及学籍数); those the"
        " viewer may not read are counted here but not listed in students."
    )
    def member_count(self) -> int:
        return self.members

    @strawberry.field(description="Still open after its due date (逾期).")
    def overdue(self) -> bool:
        return self.status_code in OPEN and self.due_on < dt.date.today()

    @strawberry.field(description="The students of the group the viewer may read (涉及学生).")
    async def students(self, info: HubInfo) -> list[StudentType]:
        from schema.students import Student

        return rows_to(Student.from_row, await resolve.students_of(info.context, self.pk))

    @strawberry.field(description="The school that handles it (责任学校).")
    async def school(self, info: HubInfo) -> SchoolType | None:
        from schema.schools import School

        return School.maybe(await resolve_schools.by_id(info.context, self.school_id))

    @strawberry.field(description="The org unit of the school that handles it (责任单位).")
    async def org_unit(self, info: HubInfo) -> OrgUnitType:
        from schema.orgunits import OrgUnit

        school = await resolve_schools.by_id(info.context, self.school_id)
        unit = (
            None
            if school is None
            else await resolve_orgunits.by_id(info.context, school.org_unit_id)
        )
        if unit is None:
            raise NotFound("the org unit of this problem record's school is not visible")
        return OrgUnit.from_row(unit)

    @strawberry.field(description="Its handling, oldest first (处理记录).")
    async def actions(self, info: HubInfo) -> list[ProblemStep]:
        return rows_to(ProblemStep.from_row, await resolve.actions_of(info.context, self.pk))


@strawberry.input(description="Filter for problem records (问题学籍筛选).")
class ProblemRecordFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    kind: list[str] | None = strawberry.field(
        default=None, description="Kinds, code set problem_kind (问题类型)."
    )
    status: list[str] | None = strawberry.field(
        default=None, description="Statuses, code set problem_status (处理状态)."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="Only records still open after their due date (逾期)."
    )

    def build(self) -> quality_filters.ProblemRecordFilter:
        return quality_filters.ProblemRecordFilter(
            under=self.under,
            kind=tuple_of(self.kind),
            status=tuple_of(self.status),
            overdue=self.overdue,
        )


@strawberry.type
class QualityQuery:
    @strawberry.field(
        description="Problem records in the viewer's subtree, by school (问题学籍清单)."
    )
    async def problem_records(
        self,
        info: HubInfo,
        filter: ProblemRecordFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProblemRecord]:
        args = page_args(info, first, after)
        f = built(filter, quality_filters.ProblemRecordFilter)
        listing = await resolve.page(info.context, f, args)
        return connection(listing, ProblemRecord.from_row, after is not None)
