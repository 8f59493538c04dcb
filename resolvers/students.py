"""Students (学生), their family members (家庭成员) and status changes (学籍异动)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Select, select

from hub.access.masking import embeds_id
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.ids import encode_id
from hub.pagination import PageArgs
from hub.students.filters import (
    ChangeRequestFilter,
    StudentFilter,
    conditions,
    request_conditions,
)
from hub.students.models import ChangeRequest, Guardian, StatusChange, Student
from resolvers import federation
from resolvers.common import (
    ByParent,
    Listing,
    child_listing,
    child_page_loader,
    fetch_children,
    listing,
    load_by_column,
    load_by_id,
)

TABLE = table_of(Student)
GUARDIAN = table_of(Guardian)
CHANGES = table_of(StatusChange)
REQUESTS = table_of(ChangeRequest)


def check_student_number(number: str) -> str:
    if not (1 < len(number) <= 20 and number[0] in "GJL" and number[1:].isalnum()):
        raise BadInput(
            "'studentNumber' must be a national student number (G, J or L followed by"
            f" letters and digits, at most 20 characters), got {number!r}"
        )
    return number


async def by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(TABLE), pk)


async def by_number(ctx: Context, number: str) -> Any:
    """A student by national number: the store, else a routed source (keyed by number)."""
    check_student_number(number)
    row = await load_by_column(ctx, ctx.access.readable(TABLE), "student_number", number)
    if row is None and number.startswith("L"):  # a temporary number a permanent one replaced
        row = await load_by_column(ctx, ctx.access.readable(TABLE), "former_number", number)
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
    readable = ctx.access.readable(TABLE)
    return await federation.routed_by_key(ctx, readable, "Student", source, key)


async def page(ctx: Context, f: StudentFilter, args: PageArgs) -> Listing:
    readable = ctx.access.readable(TABLE)
    routes = await federation.routes_of(ctx, "student")
    if routes:
        return await federation.federated_listing(
            ctx, readable, await conditions(ctx, f), f, args, routes, "Student"
        )
    return listing(ctx, readable, await conditions(ctx, f), args)


async def of_parent(
    ctx: Context, column: str, parent_id: int, f: StudentFilter, args: PageArgs
) -> Listing:
    """Students of a school (``school_id``) or a class (``class_id``), batched; a school
    whose students are routed to a source reads them there."""
    readable = ctx.access.readable(TABLE)
    if column == "school_id":
        routed = await federation.routed_school_listing(
            ctx, readable, "Student", parent_id, f, args, conditions
        )
        if routed is not None:
            return routed
    where = await conditions(ctx, f)
    return child_listing(ctx, readable, ByParent(column), where, f, args, parent_id)


async def count_of_parent(ctx: Context, column: str, parent_id: int, f: StudentFilter) -> int:
    """Number of students of a school or class (class size 班额), batched."""
    args = PageArgs(first=0, after=None)
    readable = ctx.access.readable(TABLE)
    load = child_page_loader(ctx, readable, ByParent(column), await conditions(ctx, f), f, args)
    return await load.count(parent_id)


def _guardians_with_path() -> Select[Any]:
    """Family members carry no path of their own: they take their student's (for access
    and for masking decisions)."""
    return select(GUARDIAN, TABLE.c.path).join(TABLE, TABLE.c.id == GUARDIAN.c.student_id)


async def guardians_of(ctx: Context, student_id: int) -> list[Row[Any]]:
    async def load(ids: list[int]) -> list[list[Row[Any]]]:
        statement = (
            _guardians_with_path()
            .where(GUARDIAN.c.student_id.in_(set(ids)), ctx.access.readable(TABLE).where)
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
        return await fetch_children(ctx, ctx.access.readable(CHANGES), "student_id", ids)

    rows: list[Row[Any]] = await ctx.loader("changes_by_student", load).load(student_id)
    return rows


async def guardian_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    """A family member by id, visible when the student is (they carry no path of their own)."""

    async def load(ids: list[int]) -> list[Row[Any] | None]:
        readable = ctx.access.readable(TABLE)  # a guardian is read through its student
        statement = _guardians_with_path().where(GUARDIAN.c.id.in_(set(ids)), readable.where)
        found = {row.id: row for row in await ctx.rows(statement)}
        return [found.get(i) for i in ids]

    row: Row[Any] | None = await ctx.loader("guardian_by_id", load).load(pk)
    return row


async def change_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(CHANGES), pk)


async def request_page(ctx: Context, f: ChangeRequestFilter, args: PageArgs) -> Listing:
    """Change requests (学籍变更申请) in the viewer's subtree, by school."""
    return listing(ctx, ctx.access.readable(REQUESTS), await request_conditions(ctx, f), args)


async def request_by_id(ctx: Context, pk: int) -> Row[Any] | None:
    return await load_by_id(ctx, ctx.access.readable(REQUESTS), pk)
