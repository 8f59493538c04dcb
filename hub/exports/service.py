"""Governed exports (数据导出, the export rules 数据导出使用管理规则): a request names what
(an entity, a filter, fields), why (purpose) and how (CSV or XLSX); someone holding
``approve`` on ``export`` above the requester's unit decides it; an approved request is
written by a background job (``hub.exports.jobs``) masked by the requester's rights, and the
requester downloads the file until it expires. Every step is audited.

Like the write services these write through the context's session and never commit: the
request's one place does (``Context.finish``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from hub.access.audit import clean_text
from hub.context import AnyRow, Context
from hub.db.base import table_of
from hub.errors import BadInput, Forbidden, NotFound, Unauthenticated
from hub.exports import reading
from hub.exports.entities import EXPORTABLE, Exportable, ExportEntity
from hub.exports.models import ExportRequest

REQUEST = table_of(ExportRequest)

# export_status (hub/codes/data/export_status.csv)
PENDING, APPROVED, REFUSED, RUNNING, READY, FAILED, EXPIRED, WITHDRAWN = "12345678"
FORMATS = ("csv", "xlsx")


def filter_json(filter_: Any) -> str:
    """A domain filter as stored with its request (its field names; unset fields left out)."""
    values = {
        f.name: getattr(filter_, f.name)
        for f in dataclasses.fields(filter_)
        if getattr(filter_, f.name) is not None
    }
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode()


def filter_of(exportable: Exportable, text: str) -> Any:
    """The stored filter back as the domain's filter object."""
    values: dict[str, Any] = orjson.loads(text)
    known = {f.name for f in dataclasses.fields(exportable.filter_type)}
    return exportable.filter_type(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
    )


def parent_of(path: str) -> str:
    """The unit above ``path`` (the national unit is its own: someone else there decides)."""
    parts = path.strip("/").split("/")
    return "/" + "".join(f"{p}/" for p in parts[:-1]) if len(parts) > 1 else path


def _user(ctx: Context) -> tuple[str, str]:
    principal = ctx.access.principal
    if principal is None:
        raise Unauthenticated("Authentication required to request or decide exports.")
    return principal.user, principal.org_unit_path


async def request(
    ctx: Context,
    entity: ExportEntity,
    filter_: Any,
    fields: list[str] | None,
    purpose: str,
    fmt: str,
) -> int:
    """Record a pending request, after checking everything the job will need: the fields,
    the filter's codes and units, that the requester may export some of these rows, and
    how many rows the file would hold now."""
    user, home = _user(ctx)
    exportable = EXPORTABLE[entity]
    if fmt not in FORMATS:
        raise BadInput(f"'format' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    text = clean_text(purpose, 200)
    if text is None or len(text.strip()) < 4:
        raise BadInput("'purpose' must say what the data is for (at least 4 characters, 用途)")
    resource = reading.resource_of(exportable)
    if not ctx.access.scope(resource, "export").prefixes:
        raise Forbidden(f"you may not export {entity.value}: no 'export' grant on {resource}")
    planned = await reading.plan(ctx, exportable, filter_, fields, action="export")
    total = await reading.count(ctx, planned)
    now = dt.datetime.now(dt.UTC)
    pk = (
        await ctx.first(
            insert(REQUEST)
            .values(
                entity=entity.value,
                filter=filter_json(filter_),
                fields=orjson.dumps(fields).decode() if fields else None,
                purpose=text.strip(),
                format=fmt,
                path=home,
                status_code=PENDING,
                requested_by=user,
                requested_at=now,
                rows_total=total,
                rows_written=0,
                downloads=0,
            )
            .returning(REQUEST.c.id)
        )
    )[0]
    ctx.audit.event(
        "export",
        resource,
        "allowed",
        home,
        detail=f"export request {pk} of {total} {entity.value} rows for: {text.strip()}",
        subjects=[f"ExportRequest:{pk}"],
    )
    return int(pk)


async def by_id(ctx: Context, pk: int) -> AnyRow:
    """A request the viewer may see (its own, or one it may decide), else NOT_FOUND."""
    row: AnyRow | None = await ctx.first(select(REQUEST).where(REQUEST.c.id == pk))
    if row is None or not visible(ctx, row):
        raise NotFound(f"no export request {pk} that you may see")
    return row


def visible(ctx: Context, row: AnyRow) -> bool:
    principal = ctx.access.principal
    if principal is None:
        return False
    return row.requested_by == principal.user or ctx.access.may("export", "approve", row.path)


def may_decide(ctx: Context, requested_by: str, path: str) -> bool:
    """``approve`` on ``export`` above the requester's unit (``path``), and not the
    requester."""
    principal = ctx.access.principal
    return (
        principal is not None
        and principal.user != requested_by
        and ctx.access.may("export", "approve", parent_of(path))
    )


async def review(ctx: Context, pk: int, approve: bool, note: str | None) -> AnyRow:
    """Approve or refuse a pending request. Approved, its job starts once this commits."""
    user, _home = _user(ctx)
    row = await by_id(ctx, pk)
    if not may_decide(ctx, row.requested_by, row.path):
        raise Forbidden(
            "deciding an export request needs 'approve' on 'export' above the requester's"
            " unit, and nobody decides their own request"
        )
    if row.status_code != PENDING:
        raise BadInput(f"export request {pk} is not waiting for a decision")
    if not approve and not (note and note.strip()):
        raise BadInput("a refusal must say why in 'note' (审批意见)")
    status = APPROVED if approve else REFUSED
    await ctx.first(
        update(REQUEST)
        .where(REQUEST.c.id == pk, REQUEST.c.status_code == PENDING)
        .values(
            status_code=status,
            reviewed_by=user,
            reviewed_at=dt.datetime.now(dt.UTC),
            review_note=clean_text(note, 500),
        )
        .returning(REQUEST.c.id)
    )
    ctx.audit.event(
        "approve" if approve else "refuse",
        "export",
        "allowed",
        row.path,
        detail=f"export request {pk} {'approved' if approve else 'refused'}",
        subjects=[f"ExportRequest:{pk}"],
    )
    if approve:
        jobs = getattr(ctx.state, "export_jobs", None)
        if jobs is not None:
            ctx.after_commit.append(lambda: jobs.start(pk))
    return await by_id(ctx, pk)


async def withdraw(ctx: Context, pk: int) -> AnyRow:
    """The requester withdraws a request not yet decided."""
    user, _home = _user(ctx)
    row = await by_id(ctx, pk)
    if row.requested_by != user:
        raise Forbidden("only the requester withdraws an export request")
    if row.status_code != PENDING:
        raise BadInput(f"export request {pk} has been decided and cannot be withdrawn")
    await ctx.first(
        update(REQUEST)
        .where(REQUEST.c.id == pk)
        .values(status_code=WITHDRAWN)
        .returning(REQUEST.c.id)
    )
    ctx.audit.event(
        "withdraw", "export", "allowed", row.path, detail=f"export request {pk} withdrawn"
    )
    return await by_id(ctx, pk)


def exportable_of(row: AnyRow) -> Exportable:
    return EXPORTABLE[ExportEntity(row.entity)]
