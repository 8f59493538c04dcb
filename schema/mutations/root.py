"""The write mutations as root fields."""

from __future__ import annotations

import strawberry

from schema.mutations.enrol_student import enrol_student
from schema.mutations.issue_national_numbers import issue_national_numbers
from schema.mutations.resolve_problem_record import resolve_problem_record
from schema.mutations.review_change_request import review_change_request
from schema.mutations.review_problem_record import review_problem_record
from schema.mutations.update_student import update_student


@strawberry.type
class WriteMutation:
    enrol_student = strawberry.mutation(
        resolver=enrol_student,
        description="Enrol a pupil at a school; the hub gives an L number (新生注册).",
    )
    update_student = strawberry.mutation(
        resolver=update_student,
        description="Correct a student record; identity fields changed by a school wait for"
        " the county's review (学籍信息变更).",
    )
    review_change_request = strawberry.mutation(
        resolver=review_change_request,
        description="Approve or refuse a change request, above the school (变更审核).",
    )
    resolve_problem_record = strawberry.mutation(
        resolver=resolve_problem_record,
        description="The school proposes how a problem record is handled (问题学籍处理).",
    )
    review_problem_record = strawberry.mutation(
        resolver=review_problem_record,
        description="Approve the school's proposal (carried out at once) or return it, above"
        " the school (问题学籍审核).",
    )
    issue_national_numbers = strawberry.mutation(
        resolver=issue_national_numbers,
        description="Issue G numbers (G + citizen ID) and J numbers under a unit to the students"
        " with no open problem record; dryRun reports what would be issued and what blocks the"
        " rest (学籍号发放).",
    )
