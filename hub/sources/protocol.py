"""The one protocol every source implements: the hub store's adapters to docked SQL systems,
REST services, files and other hubs alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hub.sources.mapping import EntityMap, SourceConfig
from hub.sources.resilience import Resilience

Row = dict[str, Any]


class Source(Protocol):
    name: str
    kind: str
    config: SourceConfig
    resilience: Resilience

    def entity(self, name: str) -> EntityMap: ...

    async def rows_after(
        self,
        entity_name: str,
        after: str | None,
        limit: int,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Row]:
        """Rows in key order after ``after``; ``scope`` (values of the entity's scope column:
        school or division codes) and ``where`` (column -> accepted source values) are pushed
        into the source's own query."""

    async def count(
        self,
        entity_name: str,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> int: ...

    async def count_by(
        self,
        entity_name: str,
        scope: Sequence[str],
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, int]:
        """Counts per value of the scope column (per school): one call for a batch."""

    async def fetch(self, entity_name: str, keys: Sequence[str]) -> list[Row | None]:
        """Rows by key in the order of ``keys`` (for DataLoaders)."""

    async def health(self) -> bool: ...

    async def column_stats(self, entity_name: str) -> tuple[int, Mapping[str, int]]: ...

    async def value_counts(self, entity_name: str, column_name: str) -> dict[str, int]: ...

    async def close(self) -> None: ...


def make_source(config: SourceConfig) -> Source:
    """The adapter for a configured source, by its kind."""
    if config.kind == "sql":
        from hub.sources.sql import SqlSource

        return SqlSource(config)
    if config.kind == "rest":
        from hub.sources.rest import RestSource

        return RestSource(config)
    if config.kind == "file":
        from hub.sources.files import FileSource

        return FileSource(config)
    if config.kind == "eduhub":
        from hub.sources.eduhub import EduhubSource

        return EduhubSource(config)
    raise ValueError(
        f"source {config.name!r}: unknown kind {config.kind!r} (sql, rest, file, eduhub)"
    )


class Adapter:
    """What every adapter shares: its configuration, its resilience, its entities."""

    kind: str

    def __init__(self, config: SourceConfig, *, retries: int | None = None) -> None:
        from hub.sources.resilience import CircuitBreaker

        self.config = config
        self.name = config.name
        self.resilience = Resilience(
            config.name,
            config.timeout_seconds,
            config.retries if retries is None else retries,
            CircuitBreaker(config.breaker_failures, config.breaker_reset_seconds),
        )

    def entity(self, name: str) -> EntityMap:
        try:
            return self.config.entities[name]
        except KeyError:
            raise KeyError(f"source {self.name!r} maps no entity {name!r}") from None


def flatten(item: Mapping[str, Any], prefix: str = "") -> Row:
    """A nested JSON object as dotted field names (``{"jd": {"dj": "A"}}`` -> ``jd.dj``)."""
    flat: Row = {}
    for key, value in item.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


CONTINUATION = "__after"


def continuation(row: Row, key_column: str) -> str:
    """Where to continue after ``row``: a source's own continuation token when it gives one
    (another hub's cursor), else the row's key (key order)."""
    token = row.get(CONTINUATION)
    return str(token if token is not None else row[key_column])
