"""statistics(under:, asOf:): figures as they stood on a past day, from the status-change
history and the effective-dated org-unit tree, checked against the rows rolled back here."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, true, union_all

from hub.access.scope import under_path
from hub.codes.divisions import all_divisions, division
from hub.demo.generate import MERGED, SNAPSHOT
from hub.orgunits.history import unchanged_since, version_at
from hub.students.history import schools_at, students_at
from tests.conftest import Hub, running_hub

STUDENTS = """
query ($under: String!, $asOf: Date, $by: [StatisticsDimension!], $status: [String!]) {
  statistics(under: $under, asOf: $asOf) {
    unit { code } unitAsOf { code label } asOf
    students(by: $by, status: $status) { count rows { keys { code } count } }
  }
}
"""

SCHOOLS = """
query ($under: String!, $asOf: Date, $by: [StatisticsDimension!]) {
  statistics(under: $under, asOf: $asOf) {
    unit { code } unitAsOf { code label }
    schools(by: $by) { count rows { keys { code label } count } }
  }
}
"""

DAY = SNAPSHOT - dt.timedelta(days=200)  # the demo's status changes reach 400 days back


async def _rows(hub: Hub, sql: str, **params: Any) -> list[Any]:
    async with hub.engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


async def _then(hub: Hub, under: str, day: dt.date) -> dict[int, tuple[str, str, str]]:
    """Each student under ``under`` (today) as they stood on ``day``: (status, grade, school
    path), rolled back here through the changes after the day; absent: not on the roll."""
    students = await _rows(
        hub,
        "SELECT s.id, s.status_code, s.grade_code, s.school_id, s.enrolled_on FROM student s"
        " WHERE s.path >= :low AND s.path < :high",
        low=under,
        high=under[:-1] + "0",
    )
    changes = await _rows(
        hub,
        "SELECT student_id, id, occurred_on, type_code, status_before_code, grade_before_code,"
        " from_school_id FROM status_change",
    )
    schools = {r.id: r.path for r in await _rows(hub, "SELECT id, path FROM school")}
    later: dict[int, list[Any]] = defaultdict(list)
    for c in changes:
        if _date(c.occurred_on) > day:
            later[c.student_id].append(c)
    then: dict[int, tuple[str, str, str]] = {}
    month = f"{day.year:04d}-{day.month:02d}"
    for s in students:
        after = sorted(later[s.id], key=lambda c: (_date(c.occurred_on), c.id))
        status, grade, school = s.status_code, s.grade_code, s.school_id
        if after:
            status = after[0].status_before_code
            grade = after[0].grade_before_code or grade
        moves = [c for c in after if c.type_code in ("13", "27")]
        if moves:
            school = moves[0].from_school_id
        if status is None or school is None or (s.enrolled_on or "") > month:
            continue
        then[s.id] = (status, grade, schools[school])
    return then


def _school_code(path: str) -> str:
    return path.rstrip("/").split("/")[-1]


async def test_students_as_of_a_day_are_rolled_back_through_their_changes(hub: Hub) -> None:
    _id, code, path = hub.units["county"]
    then = await _then(hub, path, DAY)
    expected = Counter((_school_code(p), g) for s, g, p in then.values() if s == "01")
    for user in ("county.registrar", "city.admin"):
        data = await hub.data(
            STUDENTS, {"under": code, "asOf": DAY.isoformat(), "by": ["UNIT", "GRADE"]}, user=user
        )
        stats = data["statistics"]
        assert stats["asOf"] == DAY.isoformat()
        assert stats["unitAsOf"]["code"] == code
        got = {
            (r["keys"][0]["code"], r["keys"][1]["code"]): r["count"]
            for r in stats["students"]["rows"]
        }
        assert got == dict(expected), user
    # Status as it stood: the rollback must change something, or this test tests nothing.
    statuses = Counter(s for s, _g, _p in then.values())
    data = await hub.data(
        STUDENTS, {"under": code, "asOf": DAY.isoformat(), "by": ["STATUS"], "status": []}
    )
    by_status = {r["keys"][0]["code"]: r["count"] for r in data["statistics"]["students"]["rows"]}
    assert by_status == dict(statuses)
    today = await hub.data(STUDENTS, {"under": code, "by": ["STATUS"], "status": []})
    now = {r["keys"][0]["code"]: r["count"] for r in today["statistics"]["students"]["rows"]}
    assert now != by_status, "the demo's changes after the day should show in the figures"
    assert today["statistics"]["asOf"] is None


async def test_a_day_before_all_changes_and_scope(hub: Hub) -> None:
    _id, code, path = hub.units["county"]
    day = SNAPSHOT - dt.timedelta(days=450)
    then = await _then(hub, path, day)
    data = await hub.data(STUDENTS, {"under": code, "asOf": day.isoformat()})
    assert data["statistics"]["students"]["count"] == sum(
        1 for s, _, _ in then.values() if s == "01"
    )
    # The sibling county asks of the county: not in its scope, on any day.
    body = await hub.query(
        STUDENTS, {"under": code, "asOf": day.isoformat()}, user="county2.registrar"
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_tree_of_a_past_day_groups_schools_under_the_merged_county(hub: Hub) -> None:
    _id, code, path = hub.units["county"]
    old_code, old_name, merged_on = MERGED[code]
    versions = await _rows(
        hub, "SELECT code FROM org_unit_version WHERE level = 'SCHOOL' ORDER BY code"
    )
    moved = {r.code for r in versions}
    schools = {
        r.code
        for r in await _rows(
            hub,
            "SELECT code FROM school WHERE path >= :low AND path < :high",
            low=path,
            high=path[:-1] + "0",
        )
    }
    assert moved and moved < schools  # every other school lay in the merged county
    before = (merged_on - dt.timedelta(days=1)).isoformat()
    # The city on the day before: the merged county holds its schools, the county the rest.
    city = hub.units["city"][1]
    data = await hub.data(SCHOOLS, {"under": city, "asOf": before, "by": ["UNIT"]})
    got = {r["keys"][0]["code"]: r["count"] for r in data["statistics"]["schools"]["rows"]}
    assert got[old_code] == len(moved)
    assert got[code] == len(schools - moved)
    label = next(
        r["keys"][0]["label"]
        for r in data["statistics"]["schools"]["rows"]
        if r["keys"][0]["code"] == old_code
    )
    assert old_name in label
    # Asked of the merged county itself: its schools that day; its unit lives on as the county.
    data = await hub.data(
        SCHOOLS, {"under": old_code, "asOf": before, "by": ["UNIT"]}, user="county.registrar"
    )
    stats = data["statistics"]
    assert stats["unit"]["code"] == code
    assert stats["unitAsOf"]["code"] == old_code
    assert {r["keys"][0]["code"] for r in stats["schools"]["rows"]} == moved
    # On the day of the merge and today, the merged county is gone; the error says when it held.
    for day in (merged_on.isoformat(), None):
        body = await hub.query(SCHOOLS, {"under": old_code, "asOf": day})
        error = body["errors"][0]
        assert error["extensions"]["code"] == "NOT_FOUND"
        if day is not None:
            assert f"to {merged_on - dt.timedelta(days=1)}" in error["message"]
    # Today the county holds all its schools.
    data = await hub.data(SCHOOLS, {"under": code})
    assert data["statistics"]["schools"]["count"] == len(schools)


async def test_figures_without_history_are_refused_as_of_a_day(hub: Hub) -> None:
    code = hub.units["county"][1]
    cases = {
        "teachers { count }": "teachers keep no history",
        "buildings { count }": "buildings keep no history",
        "students(by: [BUILDING_RATING]) { count }": "BUILDING_RATING has no history",
        "monitoring { students }": "monitoring needs",
        "overall { students }": "overall needs",
    }
    for selection, message in cases.items():
        body = await hub.query(
            f'{{ statistics(under: "{code}", asOf: "2026-01-05") {{ {selection} }} }}'
        )
        assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT", selection
        assert message in body["errors"][0]["message"], body
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    body = await hub.query(f'{{ statistics(under: "{code}", asOf: "{future}") {{ asOf }} }}')
    assert "lies in the future" in body["errors"][0]["message"]


async def test_a_merge_moves_the_subtree_and_keeps_its_past(backend: str, tmp_path: Path) -> None:
    async with running_hub(backend, tmp_path, 1500) as hub:
        _id, county, _path = hub.units["county"]
        _id2, sibling, sibling_path = hub.units["county2"]
        day = dt.date(2026, 3, 1)
        before = (day - dt.timedelta(days=1)).isoformat()
        query = """query ($under: String!, $asOf: Date) { statistics(under: $under, asOf: $asOf) {
            students(by: [UNIT]) { count rows { keys { code } count } } schools { count } } }"""
        city = hub.units["city"][1]
        old = await hub.data(query, {"under": city, "asOf": before})
        old_today = await hub.data(query, {"under": city})
        merge = [
            "orgunits", "merge", sibling, "--into", county, "--on", day.isoformat(),
            "--database", hub.owner_url,
        ]  # fmt: skip
        code, output = await _eduhub(merge)
        assert code == 1
        assert "users or role assignments belong to" in output
        async with hub.engine.begin() as connection:  # the sibling county's people leave
            unit = "(SELECT id FROM org_unit WHERE code = :code)"
            await connection.execute(
                text(f"DELETE FROM role_assignment WHERE org_unit_id = {unit}"), {"code": sibling}
            )
            await connection.execute(
                text(f"DELETE FROM hub_user WHERE org_unit_id = {unit}"), {"code": sibling}
            )
        code, output = await _eduhub(merge)
        assert code == 0, output
        assert "student" in output
        # Today: the sibling's rows live under the county, in scope for the county's people.
        moved = await _rows(
            hub,
            "SELECT count(*) AS n FROM student WHERE path >= :low AND path < :high",
            low=sibling_path,
            high=sibling_path[:-1] + "0",
        )
        assert moved[0].n == 0
        now = await hub.data(query, {"under": city})
        counts = {r["keys"][0]["code"]: r["count"] for r in now["statistics"]["students"]["rows"]}
        before_counts = {
            r["keys"][0]["code"]: r["count"] for r in old_today["statistics"]["students"]["rows"]
        }
        assert sibling not in counts
        assert counts[county] == before_counts[county] + before_counts[sibling]
        # The day before the merge: the same figures as asked then, the sibling still there.
        again = await hub.data(query, {"under": city, "asOf": before})
        assert again == old
        sibling_then = await hub.data(
            query, {"under": sibling, "asOf": before}, user="county.registrar"
        )
        old_counts = {
            r["keys"][0]["code"]: r["count"] for r in old["statistics"]["students"]["rows"]
        }
        assert sibling_then["statistics"]["students"]["count"] == old_counts[sibling]
        # A second merge of a unit that is gone is refused, naming it.
        code, output = await _eduhub(merge)
        assert code == 1
        assert f"no org unit '{sibling}'" in output
        # The merge is in the audit chain, by the CLI's operator.
        audited = await _rows(
            hub, "SELECT username, detail FROM audit_event WHERE action = 'merge'"
        )
        assert len(audited) == 1 and audited[0].username.startswith("cli:")
        assert "student" in audited[0].detail


async def _eduhub(arguments: list[str], cwd: Path | None = None) -> tuple[int, str]:
    """Run the real ``eduhub`` command; its exit code and what it printed."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("eduhub")),
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_a_transfer_within_the_hub_counts_at_the_old_school_before_it(
    backend: str, tmp_path: Path
) -> None:
    async with running_hub(backend, tmp_path, 1500) as hub:
        county, county_path = hub.units["county"][1], hub.units["county"][2]
        sibling_path = hub.units["county2"][2]
        pupil = (
            await _rows(
                hub,
                "SELECT s.id, s.school_id, s.grade_code FROM student s WHERE s.path >= :low"
                " AND s.path < :high AND s.status_code = '01' AND s.enrolled_on <= '2025-12'"
                " AND NOT EXISTS (SELECT 1 FROM"
                " status_change c WHERE c.student_id = s.id) ORDER BY s.id",
                low=county_path,
                high=county_path[:-1] + "0",
            )
        )[0]
        target = (
            await _rows(
                hub,
                "SELECT id, code, path FROM school WHERE path >= :low AND path < :high ORDER BY id",
                low=sibling_path,
                high=sibling_path[:-1] + "0",
            )
        )[0]
        source = (await _rows(hub, "SELECT code FROM school WHERE id = :id", id=pupil.school_id))[0]
        day = dt.date(2026, 6, 1)
        before = (day - dt.timedelta(days=1)).isoformat()
        query = """query ($under: String!, $asOf: Date) { statistics(under: $under, asOf: $asOf)
            { students(by: [UNIT], level: SCHOOL) { rows { keys { code } count } } } }"""

        async def by_school(under: str, as_of: str | None) -> dict[str, int]:
            data = await hub.data(query, {"under": under, "asOf": as_of})
            return {
                r["keys"][0]["code"]: r["count"] for r in data["statistics"]["students"]["rows"]
            }

        city = hub.units["city"][1]
        then = await by_school(city, before)
        now = await by_school(city, None)
        async with hub.engine.begin() as connection:  # the transfer, as a writer records it
            await connection.execute(
                text(
                    "UPDATE student SET school_id = :school, path = :path, class_id = NULL"
                    " WHERE id = :id"
                ),
                {"school": target.id, "path": target.path, "id": pupil.id},
            )
            await connection.execute(
                text(
                    "INSERT INTO status_change (id, student_id, path, type_code, occurred_on,"
                    " from_school_id, to_school_id, grade_before_code, grade_after_code,"
                    " status_before_code, status_after_code) VALUES (:pk, :id, :path, '13',"
                    " :day, :source, :target, :grade, :grade, '01', '01')"
                ),
                {
                    "pk": 10**9,
                    "id": pupil.id,
                    "path": target.path,
                    "day": day,
                    "source": pupil.school_id,
                    "target": target.id,
                    "grade": pupil.grade_code,
                },
            )
        # The day before: as it was, the pupil at the old school (asked of the city and of
        # the old school's county, whose current rows no longer hold the pupil).
        assert await by_school(city, before) == then
        in_county = await by_school(county, before)
        assert in_county[source.code] == then[source.code]
        assert target.code not in in_county
        # Today: moved.
        after = await by_school(city, None)
        assert after[source.code] == now[source.code] - 1
        assert after[target.code] == now[target.code] + 1


async def test_both_readings_of_a_past_day_agree_where_the_tree_has_not_changed(
    hub: Hub,
) -> None:
    """Where the subtree is today's (``unchanged_since``), a past day is read without the
    versions; the reading through that day's tree must give the same rows."""

    async def run(statement: Any) -> list[Any]:
        async with hub.engine.connect() as connection:
            return list((await connection.execute(statement)).all())

    for under in ("/", hub.units["city"][2], hub.units["county"][2]):
        assert await unchanged_since(run, DAY, under)
        read: dict[bool, list[Any]] = {}
        for unchanged_tree in (False, True):
            parts = students_at(DAY, true(), under, unchanged_tree=unchanged_tree)
            rows = union_all(*parts).subquery("student_at")
            read[unchanged_tree] = await run(
                select(rows.c.id, rows.c.status_code, rows.c.grade_code, rows.c.school_id)
                .add_columns(rows.c.path)
                .where(under_path(rows.c.path, under))
                .order_by(rows.c.id)
            )
            schools = schools_at(DAY, true(), under, unchanged_tree=unchanged_tree)[0].subquery()
            read[unchanged_tree].append(
                await run(select(schools.c.id, schools.c.path).order_by(schools.c.id))
            )
        assert len(read[True]) > 100, under
        assert read[False] == read[True], under
    # Before the demo's merge the merged county's subtree differs from today's.
    merged_day = next(iter(MERGED.values()))[2]
    assert not await unchanged_since(run, merged_day - dt.timedelta(days=1), "/")
    # The unit looked up for a day says the same of its subtree, in the same statement.
    old_code = MERGED[hub.units["county"][1]][0]
    for code, day in (
        (hub.units["city"][1], DAY),
        (hub.units["county"][1], DAY),
        (hub.units["school"][1], DAY),
        (hub.units["city"][1], merged_day - dt.timedelta(days=1)),
        (old_code, merged_day - dt.timedelta(days=1)),
        (hub.units["county"][1], merged_day - dt.timedelta(days=1)),
    ):
        then = await version_at(run, code, day)
        assert then is not None
        assert then.unchanged == await unchanged_since(run, day, then.path), (code, day)
        assert then.unchanged == (day == DAY), (code, day)


async def test_a_recode_keeps_the_unit_its_rights_and_its_past(
    backend: str, tmp_path: Path
) -> None:
    """撤县设区: the sibling county gets a new GB/T 2260 code and name from a day. Its rows
    and its people's rights stay; today's figures carry the new code; the days before it
    read as they did, under the old code; the sources file's lines naming the old code are
    pointed out; the change is audited; bad requests change nothing."""
    async with running_hub(backend, tmp_path, 600) as hub:
        city = hub.units["city"][1]
        _id, old, old_path = hub.units["county2"]
        taken = {r.code for r in await _rows(hub, "SELECT code FROM org_unit")}
        taken |= {r.code for r in await _rows(hub, "SELECT code FROM org_unit_version")}
        new = next(  # a district code of the city the demo's tree does not use
            d
            for d in sorted(all_divisions().values(), key=lambda d: d.code)
            if d.code.startswith(city) and d.level == "COUNTY" and d.code not in taken
            and d.name != "市辖区"
        )  # fmt: skip
        old_name = (await _rows(hub, "SELECT name FROM org_unit WHERE code = :c", c=old))[0].name
        old_division = division(old)
        assert old_division is not None and old_division.name in old_name
        on = SNAPSHOT - dt.timedelta(days=100)
        before = (on - dt.timedelta(days=1)).isoformat()
        query = STUDENTS
        by_unit = {"under": city, "by": ["UNIT"]}
        old_then = await hub.data(query, {**by_unit, "asOf": before})
        old_today = await hub.data(query, by_unit)
        listing = "query ($u: String!) { students(filter: {under: $u}) { totalCount } }"
        own = await hub.data(listing, {"u": old})  # (the registrar's first request is after)
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[routes]\nstudent = [ {{ under = "{old}", source = "x" }} ]\n')

        def recode(*arguments: str) -> list[str]:
            return [
                "orgunits", "recode", *arguments, "--on", on.isoformat(),
                "--database", hub.owner_url,
            ]  # fmt: skip

        # Refused, nothing changed: a code in use, a malformed code, a unit not in the tree.
        for arguments, message in (
            ((old, "--to", hub.units["county"][1]), "is the code of"),
            ((old, "--to", "44AB01"), "six digits"),
            (("999999", "--to", new.code), "no org unit '999999'"),
            ((old, "--to", "450103"), "does not lie under"),
        ):
            code, output = await _eduhub(recode(*arguments), cwd=tmp_path)
            assert code == 1 and message in output, output
        assert await hub.data(query, by_unit) == old_today

        code, output = await _eduhub(recode(old, "--to", new.code), cwd=tmp_path)
        assert code == 0, output
        new_name = old_name.replace(old_division.name, new.name)  # 越秀区教育局 -> …区教育局
        assert f"{old} is {new.code} {new_name}" in output
        assert f"sources.toml:2 names {old}" in output  # the route to update by hand
        # Today: the same unit and rows under the new code, the old one gone.
        now = await hub.data(query, by_unit)
        counts = {r["keys"][0]["code"]: r["count"] for r in now["statistics"]["students"]["rows"]}
        before_counts = {
            r["keys"][0]["code"]: r["count"] for r in old_today["statistics"]["students"]["rows"]
        }
        assert old not in counts and counts[new.code] == before_counts[old]
        row = (await _rows(hub, "SELECT name, path FROM org_unit WHERE code = :c", c=new.code))[0]
        assert row.name == new_name and row.path == old_path[: -len(old) - 1] + new.code + "/"
        stale = await _rows(
            hub,
            "SELECT count(*) AS n FROM student WHERE path >= :low AND path < :high",
            low=old_path,
            high=old_path[:-1] + "0",
        )
        assert stale[0].n == 0
        # Its people keep their rights, now under the new code (a running hub reloads a
        # principal within principal_cache_seconds; this one has not asked before).
        mine = await hub.data(listing, {"u": new.code}, user="county2.registrar")
        assert mine["students"]["totalCount"] == own["students"]["totalCount"] > 0
        # The day before: as it was asked then, under the old code.
        assert await hub.data(query, {**by_unit, "asOf": before}) == old_then
        then = await hub.data(STUDENTS, {"under": old, "asOf": before}, user="county2.registrar")
        assert then["statistics"]["unit"]["code"] == new.code
        assert then["statistics"]["unitAsOf"]["code"] == old
        body = await hub.query(STUDENTS, {"under": old})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert "代码变更为" in body["errors"][0]["message"]
        # Audited by the CLI's operator.
        audited = await _rows(
            hub, "SELECT username, scope_path FROM audit_event WHERE action = 'recode'"
        )
        assert len(audited) == 1 and audited[0].username.startswith("cli:")
