"""The file adapter: the national import template as .xlsx or .csv, and files that are not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from examples.legacy.import_template import COLUMNS, template_rows, write_template
from examples.legacy.provincial_students import build
from hub.codes.registry import registry_from_packaged
from hub.db.engine import make_engine
from hub.db.migrate import upgrade
from hub.quality.models import ProblemMember, ProblemRecord
from hub.sources.files import FileSource
from hub.sources.mapping import load_sources
from hub.sources.resilience import SourceUnavailable
from hub.sources.sql import SqlSource
from hub.sources.sync import SyncFailed, sync
from hub.students.models import Student
from tests.fixtures.databases import fresh_database

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy" / "sources.toml"


def _file_source(path: Path) -> FileSource:
    return FileSource(replace(load_sources(EXAMPLE)["school_upload"], url=str(path)))


async def _prepared(url: str, tmp_path: Path) -> None:
    """A hub that knows school 4145000001 (synced from the docked system)."""
    legacy = tmp_path / "gx.db"
    build(legacy, 800, seed=7)
    engine = make_engine(url)
    source = SqlSource(
        replace(load_sources(EXAMPLE)["gx_students"], url=f"sqlite+aiosqlite:///{legacy}")
    )
    try:
        await upgrade(engine)
        await sync(engine, source, "school", registry_from_packaged())
    finally:
        await source.close()
        await engine.dispose()


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_a_school_file_syncs_with_bad_rows_rejected(suffix: str, tmp_path: Path) -> None:
    rows = template_rows(120, "4145000001")
    number = str(rows[5][5])
    rows[5][5] = number[:17] + ("0" if number[17] != "0" else "1")  # a wrong check character
    rows[5][0] = "X-0042"  # and no national number (the key of the row): gets an L number
    rows[9][9] = "4145099999"  # a school the hub does not know: cannot be placed
    path = tmp_path / f"upload{suffix}"
    write_template(path, rows)
    async with fresh_database("sqlite", tmp_path) as url:
        await _prepared(url, tmp_path)
        engine = make_engine(url)
        source = _file_source(path)
        try:
            summary = await sync(engine, source, "student", registry_from_packaged())
            async with engine.connect() as connection:
                stored = (
                    await connection.execute(
                        select(func.count())
                        .select_from(Student.__table__)
                        .where(Student.sync_source == "school_upload")
                    )
                ).scalar()
                flagged = [
                    (str(detail), str(student_number)[0])
                    for detail, student_number in await connection.execute(
                        select(ProblemRecord.detail, Student.student_number)
                        .join(ProblemMember, ProblemMember.record_id == ProblemRecord.id)
                        .join(Student, Student.id == ProblemMember.student_id)
                    )
                ]
        finally:
            await source.close()
            await engine.dispose()
    assert summary.read == 120
    assert summary.rejected == 1
    assert summary.written == stored == 119
    assert flagged == [("身份证件号无效（校验码错误）", "L")]


async def test_a_gb18030_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    rows = template_rows(3, "4145000001")
    path.write_bytes(
        (",".join(COLUMNS) + "\n" + "\n".join(",".join(map(str, r)) for r in rows)).encode(
            "gb18030"
        )
    )
    source = _file_source(path)
    read = await source.rows_after("student", None, 10)
    assert sorted(r["姓名"] for r in read) == sorted(str(r[1]) for r in rows)
    assert await source.count("student", scope=["4145000001"]) == 3
    assert await source.count("student", scope=["4145000002"]) == 0
    assert await source.count_by("student", ["4145000001", "4145000002"]) == {"4145000001": 3}


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (b"PK\x03\x04 this is not a workbook", ".xlsx", "not a readable .xlsx workbook"),
        (b"\xff\xfe\x00garbage\xff", ".csv", "neither UTF-8 nor GB18030"),
        (b"", ".csv", "empty file"),
        (b"name,age\n", ".txt", "not a .csv or .xlsx file"),
    ],
)
async def test_a_malformed_file_is_refused_whole_and_says_why(
    content: bytes, suffix: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(content)
    source = _file_source(path)
    with pytest.raises(SourceUnavailable, match=message) as caught:
        await source.rows_after("student", None, 10)
    assert str(path) in caught.value.message


async def test_a_template_without_a_mapped_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "upload.xlsx"
    columns = tuple(c for c in COLUMNS if c != "民族")
    write_template(path, [r[:6] + r[7:] for r in template_rows(2, "4145000001")], columns)
    source = _file_source(path)
    with pytest.raises(SourceUnavailable, match="lacks the columns 民族"):
        await source.rows_after("student", None, 10)
    async with fresh_database("sqlite", tmp_path) as url:
        await _prepared(url, tmp_path)
        engine = make_engine(url)
        try:
            with pytest.raises(SyncFailed, match="lacks the columns 民族"):
                await sync(engine, source, "student", registry_from_packaged())
            async with engine.connect() as connection:
                stored = (
                    await connection.execute(
                        select(func.count())
                        .select_from(Student.__table__)
                        .where(Student.sync_source == "school_upload")
                    )
                ).scalar()
        finally:
            await engine.dispose()
    assert stored == 0  # nothing of a file that does not fit is taken
