"""The export job (导出任务): writes an approved request's file in the background, masked by
the requester's rights as they are when it runs, with its progress in the request's row;
and the sweep that deletes expired files.

Jobs run in the hub's process (``ExportJobs``, started when an approval commits, resumed at
start-up) or from the command line (``eduhub exports run``). A job claims its request with
one UPDATE: an approved request, or a running one whose job fell silent for a minute (a
process that died), so two workers never write the same file."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.access.audit import AuditLog
from hub.access.policy import Access, sync_user
from hub.access.principals import load_principal
from hub.context import AnyRow, Context
from hub.errors import HubError
from hub.exports import reading
from hub.exports.files import Cell, Sheet, Watermark, csv_chunks, xlsx_chunks
from hub.exports.service import (
    APPROVED,
    EXPIRED,
    FAILED,
    READY,
    REQUEST,
    RUNNING,
    exportable_of,
    filter_of,
)

if TYPE_CHECKING:
    from hub.app import HubState

log = logging.getLogger("hub.exports")

SILENT = dt.timedelta(seconds=60)  # a running job this quiet has died: take it over
BEAT_SECONDS = 2.0  # progress written at most this often


def file_name(pk: int, label: str, fmt: str) -> str:
    """The name the requester's download carries (数据导出-12-学生.xlsx)."""
    return f"数据导出-{pk}-{label}.{fmt}"


class ExportJobs:
    """The jobs of one process: started on approval, resumed at start-up, awaited on exit."""

    def __init__(self, state: HubState) -> None:
        self.state = state
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, pk: int) -> None:
        if pk in self.tasks and not self.tasks[pk].done():
            return
        task = asyncio.get_running_loop().create_task(self.run(pk), name=f"export {pk}")
        self.tasks[pk] = task
        task.add_done_callback(lambda _t: self.tasks.pop(pk, None))

    async def run(self, pk: int) -> None:
        try:
            await run_export(self.state, pk)
        except Exception:  # recorded on the request by run_export; never kills the loop
            log.exception("export %s failed", pk)

    async def resume(self) -> None:
        """Start the approved requests, and take over running ones whose job died."""
        for pk in await claimable(self.state.engine):
            self.start(pk)

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _claimable_where(now: dt.datetime) -> Any:
    return or_(
        REQUEST.c.status_code == APPROVED,
        (REQUEST.c.status_code == RUNNING) & (REQUEST.c.heartbeat_at < now - SILENT),
    )


async def claimable(engine: AsyncEngine) -> list[int]:
    now = dt.datetime.now(dt.UTC)
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(REQUEST.c.id).where(_claimable_where(now)).order_by(REQUEST.c.id)
        )
        return [int(r[0]) for r in rows]


async def _claim(engine: AsyncEngine, pk: int) -> AnyRow | None:
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as connection:
        claimed = (
            await connection.execute(
                update(REQUEST)
                .where(REQUEST.c.id == pk, _claimable_where(now))
                .values(
                    status_code=RUNNING,
                    started_at=now,
                    heartbeat_at=now,
                    rows_written=0,
                    error=None,
                )
                .returning(REQUEST.c.id)
            )
        ).first()
        if claimed is None:
            return None
        row: AnyRow | None = (
            await connection.execute(select(REQUEST).where(REQUEST.c.id == pk))
        ).first()
        return row


async def _note(engine: AsyncEngine, pk: int, **values: Any) -> None:
    """Progress (or the end) of a job, in a transaction of its own."""
    async with engine.begin() as connection:
        await connection.execute(update(REQUEST).where(REQUEST.c.id == pk).values(**values))


def _watermark(row: AnyRow, label: str, at: dt.datetime) -> Watermark:
    lines = [
        ("导出申请编号", str(row.id)),
        ("数据", label),
        ("申请人", row.requested_by),
        ("申请单位", row.path),
        ("用途", row.purpose),
        ("审批人", row.reviewed_by or ""),
        ("审批意见", row.review_note or ""),
        ("导出时间", at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("使用规则", "仅限申请用途使用，不得转发、公开或超期保存（数据导出使用管理规则）"),
    ]
    return Watermark(
        title=f"数据导出 {row.id}：{label}",
        lines=lines,
        author=row.requested_by,
        subject=row.purpose,
        keywords=f"eduhub export {row.id} {row.requested_by}",
        at=at,
    )


async def _csv_with_mark(sheet: Sheet, mark: Watermark) -> AsyncIterator[bytes]:
    """CSV has no properties or cover sheet: its watermark is its first line, then a blank
    line, then the table (header first)."""
    text = "；".join(f"{label}：{value}" for label, value in mark.lines)
    first = True
    async for chunk in csv_chunks(sheet):
        if first:  # after the byte-order mark of the first chunk
            quoted = '"' + text.replace('"', '""') + '"\r\n\r\n'
            chunk = chunk[:3] + quoted.encode("utf-8") + chunk[3:]
            first = False
        yield chunk


async def run_export(
    state: HubState, pk: int, progress: Callable[[int, int | None], None] | None = None
) -> str | None:
    """Write request ``pk``'s file if it can be claimed; its final status (None: not
    claimable, another job has it or it is not approved)."""
    row = await _claim(state.engine, pk)
    if row is None:
        return None
    exportable = exportable_of(row)
    directory = _directory(Path(state.settings.export_dir))
    stored = directory / f"{pk}-{secrets.token_hex(8)}.{row.format}"
    partial = stored.with_suffix(stored.suffix + ".part")
    sessions: async_sessionmaker[AsyncSession] = state.sessions
    codes = await state.codes()
    enforcer = await state.enforcer()
    try:
        async with sessions() as session:
            principal = await load_principal(session, row.requested_by)
            if principal is None:
                raise HubError(f"the requester {row.requested_by!r} is no longer an active user")
            sync_user(enforcer, principal.user, principal.assignments)
            ctx = Context(
                session=session,
                settings=state.settings,
                codes=codes,
                access=Access(enforcer, principal),
                audit=AuditLog(
                    principal,
                    operation=f"export {pk}",
                    purpose=row.purpose,
                    correlation_id=uuid.uuid4().hex,
                    user_agent="eduhub export job",
                    operation_type="export",
                    lane=state.settings.audit_lane,
                ),
                state=state,
            )
            planned = await reading.plan(
                ctx, exportable, filter_of(exportable, row.filter), _names(row), action="export"
            )
            total = await reading.count(ctx, planned)
            await _note(state.engine, pk, rows_total=total)
            tally = reading.Tally()
            at = dt.datetime.now(dt.UTC)
            beat = [asyncio.get_running_loop().time()]

            async def batches() -> AsyncIterator[Sequence[Sequence[Cell]]]:
                async for batch in reading.stream(ctx, planned, tally):
                    yield batch
                    now = asyncio.get_running_loop().time()
                    if now - beat[0] >= BEAT_SECONDS:
                        beat[0] = now
                        await _note(
                            state.engine,
                            pk,
                            rows_written=tally.rows,
                            heartbeat_at=dt.datetime.now(dt.UTC),
                        )
                    if progress is not None:
                        progress(tally.rows, total)

            sheet = Sheet(exportable.label, planned.headers, batches())
            mark = _watermark(row, exportable.label, at)
            chunks = (
                xlsx_chunks([sheet], mark) if row.format == "xlsx" else _csv_with_mark(sheet, mark)
            )
            digest = hashlib.sha256()
            size = 0
            with partial.open("wb") as out:
                async for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            os.replace(partial, stored)
            finished = dt.datetime.now(dt.UTC)
            await ctx.first(
                update(REQUEST)
                .where(REQUEST.c.id == pk)
                .values(
                    status_code=READY,
                    rows_written=tally.rows,
                    heartbeat_at=finished,
                    finished_at=finished,
                    expires_at=finished + dt.timedelta(hours=state.settings.export_ttl_hours),
                    file_name=str(stored),
                    file_bytes=size,
                    file_sha256=digest.hexdigest(),
                )
                .returning(REQUEST.c.id)
            )
            sensitive = planned.sensitive_names
            ctx.audit.event(
                "export",
                reading.resource_of(exportable),
                "allowed",
                row.path,
                detail=(
                    f"export request {pk} written: {tally.rows} {exportable.entity.value} rows"
                    f" ({row.format}, {size} bytes, sha256 {digest.hexdigest()}); sensitive"
                    f" fields {', '.join(sensitive) or 'none'} unmasked in {tally.unmasked}"
                    " rows, masked in the others"
                ),
                subjects=[f"ExportRequest:{pk}"],
            )
            await ctx.finish()
            return READY
    except BaseException as error:
        _delete(partial)
        _delete(stored)
        if not isinstance(error, Exception):  # cancelled (shutdown): the next start resumes it
            raise
        reason = str(error) if isinstance(error, HubError) else f"{type(error).__name__}: {error}"
        await _note(
            state.engine,
            pk,
            status_code=FAILED,
            error=reason[:2000],
            finished_at=dt.datetime.now(dt.UTC),
        )
        if not isinstance(error, HubError):
            raise
        return FAILED


def _directory(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _delete(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _names(row: AnyRow) -> list[str] | None:
    return orjson.loads(row.fields) if row.fields else None


async def expire(engine: AsyncEngine, now: dt.datetime | None = None) -> int:
    """Delete the files of requests past their expiry and mark them expired; how many."""
    now = now or dt.datetime.now(dt.UTC)
    async with engine.begin() as connection:
        rows = (
            await connection.execute(
                select(REQUEST.c.id, REQUEST.c.file_name).where(
                    REQUEST.c.status_code == READY, REQUEST.c.expires_at <= now
                )
            )
        ).all()
        for pk, name in rows:
            if name:
                _delete(Path(name))
            await connection.execute(
                update(REQUEST).where(REQUEST.c.id == pk).values(status_code=EXPIRED)
            )
    return len(rows)
