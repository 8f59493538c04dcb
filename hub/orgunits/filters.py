"""The org unit filter (机构筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass

from hub import filters
from hub.context import Context
from hub.db.base import table_of
from hub.filters import Conditions
from hub.orgunits.models import OrgLevel, OrgUnit

ORG_UNIT = table_of(OrgUnit)


@dataclass(frozen=True, slots=True)
class OrgUnitFilter:
    """What a list of org units is narrowed to (GraphQL ``OrgUnitFilter``); ``None``: any."""

    under: str | None = None
    level: OrgLevel | None = None
    name_prefix: str | None = None


async def conditions(ctx: Context, f: OrgUnitFilter) -> Conditions:
    return (
        *await filters.under(ctx, ORG_UNIT, f.under),
        *filters.equals(ORG_UNIT.c.level, None if f.level is None else f.level.value),
        *filters.prefix(ORG_UNIT.c.name, f.name_prefix, "filter.namePrefix"),
    )
