"""student.changed_on (最近异动日期) is kept by the database, whoever writes the history: the
demo's bulk load, inserts, corrections and deletions in plain SQL; figures as of a day
read it to tell who stands as today."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import text

from hub.demo.generate import SNAPSHOT
from tests.conftest import Hub, running_hub

COUNT = """
query ($under: String!, $asOf: Date) {
  statistics(under: $under, asOf: $asOf) { students(status: ["01"]) { count } }
}
"""


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


async def _mismatches(hub: Hub) -> list[Any]:
    """Students whose changed_on is not the latest day of their status changes."""
    async with hub.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT s.id, s.changed_on,"
                    " (SELECT max(c.occurred_on) FROM status_change c WHERE c.student_id = s.id)"
                    " AS latest FROM student s"
                )
            )
        ).all()
    return [r for r in rows if _date(r.changed_on) != _date(r.latest)]


async def _changed_on(hub: Hub, student_id: int) -> dt.date | None:
    async with hub.engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT changed_on FROM student WHERE id = :id"), {"id": student_id}
        )
    return _date(value)


async def _execute(hub: Hub, sql: str, **params: Any) -> None:
    async with hub.engine.begin() as connection:
        await connection.execute(text(sql), params)


INSERT = (
    "INSERT INTO status_change (student_id, path, type_code, occurred_on,"
    " status_before_code, status_after_code, grade_before_code, grade_after_code)"
    " SELECT id, path, :kind, :day, :before, :after, grade_code, grade_code FROM student"
    " WHERE id = :id"
)


async def test_changed_on_follows_every_write_of_the_history(backend: str, tmp_path: Path) -> None:
    async with running_hub(backend, tmp_path, students=300) as hub:
        # The demo's load (COPY on PostgreSQL, executemany on SQLite) went through the triggers.
        assert await _mismatches(hub) == []
        async with hub.engine.connect() as connection:
            changed = (
                await connection.execute(
                    text("SELECT count(*) FROM student WHERE changed_on IS NOT NULL")
                )
            ).scalar_one()
            quiet = (
                await connection.execute(
                    text(
                        "SELECT s.id, s.path FROM student s WHERE s.status_code = '01'"
                        " AND NOT EXISTS (SELECT 1 FROM status_change c WHERE c.student_id = s.id)"
                        " ORDER BY s.id LIMIT 1"
                    )
                )
            ).one()
        assert changed > 0
        student, path = quiet.id, quiet.path
        assert await _changed_on(hub, student) is None

        late, early = SNAPSHOT - dt.timedelta(days=10), SNAPSHOT - dt.timedelta(days=30)
        county = "/".join(path.split("/")[:5]) + "/"
        county_code = county.rstrip("/").split("/")[-1]
        before = {}
        for day in (early - dt.timedelta(days=1), late - dt.timedelta(days=1)):
            data = await hub.data(COUNT, {"under": county_code, "asOf": day.isoformat()})
            before[day] = data["statistics"]["students"]["count"]

        # A 休学 written in plain SQL (as a synchronisation or a hand correction would).
        await _execute(hub, INSERT, id=student, kind="23", day=late, before="01", after="02")
        await _execute(hub, "UPDATE student SET status_code = '02' WHERE id = :id", id=student)
        assert await _changed_on(hub, student) == late
        # The figures of the days before the changes stand as they were: the pupil was 在读.
        for day, count in before.items():
            data = await hub.data(COUNT, {"under": county_code, "asOf": day.isoformat()})
            assert data["statistics"]["students"]["count"] == count, day
        # Today it is 休学: one fewer 在读 than the day before the 休学.
        data = await hub.data(COUNT, {"under": county_code})
        assert data["statistics"]["students"]["count"] == before[late - dt.timedelta(days=1)] - 1

        # An earlier change (a made-up 复学: the figures are done with) does not move the day
        # back.
        await _execute(hub, INSERT, id=student, kind="12", day=early, before="02", after="01")
        assert await _changed_on(hub, student) == late
        # A correction of the latest change's day, then the deletion of the changes.
        await _execute(
            hub,
            "UPDATE status_change SET occurred_on = :day WHERE student_id = :id AND type_code = '23'",
            id=student,
            day=early - dt.timedelta(days=5),
        )
        assert await _changed_on(hub, student) == early
        await _execute(
            hub, "DELETE FROM status_change WHERE student_id = :id AND type_code = '12'", id=student
        )
        assert await _changed_on(hub, student) == early - dt.timedelta(days=5)
        await _execute(hub, "DELETE FROM status_change WHERE student_id = :id", id=student)
        assert await _changed_on(hub, student) is None
        # A statement touching many students at once (PostgreSQL: one statement trigger).
        await _execute(
            hub,
            "UPDATE status_change SET occurred_on = occurred_on - 1"
            if backend == "postgresql"
            else "UPDATE status_change SET occurred_on = date(occurred_on, '-1 day')",
        )
        assert await _mismatches(hub) == []
