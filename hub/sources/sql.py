"""SQL adapter: any database SQLAlchemy reaches (async driver), read through a mapping.

Implements the source protocol (``hub.sources.protocol``): rows by key, rows in key order
after a checkpoint with scope conditions pushed into the WHERE clause, health, and the column
statistics the mapping report needs. Every call goes through the source's resilience."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    TableClause,
    Text,
    and_,
    column,
    func,
    literal,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.sources.mapping import EntityMap, SourceConfig
from hub.sources.protocol import Adapter

Row = dict[str, Any]


class SqlSource(Adapter):
    kind = "sql"

    def __init__(self, config: SourceConfig, engine: AsyncEngine | None = None) -> None:
        super().__init__(config)
        self.engine = engine or create_async_engine(config.url)

    def _table(self, entity: EntityMap) -> tuple[TableClause, dict[str, ColumnClause[Any]]]:
        columns: dict[str, ColumnClause[Any]] = {name: column(name) for name in entity.columns()}
        return table(entity.table, *columns.values()), columns

    async def _rows(self, statement: Any) -> list[Row]:
        async def run() -> list[Row]:
            async with self.engine.connect() as connection:
                result = await connection.execute(statement)
                return [dict(row._mapping) for row in result.all()]

        return await self.resilience.call(run, read=True)

    def _conditions(
        self,
        entity: EntityMap,
        columns: Mapping[str, ColumnClause[Any]],
        scope: Sequence[str] | None,
        where: Mapping[str, Sequence[str]] | None,
    ) -> list[Any] | None:
        """SQL conditions for a scope (values of the scope column) and ``where`` (column ->
        accepted source values); None when they select nothing at all."""
        conditions: list[Any] = []
        if scope is not None:
            if entity.scope_column is None:
                raise ValueError(f"entity {entity.name!r} of {self.name!r} has no scope column")
            if not scope:
                return None
            conditions.append(columns[entity.scope_column].in_(list(scope)))
        for column_name, values in (where or {}).items():
            if not values:
                return None
            conditions.append(column(column_name).in_(list(values)))
        return conditions

    async def rows_after(
        self,
        entity_name: str,
        after: str | None,
        limit: int,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Row]:
        """Rows in key order after ``after``; with ``scope``, only those whose scope column
        holds one of the given values (school codes, division codes); with ``where``, only
        those whose columns hold one of the given source values."""
        entity = self.entity(entity_name)
        source_table, columns = self._table(entity)
        key = columns[entity.key]
        conditions = self._conditions(entity, columns, scope, where)
        if conditions is None:
            return []
        if after is not None:
            conditions.append(key > literal(after))
        statement = select(*columns.values()).select_from(source_table)
        if conditions:
            statement = statement.where(and_(*conditions))
        return await self._rows(statement.order_by(key).limit(limit))

    async def count(
        self,
        entity_name: str,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        entity = self.entity(entity_name)
        source_table, columns = self._table(entity)
        conditions = self._conditions(entity, columns, scope, where)
        if conditions is None:
            return 0
        statement = select(func.count().label("n")).select_from(source_table)
        if conditions:
            statement = statement.where(and_(*conditions))
        return int((await self._rows(statement))[0]["n"])

    async def count_by(
        self,
        entity_name: str,
        scope: Sequence[str],
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, int]:
        entity = self.entity(entity_name)
        source_table, columns = self._table(entity)
        conditions = self._conditions(entity, columns, scope, where)
        if conditions is None or entity.scope_column is None:
            return {}
        group = columns[entity.scope_column]
        statement = (
            select(group.label("scope_value"), func.count().label("n"))
            .select_from(source_table)
            .where(and_(*conditions))
            .group_by(group)
        )
        return {str(r["scope_value"]): int(r["n"]) for r in await self._rows(statement)}

    async def fetch(self, entity_name: str, keys: Sequence[str]) -> list[Row | None]:
        """Rows by key, in the order of ``keys`` (``None`` where missing): for DataLoaders."""
        entity = self.entity(entity_name)
        source_table, columns = self._table(entity)
        statement = (
            select(*columns.values())
            .select_from(source_table)
            .where(columns[entity.key].in_(list(set(keys))))
        )
        found = {str(row[entity.key]): row for row in await self._rows(statement)}
        return [found.get(k) for k in keys]

    async def health(self) -> bool:
        try:
            await self._rows(select(literal(1)))
        except Exception:  # health reports, it does not raise
            return False
        return True

    async def column_stats(self, entity_name: str) -> tuple[int, Mapping[str, int]]:
        """Total rows and, per mapped column, how many rows hold a non-empty value."""
        entity = self.entity(entity_name)
        source_table, columns = self._table(entity)
        counts = [
            func.count(func.nullif(func.trim(func.cast(c, Text())), "")).label(name)
            for name, c in columns.items()
        ]
        statement = select(func.count().label("__total"), *counts).select_from(source_table)
        row = (await self._rows(statement))[0]
        total = int(row.pop("__total"))
        return total, {name: int(value) for name, value in row.items()}

    async def value_counts(self, entity_name: str, column_name: str) -> dict[str, int]:
        entity = self.entity(entity_name)
        source_table, columns = self._table(entity)
        c = columns[column_name]
        statement = select(c, func.count().label("n")).select_from(source_table).group_by(c)
        counts: dict[str, int] = {}
        for row in await self._rows(statement):
            value = row[column_name]
            if value is not None and str(value).strip():
                counts[str(value).strip()] = counts.get(str(value).strip(), 0) + int(row["n"])
        return counts

    async def close(self) -> None:
        await self.engine.dispose()
