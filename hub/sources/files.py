"""File adapter: the national import template as ``.xlsx`` or ``.csv``, for schools that send
files instead of docking a system.

The first row holds the template's column titles (姓名, 性别, 出生日期, …), which the mapping
names as columns; ``table`` is the sheet of a workbook (ignored for CSV). A file that cannot
be read, or lacks a mapped column, is reported with its name and what is wrong; nothing of it
is taken then."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hub.sources.mapping import EntityMap, SourceConfig
from hub.sources.protocol import Adapter

Row = dict[str, Any]


class FileProblem(Exception):
    """The file is malformed or does not fit its mapping."""


def _path(url: str) -> Path:
    for prefix in ("file://", "file:"):
        if url.startswith(prefix):
            return Path(url[len(prefix) :])
    return Path(url)


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed into a text column of the template
    return value.strip() if isinstance(value, str) else value


class FileSource(Adapter):
    kind = "file"

    def __init__(self, config: SourceConfig) -> None:
        super().__init__(config, retries=0)  # a file does not get better by reading it again
        self.path = _path(config.url)
        self._cache: dict[str, tuple[float, list[Row]]] = {}

    def _read(self, entity: EntityMap) -> list[Row]:
        try:
            stamp = self.path.stat().st_mtime
        except OSError as error:
            raise FileProblem(f"{self.path}: {error.strerror}") from None
        cached = self._cache.get(entity.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        if self.path.suffix.lower() == ".csv":
            header, records = self._csv()
        elif self.path.suffix.lower() == ".xlsx":
            header, records = self._xlsx(entity.table)
        else:
            raise FileProblem(f"{self.path}: not a .csv or .xlsx file")
        missing = [c for c in entity.columns() if c not in header]
        if missing:
            raise FileProblem(
                f"{self.path}: the template lacks the columns {', '.join(missing)}"
                f" (found: {', '.join(h for h in header if h)})"
            )
        rows = [
            dict(zip(header, (_cell(v) for v in record), strict=False))
            for record in records
            if any(v not in (None, "") for v in record)
        ]
        rows.sort(key=lambda r: str(r.get(entity.key) or ""))
        self._cache[entity.name] = (stamp, rows)
        return rows

    def _csv(self) -> tuple[list[str], list[list[Any]]]:
        raw = self.path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):  # Excel in China often saves GB18030
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise FileProblem(f"{self.path}: neither UTF-8 nor GB18030 text")
        lines = list(csv.reader(io.StringIO(text)))
        if not lines:
            raise FileProblem(f"{self.path}: empty file")
        return [h.strip() for h in lines[0]], [list(line) for line in lines[1:]]

    def _xlsx(self, sheet: str) -> tuple[list[str], list[list[Any]]]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
            raise FileProblem(f"{self.path}: not a readable .xlsx workbook ({error})") from None
        try:
            if sheet not in workbook.sheetnames:
                raise FileProblem(
                    f"{self.path}: no sheet {sheet!r} (sheets: {', '.join(workbook.sheetnames)})"
                )
            rows = list(workbook[sheet].iter_rows(values_only=True))
        finally:
            workbook.close()
        if not rows:
            raise FileProblem(f"{self.path}: sheet {sheet!r} is empty")
        header = ["" if h is None else str(h).strip() for h in rows[0]]
        return header, [list(r) for r in rows[1:]]

    async def _rows(self, entity_name: str) -> list[Row]:
        entity = self.entity(entity_name)

        async def read() -> list[Row]:
            return await asyncio.to_thread(self._read, entity)

        return await self.resilience.call(read, read=True)

    @staticmethod
    def _select(
        entity: EntityMap,
        rows: list[Row],
        scope: Sequence[str] | None,
        where: Mapping[str, Sequence[str]] | None,
    ) -> list[Row]:
        if scope is not None:
            allowed = set(scope)
            rows = [r for r in rows if str(r.get(entity.scope_column or "")) in allowed]
        for column, values in (where or {}).items():
            accepted = set(values)
            rows = [r for r in rows if str(r.get(column)) in accepted]
        return rows

    async def rows_after(
        self,
        entity_name: str,
        after: str | None,
        limit: int,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Row]:
        entity = self.entity(entity_name)
        rows = self._select(entity, await self._rows(entity_name), scope, where)
        if after is not None:
            rows = [r for r in rows if str(r.get(entity.key) or "") > after]
        return rows[:limit]

    async def count(
        self,
        entity_name: str,
        scope: Sequence[str] | None = None,
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        entity = self.entity(entity_name)
        return len(self._select(entity, await self._rows(entity_name), scope, where))

    async def count_by(
        self,
        entity_name: str,
        scope: Sequence[str],
        where: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, int]:
        entity = self.entity(entity_name)
        counts: dict[str, int] = {}
        for row in self._select(entity, await self._rows(entity_name), scope, where):
            value = str(row.get(entity.scope_column or ""))
            counts[value] = counts.get(value, 0) + 1
        return counts

    async def fetch(self, entity_name: str, keys: Sequence[str]) -> list[Row | None]:
        entity = self.entity(entity_name)
        found = {str(r.get(entity.key)): r for r in await self._rows(entity_name)}
        return [found.get(k) for k in keys]

    async def health(self) -> bool:
        return self.path.is_file()

    async def column_stats(self, entity_name: str) -> tuple[int, Mapping[str, int]]:
        rows = await self._rows(entity_name)
        columns = self.entity(entity_name).columns()
        return len(rows), {c: sum(1 for r in rows if r.get(c) not in (None, "")) for c in columns}

    async def value_counts(self, entity_name: str, column_name: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in await self._rows(entity_name):
            value = row.get(column_name)
            if value not in (None, ""):
                counts[str(value)] = counts.get(str(value), 0) + 1
        return counts

    async def close(self) -> None:
        self._cache.clear()
