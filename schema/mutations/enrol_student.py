"""enrolStudent (新生注册): a school enrols a pupil; the hub gives an L number."""

from __future__ import annotations

import strawberry

from hub.errors import HubError
from hub.ids import decode_id_of
from hub.students import service
from resolvers import students as resolve
from schema.common import HubInfo, UserError, user_errors
from schema.mutations.common import REGISTER_CHECK, RegisterCheck, StudentFieldsInput, writer
from schema.students import Student


@strawberry.input(description="A pupil to enrol (新生注册).")
class EnrolStudentInput:
    school_id: strawberry.ID = strawberry.field(description="The school (就读学校).")
    student: StudentFieldsInput = strawberry.field(
        description="The record: name, sexCode, birthDate and gradeCode are required."
    )


@strawberry.type(description="Result of an enrolment (注册结果).")
class EnrolStudentPayload:
    student: Student | None
    errors: list[UserError]
    register_check: RegisterCheck | None = strawberry.field(
        default=None, description=REGISTER_CHECK
    )


async def enrol_student(info: HubInfo, input: EnrolStudentInput) -> EnrolStudentPayload:
    try:
        school_id = decode_id_of(str(input.school_id), "School", "schoolId")
        w = writer(info)
        pk = await service.enrol(w, school_id, input.student.values())
    except HubError as error:
        return EnrolStudentPayload(student=None, errors=user_errors(info, error))
    return EnrolStudentPayload(
        student=Student.maybe(await resolve.by_id(info.context, pk)),
        errors=[],
        register_check=RegisterCheck.of(w),
    )
