"""updateStudent (学籍信息变更): corrections; identity fields wait for the county's review."""

from __future__ import annotations

import strawberry

from hub.errors import HubError
from hub.ids import decode_id_of
from hub.students import service
from hub.writes import camel
from resolvers import students as resolve
from schema.change_requests import ChangeRequest
from schema.common import HubInfo, UserError, user_errors
from schema.mutations.common import REGISTER_CHECK, RegisterCheck, StudentFieldsInput, writer
from schema.students import Student


@strawberry.input(description="A correction of a student record (学籍信息变更).")
class UpdateStudentInput:
    id: strawberry.ID = strawberry.field(description="The student (学生).")
    changes: StudentFieldsInput = strawberry.field(description="The fields to change (变更内容).")
    reason: str | None = strawberry.field(
        default=None, description="Why, for the reviewer of identity changes (变更理由)."
    )


@strawberry.type(description="Result of a correction (变更结果).")
class UpdateStudentPayload:
    student: Student | None
    applied: list[str] = strawberry.field(description="Fields changed at once (已生效字段).")
    change_request: ChangeRequest | None = strawberry.field(
        description="Identity fields waiting for the county's review (待审核的变更申请)."
    )
    errors: list[UserError]
    register_check: RegisterCheck | None = strawberry.field(
        default=None, description=REGISTER_CHECK
    )


async def update_student(info: HubInfo, input: UpdateStudentInput) -> UpdateStudentPayload:
    try:
        pk = decode_id_of(str(input.id), "Student", "id")
        w = writer(info)
        outcome = await service.correct(w, pk, input.changes.values(), input.reason)
    except HubError as error:
        return UpdateStudentPayload(
            student=None, applied=[], change_request=None, errors=user_errors(info, error)
        )
    ctx = info.context
    request = None
    if outcome.request_id is not None:
        request = ChangeRequest.maybe(await resolve.request_by_id(ctx, outcome.request_id))
    return UpdateStudentPayload(
        student=Student.maybe(await resolve.by_id(ctx, pk)),
        applied=[camel(name) for name in outcome.applied],
        change_request=request,
        errors=[],
        register_check=RegisterCheck.of(w),
    )
