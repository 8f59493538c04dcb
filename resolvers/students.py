"""Students (学生), their family members (家庭成员) and status changes (学籍异动)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select

from hub.access.masking import embeds_id
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput, Forbidden
from hub.ids import decode_id_of, encode_id
from hub.pagination import PageArgs
from hub.schools.models import School
from hub.students.models import Guardian, StatusChange, Student
from resolvers import federation, filters
from resolvers.common import (
    ByParent,
    Listing,
    child_listing,
    child_page_loader,
    fetch_children,
    listing,
    load_by_column,
    load_by_id,
    visible,
)

TABLE = table_of(Student)
GUARDIAN = table_of(Guardian)
CHANGES = table_of(StatusChange)
SCHOOLS = table_of(School)


def check_student_number(number: str) -> str:
    if not (1 < len(number) <= 20 and number[0] in "GJL" and number[1:].isalnum()):
        raise BadInput(
            "'studentNumber' must be a national student number (G, J or L followed by"
            f" letters and digits, at most 20 characters), got {number!r}"
        )
    return number


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, TABLE, pk)


async def by_number(ctx: Context, number: str) -> Any:
    """A student by national number: the store, else a routed source (keyed by number)."""
    check_student_number(number)
    row = await load_by_column(ctx, TABLE, "student_number", number)
    if row is None:
        for routed in await federation.routes_of(ctx, "student"):
            row = await routed_by_key(ctx, routed.route.source, number)
            if row is not None:
                break
    if embeds_id(number):
        if row is None:
            audit_id_lookup(ctx, None, None)
        else:
            subject = (
                row.global_id
                if isinstance(row, federation.FederatedRow)
                else encode_id("Student", row.id)
            )
            audit_id_lookup(ctx, subject, str(row.path))
    return row


def audit_id_lookup(ctx: Context, subject: str | None, path: str | None) -> None:
    """A ``G`` number is a citizen ID: a lookup by it confirms that ID to a viewer who may
    not see it, so such lookups (found or not) are audited, and a series of guesses shows in
    the log. Viewers who may unmask it are audited when they read the value, as always.
    ``subject`` is the found student's global id (None: nothing found in scope)."""
    principal = ctx.access.principal
    if principal is None:
        return
    if subject is None or path is None:
        ctx.audit.event(
            "lookup",
            "student_sensitive",
            "not_found",
            principal.org_unit_path,
            detail="student by a G number (a citizen ID): no student in the viewer's scope",
        )
        return
    if ctx.access.may("student_sensitive", "unmask", path):
        return
    ctx.audit.event(
        "lookup",
        "student_sensitive",
        "allowed",
        path,
        detail="student by a G number (a citizen ID) without unmask",
        subjects=[subject],
    )


async def routed_by_key(ctx: Context, source: str, key: str) -> Any:
    """A student of a routed source by its key there (batched per source)."""
    return await federation.routed_by_key(ctx, "student", "Student", source, key)


# Filters on fields that are masked for viewers without unmask (a list filtered by them would
# name exactly the pupils whose value is hidden in the output).
MASKED_FILTERS = {
    "disability": "filter.disability",
    "inclusive_education": "filter.inclusiveEducation",
}


async def _require_unmask_for_masked_filters(ctx: Context, spec: dict[str, Any]) -> None:
    used = [where for key, where in MASKED_FILTERS.items() if spec.get(key) is not None]
    if not used:
        return
    reach = ctx.access.scope("student", "read")
    under = spec.get("under")
    if under is not None:
        path = await filters.path_of(ctx, under)
        if path is not None:
            reach = reach.intersect(path)
    if not ctx.access.may_everywhere("student_sensitive", "unmask", reach):
        raise Forbidden(
            f"'{used[0]}' filters on a masked field: it needs the unmask permission on"
            " student_sensitive everywhere the list reaches (counts by such dimensions belong"
            " to statistics)"
        )


async def conditions(ctx: Context, spec: dict[str, Any]) -> filters.Conditions:
    c = TABLE.c
    await _require_unmask_for_masked_filters(ctx, spec)
    class_id = spec.get("class_id")
    if class_id is not None:
        class_id = decode_id_of(class_id, "Class", "filter.classId")
    return (
        *await filters.under(ctx, TABLE, spec.get("under")),
        *filters.codes(ctx, c.grade_code, "grade", spec.get("grade"), "filter.grade"),
        *filters.codes(ctx, c.status_code, "student_status", spec.get("status"), "filter.status"),
        *filters.codes(ctx, c.sex_code, "sex", spec.get("sex"), "filter.sex"),
        *filters.codes(
            ctx, c.ethnicity_code, "ethnicity", spec.get("ethnicity"), "filter.ethnicity"
        ),
        *filters.codes(
            ctx, c.left_behind_code, "left_behind", spec.get("left_behind"), "filter.leftBehind"
        ),
        *filters.codes(
            ctx, c.disability_code, "disability", spec.get("disability"), "filter.disability"
        ),
        *filters.equals(c.class_id, class_id),
        *filters.equals(c.migrant_child, spec.get("migrant_child")),
        *filters.equals(c.needs_aid, spec.get("needs_aid")),
        *filters.equals(c.inclusive_education, spec.get("inclusive_education")),
        *filters.prefix(c.name, spec.get("name_prefix"), "filter.namePrefix"),
        *_in_schools(spec.get("school_codes")),
    )


def _in_schools(codes: list[str] | None) -> list[ColumnElement[bool]]:
    """Condition for ``filter.schoolCodes``: students of these schools (by 10-digit code)."""
    if codes is None:
        return []
    if len(codes) > 5000 or any(not (len(c) == 10 and c.isdigit()) for c in codes):
        raise BadInput("'filter.schoolCodes' takes at most 5000 10-digit school codes")
    return [TABLE.c.school_id.in_(select(SCHOOLS.c.id).where(SCHOOLS.c.code.in_(codes)))]


async def page(ctx: Context, spec: dict[str, Any], args: PageArgs) -> Listing:
    routes = await federation.routes_of(ctx, "student")
    if routes:
        return await federation.federated_listing(
            ctx, TABLE, await conditions(ctx, spec), spec, args, routes, "Student"
        )
    return listing(ctx, TABLE, await conditions(ctx, spec), args)


async def of_parent(
    ctx: Context, column: str, parent_id: int, spec: dict[str, Any], args: PageArgs
) -> Listing:
    """Students of a school (``school_id``) or a class (``class_id``), batched; a school
    whose students are routed to a source reads them there."""
    if column == "school_id":
        routed = await federation.routed_school_listing(
            ctx, TABLE, "student", "Student", parent_id, spec, args, conditions
        )
        if routed is not None:
            return routed
    conditions_ = await conditions(ctx, spec)
    return child_listing(
        ctx, TABLE, ByParent(column), conditions_, filters.key(spec), args, parent_id
    )


async def count_of_parent(ctx: Context, column: str, parent_id: int, spec: dict[str, Any]) -> int:
    """Number of students of a school or class (class size 班额), batched."""
    args = PageArgs(first=0, after=None)
    load = child_page_loader(
        ctx, TABLE, ByParent(column), await conditions(ctx, spec), filters.key(spec), args
    )
    return await load.count(parent_id)


def _guardians_with_path() -> Select[Any]:
    """Family members carry no path of their own: they take their student's (for access
    and for masking decisions)."""
    return select(GUARDIAN, TABLE.c.path).join(TABLE, TABLE.c.id == GUARDIAN.c.student_id)


async def guardians_of(ctx: Context, student_id: int) -> list[Row[Any]]:
    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        statement = (
            _guardians_with_path()
            .where(GUARDIAN.c.student_id.in_(set(ids)), visible(ctx, TABLE))
            .order_by(GUARDIAN.c.student_id, GUARDIAN.c.position)
        )
        grouped: dict[int, list[Row[Any]]] = {i: [] for i in ids}
        for row in await ctx.rows(statement):
            grouped[row.student_id].append(row)
        return [grouped[i] for i in ids]

    rows: list[Row[Any]] = await ctx.loader("guardians_by_student", load).load(student_id)
    return rows


async def changes_of(ctx: Context, student_id: int) -> list[Row[Any]]:
    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        return await fetch_children(ctx, CHANGES, "student_id", ids, with_scope=True)

    rows: list[Row[Any]] = await ctx.loader("changes_by_student", load).load(student_id)
    return rows


async def guardian_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    """A family member by id, visible when the student is (they carry no path of their own)."""

    async def load(ids: list[int]) -> list[Row[Any] | None]:
        statement = _guardians_with_path().where(GUARDIAN.c.id.in_(set(ids)), visible(ctx, TABLE))
        found = {row.id: row for row in await ctx.rows(statement)}
        return [found.get(i) for i in ids]

    row: Row[Any] | None = await ctx.loader("guardian_by_id", load).load(pk)
    return row


async def change_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, CHANGES, pk)
