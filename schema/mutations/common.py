"""What every write mutation shares: the writer of the request and the student fields."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry

from hub.ids import decode_id_of
from hub.writes import Writer
from schema.common import HubInfo


@strawberry.type(
    description="How the written students were compared with the population register"
    " (人口库比对): a comparison the register could not answer is deferred, never guessed;"
    " no kind-5 record is opened or closed for those students until a check runs again."
)
class RegisterCheck:
    source: str = strawberry.field(description="The register's source (人口库).")
    compared: int = strawberry.field(description="Students compared (已比对).")
    deferred: int = strawberry.field(description="Students not compared: register down (暂缓).")
    reason: str | None = strawberry.field(description="Why deferred (原因).")

    @classmethod
    def of(cls, w: Writer) -> RegisterCheck | None:
        """The writer's comparisons; None when no register is configured or none ran."""
        summary = w.register_check
        if summary is None or summary.source is None:  # source: set whenever one ran
            return None
        return cls(
            source=summary.source,
            compared=summary.checked,
            deferred=summary.deferred,
            reason=summary.reason,
        )


REGISTER_CHECK = "Comparison with the population register (人口库比对), when one is configured."


def writer(info: HubInfo) -> Writer:
    ctx = info.context
    return Writer(
        session=ctx.session,
        access=ctx.access,
        codes=ctx.codes,
        origin="graphql",
        due_days=ctx.settings.problem_due_days,
        register=None if ctx.state is None else ctx.state.register(ctx.codes),
    )


@strawberry.input(
    description="Fields of a student record to write (学籍信息): only those given are written;"
    " null clears an optional field. Codes are checked against their code sets."
)
class StudentFieldsInput:
    name: str | None = strawberry.UNSET
    name_pinyin: str | None = strawberry.UNSET
    former_name: str | None = strawberry.UNSET
    sex_code: str | None = strawberry.field(default=strawberry.UNSET, description="性别 (sex).")
    birth_date: dt.date | None = strawberry.UNSET
    birthplace_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="出生地 (division)."
    )
    native_place_code: str | None = strawberry.UNSET
    ethnicity_code: str | None = strawberry.UNSET
    nationality_code: str | None = strawberry.UNSET
    id_type_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="身份证件类型 (id_type)."
    )
    id_number: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="身份证件号. An invalid or duplicate citizen ID is accepted and becomes a"
        " problem record (问题学籍), never a refusal.",
    )
    id_valid_until: dt.date | None = strawberry.UNSET
    health_code: str | None = strawberry.UNSET
    household_place_code: str | None = strawberry.UNSET
    household_type_code: str | None = strawberry.UNSET
    overseas_status_code: str | None = strawberry.UNSET
    political_status_code: str | None = strawberry.UNSET
    current_address: str | None = strawberry.UNSET
    mailing_address: str | None = strawberry.UNSET
    home_address: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    postcode: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    local_number: str | None = strawberry.UNSET
    grade_code: str | None = strawberry.field(default=strawberry.UNSET, description="年级 (grade).")
    class_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="班级: a class of the student's school."
    )
    enrolled_on: str | None = strawberry.field(
        default=strawberry.UNSET, description="入学年月, YYYY-MM."
    )
    enrolment_mode_code: str | None = strawberry.UNSET
    attendance_mode_code: str | None = strawberry.UNSET
    source_code: str | None = strawberry.UNSET
    in_class_number: int | None = strawberry.UNSET
    left_behind_code: str | None = strawberry.UNSET
    disability_code: str | None = strawberry.UNSET
    travel_mode_code: str | None = strawberry.UNSET
    distance_km: Decimal | None = strawberry.UNSET
    only_child: bool | None = strawberry.UNSET
    had_preschool: bool | None = strawberry.UNSET
    migrant_child: bool | None = strawberry.UNSET
    orphan: bool | None = strawberry.UNSET
    martyr_child: bool | None = strawberry.UNSET
    inclusive_education: bool | None = strawberry.UNSET
    government_place: bool | None = strawberry.UNSET
    needs_aid: bool | None = strawberry.UNSET
    living_subsidy: bool | None = strawberry.UNSET
    needs_school_bus: bool | None = strawberry.UNSET

    def values(self) -> dict[str, Any]:
        """The given fields by the model's names (the input's Python names are those)."""
        given: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is strawberry.UNSET:
                continue
            if f.name == "class_id" and value is not None:
                value = decode_id_of(str(value), "Class", "classId")
            given[f.name] = value
        return given
