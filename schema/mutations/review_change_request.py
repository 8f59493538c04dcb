"""reviewChangeRequest (变更审核): the county approves or refuses a school's change request."""

from __future__ import annotations

import strawberry

from hub.errors import HubError
from hub.ids import decode_id_of
from hub.students import service
from resolvers import students as resolve
from schema.change_requests import ChangeRequest
from schema.common import HubInfo, UserError, user_errors
from schema.mutations.common import REGISTER_CHECK, RegisterCheck, writer


@strawberry.input(description="A decision on a change request (变更审核).")
class ReviewInput:
    id: strawberry.ID = strawberry.field(description="The request or record reviewed.")
    approve: bool = strawberry.field(description="true approves, false refuses or returns.")
    note: str | None = strawberry.field(default=None, description="审核意见.")


@strawberry.type(description="Result of a review (审核结果).")
class ChangeRequestPayload:
    change_request: ChangeRequest | None
    errors: list[UserError]
    register_check: RegisterCheck | None = strawberry.field(
        default=None, description=REGISTER_CHECK
    )


async def review_change_request(info: HubInfo, input: ReviewInput) -> ChangeRequestPayload:
    try:
        pk = decode_id_of(str(input.id), "ChangeRequest", "id")
        w = writer(info)
        await service.review(w, pk, input.approve, input.note)
    except HubError as error:
        return ChangeRequestPayload(change_request=None, errors=user_errors(info, error))
    request = ChangeRequest.maybe(await resolve.request_by_id(info.context, pk))
    return ChangeRequestPayload(
        change_request=request, errors=[], register_check=RegisterCheck.of(w)
    )
