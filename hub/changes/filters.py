"""The change feed filter (变更筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass

from hub import filters
from hub.changes.models import ChangeEvent
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.filters import Conditions

EVENT = table_of(ChangeEvent)
ENTITIES = ("Student",)  # what the store logs today


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    under: str | None = None
    entity: tuple[str, ...] | None = None


async def conditions(ctx: Context, f: ChangeFilter) -> Conditions:
    found = [*await filters.under(ctx, EVENT, f.under)]
    if f.entity is not None:
        unknown = [e for e in f.entity if e not in ENTITIES]
        if unknown:
            raise BadInput(
                f"unknown entity {unknown[0]!r} in 'filter.entity' (known: {', '.join(ENTITIES)})"
            )
        found.append(EVENT.c.entity.in_(f.entity))
    return tuple(found)
