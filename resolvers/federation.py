"""Live federation (联邦查询): routed entities are read from their source per request.

A federated list is the hub store's rows outside the routed subtrees followed by each route's
rows, read from the source with the viewer's scope pushed into the source's own query (as the
codes of the schools the viewer may see there) and the filters translated back into the
source's values. Access, masking and audit then apply to these rows exactly as to the store's,
because they carry the same path (their school's). A source that fails yields the rest of the
list plus a SOURCE_UNAVAILABLE error naming it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import ColumnElement, literal, not_, select, tuple_

from hub.access.scope import Readable, under_path
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.filters import Conditions, Pushed, path_of
from hub.ids import encode_federated_id
from hub.pagination import PageArgs, encode_segment_cursor
from hub.schools.models import School
from hub.sources.mapping import Mapper
from hub.sources.protocol import Source, continuation
from hub.sources.resilience import SourceUnavailable
from hub.sources.routes import Route
from resolvers.common import Listing, Page, once

SCHOOL = table_of(School)


class RoutedFilter(Protocol):
    """A typed filter of an entity that may be routed to a source (students, buildings)."""

    @property
    def under(self) -> str | None: ...

    def schools(self) -> tuple[str, ...] | None:
        """The school codes the list is narrowed to (None: every school)."""
        ...

    def narrowed(self, under: str) -> Self:
        """The same filter inside the subtree of org unit ``under``."""
        ...

    def pushed(self) -> tuple[Pushed, ...]: ...


F = TypeVar("F", bound=RoutedFilter)
YES = ("1", "是", "Y", "y", "true", "True")
NO = ("0", "否", "N", "n", "false", "False")


@dataclass(frozen=True, slots=True)
class FederatedRow:
    """A record read live from a source, in the hub's field names (with its school's id and
    path, which place it in the tree for access and masking)."""

    type_name: str
    source: str
    key: str
    values: dict[str, Any]

    @property
    def global_id(self) -> str:
        return encode_federated_id(self.type_name, self.source, self.key)

    @property
    def path(self) -> str:
        return str(self.values["path"])


@dataclass(frozen=True, slots=True)
class RoutedSource:
    route: Route
    path: str
    source: Source


async def routes_of(ctx: Context, entity: str) -> list[RoutedSource]:
    """The routes of ``entity`` with their subtree paths (unknown codes are config errors)."""
    state = ctx.state
    if state is None:
        return []
    found = []
    for route in state.routes():
        if route.entity != entity:
            continue
        path = await path_of(ctx, route.under)
        if path is None:
            raise BadInput(f"route of {entity} to {route.source!r}: no org unit {route.under!r}")
        found.append(RoutedSource(route, path, state.sources()[route.source]))
    return found


def _unavailable(ctx: Context, error: SourceUnavailable) -> None:
    if not any(
        isinstance(e, SourceUnavailable) and e.source == error.source for e in ctx.partial_errors
    ):
        ctx.partial_errors.append(error)


def _source_where(mapper: Mapper, f: RoutedFilter) -> dict[str, list[str]]:
    """The filters as the source's own values (reverse translation); a filter the source
    cannot apply is refused, never applied row by row afterwards."""
    where: dict[str, list[str]] = {}
    fields = {field_.target: field_ for field_ in mapper.entity.fields}
    for pushed in f.pushed():
        value = pushed.value
        if value is None:  # not given
            continue
        mapped = fields.get(pushed.target) if pushed.target else None
        if mapped is None or mapped.column is None:
            raise BadInput(
                f"'{pushed.where}' cannot be applied to records of source"
                f" {mapper.source.name!r}: it does not deliver that field"
            )
        wanted = [value] if isinstance(value, (str, bool)) else list(value)
        if mapped.boolean:
            raw = [v for flag in wanted for v in (YES if flag else NO)]
        elif mapped.translate:
            table = mapper.table(mapped.translate) or {}
            raw = [source for source, code in table.items() if code in wanted]
        else:
            raw = [str(v) for v in wanted]
        where[mapped.column] = raw
    return where


@dataclass
class RouteSegment:
    """The rows of one route visible to the viewer, read from the source."""

    ctx: Context
    routed: RoutedSource
    readable: Readable  # of the routed entity: its records lie where their school lies
    type_name: str
    filter: RoutedFilter
    under: str | None
    _schools: dict[str, tuple[int, str]] | None = field(default=None)
    _whole: bool = field(default=False)

    @property
    def entity(self) -> str:
        return self.routed.route.entity

    @property
    def mapper(self) -> Mapper:
        source = self.routed.source
        return Mapper(source.config, source.entity(self.entity), self.ctx.codes)

    async def schools(self) -> dict[str, tuple[int, str]]:
        """Code -> (id, path) of the schools in the route the viewer may read students of:
        the scope pushed down into the source."""
        if self._schools is None:
            readable = self.readable.within(self.routed.path)
            if self.under is not None:
                readable = readable.within(self.under)
            codes = self.filter.schools()
            self._whole = readable.scope.prefixes == (self.routed.path,) and codes is None
            statement = select(SCHOOL.c.code, SCHOOL.c.id, SCHOOL.c.path).where(
                readable.placed_by(SCHOOL.c.path)
            )
            if codes is not None:
                statement = statement.where(SCHOOL.c.code.in_(codes))
            self._schools = {code: (pk, path) for code, pk, path in await self.ctx.rows(statement)}
        return self._schools

    async def source_scope(self) -> list[str] | None:
        """The scope as the source's school codes; None when the viewer may see the whole
        routed subtree (the route says the source serves only that subtree), which spares the
        source a condition listing every school of a province."""
        schools = await self.schools()
        return None if self._whole else sorted(schools)

    async def fetch(self, after: str | None, limit: int) -> list[tuple[str, FederatedRow]]:
        mapper = self.mapper
        where = _source_where(mapper, self.filter)
        schools = await self.schools()
        try:
            raw_rows = await self.routed.source.rows_after(
                self.entity, after, limit, scope=await self.source_scope(), where=where or None
            )
        except ValueError as error:  # the source cannot apply these filters at all
            raise BadInput(str(error)) from None
        except SourceUnavailable as error:
            _unavailable(self.ctx, error)
            return []
        rows = []
        for raw in raw_rows:
            mapped = mapper.map(raw)
            school = schools.get(str(raw.get(mapper.entity.scope_column or "")))
            if school is None:
                # A school the hub does not know (the mapping report lists such rows): its
                # place in the tree is unknown, so no one may be shown it.
                continue
            values = dict(mapped.values)
            values.update(school_id=school[0], path=school[1])
            rows.append(
                (
                    continuation(raw, mapper.entity.key),  # where the next page starts
                    FederatedRow(self.type_name, self.routed.source.name, mapped.key, values),
                )
            )
        return rows

    async def count(self) -> int:
        where = _source_where(self.mapper, self.filter)
        try:
            return await self.routed.source.count(
                self.entity, scope=await self.source_scope(), where=where or None
            )
        except ValueError as error:
            raise BadInput(str(error)) from None
        except SourceUnavailable as error:
            _unavailable(self.ctx, error)
            return 0


async def federated_listing(
    ctx: Context,
    readable: Readable,
    conditions: Sequence[ColumnElement[bool]],
    f: RoutedFilter,
    args: PageArgs,
    routes: list[RoutedSource],
    type_name: str,
) -> Listing:
    """The store's rows outside the routes, then each route's rows (see the module)."""
    from sqlalchemy import func

    table = readable.table
    under = await path_of(ctx, f.under) if f.under else None
    store_where = [
        readable.where,
        *conditions,
        *(not_(under_path(table.c.path, r.path)) for r in routes),
    ]
    segments = [RouteSegment(ctx, routed, readable, type_name, f, under) for routed in routes]
    # When everything the viewer asks for lies inside routed subtrees, the store has nothing
    # to add: ask it nothing (a query whose conditions exclude every row still scans them).
    visible = readable.scope
    if under is not None:
        visible = visible.intersect(under)
    store_empty = all(any(prefix.startswith(r.path) for r in routes) for prefix in visible.prefixes)

    async def store_rows(after: str | None, limit: int) -> list[tuple[str, Any]]:
        """The store's part, ordered by (path, id) like every top-level list; its position
        within the segment is ``<id>:<path>``."""
        if store_empty:
            return []
        where = list(store_where)
        if after is not None:
            pk, _, path = after.partition(":")
            if not pk.isdigit() or not path:
                raise BadInput("invalid cursor for 'after': not a position of this list")
            where.append(tuple_(table.c.path, table.c.id) > tuple_(literal(path), literal(int(pk))))
        statement = select(table).where(*where).order_by(table.c.path, table.c.id).limit(limit)
        return [(f"{row.id}:{row.path}", row) for row in await ctx.rows(statement)]

    async def page() -> Page:
        start, after = 0, None
        args.require_list(table.name, top_level=True)
        if args.segment is not None:
            start, after = args.segment.segment, args.segment.key
        elif args.after is not None and args.path is not None:
            after = f"{args.after}:{args.path}"  # a store cursor of this same list
        elif args.after is not None:
            raise BadInput("invalid cursor for 'after': it belongs to another list")
        if start > len(segments):
            raise BadInput("invalid cursor for 'after': it points past this list")
        wanted = args.first + 1
        rows: list[Any] = []
        cursors: list[str] = []
        for index in range(start, len(segments) + 1):
            position = after if index == start else None
            need = wanted - len(rows)
            if index == 0:
                found = await store_rows(position, need)
            else:
                found = await segments[index - 1].fetch(position, need)
            rows.extend(row for _key, row in found)
            cursors.extend(encode_segment_cursor(index, key, table.name) for key, _row in found)
            if len(rows) >= wanted:
                break
        return Page(rows[: args.first], len(rows) > args.first, cursors[: args.first])

    async def count() -> int:
        total = 0
        if not store_empty:
            total = await ctx.scalar(select(func.count()).select_from(table).where(*store_where))
        for segment in segments:
            total += await segment.count()
        return int(total or 0)

    return Listing(once(page), once(count))


async def fetch_routed(
    ctx: Context, readable: Readable, routed: RoutedSource, type_name: str, keys: list[str]
) -> list[FederatedRow | None]:
    """Records of one route by key, visible to the viewer or None; one source call per batch."""
    source = routed.source
    entity = routed.route.entity
    mapper = Mapper(source.config, source.entity(entity), ctx.codes)
    try:
        raw_rows = await source.fetch(entity, keys)
    except SourceUnavailable as error:
        _unavailable(ctx, error)
        return [None] * len(keys)
    codes = {str(r.get(mapper.entity.scope_column or "")) for r in raw_rows if r is not None}
    statement = select(SCHOOL.c.code, SCHOOL.c.id, SCHOOL.c.path).where(
        SCHOOL.c.code.in_(codes), readable.within(routed.path).placed_by(SCHOOL.c.path)
    )
    schools = {code: (pk, path) for code, pk, path in await ctx.rows(statement)}
    found: list[FederatedRow | None] = []
    for raw in raw_rows:
        school = (
            None if raw is None else schools.get(str(raw.get(mapper.entity.scope_column or "")))
        )
        if raw is None or school is None:
            found.append(None)
            continue
        mapped = mapper.map(raw)
        values = dict(mapped.values)
        values.update(school_id=school[0], path=school[1])
        found.append(FederatedRow(type_name, source.name, mapped.key, values))
    return found


async def routed_school_listing(
    ctx: Context,
    readable: Readable,
    type_name: str,
    school_id: int,
    f: F,
    args: PageArgs,
    conditions_of: Callable[[Context, F], Awaitable[Conditions]],
) -> Listing | None:
    """The nested list of one school whose entity is routed to a source, or None when the
    school's subtree is not routed (the store's batched nested list applies). Counts of all
    routed schools of a request go to the source in one call (``count_by``); each routed
    school's page is its own source call."""
    entity = readable.table.name
    routes = await routes_of(ctx, entity)
    if not routes:
        return None

    async def load(ids: list[int]) -> list[Any]:
        rows = await ctx.rows(
            select(SCHOOL.c.id, SCHOOL.c.code, SCHOOL.c.path).where(SCHOOL.c.id.in_(set(ids)))
        )
        found = {row.id: row for row in rows}
        return [found.get(i) for i in ids]

    school = await ctx.loader("school_code_path", load).load(school_id)
    if school is None or not any(school.path.startswith(r.path) for r in routes):
        return None
    narrowed = f.narrowed(school.code)
    listing = await federated_listing(
        ctx, readable, await conditions_of(ctx, narrowed), narrowed, args, routes, type_name
    )
    routed = next(r for r in routes if school.path.startswith(r.path))
    source = routed.source
    where = _source_where(Mapper(source.config, source.entity(entity), ctx.codes), f)

    async def load_counts(codes: list[str]) -> list[int]:
        try:
            counts = await source.count_by(entity, codes, where or None)
        except SourceUnavailable as error:
            _unavailable(ctx, error)
            return [0] * len(codes)
        return [counts.get(code, 0) for code in codes]

    counter = ctx.loader(("routed_counts", entity, source.name, f), load_counts)

    async def count() -> int:
        if not readable.scope.allows(school.path):
            return 0
        total: int = await counter.load(school.code)
        return total

    return Listing(listing.page, count)


async def routed_by_key(
    ctx: Context, readable: Readable, type_name: str, source: str, key: str
) -> FederatedRow | None:
    """A record of a routed source by its key there, visible to the viewer or None; the
    lookups of one request go to the source in one call per batch."""
    entity = readable.table.name
    for routed in await routes_of(ctx, entity):
        if routed.route.source != source:
            continue

        async def load(keys: list[str], routed: RoutedSource = routed) -> list[FederatedRow | None]:
            return await fetch_routed(ctx, readable, routed, type_name, keys)

        found: FederatedRow | None = await ctx.loader(("routed", entity, source), load).load(key)
        if found is not None:
            return found
    return None
