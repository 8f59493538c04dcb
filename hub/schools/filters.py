"""The school filter (学校筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass

from hub import filters
from hub.context import Context
from hub.db.base import table_of
from hub.filters import Conditions
from hub.schools.models import School

SCHOOL = table_of(School)


@dataclass(frozen=True, slots=True)
class SchoolFilter:
    """What a list of schools is narrowed to (GraphQL ``SchoolFilter``); ``None``: any."""

    under: str | None = None
    type: tuple[str, ...] | None = None
    ownership: str | None = None
    urban_rural: str | None = None
    name_prefix: str | None = None


async def conditions(ctx: Context, f: SchoolFilter) -> Conditions:
    c = SCHOOL.c
    return (
        *await filters.under(ctx, SCHOOL, f.under),
        *filters.codes(ctx, c.type_code, "school_type", f.type, "filter.type"),
        *filters.codes(ctx, c.ownership_code, "ownership", f.ownership, "filter.ownership"),
        *filters.codes(ctx, c.urban_rural_code, "urban_rural", f.urban_rural, "filter.urbanRural"),
        *filters.prefix(c.name, f.name_prefix, "filter.namePrefix"),
    )
