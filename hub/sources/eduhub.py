"""eduhub adapter: another hub over GraphQL, so a national hub federates provincial hubs.

Columns of its mappings are paths into the other hub's objects (``studentNumber``,
``sex.code``, ``school.code``). The key of a record is its global ID there; pages continue
from the other hub's own cursors (``continuation``), so this hub never needs to know its
order. The viewer's scope goes down as ``filter.schoolCodes``, filters as the other hub's own
filter arguments. The other hub applies its own access rules to the
token this hub presents (a service account there), and this hub applies its rules on top.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from hub.sources.mapping import EntityMap, SourceConfig
from hub.sources.protocol import CONTINUATION, Adapter, flatten

Row = dict[str, Any]
LISTS = {"student": ("students", "Student"), "school": ("schools", "School")}
# Source columns (paths) that a filter argument of the other hub can narrow.
FILTERS = {
    "grade.code": "grade",
    "sex.code": "sex",
    "status.code": "status",
    "ethnicity.code": "ethnicity",
}
SINGLE = {"sex", "ethnicity"}  # filter arguments that take one value, not a list
ALIASES = 25  # lookups by id per request: below the other hub's alias limit


class RemoteError(Exception):
    pass


def _selection(paths: Sequence[str]) -> str:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})

    def render(node: dict[str, Any]) -> str:
        return " ".join(f"{k} {{ {render(v)} }}" if v else k for k, v in node.items())

    return render(tree)


class EduhubSource(Adapter):
    kind = "eduhub"

    def __init__(self, config: SourceConfig, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(config)
        token = config.options.get("token") or os.environ.get(config.options.get("token_env", ""))
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.client = client or httpx.AsyncClient(base_url=config.url, headers=headers)

    async def _query(self, document: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            response = await self.client.post(
                "/graphql", json={"query": document, "variables": dict(variables)}
            )
            response.raise_for_status()
            body = response.json()
            if body.get("errors"):
                first = body["errors"][0]
                code = (first.get("extensions") or {}).get("code")
                raise RemoteError(f"{code}: {first.get('message')}")
            data: dict[str, Any] = body["data"]
            return data

        return await self.resilience.call(call, read=True)

    def _filter(
        self, scope: Sequence[str] | None, where: Mapping[str, Sequence[str]] | None
    ) -> dict[str, Any]:
        remote: dict[str, Any] = {}
        if scope is not None:
            remote["schoolCodes"] = list(scope)
        for column, values in (where or {}).items():
            argument = FILTERS.get(column)
            if argument is None:
                raise ValueError(f"source {self.name!r} cannot filter by {column!r}")
            if argument in SINGLE:
                if len(values) != 1:
                    raise ValueError(f"source {self.name!r} filters {argument} by one value")
                remote[argument] = values[0]
            else:
                remote[argument] = list(values)
        return remote

    def _columns(self, entity: EntityMap) -> list[str]:
        return sorted({"id", *entity.columns()})

    async def rows_after(
        self,
        entity_name: str,
        after: str | None,
        limit: int,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Row]:
        entity = self.entity(entity_name)
        if scope is not None and not scope:
            return []
        field, type_name = LISTS[entity_name]
        document = (
            f"query ($f: {type_name}Filter, $n: Int, $a: String) {{ {field}(filter: $f,"
            f" first: $n, after: $a) {{ edges {{ cursor node {{"
            f" {_selection(self._columns(entity))} }} }} }} }}"
        )
        cursor = after  # the other hub's own cursor: it knows its order
        rows: list[Row] = []
        while len(rows) < limit:  # the other hub pages at most 500 at a time
            page = min(500, limit - len(rows))
            data = await self._query(
                document, {"f": self._filter(scope, where), "n": page, "a": cursor}
            )
            edges = data[field]["edges"]
            for edge in edges:
                rows.append({**flatten(edge["node"]), CONTINUATION: edge["cursor"]})
            if len(edges) < page:
                break
            cursor = edges[-1]["cursor"]
        return rows

    async def count(
        self,
        entity_name: str,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        if scope is not None and not scope:
            return 0
        field, type_name = LISTS[entity_name]
        data = await self._query(
            f"query ($f: {type_name}Filter) {{ {field}(filter: $f, first: 0) {{ totalCount }} }}",
            {"f": self._filter(scope, where)},
        )
        return int(data[field]["totalCount"])

    async def count_by(
        self,
        entity_name: str,
        scope: Sequence[str],
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, int]:
        """Per-school counts asked of the other hub, one request per batch of schools."""
        field, type_name = LISTS[entity_name]
        codes = sorted(set(scope))
        counts: dict[str, int] = {}
        for start in range(0, len(codes), ALIASES):
            chunk = codes[start : start + ALIASES]
            document = (
                "query ("
                + ", ".join(f"$f{i}: {type_name}Filter" for i in range(len(chunk)))
                + ") { "
                + " ".join(
                    f"c{i}: {field}(filter: $f{i}, first: 0) {{ totalCount }}"
                    for i in range(len(chunk))
                )
                + " }"
            )
            data = await self._query(
                document, {f"f{i}": self._filter([code], where) for i, code in enumerate(chunk)}
            )
            for i, code in enumerate(chunk):
                counts[code] = int(data[f"c{i}"]["totalCount"])
        return counts

    async def fetch(self, entity_name: str, keys: Sequence[str]) -> list[Row | None]:
        entity = self.entity(entity_name)
        _field, type_name = LISTS[entity_name]
        selection = _selection(self._columns(entity))
        unique = sorted(set(keys))
        found: dict[str, Row] = {}
        for start in range(0, len(unique), ALIASES):  # one request per batch of keys
            chunk = unique[start : start + ALIASES]
            document = "query (" + ", ".join(f"$k{i}: ID!" for i in range(len(chunk))) + ") { "
            document += " ".join(
                f"n{i}: node(id: $k{i}) {{ ... on {type_name} {{ {selection} }} }}"
                for i in range(len(chunk))
            )
            document += " }"
            data = await self._query(document, {f"k{i}": key for i, key in enumerate(chunk)})
            for i, key in enumerate(chunk):
                node = data.get(f"n{i}")
                if node:
                    found[key] = flatten(node)
        return [found.get(k) for k in keys]

    async def _federation(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A call to the other hub's hub-to-hub endpoints (``hub.quality.routes``)."""

        async def call() -> dict[str, Any]:
            response = await self.client.request(method, path, **kwargs)
            if response.status_code != 200:
                try:
                    reason = response.json().get("error")
                except ValueError:
                    reason = response.text[:200]
                raise RemoteError(f"{method} {path}: HTTP {response.status_code}: {reason}")
            body: dict[str, Any] = response.json()
            return body

        return await self.resilience.call(call, read=method == "GET")

    async def id_digests(self, after: str | None, first: int) -> tuple[list[str], str | None]:
        """A page of the other hub's keyed ID hashes and the cursor of the next (None: the
        last page)."""
        params: dict[str, Any] = {"first": first}
        if after is not None:
            params["after"] = after
        body = await self._federation("GET", "/federation/id-digests", params=params)
        return [str(d) for d in body["digests"]], body["next"]

    async def report_cross(self, holders: Mapping[str, Sequence[str]]) -> dict[str, int]:
        """Tell the other hub which of its hashes other provinces hold (its complete list)."""
        payload = {"holders": [{"digest": d, "provinces": list(p)} for d, p in holders.items()]}
        body = await self._federation(
            "POST",
            "/federation/cross-duplicates",
            content=orjson.dumps(payload),
            headers={"content-type": "application/json"},
        )
        return {k: int(v) for k, v in body.items()}

    async def health(self) -> bool:
        try:
            data = await self._query("{ me { user } }", {})
        except Exception:  # health reports, it does not raise
            return False
        return bool(data.get("me"))

    async def column_stats(self, entity_name: str) -> tuple[int, Mapping[str, int]]:
        raise NotImplementedError("the mapping report of another hub is that hub's own report")

    async def value_counts(self, entity_name: str, column_name: str) -> dict[str, int]:
        raise NotImplementedError("the mapping report of another hub is that hub's own report")

    async def close(self) -> None:
        await self.client.aclose()
