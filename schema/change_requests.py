"""Change requests (学籍变更申请): identity corrections waiting for the county."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import strawberry

from hub.access.masking import mask_id
from hub.ids import encode_id
from hub.students import filters as students_filters
from resolvers import students as resolve
from schema.common import (
    Code,
    Connection,
    HubInfo,
    Node,
    RowType,
    built,
    camel,
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
        description="The fields to change (变更内容); ID numbers masked unless unmask is granted."
    )
    def fields(self, info: HubInfo) -> list[FieldChange]:
        asked: dict[str, list[Any]] = orjson.loads(self.changes)
        ctx = info.context
        reveal = True
        if "id_number" in asked:
            reveal = ctx.access.may(SENSITIVE, "unmask", self.path)
            if reveal:
                subject = encode_id("Student", self.student_id)
                ctx.audit.unmasked(SENSITIVE, "changeRequest.fields", subject, self.path)

        def shown(name: str, value: Any) -> str | None:
            if value is None:
                return None
            return str(value) if reveal or name != "id_number" else mask_id(str(value))

        return [
            FieldChange(field=camel(name) or name, before=shown(name, b), after=shown(name, a))
            for name, (b, a) in sorted(asked.items())
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
