"""Reading an entity's rows for a file (导出读取): one statement inside the viewer's scope and
filter, streamed from the database in batches, each row turned into cells (codes with their
labels, flags as 是/否) with its sensitive fields masked where the viewer may not unmask
them. Memory stays bounded by the batch, whatever the number of rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from hub.access.masking import MASKED_CODE, MASKED_LABEL
from hub.access.scope import RESOURCE_OF, Scope, path_is_under
from hub.context import Context
from hub.errors import BadInput, Forbidden
from hub.exports.entities import Exportable, Field
from hub.exports.files import Cell
from hub.filters import path_of
from hub.ids import encode_id

YES, NO = "是", "否"
BATCH = 2000


@dataclass
class Tally:
    """What a read returned: rows, and the subjects whose sensitive fields it returned
    unmasked (ids kept up to ``keep_ids``; counted beyond)."""

    rows: int = 0
    unmasked: int = 0
    unmasked_ids: list[str] = field(default_factory=list)
    unmasked_paths: list[str] = field(default_factory=list)
    keep_ids: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """A read ready to stream: its headers, the statement, how each row becomes cells."""

    exportable: Exportable
    fields: tuple[Field, ...]
    statement: Select[Any]
    unmask: Scope | None  # where sensitive fields show unmasked (None: no field is sensitive)

    @property
    def headers(self) -> list[str]:
        return [h for f in self.fields for h in f.headers]

    @property
    def sensitive_names(self) -> list[str]:
        return [f.name for f in self.fields if f.sensitive]


async def plan(
    ctx: Context,
    exportable: Exportable,
    filter_: Any,
    names: Sequence[str] | None,
    *,
    action: str = "read",
) -> Plan:
    """The read of ``exportable``'s rows the viewer may read, narrowed by ``filter_``, with
    the fields ``names`` (all when None). Refused when the viewer may read none, or when the
    rows asked for include a subtree whose records live in a connected legacy system (a
    file holds the hub's own rows only, and must not silently miss some)."""
    fields = exportable.chosen(names)
    if action == "export":  # a governed export: where the requester holds ``export``
        readable = ctx.access.exportable(exportable.table)
    else:
        readable = ctx.access.readable(exportable.table)
    if not readable.scope.prefixes:
        raise Forbidden(f"you may not {action} {exportable.entity.value} anywhere")
    await _refuse_routed(ctx, exportable, readable.scope, getattr(filter_, "under", None))
    conditions = await exportable.conditions(ctx, filter_)
    table = exportable.table
    statement = (
        select(table.c.id, table.c.path, *(f.column for f in fields))
        .select_from(exportable.source)
        .where(readable.where, *conditions)
        .order_by(table.c.path, table.c.id)
    )
    unmask = None
    if exportable.sensitive and any(f.sensitive for f in fields):
        unmask = ctx.access.scope(exportable.sensitive, "unmask")
    return Plan(exportable, fields, statement, unmask)


def resource_of(exportable: Exportable) -> str:
    """The access resource of the entity's rows (``student``, ``teacher``, ...)."""
    return RESOURCE_OF[exportable.table.name]


async def _refuse_routed(
    ctx: Context, exportable: Exportable, scope: Scope, under: str | None
) -> None:
    state = ctx.state
    if exportable.routable is None or state is None:
        return
    reach = scope
    if under is not None:
        wanted = await path_of(ctx, under)
        if wanted is not None:
            reach = scope.intersect(wanted)
    for route in state.routes():
        if route.entity != exportable.routable:
            continue
        path = await path_of(ctx, route.under)
        if path is None:
            continue
        if any(path_is_under(path, p) or path_is_under(p, path) for p in reach.prefixes):
            raise BadInput(
                f"the {exportable.entity.value} under {route.under} are kept in the connected"
                f" system {route.source!r}, not in the hub: narrow 'filter.under' to"
                " subtrees the hub holds (a file holds the hub's own records only)"
            )


async def count(ctx: Context, p: Plan, at_most: int | None = None) -> int:
    """How many rows ``p`` reads (counting no further than ``at_most``, when given)."""
    bounded = p.statement.with_only_columns(p.exportable.table.c.id).order_by(None)
    if at_most is not None:
        bounded = bounded.limit(at_most)
    total = await ctx.scalar(select(func.count()).select_from(bounded.subquery()))
    return int(total or 0)


RowCells = Callable[[Any], list[Cell]]


def _row_cells(ctx: Context, fields: Sequence[Field], unmasked: bool) -> RowCells:
    """One function turning a database row (id, path, then the fields' values) into its
    cells as the viewer may see them: a code as code and label, a flag as 是/否, a sensitive
    value masked unless ``unmasked``. Written out as one expression per row (compiled once
    per read), because a call per value was half the time of a million-row export."""
    names: dict[str, Any] = {"YES": YES, "NO": NO, "HIDDEN": (MASKED_CODE, MASKED_LABEL)}
    parts: list[str] = []
    for i, f in enumerate(fields):
        value = f"r[{i + 2}]"
        if f.code_set is not None:
            if f.masked_code and not unmasked:
                parts.append("*HIDDEN")
                continue
            names[f"c{i}"] = _labeller(ctx, f.code_set)
            parts.append(f"*c{i}({value})")
        elif f.mask is not None and not unmasked:
            names[f"m{i}"] = f.mask
            parts.append(f"(None if {value} is None else m{i}(str({value})))")
        elif _is_flag(f):
            parts.append(f"(None if {value} is None else YES if {value} else NO)")
        else:
            parts.append(value)
    source = f"def cells(r):\n    return [{', '.join(parts)}]\n"
    exec(compile(source, "<export row>", "exec"), names)
    function: RowCells = names["cells"]
    return function


def _is_flag(f: Field) -> bool:
    try:
        return f.column.type.python_type is bool
    except NotImplementedError:
        return False


def _labeller(ctx: Context, code_set: str) -> Callable[[Any], tuple[Cell, Cell]]:
    labels: dict[str, tuple[Cell, Cell]] = {}

    def code(v: Any) -> tuple[Cell, Cell]:
        if v is None:
            return (None, None)
        found = labels.get(v)
        if found is None:
            found = labels[v] = (v, ctx.codes.label(code_set, v))
        return found

    return code


async def stream(
    ctx: Context, p: Plan, tally: Tally, batch: int = BATCH
) -> AsyncIterator[list[list[Cell]]]:
    """The rows of ``p`` as cells, ``batch`` at a time, counted in ``tally``."""
    masked = _row_cells(ctx, p.fields, unmasked=False)
    shown = _row_cells(ctx, p.fields, unmasked=True)
    unmask = p.unmask
    revealed_at: dict[str, bool] = {}  # per path: rows of one school share it
    entity = _TYPE_OF[p.exportable.entity.value]
    connection = await ctx.session.connection()
    result = await connection.stream(p.statement.execution_options(yield_per=batch))
    try:
        async for rows in result.partitions(batch):
            if unmask is None:
                cells = [masked(row) for row in rows]
            else:
                cells = []
                for row in rows:
                    path = row[1]
                    revealed = revealed_at.get(path)
                    if revealed is None:
                        revealed = revealed_at[path] = unmask.allows(path)
                    if revealed:
                        tally.unmasked += 1
                        if len(tally.unmasked_ids) < tally.keep_ids:
                            tally.unmasked_ids.append(encode_id(entity, row[0]))
                            tally.unmasked_paths.append(path)
                        cells.append(shown(row))
                    else:
                        cells.append(masked(row))
            tally.rows += len(cells)
            yield cells
    finally:
        await result.close()


_TYPE_OF = {
    "students": "Student",
    "teachers": "Teacher",
    "schools": "School",
    "buildings": "Building",
    "assets": "Asset",
}
