"""Connected systems as the viewer may see them: a source is shown only to viewers whose
``sources`` grant covers its whole region (数据范围), and the raw values a mapping report
lists are masked like the fields they feed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Row, func, select

from hub.access.masking import SENSITIVE_FIELDS
from hub.context import Context
from hub.db.base import table_of
from hub.errors import Forbidden, NotFound
from hub.sources.models import SyncRun
from hub.sources.protocol import Source
from hub.sources.report import EntityReport

RUN = table_of(SyncRun)


def region_path(region: str | None) -> str:
    """The materialised path of a source's region (``45`` -> ``/CN/45/``); an undeclared
    region is the whole country."""
    if region in (None, "CN"):
        return "/CN/"
    assert region is not None
    parts = [region[:n] for n in (2, 4, 6) if n <= len(region)]
    return "/CN/" + "".join(f"{p}/" for p in parts)


def visible_sources(ctx: Context) -> dict[str, Source]:
    """The sources whose region lies inside the viewer's ``sources``/``read`` scope."""
    scope = ctx.access.scope("sources", "read")
    if not scope.prefixes:
        raise Forbidden("the status of sources is for administrators and auditors")
    sources = ctx.state.sources() if ctx.state else {}
    return {
        name: source
        for name, source in sources.items()
        if scope.allows(region_path(source.config.region))
    }


def source_for_report(ctx: Context, name: str) -> Source:
    sources = visible_sources(ctx)
    source = sources.get(name)
    if source is None:  # hidden and unknown alike: a name outside the scope tells nothing
        raise NotFound(f"no source {name!r} (known: {', '.join(sources) or 'none'})")
    return source


def untranslatable(ctx: Context, source: Source, report: EntityReport) -> dict[str, list[Any]]:
    """Per hub field, the untranslatable source values with their counts, sorted; values of
    sensitive fields masked (counts of values that mask alike summed) unless the viewer may
    unmask them in the whole region of the source, in which case the reading is audited."""
    resource, masks = SENSITIVE_FIELDS.get(report.entity, ("", {}))
    path = region_path(source.config.region)
    reveal = bool(resource) and ctx.access.may(resource, "unmask", path)
    shown: dict[str, list[Any]] = {}
    revealed: list[str] = []
    for field in report.fields:
        mask = masks.get(field.hub_field)
        if mask is None or reveal:
            values = Counter(field.untranslatable)
            if mask is not None and values:
                revealed.append(field.hub_field)
        else:
            values = Counter()
            for value, count in field.untranslatable.items():
                values[mask(value)] += count
        shown[field.hub_field] = sorted(values.items())
    if revealed:
        ctx.audit.event(
            "unmask",
            resource,
            "allowed",
            path,
            detail=f"mapping report of {source.name}/{report.entity}: raw values of"
            f" {', '.join(revealed)}",
        )
    return shown


async def last_runs(ctx: Context) -> dict[str, Row[Any]]:
    """The newest finished sync run of each source (any entity)."""
    newest = (
        select(RUN.c.source, func.max(RUN.c.id).label("id"))
        .where(RUN.c.status == "done")
        .group_by(RUN.c.source)
        .subquery()
    )
    statement = select(RUN).join(newest, newest.c.id == RUN.c.id)
    return {row.source: row for row in await ctx.rows(statement)}
