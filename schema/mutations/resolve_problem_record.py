"""resolveProblemRecord (问题学籍处理): the school proposes evidence, a correction or a deletion."""

from __future__ import annotations

import strawberry

from hub.errors import HubError
from hub.ids import decode_id_of
from hub.quality import service
from resolvers import quality as resolve
from schema.common import HubInfo, UserError, user_errors
from schema.mutations.common import REGISTER_CHECK, RegisterCheck, StudentFieldsInput, writer
from schema.quality import ProblemRecord, ProblemResolution


@strawberry.input(description="A school's proposal for a problem record (处理意见).")
class ResolveProblemRecordInput:
    id: strawberry.ID = strawberry.field(description="The problem record (问题学籍).")
    action: ProblemResolution = strawberry.field(description="处理方式.")
    note: str | None = strawberry.field(
        default=None, description="Note; for EVIDENCE, what the evidence is (佐证说明)."
    )
    student_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="For CORRECT and DELETE: the student of the group (at this school) acted on.",
    )
    correction: StudentFieldsInput | None = strawberry.field(
        default=None, description="For CORRECT: the corrected fields (更正内容)."
    )


@strawberry.type(description="Result of handling a problem record (处理结果).")
class ProblemRecordPayload:
    problem_record: ProblemRecord | None
    errors: list[UserError]
    register_check: RegisterCheck | None = strawberry.field(
        default=None, description=REGISTER_CHECK
    )


async def resolve_problem_record(
    info: HubInfo, input: ResolveProblemRecordInput
) -> ProblemRecordPayload:
    try:
        pk = decode_id_of(str(input.id), "ProblemRecord", "id")
        student = (
            None
            if input.student_id is None
            else decode_id_of(str(input.student_id), "Student", "studentId")
        )
        correction = None if input.correction is None else input.correction.values()
        w = writer(info)
        await service.propose(w, pk, input.action.value, input.note, student, correction)
    except HubError as error:
        return ProblemRecordPayload(problem_record=None, errors=user_errors(info, error))
    record = ProblemRecord.maybe(await resolve.by_id(info.context, pk))
    return ProblemRecordPayload(
        problem_record=record, errors=[], register_check=RegisterCheck.of(w)
    )
