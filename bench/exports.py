"""Governed exports: the export job writing a file of the bench province's students, CSV and
XLSX, beside PostgreSQL's own ``COPY ... TO STDOUT (FORMAT csv)`` of the same rows and
columns through asyncpg, measured in the same run. Memory is the job's peak resident-set
growth, sampled every 20 ms.

    python -m bench.exports                      # needs make bench's eduhub_bench (1,000,000)
    python -m bench.exports --formats csv --fields name,idNumber,grade

Targets (issue 10): >= 50,000 rows/s to CSV, >= 20,000 rows/s to XLSX, memory bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import select, update

from bench.run import BENCH_DB
from hub.access.audit import AuditLog
from hub.access.policy import Access, sync_user
from hub.access.principals import load_principal
from hub.app import HubState
from hub.context import Context
from hub.exports import service
from hub.exports.entities import EXPORTABLE, ExportEntity
from hub.exports.jobs import run_export
from hub.settings import Settings
from hub.students.filters import StudentFilter

REQUESTER, APPROVER = "province.admin", "national.admin"


def _remove(name: str) -> None:
    Path(name).unlink()


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


class Peak:
    """The largest resident set seen while running, sampled on a thread."""

    def __init__(self) -> None:
        self.start = _rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


async def _context(state: HubState, user: str) -> tuple[Context, Any]:
    session = state.sessions()
    principal = await load_principal(session, user)
    assert principal is not None, f"the bench database has no user {user}"
    enforcer = await state.enforcer()
    sync_user(enforcer, user, principal.assignments)
    ctx = Context(
        session=session,
        settings=state.settings,
        codes=await state.codes(),
        access=Access(enforcer, principal),
        audit=AuditLog(principal, None, "bench", uuid.uuid4().hex),
        state=state,
    )
    return ctx, principal


async def _request(state: HubState, fmt: str, fields: list[str] | None) -> tuple[int, int]:
    """A request as the province's administrator, approved at once (the bench measures
    the job); its number and the rows it counts."""
    ctx, principal = await _context(state, REQUESTER)
    pk = await service.request(
        ctx,
        ExportEntity.STUDENTS,
        StudentFilter(under=principal.org_unit_code),
        fields,
        "性能基准测试 (bench)",
        fmt,
    )
    await ctx.session.execute(
        update(service.REQUEST)
        .where(service.REQUEST.c.id == pk)
        .values(status_code=service.APPROVED, reviewed_by=APPROVER)
    )
    await ctx.finish()
    total = (
        await ctx.session.execute(
            select(service.REQUEST.c.rows_total).where(service.REQUEST.c.id == pk)
        )
    ).scalar_one()
    await ctx.session.close()
    return pk, int(total)


async def _copy_baseline(url: str, fields: list[str] | None, path: Path) -> tuple[int, float]:
    """The same rows and columns (codes only, no labels, nothing masked) by COPY to CSV."""
    exportable = EXPORTABLE[ExportEntity.STUDENTS]
    chosen = exportable.chosen(fields)
    columns = ", ".join(f"{f.column.table.name}.{f.column.name}" for f in chosen)
    connection = await asyncpg.connect(url)
    try:
        province = await connection.fetchval(
            "SELECT u.path FROM hub_user h JOIN org_unit u ON u.id = h.org_unit_id"
            " WHERE h.username = $1",
            REQUESTER,
        )
        high = province[:-1] + "0"
        query = (
            f"SELECT {columns} FROM student JOIN school ON student.school_id = school.id"
            f" LEFT JOIN class ON student.class_id = class.id"
            f" WHERE student.path >= '{province}' AND student.path < '{high}'"
            " ORDER BY student.path, student.id"
        )
        started = time.perf_counter()
        status = await connection.copy_from_query(
            query, output=str(path), format="csv", header=True
        )
        seconds = time.perf_counter() - started
    finally:
        await connection.close()
    return int(status.split()[-1]), seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--fields", default=None, help="comma-separated; all when not given")
    args = parser.parse_args()
    fields = args.fields.split(",") if args.fields else None
    url = f"postgresql://postgres@127.0.0.1/{BENCH_DB}"
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1/{BENCH_DB}",
            export_dir=Path(directory),
            sources_file=Path(directory) / "none.toml",
        )
        state = HubState(settings)
        try:
            rows, seconds = await _copy_baseline(url, fields, Path(directory) / "copy.csv")
            print(
                f"baseline COPY ... TO STDOUT (csv): {rows:,} rows in {seconds:.1f} s,"
                f" {rows / seconds:,.0f} rows/s"
            )
            for fmt in args.formats.split(","):
                pk, total = await _request(state, fmt, fields)
                with Peak() as peak:
                    started = time.perf_counter()
                    status = await run_export(state, pk)
                    seconds = time.perf_counter() - started
                assert status == service.READY, f"export {pk} ended {status}"
                async with state.engine.connect() as connection:
                    row = (
                        await connection.execute(
                            select(service.REQUEST).where(service.REQUEST.c.id == pk)
                        )
                    ).one()
                print(
                    f"eduhub export {fmt:4}: {row.rows_written:,} rows in {seconds:.1f} s,"
                    f" {row.rows_written / seconds:,.0f} rows/s, {row.file_bytes / 1e6:,.0f} MB,"
                    f" peak memory growth {peak.growth_mb:,.0f} MB"
                    f" (counted {total:,} at request)"
                )
                _remove(row.file_name)
        finally:
            await state.close()
    print(f"finished {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    asyncio.run(main())
