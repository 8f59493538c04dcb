"""The student filter (学生筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, select

from hub import filters
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput, Forbidden
from hub.filters import Conditions, Pushed
from hub.ids import decode_id_of
from hub.schools.models import School
from hub.students.models import ChangeRequest, Student

STUDENT = table_of(Student)
SCHOOL = table_of(School)
REQUEST = table_of(ChangeRequest)


@dataclass(frozen=True, slots=True)
class StudentFilter:
    """What a list of students is narrowed to (GraphQL ``StudentFilter``); ``None``: any."""

    under: str | None = None
    school_codes: tuple[str, ...] | None = None
    grade: tuple[str, ...] | None = None
    class_id: str | None = None
    status: tuple[str, ...] | None = None
    sex: str | None = None
    ethnicity: str | None = None
    migrant_child: bool | None = None
    left_behind: tuple[str, ...] | None = None
    disability: tuple[str, ...] | None = None
    inclusive_education: bool | None = None
    needs_aid: bool | None = None
    name_prefix: str | None = None

    def schools(self) -> tuple[str, ...] | None:
        return self.school_codes

    def narrowed(self, under: str) -> StudentFilter:
        return replace(self, under=under)

    def pushed(self) -> tuple[Pushed, ...]:
        """The values a routed source must apply itself (``None``: not given), with the hub
        field each filters (None: no source can). ``under`` and ``schoolCodes`` narrow the
        hub's schools instead."""
        return (
            Pushed("filter.grade", "grade_code", self.grade),
            Pushed("filter.status", "status_code", self.status),
            Pushed("filter.sex", "sex_code", self.sex),
            Pushed("filter.ethnicity", "ethnicity_code", self.ethnicity),
            Pushed("filter.migrantChild", "migrant_child", self.migrant_child),
            Pushed("filter.classId", None, self.class_id),
            Pushed("filter.leftBehind", None, self.left_behind),
            Pushed("filter.disability", None, self.disability),
            Pushed("filter.inclusiveEducation", None, self.inclusive_education),
            Pushed("filter.needsAid", None, self.needs_aid),
            Pushed("filter.namePrefix", None, self.name_prefix),
        )

    def masked(self) -> list[str]:
        """The given filters on fields masked for viewers without unmask: a list filtered by
        them would name exactly the pupils whose value is hidden in the output."""
        return [
            where
            for where, value in (
                ("filter.disability", self.disability),
                ("filter.inclusiveEducation", self.inclusive_education),
            )
            if value is not None
        ]


async def conditions(ctx: Context, f: StudentFilter) -> Conditions:
    c = STUDENT.c
    await _require_unmask_for_masked_filters(ctx, f)
    class_id = None if f.class_id is None else decode_id_of(f.class_id, "Class", "filter.classId")
    return (
        *await filters.under(ctx, STUDENT, f.under),
        *filters.codes(ctx, c.grade_code, "grade", f.grade, "filter.grade"),
        *filters.codes(ctx, c.status_code, "student_status", f.status, "filter.status"),
        *filters.codes(ctx, c.sex_code, "sex", f.sex, "filter.sex"),
        *filters.codes(ctx, c.ethnicity_code, "ethnicity", f.ethnicity, "filter.ethnicity"),
        *filters.codes(ctx, c.left_behind_code, "left_behind", f.left_behind, "filter.leftBehind"),
        *filters.codes(ctx, c.disability_code, "disability", f.disability, "filter.disability"),
        *filters.equals(c.class_id, class_id),
        *filters.equals(c.migrant_child, f.migrant_child),
        *filters.equals(c.needs_aid, f.needs_aid),
        *filters.equals(c.inclusive_education, f.inclusive_education),
        *filters.prefix(c.name, f.name_prefix, "filter.namePrefix"),
        *_in_schools(f.school_codes),
    )


async def _require_unmask_for_masked_filters(ctx: Context, f: StudentFilter) -> None:
    used = f.masked()
    if not used:
        return
    reach = ctx.access.scope("student", "read")
    if f.under is not None:
        path = await filters.path_of(ctx, f.under)
        if path is not None:
            reach = reach.intersect(path)
    if not ctx.access.may_everywhere("student_sensitive", "unmask", reach):
        raise Forbidden(
            f"'{used[0]}' filters on a masked field: it needs the unmask permission on"
            " student_sensitive everywhere the list reaches (counts by such dimensions belong"
            " to statistics)"
        )


def _in_schools(codes: tuple[str, ...] | None) -> list[ColumnElement[bool]]:
    """Condition for ``filter.schoolCodes``: students of these schools (by 10-digit code)."""
    if codes is None:
        return []
    if len(codes) > 5000 or any(not (len(c) == 10 and c.isdigit()) for c in codes):
        raise BadInput("'filter.schoolCodes' takes at most 5000 10-digit school codes")
    return [STUDENT.c.school_id.in_(select(SCHOOL.c.id).where(SCHOOL.c.code.in_(codes)))]


@dataclass(frozen=True, slots=True)
class ChangeRequestFilter:
    """What a list of change requests is narrowed to (GraphQL ``ChangeRequestFilter``)."""

    under: str | None = None
    status: tuple[str, ...] | None = None


async def request_conditions(ctx: Context, f: ChangeRequestFilter) -> Conditions:
    c = REQUEST.c
    return (
        *await filters.under(ctx, REQUEST, f.under),
        *filters.codes(ctx, c.status_code, "change_request_status", f.status, "filter.status"),
    )
