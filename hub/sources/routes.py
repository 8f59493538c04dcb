"""The routing table (路由): which source serves which entity under which subtree.

    [routes]
    student = [ { under = "45", source = "gx_students" } ]

Rows of a routed entity under a routed subtree are read live from the source, and the hub
store's rows there are not shown (a synced copy would otherwise appear twice).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.sources.mapping import MappingError, covers

ROUTABLE = ("student", "building")


@dataclass(frozen=True, slots=True)
class Route:
    entity: str
    under: str  # org unit code of the subtree
    source: str


def load_routes(path: Path, sources: Mapping[str, str | None]) -> list[Route]:
    """The routes of the sources file; ``sources`` maps each source to its region."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"{path}: {error}") from None
    routes: list[Route] = []
    for entity, entries in document.get("routes", {}).items():
        where = f"{path}: routes.{entity}"
        if entity not in ROUTABLE:
            raise MappingError(f"{where}: only {', '.join(ROUTABLE)} can be routed so far")
        for entry in entries:
            if set(entry) != {"under", "source"}:
                raise MappingError(f"{where}: each route names 'under' and 'source'")
            if entry["source"] not in sources:
                raise MappingError(f"{where}: unknown source {entry['source']!r}")
            under, source = str(entry["under"]), str(entry["source"])
            region = sources[source]
            if not covers(region, under):
                raise MappingError(
                    f"{where}: {under!r} lies outside the region {region!r} of {source!r}"
                )
            routes.append(Route(entity, under, source))
    return routes
