"""Building blocks shared by the domain resolvers: pages, counts, loads by key, all scoped."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_, func, literal, select, tuple_

from hub.access.scope import Readable, path_column, path_name
from hub.context import Context
from hub.db.base import table_of
from hub.errors import BadInput
from hub.filters import Conditions
from hub.orgunits.history import subtree_upper
from hub.orgunits.models import OrgUnit
from hub.pagination import PageArgs, encode_cursor, encode_tree_cursor


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows ordered by primary key, and whether more follow. A federated page
    carries its own cursors (segment and key) and rows of other systems."""

    rows: Sequence[Any]
    has_next: bool
    cursors: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """A list as a connection sees it: its page and its total, each fetched only when the
    query selects it (``totalCount`` alone never reads rows; rows alone never count)."""

    page: Callable[[], Awaitable[Page]]
    count: Callable[[], Awaitable[int]]


def once(produce: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """Run ``produce`` at most once, however many fields await the result."""
    task: asyncio.Future[Any] | None = None

    def run() -> Awaitable[Any]:
        nonlocal task
        if task is None:
            task = asyncio.ensure_future(produce())
        return task

    return run


def tree_keyset(table: Table, args: PageArgs) -> list[ColumnElement[bool]]:
    """The keyset condition of a top-level list ordered by (path, id)."""
    args.require_list(table.name, top_level=True)
    if args.segment is not None:
        raise BadInput("invalid cursor for 'after': it belongs to another list")
    if args.after is None or args.path is None:
        return []
    position = tuple_(literal(args.path), literal(args.after))
    return [tuple_(path_column(table), table.c.id) > position]


def listing(ctx: Context, readable: Readable, conditions: Conditions, args: PageArgs) -> Listing:
    """A top-level list: keyset page ordered by (path, id), and its count."""
    table = readable.table
    where = [readable.where, *conditions]
    path = path_column(table)

    async def page() -> Page:
        statement = (
            select(table)
            .where(*where, *tree_keyset(table, args))
            .order_by(path, table.c.id)
            .limit(args.first + 1)
        )
        rows = await ctx.rows(statement)
        shown = rows[: args.first]
        column = path_name(table)
        cursors = [encode_tree_cursor(row.id, row._mapping[column], table.name) for row in shown]
        return Page(shown, len(rows) > args.first, cursors)

    async def count() -> int:
        total = await ctx.scalar(select(func.count()).select_from(table).where(*where))
        return int(total or 0)

    return Listing(once(page), once(count))


def newest_first(
    ctx: Context, readable: Readable, conditions: Conditions, args: PageArgs
) -> Listing:
    """A top-level list of an append-only log: newest first (id descending), keyset on the id,
    and its count."""
    return _by_id(ctx, readable, conditions, args, descending=True)


def in_commit_order(
    ctx: Context, readable: Readable, conditions: Conditions, args: PageArgs
) -> Listing:
    """A log read in the order it was committed (id ascending: the change log's writers
    commit one after another), resumable after any id, and its count."""
    return _by_id(ctx, readable, conditions, args, descending=False)


def _by_id(
    ctx: Context, readable: Readable, conditions: Conditions, args: PageArgs, *, descending: bool
) -> Listing:
    table = readable.table
    args.require_list(table.name, top_level=False)
    base = [readable.where, *conditions]
    key = table.c.id
    after = [] if args.after is None else [key < args.after if descending else key > args.after]
    where = [*base, *after]

    async def page() -> Page:
        order = key.desc() if descending else key.asc()
        statement = select(table).where(*where).order_by(order).limit(args.first + 1)
        rows = await ctx.rows(statement)
        shown = rows[: args.first]
        return Page(shown, len(rows) > args.first, [encode_cursor(r.id, table.name) for r in shown])

    async def count() -> int:
        total = await ctx.scalar(select(func.count()).select_from(table).where(*base))
        return int(total or 0)

    return Listing(once(page), once(count))


async def fetch_by_ids(
    ctx: Context, readable: Readable, ids: Sequence[int]
) -> list[Row[Any] | None]:
    """Rows by primary key in the order of ``ids``; ``None`` where missing or out of scope."""
    if not ids:
        return []
    table = readable.table
    statement = select(table).where(table.c.id.in_(set(ids)), readable.where)
    found = {row.id: row for row in await ctx.rows(statement)}
    return [found.get(i) for i in ids]


async def fetch_by_column(
    ctx: Context, readable: Readable, column: str, values: Sequence[str]
) -> list[Row[Any] | None]:
    """Rows by a unique column (a code, a student number) in the order of ``values``."""
    if not values:
        return []
    table = readable.table
    col = table.c[column]
    statement = select(table).where(col.in_(set(values)), readable.where)
    found = {row._mapping[column]: row for row in await ctx.rows(statement)}
    return [found.get(v) for v in values]


@dataclass(frozen=True, slots=True)
class ByParent:
    """Children point at their parent through ``column`` (school.students by school_id)."""

    column: str

    def parent(self, table: Table) -> tuple[ColumnElement[Any], Any]:
        return table.c[self.column], None


@dataclass(frozen=True, slots=True)
class InSubtree:
    """Children lie anywhere in the parent org unit's subtree (orgUnit.schools): a join on
    the materialised path, so one statement still serves every parent of the batch."""

    def parent(self, table: Table) -> tuple[ColumnElement[Any], Any]:
        unit = table_of(OrgUnit).alias("parent_unit")
        on = and_(table.c.path >= unit.c.path, table.c.path < subtree_upper(unit.c.path))
        return unit.c.id, (unit, on)


Link = ByParent | InSubtree


@dataclass(frozen=True, slots=True)
class Children:
    """Per-request batched loaders of one nested connection (``page``) and its count."""

    page: Callable[[int], Awaitable[Page]]
    count: Callable[[int], Awaitable[int]]

    def of(self, parent_id: int) -> Listing:
        return Listing(lambda: self.page(parent_id), lambda: self.count(parent_id))


def child_page_loader(
    ctx: Context,
    readable: Readable,
    link: Link,
    conditions: Conditions,
    filter_key: Hashable,
    args: PageArgs,
) -> Children:
    """Return loaders of pages and counts per parent, batching every parent of one nested connection
    (same filter and page arguments) into one windowed query and one grouped count."""
    table = readable.table
    args.require_list(table.name, top_level=False)
    parent, join = link.parent(table)
    where_base = [readable.where, *conditions]

    def base(*columns: Any) -> Any:
        statement = select(*columns)
        if join is not None:
            statement = statement.select_from(table.join(join[0], join[1]))
        return statement

    async def load_pages(parent_ids: list[int]) -> list[Page]:
        where = [*where_base, parent.in_(set(parent_ids))]
        if args.after is not None:
            where.append(table.c.id > args.after)
        rank = (
            func.row_number().over(partition_by=parent, order_by=table.c.id).label("sibling_rank")
        )
        inner = base(table, parent.label("parent_key"), rank).where(*where).subquery()
        statement = (
            select(*[inner.c[c.name] for c in table.c], inner.c.parent_key)
            .where(inner.c.sibling_rank <= args.first + 1)
            .order_by(inner.c.parent_key, inner.c.id)
        )
        grouped: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in await ctx.rows(statement):
            grouped[row.parent_key].append(row)
        pages = []
        for p in parent_ids:
            shown = grouped[p][: args.first]
            cursors = [encode_cursor(row.id, table.name) for row in shown]
            pages.append(Page(shown, len(grouped[p]) > args.first, cursors))
        return pages

    async def load_counts(parent_ids: list[int]) -> list[int]:
        statement = (
            base(parent, func.count())
            .where(*where_base, parent.in_(set(parent_ids)))
            .group_by(parent)
        )
        counts: dict[int, int] = {row[0]: row[1] for row in await ctx.rows(statement)}
        return [int(counts.get(p, 0)) for p in parent_ids]

    name = (table.name, link, filter_key, args)
    pages = ctx.loader(("pages", *name), load_pages)
    counts = ctx.loader(("counts", *name), load_counts)

    return Children(pages.load, counts.load)


async def fetch_children(
    ctx: Context,
    readable: Readable,
    parent_column: str,
    parent_ids: list[int],
    order: tuple[str, ...] = ("id",),
) -> list[list[Row[Any]]]:
    """All child rows of each parent, for small fixed sets (a student's status changes, a
    school's classes)."""
    table = readable.table
    parent = table.c[parent_column]
    where: list[ColumnElement[bool]] = [parent.in_(set(parent_ids)), readable.where]
    statement = select(table).where(*where).order_by(parent, *[table.c[o] for o in order])
    grouped: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in await ctx.rows(statement):
        grouped[row._mapping[parent_column]].append(row)
    return [grouped[p] for p in parent_ids]


async def load_by_id(ctx: Context, readable: Readable, pk: int) -> Row[Any] | None:
    """One row by primary key through the request's batched loader for its table."""

    async def load(ids: list[int]) -> list[Row[Any] | None]:
        return await fetch_by_ids(ctx, readable, ids)

    row: Row[Any] | None = await ctx.loader(("by_id", readable.table.name), load).load(pk)
    return row


async def load_by_column(
    ctx: Context, readable: Readable, column: str, value: str
) -> Row[Any] | None:
    """One row by a unique column through the request's batched loader."""

    async def load(values: list[str]) -> list[Row[Any] | None]:
        return await fetch_by_column(ctx, readable, column, values)

    key = ("by", readable.table.name, column)
    row: Row[Any] | None = await ctx.loader(key, load).load(value)
    return row


def child_listing(
    ctx: Context,
    readable: Readable,
    link: Link,
    conditions: Conditions,
    filter_key: Hashable,
    args: PageArgs,
    parent_id: int,
) -> Listing:
    """The nested list of one parent, batched with its siblings (see child_page_loader)."""
    return child_page_loader(ctx, readable, link, conditions, filter_key, args).of(parent_id)
