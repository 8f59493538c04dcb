"""reviewProblemRecord (问题学籍审核): the county approves the school's proposal or returns it."""

from __future__ import annotations

from hub.errors import HubError
from hub.ids import decode_id_of
from hub.quality import service
from resolvers import quality as resolve
from schema.common import HubInfo, user_errors
from schema.mutations.common import RegisterCheck, writer
from schema.mutations.resolve_problem_record import ProblemRecordPayload
from schema.mutations.review_change_request import ReviewInput
from schema.quality import ProblemRecord


async def review_problem_record(info: HubInfo, input: ReviewInput) -> ProblemRecordPayload:
    try:
        pk = decode_id_of(str(input.id), "ProblemRecord", "id")
        w = writer(info)
        await service.decide(w, pk, input.approve, input.note)
    except HubError as error:
        return ProblemRecordPayload(problem_record=None, errors=user_errors(info, error))
    record = ProblemRecord.maybe(await resolve.by_id(info.context, pk))
    return ProblemRecordPayload(
        problem_record=record, errors=[], register_check=RegisterCheck.of(w)
    )
