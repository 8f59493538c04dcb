"""Files over HTTP (下载与导出): statistics tables and lists as XLSX or CSV, and the files of
approved export requests. The same bearer tokens, scope, masking and audit as GraphQL.

- ``GET /download/statistics.{xlsx|csv}?under=CODE&table=students&by=UNIT&by=GRADE``: one
  sheet per ``table`` (XLSX; CSV takes one table), as ``statistics(under:)`` answers them.
- ``GET /download/{entity}.{xlsx|csv}?filter=JSON&fields=a,b``: a list as a portal shows it
  (``filter`` is the GraphQL filter input as JSON), at most ``HUB_DOWNLOAD_MAX_ROWS`` rows;
  more is a governed export (``requestExport``). Read whole before anything is sent, so its
  audit (the subjects whose sensitive fields it shows unmasked) is committed first.
- ``GET /exports/{id}``: the requester's file of an approved export until it expires; every
  download, and every refused attempt, is audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy import select, update

from hub.context import Context
from hub.errors import BadInput, HubError
from hub.exports import reading
from hub.exports.entities import EXPORTABLE, ExportEntity
from hub.exports.files import Cell, Sheet, batches_of, csv_chunks, xlsx_chunks
from hub.exports.jobs import file_name
from hub.exports.service import EXPIRED, READY, REQUEST
from hub.orgunits.models import OrgLevel
from hub.statistics.dimensions import COUNTED, DIMENSION_LABELS, Dimension
from hub.statistics.tables import Table
from resolvers import statistics as resolve_statistics

if TYPE_CHECKING:
    from hub.app import HubState

STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "BAD_INPUT": 400}
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _error(message: str, code: str, status: int | None = None) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        orjson.dumps(body),
        status_code=status or STATUS.get(code, 400),
        media_type="application/json",
    )


def _attachment(name: str) -> dict[str, str]:
    """A download's file name, Chinese included (RFC 6266 / 5987)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''"
        + quote(name),
        "Cache-Control": "no-store",
    }


def _format(value: str) -> str:
    if value not in MEDIA:
        raise BadInput(f"the file type must be .xlsx or .csv, got .{value}")
    return value


def statistics_cells(table: Table) -> tuple[list[str], list[list[Cell]]]:
    """A statistics table as a header row and rows: each dimension as code and label, then
    the count (已抑制 where suppressed) and the summed amount, then the total."""
    counted = table.entity
    headers: list[str] = []
    for d in table.dimensions:
        label = DIMENSION_LABELS[d]
        headers += [label + "码", label]
    headers.append(f"{counted.label}数")
    if counted.amount_label:
        headers.append(counted.amount_label)
    rows: list[list[Cell]] = []
    for cell in table.rows:
        row: list[Cell] = []
        for key in cell.keys:
            row += [key.code, key.label]
        row.append("已抑制" if cell.suppressed else cell.count)
        if counted.amount_label:
            row.append(cell.amount)
        rows.append(row)
    keys = 2 * len(table.dimensions)
    total: list[Cell] = ["合计", *[None] * (keys - 1)] if keys else []
    total.append(table.count)
    if counted.amount_label:
        total.append(table.amount)
    rows.append(total)
    return headers, rows


def _filter_of(entity: ExportEntity, text: str | None) -> Any:
    """The GraphQL filter input given as JSON (camelCase names) as the domain's filter."""
    exportable = EXPORTABLE[entity]
    if not text:
        return exportable.filter_type()
    try:
        given = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise BadInput(f"'filter' is not JSON: {error}") from None
    if not isinstance(given, dict):
        raise BadInput("'filter' must be a JSON object of the list's filter fields")
    known = {f.name for f in dataclasses.fields(exportable.filter_type)}
    values: dict[str, Any] = {}
    for key, value in given.items():
        name = _CAMEL.sub("_", key).lower()
        if name not in known:
            raise BadInput(f"unknown filter field {key!r} for {entity.value}")
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise BadInput(f"'filter.{key}' must be a list of strings")
            value = tuple(value)
        elif value is not None and not isinstance(value, str | bool):
            raise BadInput(f"'filter.{key}' must be a string, a boolean or a list of strings")
        values[name] = value
    return exportable.filter_type(**values)


async def _statistics_sheets(ctx: Context, request: Request) -> tuple[str, list[Sheet]]:
    q = request.query_params
    under = q.get("under")
    if not under:
        raise BadInput("'under' (the org unit code) is required")
    names = q.getlist("table") or ["students"]
    try:
        by = [Dimension(b) for b in q.getlist("by")]
        level = OrgLevel(q["level"]) if q.get("level") else None
        age_at = dt.date.fromisoformat(q["ageAt"]) if q.get("ageAt") else None
        as_of = dt.date.fromisoformat(q["asOf"]) if q.get("asOf") else None
    except ValueError as error:
        raise BadInput(f"bad statistics parameter: {error}") from None
    status = q.getlist("status") or None
    if as_of is None:
        where, row = await resolve_statistics.place(ctx, under)
    else:
        where, row = await resolve_statistics.place_at(ctx, under, as_of)
    sheets = []
    for name in names:
        if name not in COUNTED:
            raise BadInput(f"unknown table {name!r}; known: {', '.join(COUNTED)}")
        table = await resolve_statistics.table(
            ctx, where, name, by, level, age_at, status, as_of=as_of, today_path=row.path
        )
        headers, rows = statistics_cells(table)
        sheets.append(Sheet(f"{table.entity.label}统计", headers, batches_of(rows)))
    day = "" if as_of is None else f"-{as_of.isoformat()}"
    return f"统计-{where.code}-{where.name}{day}", sheets


def download_routes(app: FastAPI, state: HubState) -> None:
    @app.get("/download/statistics.{fmt}", include_in_schema=False)
    async def statistics_file(request: Request, fmt: str) -> Response:
        async with state.open_context(request) as ctx:
            if ctx.access.principal is None:
                return _error(str(ctx.authentication_error), "UNAUTHENTICATED")
            try:
                _format(fmt)
                title, sheets = await _statistics_sheets(ctx, request)
                if fmt == "csv" and len(sheets) != 1:
                    raise BadInput("a CSV file holds one table: ask for one 'table', or .xlsx")
            except HubError as error:
                await ctx.finish(failed=True)
                return _error(str(error), error.code)
            # Aggregates only: nothing unmasked, nothing to audit but the refusals above.
            await ctx.finish()
        chunks = xlsx_chunks(sheets) if fmt == "xlsx" else csv_chunks(sheets[0])
        return StreamingResponse(
            chunks, media_type=MEDIA[fmt], headers=_attachment(f"{title}.{fmt}")
        )

    @app.get("/download/{entity}.{fmt}", include_in_schema=False)
    async def list_file(request: Request, entity: str, fmt: str) -> Response:
        async with state.open_context(request) as ctx:
            if ctx.access.principal is None:
                return _error(str(ctx.authentication_error), "UNAUTHENTICATED")
            limit = state.settings.download_max_rows
            try:
                _format(fmt)
                try:
                    which = ExportEntity(entity)
                except ValueError:
                    known = ", ".join(e.value for e in ExportEntity)
                    raise BadInput(f"unknown list {entity!r}; known: {known}") from None
                exportable = EXPORTABLE[which]
                fields_param = request.query_params.get("fields")
                names = [n.strip() for n in fields_param.split(",")] if fields_param else None
                filter_ = _filter_of(which, request.query_params.get("filter"))
                planned = await reading.plan(ctx, exportable, filter_, names)
                total = await reading.count(ctx, planned, limit + 1)
                if total > limit:
                    raise BadInput(
                        f"the list holds more than {limit} rows: narrow the filter, or request"
                        " a governed export (requestExport, 数据导出申请)"
                    )
                tally = reading.Tally(keep_ids=limit)
                rows: list[Sequence[Cell]] = []
                async for batch in reading.stream(ctx, planned, tally):
                    rows.extend(batch)
            except HubError as error:
                await ctx.finish(failed=True)
                return _error(str(error), error.code)
            resource = reading.resource_of(exportable)
            # Subjects are kept only when sensitive fields were read (``plan.unmask``).
            for subject, path in zip(tally.unmasked_ids, tally.unmasked_paths, strict=True):
                assert exportable.sensitive is not None
                ctx.audit.unmasked_fields(
                    exportable.sensitive, planned.sensitive_names, subject, path
                )
            ctx.audit.event(
                "download",
                resource,
                "allowed",
                ctx.access.principal.org_unit_path,
                detail=f"{tally.rows} {which.value} rows as {fmt}",
            )
            await ctx.finish()
        sheet = Sheet(exportable.label, planned.headers, batches_of(rows))
        chunks = xlsx_chunks([sheet]) if fmt == "xlsx" else csv_chunks(sheet)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return StreamingResponse(
            chunks, media_type=MEDIA[fmt], headers=_attachment(f"{exportable.label}-{stamp}.{fmt}")
        )

    @app.get("/exports/{pk}", include_in_schema=False)
    async def export_file(request: Request, pk: str) -> Response:
        async with state.open_context(request) as ctx:
            principal = ctx.access.principal
            if principal is None:
                return _error(str(ctx.authentication_error), "UNAUTHENTICATED")
            if not pk.isdigit():
                return _error(f"no export request {pk!r}", "NOT_FOUND")
            row = await ctx.first(select(REQUEST).where(REQUEST.c.id == int(pk)))
            if row is None or row.requested_by != principal.user:
                ctx.audit.event(
                    "download",
                    "export",
                    "denied",
                    row.path if row is not None else principal.org_unit_path,
                    detail=f"export request {pk}: not the requester's",
                )
                await ctx.finish()
                return _error(f"no export request {pk} of yours", "NOT_FOUND")
            now = dt.datetime.now(dt.UTC)
            expires = row.expires_at
            if expires is not None and expires.tzinfo is None:
                expires = expires.replace(tzinfo=dt.UTC)
            gone = row.status_code == EXPIRED or (
                row.status_code == READY and expires is not None and expires <= now
            )
            stored = Path(row.file_name) if row.file_name else None
            if row.status_code == READY and not gone and (stored is None or not stored.exists()):
                gone = True
            if gone:
                ctx.audit.event(
                    "download",
                    "export",
                    "denied",
                    row.path,
                    detail=f"export request {pk}: expired",
                )
                await ctx.finish()
                return _error(
                    f"export request {pk} has expired and its file was deleted: request it again",
                    "EXPIRED",
                    410,
                )
            if row.status_code != READY:
                label = ctx.codes.label("export_status", row.status_code)
                await ctx.finish()
                return _error(
                    f"export request {pk} has no file yet: it is {label}", "NOT_READY", 409
                )
            await ctx.first(
                update(REQUEST)
                .where(REQUEST.c.id == row.id)
                .values(downloads=REQUEST.c.downloads + 1)
                .returning(REQUEST.c.id)
            )
            ctx.audit.event(
                "download",
                "export",
                "allowed",
                row.path,
                detail=(
                    f"export request {pk}: {row.rows_written} rows, {row.file_bytes} bytes,"
                    f" sha256 {row.file_sha256}"
                ),
                subjects=[f"ExportRequest:{pk}"],
            )
            await ctx.finish()
        exportable = EXPORTABLE[ExportEntity(row.entity)]
        assert stored is not None
        return FileResponse(
            stored,
            media_type=MEDIA[row.format],
            headers=_attachment(file_name(row.id, exportable.label, row.format)),
        )
