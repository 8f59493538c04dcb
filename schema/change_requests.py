"""Change requests (学籍变更申请): identity corrections waiting for the county."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import strawberry

from hub.access.masking import masked_values, sensitive_values
from hub.ids import encode_id
from hub.students import filters as students_filters
from hub.writes import camel
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
    page_args,
    tuple_of,
)

if TYPE_CHECKING:
    from schema.students import Student

StudentType = Annotated["Student", strawberry.lazy("schema.students")]
SENSITIVE = "student_sensitive"


@strawberry.type(description="One field of a change request: before and asked for (变更项).")
class FieldChange:
    field: str = strawberry.field(description="The field, as named in the schema (字段).")
    before: str | None = strawberry.field(description="Value before (原值).")
    after: str | None = strawberry.field(description="Value asked for (新值).")


@strawberry.type(
    description="A change to a student's identity fields awaiting review (学籍变更申请)."
)
class ChangeRequest(RowType, Node):
    type_name = "ChangeRequest"
    pk: strawberry.Private[int]
    student_id: strawberry.Private[int]
    path: strawberry.Private[str]
    changes: strawberry.Private[str]
    status_code: strawberry.Private[str]
    reason: str | None = strawberry.field(description="Why (申请理由).")
    requested_by: str = strawberry.field(description="Requested by (申请人).")
    requested_at: dt.datetime = strawberry.field(description="Requested at (申请时间).")
    reviewed_by: str | None = strawberry.field(description="Reviewed by (审核人).")
    reviewed_at: dt.datetime | None = strawberry.field(description="Reviewed at (审核时间).")
    review_note: str | None = strawberry.field(description="Reviewer's note (审核意见).")

    status: Code = code_field("change_request_status", "status_code", "Status (审核状态).")

    @strawberry.field(
        description="The fields to change (变更内容); sensitive values masked unless unmask is"
        " granted."
    )
    def fields(self, info: HubInfo) -> list[FieldChange]:
        asked: dict[str, list[Any]] = orjson.loads(self.changes)
        before = {name: b for name, (b, _a) in asked.items()}
        after = {name: a for name, (_b, a) in asked.items()}
        ctx = info.context
        if sensitive_values("student", before) or sensitive_values("student", after):
            if ctx.access.may(SENSITIVE, "unmask", self.path):
                subject = encode_id("Student", self.student_id)
                ctx.audit.unmasked(SENSITIVE, "changeRequest.fields", subject, self.path)
            else:
                before = masked_values("student", before)
                after = masked_values("student", after)

        def text(value: Any) -> str | None:
            return None if value is None else str(value)

        return [
            FieldChange(field=camel(name), before=text(before[name]), after=text(after[name]))
            for name in sorted(asked)
        ]

    @strawberry.field(description="The student (学生); null if the record has been deleted.")
    async def student(self, info: HubInfo) -> StudentType | None:
        from schema.students import Student

        return Student.maybe(await resolve.by_id(info.context, self.student_id))


@strawberry.input(description="Filter for change requests (变更申请筛选).")
class ChangeRequestFilter:
    under: str | None = strawberry.field(
        default=None, description="Only the subtree of this org unit code (所属区域)."
    )
    status: list[str] | None = strawberry.field(
        default=None, description="Statuses, code set change_request_status (审核状态)."
    )

    def build(self) -> students_filters.ChangeRequestFilter:
        return students_filters.ChangeRequestFilter(under=self.under, status=tuple_of(self.status))


@strawberry.type
class ChangeRequestQuery:
    @strawberry.field(
        description="Change requests in the viewer's subtree, by school (学籍变更申请);"
        ' status ["1"] lists those waiting for review.'
    )
    async def change_requests(
        self,
        info: HubInfo,
        filter: ChangeRequestFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ChangeRequest]:
        args = page_args(info, first, after)
        f = built(filter, students_filters.ChangeRequestFilter)
        listing = await resolve.request_page(info.context, f, args)
        return connection(listing, ChangeRequest.from_row, after is not None)
