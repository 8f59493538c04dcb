"""The building filter (校舍筛选) and its SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hub import filters
from hub.buildings.models import Building
from hub.context import Context
from hub.db.base import table_of
from hub.filters import Conditions, Pushed

BUILDING = table_of(Building)


@dataclass(frozen=True, slots=True)
class BuildingFilter:
    """What a list of buildings is narrowed to (GraphQL ``BuildingFilter``); ``None``: any."""

    under: str | None = None
    danger_rating: tuple[str, ...] | None = None
    use: tuple[str, ...] | None = None
    structure: tuple[str, ...] | None = None
    seismic_category: tuple[str, ...] | None = None
    name_prefix: str | None = None

    def schools(self) -> tuple[str, ...] | None:
        return None  # buildings are not filtered by school code

    def narrowed(self, under: str) -> BuildingFilter:
        return replace(self, under=under)

    def pushed(self) -> tuple[Pushed, ...]:
        """The values a routed source must apply itself (see ``StudentFilter``)."""
        return (
            Pushed("filter.dangerRating", "danger_rating_code", self.danger_rating),
            Pushed("filter.use", "use_code", self.use),
            Pushed("filter.structure", "structure_code", self.structure),
            Pushed("filter.seismicCategory", None, self.seismic_category),
            Pushed("filter.namePrefix", None, self.name_prefix),
        )


async def conditions(ctx: Context, f: BuildingFilter) -> Conditions:
    c = BUILDING.c
    return (
        *await filters.under(ctx, BUILDING, f.under),
        *filters.codes(
            ctx, c.danger_rating_code, "danger_rating", f.danger_rating, "filter.dangerRating"
        ),
        *filters.codes(ctx, c.use_code, "building_use", f.use, "filter.use"),
        *filters.codes(ctx, c.structure_code, "structure", f.structure, "filter.structure"),
        *filters.codes(
            ctx,
            c.seismic_category_code,
            "seismic_category",
            f.seismic_category,
            "filter.seismicCategory",
        ),
        *filters.prefix(c.name, f.name_prefix, "filter.namePrefix"),
    )
