"""REST/JSON adapter: a service that lists records page by page and fetches them by key.

The service answers ``GET {url}{path}?after=KEY&limit=N[&scope=A,B]`` and
``GET {url}{path}?keys=A,B`` with ``{"items": [ {...}, ... ]}``, and ``GET {url}/health``.
A DataLoader batch becomes one call. Field names may be dotted paths into nested objects.
Every call goes through the source's timeout, read retries and circuit breaker; a malformed
answer counts as a failure of the source."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from hub.sources.mapping import SourceConfig
from hub.sources.protocol import Adapter, flatten

Row = dict[str, Any]
PAGE = 1000


class MalformedAnswer(Exception):
    pass


class RestSource(Adapter):
    kind = "rest"

    def __init__(self, config: SourceConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config)
        self.client = client or httpx.AsyncClient(base_url=config.url)

    async def _items(self, path: str, params: Mapping[str, str]) -> list[Row]:
        async def call() -> list[Row]:
            response = await self.client.get(path, params=dict(params))
            response.raise_for_status()
            try:
                body = response.json()
            except ValueError:
                raise MalformedAnswer(f"{path}: the answer is not JSON") from None
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise MalformedAnswer(f"{path}: no list of objects under 'items'")
            return [flatten(item) for item in items]

        return await self.resilience.call(call, read=True)

    async def rows_after(
        self,
        entity_name: str,
        after: str | None,
        limit: int,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Row]:
        if where:
            raise ValueError(f"source {self.name!r} cannot filter by {sorted(where)}")
        entity = self.entity(entity_name)
        if scope is not None and not scope:
            return []
        params = {"limit": str(limit)}
        if after is not None:
            params["after"] = after
        if scope is not None:
            params["scope"] = ",".join(scope)
        rows = await self._items(entity.table, params)
        return sorted(rows, key=lambda r: str(r.get(entity.key)))

    async def count_by(
        self,
        entity_name: str,
        scope: Sequence[str],
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, int]:
        """The service does not count: page through the scope once, count per school."""
        entity = self.entity(entity_name)
        counts: dict[str, int] = {}
        after: str | None = None
        while True:
            page = await self.rows_after(entity_name, after, PAGE, scope, where)
            if not page:
                return counts
            for row in page:
                value = str(row.get(entity.scope_column or ""))
                counts[value] = counts.get(value, 0) + 1
            after = str(page[-1][entity.key])

    async def fetch(self, entity_name: str, keys: Sequence[str]) -> list[Row | None]:
        entity = self.entity(entity_name)
        unique = sorted(set(keys))
        found: dict[str, Row] = {}
        for start in range(0, len(unique), PAGE):  # one call per batch of keys
            chunk = unique[start : start + PAGE]
            for row in await self._items(entity.table, {"keys": ",".join(chunk)}):
                found[str(row.get(entity.key))] = row
        return [found.get(k) for k in keys]

    async def health(self) -> bool:
        async def call() -> bool:
            response = await self.client.get("/health")
            if response.status_code != 200:
                return False
            try:
                return isinstance(response.json(), dict)
            except ValueError:  # a 200 that is not JSON is not a healthy service
                return False

        try:
            return await self.resilience.call(call, read=True)
        except Exception:  # health reports, it does not raise
            return False

    async def _all(self, entity_name: str) -> list[Row]:
        rows: list[Row] = []
        after: str | None = None
        key = self.entity(entity_name).key
        while True:
            page = await self.rows_after(entity_name, after, PAGE)
            if not page:
                return rows
            rows.extend(page)
            after = str(page[-1][key])

    async def column_stats(self, entity_name: str) -> tuple[int, Mapping[str, int]]:
        """A service does not aggregate: page through it (for the mapping report)."""
        rows = await self._all(entity_name)
        columns = self.entity(entity_name).columns()
        filled = {
            c: sum(1 for r in rows if r.get(c) is not None and str(r.get(c)).strip())
            for c in columns
        }
        return len(rows), filled

    async def value_counts(self, entity_name: str, column_name: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in await self._all(entity_name):
            value = row.get(column_name)
            if value is not None and str(value).strip():
                text = str(value).strip()
                counts[text] = counts.get(text, 0) + 1
        return counts

    async def count(
        self,
        entity_name: str,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        """The service does not count: page through what the scope selects."""
        total = 0
        after: str | None = None
        key = self.entity(entity_name).key
        while True:
            page = await self.rows_after(entity_name, after, PAGE, scope, where)
            if not page:
                return total
            total += len(page)
            after = str(page[-1][key])

    async def close(self) -> None:
        await self.client.aclose()
