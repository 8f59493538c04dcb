"""issueNationalNumbers (学籍号发放): permanent numbers for the records that pass the checks."""

from __future__ import annotations

import strawberry

from hub.errors import HubError
from hub.identity import service
from schema.common import Code, HubInfo, UserError, user_errors
from schema.mutations.common import writer


@strawberry.input(description="Where to issue national numbers (学籍号发放范围).")
class IssueNationalNumbersInput:
    under: str = strawberry.field(description="Org unit code: a county or higher (单位代码).")
    dry_run: bool = strawberry.field(
        default=False, description="Only report what would be issued and what blocks (试算)."
    )


@strawberry.type(description="Students kept from a permanent number by one kind of problem.")
class BlockedCount:
    kind: Code = strawberry.field(description="Problem kind, code set problem_kind (问题类型).")
    students: int = strawberry.field(description="Students (人数).")


@strawberry.type(description="Result of issuing national numbers (发放结果).")
class IssueNationalNumbersPayload:
    dry_run: bool
    candidates: int = strawberry.field(description="Students with a temporary L number (候选).")
    issued_g: int = strawberry.field(description="G numbers (G + citizen ID) issued (G号).")
    issued_j: int = strawberry.field(description="J numbers issued to pupils without one (J号).")
    blocked: list[BlockedCount] = strawberry.field(description="What blocks the rest (受阻).")
    errors: list[UserError]


async def issue_national_numbers(
    info: HubInfo, input: IssueNationalNumbersInput
) -> IssueNationalNumbersPayload:
    ctx = info.context
    try:
        summary = await service.issue(
            writer(info), input.under, dry_run=input.dry_run, j_format=ctx.settings.j_number_format
        )
    except HubError as error:
        return IssueNationalNumbersPayload(
            dry_run=input.dry_run,
            candidates=0,
            issued_g=0,
            issued_j=0,
            blocked=[],
            errors=user_errors(info, error),
        )
    label = ctx.codes.label
    blocked = [
        BlockedCount(kind=Code(code=kind, label=label("problem_kind", kind)), students=count)
        for kind, count in sorted(summary.blocked.items())
    ]
    return IssueNationalNumbersPayload(
        dry_run=summary.dry_run,
        candidates=summary.candidates,
        issued_g=summary.issued_g,
        issued_j=summary.issued_j,
        blocked=blocked,
        errors=[],
    )
