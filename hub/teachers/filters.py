"""The teacher and staff filter (教职工筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass

from hub import filters
from hub.context import Context
from hub.db.base import table_of
from hub.filters import Conditions
from hub.teachers.models import Teacher

TEACHER = table_of(Teacher)


@dataclass(frozen=True, slots=True)
class TeacherFilter:
    """What a list of teachers and staff is narrowed to (GraphQL ``TeacherFilter``)."""

    under: str | None = None
    teachers_only: bool | None = None
    subject: tuple[str, ...] | None = None
    title: tuple[str, ...] | None = None
    status: tuple[str, ...] | None = None
    post: tuple[str, ...] | None = None
    name_prefix: str | None = None


async def conditions(ctx: Context, f: TeacherFilter) -> Conditions:
    c = TEACHER.c
    return (
        *await filters.under(ctx, TEACHER, f.under),
        *filters.equals(c.is_teacher, f.teachers_only or None),
        *filters.codes(ctx, c.subject_code, "subject", f.subject, "filter.subject"),
        *filters.codes(ctx, c.title_code, "title", f.title, "filter.title"),
        *filters.codes(ctx, c.status_code, "staff_status", f.status, "filter.status"),
        *filters.codes(ctx, c.post_code, "post", f.post, "filter.post"),
        *filters.prefix(c.name, f.name_prefix, "filter.namePrefix"),
    )
