"""Statistics (统计): the place asked for, and the viewer's rows of each counted resource."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from hub.access.scope import Readable
from hub.context import Context
from hub.errors import BadInput, NotFound
from hub.orgunits.history import known_span, version_at
from hub.orgunits.models import OrgLevel
from hub.statistics.dimensions import BUILDING, COUNTED, SCHOOL, STUDENT, Dimension
from hub.statistics.monitoring import Monitoring, Readables, monitor
from hub.statistics.reconcile import Reconciliation
from hub.statistics.reconcile import reconcile as reconcile_report
from hub.statistics.tables import Place, Table, tabulate
from resolvers import orgunits


async def place(ctx: Context, code: str) -> tuple[Place, Row[Any]]:
    """The org unit ``code`` (and its row), if the viewer may see it: statistics are asked
    of one's own subtree (a county of its county, a school of its school)."""
    row = await orgunits.by_code(ctx, code)
    if row is None:
        span = await known_span(ctx.rows, code)
        raise NotFound(
            f"no org unit {code!r} in your scope: statistics cover your own subtree"
            + ("" if span == "never" else f" (the hub knows {code!r}: {span})")
        )
    return Place(row.code, row.name, row.path, OrgLevel(row.level)), row


async def place_at(ctx: Context, code: str, day: dt.date) -> tuple[Place, Row[Any]]:
    """The unit ``code`` as it stood on ``day`` (that day's code, name and path) and the
    row of the current unit it lives on as, if the viewer may see that one: a county merged
    into a district is asked of by the district's people."""
    orgunits.check_org_unit_code(code)
    if day > dt.date.today():
        raise BadInput(f"asOf {day} lies in the future: figures exist up to today")
    then = await version_at(ctx.rows, code, day)
    row = None if then is None else await orgunits.by_id(ctx, then.unit_id)
    if then is None or row is None:
        span = await known_span(ctx.rows, code)
        raise NotFound(
            f"no org unit {code!r} on {day} in your scope: statistics cover your own"
            f" subtree (the hub knows {code!r}: {span})"
        )
    return Place(then.code, then.name, then.path, then.level, then.unchanged), row


def _within(ctx: Context, table_name: str, where: Place) -> Readable | None:
    """The viewer's rows of the table inside ``where``; None when it may read none there."""
    readable = ctx.access.readable(COUNTED_TABLES[table_name])
    return readable if readable.scope.intersect(where.path).prefixes else None


COUNTED_TABLES = {c.table.name: c.table for c in COUNTED.values()}


async def table(
    ctx: Context,
    where: Place,
    entity: str,
    by: Sequence[Dimension],
    level: OrgLevel | None,
    age_at: dt.date | None,
    status: Sequence[str] | None,
    as_of: dt.date | None = None,
    today_path: str | None = None,
) -> Table:
    """``entity`` under ``where``; as of a past day ``where`` is that day's unit and
    ``today_path`` the path of the unit it lives on as (rights are today's)."""
    counted = COUNTED[entity]
    readable = ctx.access.readable(counted.table)
    sensitive = ctx.access.readable(STUDENT).scope.intersect(today_path or where.path)
    may_unmask = ctx.access.may_everywhere("student_sensitive", "unmask", sensitive)
    return await tabulate(
        ctx.rows,
        readable,
        counted,
        where,
        ctx.codes,
        by=by,
        level=level,
        age_at=age_at or as_of or dt.date.today(),
        status=status,
        suppress=not may_unmask,
        buildings=ctx.access.readable(BUILDING),
        as_of=as_of,
    )


async def monitoring(ctx: Context, where: Place, level: OrgLevel | None) -> Monitoring:
    """The indicators of the units of ``level`` and of the place, once per request (the
    schema's ``monitoring`` and ``overall`` share them)."""

    async def load(keys: list[tuple[str, OrgLevel | None]]) -> list[Monitoring]:
        readables = Readables(
            student=_within(ctx, "student", where),
            school=_within(ctx, "class", where),
            teacher=_within(ctx, "teacher", where),
            building=_within(ctx, "building", where),
        )
        return [await monitor(ctx.rows, readables, where, chosen) for _code, chosen in keys]

    found: Monitoring = await ctx.loader("statistics_monitoring", load).load((where.code, level))
    return found


async def reconcile(
    ctx: Context, upload: Any, as_of: dt.date | None, under: str | None
) -> Reconciliation:
    """A statistics report (an uploaded file) against the viewer's students as of its day."""
    if not hasattr(upload, "read"):
        raise BadInput("'report' must be a file sent as a GraphQL multipart upload")
    content = await upload.read(ctx.settings.max_upload_bytes + 1)
    if len(content) > ctx.settings.max_upload_bytes:
        raise BadInput(f"the report is larger than {ctx.settings.max_upload_bytes:,} bytes")
    path = None
    if under is not None:
        where, _row = await place(ctx, under)
        path = where.path
    return await reconcile_report(
        ctx.rows,
        content,
        ctx.codes,
        ctx.access.readable(STUDENT).where,
        ctx.access.readable(SCHOOL).where,
        day=as_of,
        under=path,
        name=getattr(upload, "filename", None) or "report",
    )
