"""statistics(under:): every figure against one computed here from the demo's rows, for
viewers of each level, with scope and small-cell suppression."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.conftest import Hub

TABLE = """
query ($under: String!, $by: [StatisticsDimension!], $level: OrgLevel, $at: Date) {
  statistics(under: $under) {
    unit { code }
    students(by: $by, level: $level, ageAt: $at) {
      dimensions count suppressed rows { keys { code label } count suppressed }
    }
  }
}
"""

MONITORING = """
query ($under: String!) {
  statistics(under: $under) {
    monitoring {
      unit { code label } students teachers studentsPerTeacher schools schoolsOutsideSizeNorm
      classSizes { upTo35 normal large oversized extreme total oversizedShare }
      floorArea floorAreaPerStudent dangerousFloorArea studentsInDangerousBuildings
      migrantChildren leftBehindChildren needsAid dropoutWatch
    }
    overall { unit { code } students teachers schools floorArea dangerousFloorArea
              studentsInDangerousBuildings classSizes { total oversized extreme } }
  }
}
"""


async def _rows(hub: Hub, sql: str, **params: Any) -> list[Any]:
    async with hub.engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


def _school_of(path: str) -> str:
    return path.rstrip("/").split("/")[-1]


async def _students(hub: Hub, under: str) -> list[Any]:
    return await _rows(
        hub,
        "SELECT s.path, s.grade_code, s.status_code, s.disability_code, s.birth_date,"
        " s.migrant_child, s.left_behind_code, s.needs_aid, s.class_id FROM student s"
        " WHERE s.path >= :low AND s.path < :high",
        low=under,
        high=under[:-1] + "0",
    )


async def test_a_county_counts_its_students_by_school_and_grade(hub: Hub) -> None:
    county = hub.units["county"]
    rows = await _students(hub, county[2])
    expected = Counter((_school_of(r.path), r.grade_code) for r in rows if r.status_code == "01")
    for user in ("county.registrar", "county.viewer", "national.admin"):
        data = await hub.data(TABLE, {"under": county[1], "by": ["UNIT", "GRADE"]}, user=user)
        table = data["statistics"]["students"]
        assert table["dimensions"] == ["UNIT", "GRADE"]
        got = {(r["keys"][0]["code"], r["keys"][1]["code"]): r["count"] for r in table["rows"]}
        assert got == dict(expected), user
        assert table["count"] == sum(expected.values())
        grade = next(r["keys"][1] for r in table["rows"] if r["keys"][1]["code"] == "11")
        assert grade["label"] == "一年级"


async def test_a_province_groups_by_a_chosen_level(hub: Hub) -> None:
    province = hub.units["province"]
    rows = await _students(hub, province[2])
    counties = Counter(r.path.split("/")[4] for r in rows if r.status_code == "01")
    data = await hub.data(
        TABLE, {"under": province[1], "by": ["UNIT"], "level": "COUNTY"}, user="province.admin"
    )
    got = {r["keys"][0]["code"]: r["count"] for r in data["statistics"]["students"]["rows"]}
    assert got == dict(counties)
    # One level down from the province are its cities.
    data = await hub.data(TABLE, {"under": province[1], "by": ["UNIT"]}, user="province.admin")
    cities = Counter(r.path.split("/")[3] for r in rows if r.status_code == "01")
    got = {r["keys"][0]["code"]: r["count"] for r in data["statistics"]["students"]["rows"]}
    assert got == dict(cities)


async def test_each_level_sees_only_its_subtree(hub: Hub) -> None:
    county, school = hub.units["county"], hub.units["school"]
    for user, under in (
        ("school.registrar", county[1]),
        ("county2.registrar", county[1]),
        ("county.registrar", hub.units["province"][1]),
    ):
        body = await hub.query(TABLE, {"under": under, "by": ["GRADE"]}, user=user)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", (user, body)
        assert body["data"] is None
    rows = await _students(hub, school[2])
    data = await hub.data(TABLE, {"under": school[1], "by": ["GRADE"]}, user="school.registrar")
    expected = Counter(r.grade_code for r in rows if r.status_code == "01")
    got = {r["keys"][0]["code"]: r["count"] for r in data["statistics"]["students"]["rows"]}
    assert got == dict(expected)
    # A school has no child units.
    body = await hub.query(TABLE, {"under": school[1], "by": ["UNIT"]}, user="school.registrar")
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "has no child units" in body["errors"][0]["message"]


async def test_small_cells_of_disability_are_suppressed_unless_the_viewer_may_unmask(
    hub: Hub,
) -> None:
    county = hub.units["county"]
    rows = await _students(hub, county[2])
    expected = Counter(
        (_school_of(r.path), r.disability_code or "") for r in rows if r.status_code == "01"
    )
    assert any(0 < n < 5 for n in expected.values()), "the demo county has small cells"
    variables = {"under": county[1], "by": ["UNIT", "DISABILITY"]}
    # The registrar may unmask: every count shown.
    data = await hub.data(TABLE, variables, user="county.registrar")
    table = data["statistics"]["students"]
    got = {(r["keys"][0]["code"], r["keys"][1]["code"]): r["count"] for r in table["rows"]}
    assert got == dict(expected)
    assert table["suppressed"] == 0
    # The viewer may not: counts 1-4 suppressed (and one more when only one would be).
    data = await hub.data(TABLE, variables, user="county.viewer")
    table = data["statistics"]["students"]
    small = {k for k, n in expected.items() if n < 5}
    hidden = {
        (r["keys"][0]["code"], r["keys"][1]["code"]) for r in table["rows"] if r["suppressed"]
    }
    assert small <= hidden
    assert len(hidden) - len(small) <= 1
    for r in table["rows"]:
        key = (r["keys"][0]["code"], r["keys"][1]["code"])
        assert r["count"] == (None if key in hidden else expected[key])
    assert table["suppressed"] == len(hidden)
    assert table["count"] == sum(expected.values())
    # Grouped by grade alone nothing is sensitive: nothing suppressed.
    data = await hub.data(TABLE, {"under": county[1], "by": ["GRADE"]}, user="county.viewer")
    assert data["statistics"]["students"]["suppressed"] == 0


async def test_ages_are_full_years_at_the_date(hub: Hub) -> None:
    county = hub.units["county"]
    at = dt.date(2025, 9, 1)
    rows = await _students(hub, county[2])

    def age(birth: Any) -> int:
        born = birth if isinstance(birth, dt.date) else dt.date.fromisoformat(str(birth))
        return at.year - born.year - ((at.month, at.day) < (born.month, born.day))

    expected = Counter(str(age(r.birth_date)) for r in rows if r.status_code == "01")
    data = await hub.data(
        TABLE, {"under": county[1], "by": ["AGE"], "at": at.isoformat()}, user="county.registrar"
    )
    got = {r["keys"][0]["code"]: r["count"] for r in data["statistics"]["students"]["rows"]}
    assert got == dict(expected)
    first = data["statistics"]["students"]["rows"][0]["keys"][0]
    assert first["label"] == f"{first['code']}岁"


async def test_a_dimension_an_entity_lacks_is_refused_with_those_it_has(hub: Hub) -> None:
    body = await hub.query(
        "query ($u: String!) { statistics(under: $u) { teachers(by: [GRADE]) { count } } }",
        {"u": hub.units["county"][1]},
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "teachers cannot be grouped by GRADE" in error["message"]
    assert "TITLE" in error["message"]


async def _expected_monitoring(hub: Hub, under: str) -> dict[str, dict[str, Any]]:
    """The indicators of each school of the county, computed from its rows."""
    students = await _students(hub, under)
    classes = await _rows(
        hub,
        "SELECT c.id, c.path, c.building_id, b.danger_rating_code FROM class c"
        " LEFT JOIN building b ON b.id = c.building_id WHERE c.path >= :low AND c.path < :high",
        low=under,
        high=under[:-1] + "0",
    )
    schools = await _rows(
        hub,
        "SELECT code, type_code FROM school WHERE path >= :low AND path < :high",
        low=under,
        high=under[:-1] + "0",
    )
    teachers = await _rows(
        hub,
        "SELECT path FROM teacher WHERE path >= :low AND path < :high AND status_code = '01'"
        " AND is_teacher = :yes",
        low=under,
        high=under[:-1] + "0",
        yes=True,
    )
    buildings = await _rows(
        hub,
        "SELECT path, floor_area, danger_rating_code FROM building"
        " WHERE path >= :low AND path < :high",
        low=under,
        high=under[:-1] + "0",
    )
    figures: defaultdict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "students": 0,
            "migrantChildren": 0,
            "leftBehindChildren": 0,
            "needsAid": 0,
            "dropoutWatch": 0,
            "teachers": 0,
            "floorArea": Decimal(0),
            "dangerousFloorArea": Decimal(0),
            "studentsInDangerousBuildings": 0,
            "bands": Counter(),
            "classes": 0,
        }
    )
    for code, _type in schools:
        _ = figures[code]  # every school has its figures, empty or not
    size: Counter[int] = Counter()
    dangerous_class = {c.id for c in classes if c.danger_rating_code in ("C", "D")}
    for r in students:
        f = figures[_school_of(r.path)]
        if r.status_code in ("02", "04", "05"):
            f["dropoutWatch"] += 1
        if r.status_code != "01":
            continue
        f["students"] += 1
        f["migrantChildren"] += bool(r.migrant_child)
        f["leftBehindChildren"] += r.left_behind_code in ("1", "2")
        f["needsAid"] += bool(r.needs_aid)
        if r.class_id is not None:
            size[r.class_id] += 1
            f["studentsInDangerousBuildings"] += r.class_id in dangerous_class
    for c in classes:
        n = size[c.id]
        band = (
            "upTo35"
            if n <= 35
            else "normal"
            if n <= 45
            else "large"
            if n <= 55
            else "oversized"
            if n <= 65
            else "extreme"
        )
        figures[_school_of(c.path)]["bands"][band] += 1
        figures[_school_of(c.path)]["classes"] += 1
    for t in teachers:
        figures[_school_of(t.path)]["teachers"] += 1
    for b in buildings:
        f = figures[_school_of(b.path)]
        area = Decimal(str(b.floor_area or 0))
        f["floorArea"] += area
        if b.danger_rating_code in ("C", "D"):
            f["dangerousFloorArea"] += area
    norms = {"211": (12, 36), "311": (18, 30), "312": (18, 36)}
    for code, type_code in schools:
        low, high = norms.get(type_code, (0, 10**9))
        figures[code]["outside"] = int(not low <= figures[code]["classes"] <= high)
    return figures


async def test_monitoring_indicators_per_school_of_a_county(hub: Hub) -> None:
    county = hub.units["county"]
    expected = await _expected_monitoring(hub, county[2])
    assert any(f["dangerousFloorArea"] for f in expected.values()), "the demo has C/D buildings"
    assert any(f["studentsInDangerousBuildings"] for f in expected.values())
    data = await hub.data(MONITORING, {"under": county[1]}, user="county.statistician")
    got = data["statistics"]["monitoring"]
    assert [g["unit"]["code"] for g in got] == sorted(expected)
    for g in got:
        e = expected[g["unit"]["code"]]
        for name in (
            "students",
            "teachers",
            "migrantChildren",
            "leftBehindChildren",
            "needsAid",
            "dropoutWatch",
            "studentsInDangerousBuildings",
        ):
            assert g[name] == e[name], (g["unit"], name)
        assert g["schools"] == 1
        assert g["schoolsOutsideSizeNorm"] == e["outside"]
        assert Decimal(str(g["floorArea"])) == e["floorArea"]
        assert Decimal(str(g["dangerousFloorArea"])) == e["dangerousFloorArea"]
        bands = g["classSizes"]
        for band in ("upTo35", "normal", "large", "oversized", "extreme"):
            assert bands[band] == e["bands"][band], (g["unit"], band)
        assert bands["total"] == e["classes"]
        if e["classes"]:
            share = (e["bands"]["oversized"] + e["bands"]["extreme"]) / e["classes"]
            assert bands["oversizedShare"] == round(share, 4)
        if e["teachers"]:
            assert g["studentsPerTeacher"] == round(e["students"] / e["teachers"], 2)
        if e["students"]:
            per = (e["floorArea"] / e["students"]).quantize(Decimal("0.01"))
            assert Decimal(str(g["floorAreaPerStudent"])) == per
    overall = data["statistics"]["overall"]
    assert overall["unit"]["code"] == county[1]
    assert overall["students"] == sum(e["students"] for e in expected.values())
    assert overall["schools"] == len(expected)
    assert overall["classSizes"]["total"] == sum(e["classes"] for e in expected.values())
    assert overall["studentsInDangerousBuildings"] == sum(
        e["studentsInDangerousBuildings"] for e in expected.values()
    )


async def test_figures_the_viewer_may_not_read_are_null_not_zero(hub: Hub) -> None:
    county = hub.units["county"]
    # The registrar reads students and teachers, not buildings.
    data = await hub.data(MONITORING, {"under": county[1]}, user="county.registrar")
    for g in data["statistics"]["monitoring"]:
        assert g["floorArea"] is None
        assert g["dangerousFloorArea"] is None
        assert g["studentsInDangerousBuildings"] is None
        assert g["students"] is not None
        assert g["teachers"] is not None


async def test_students_by_the_rating_of_the_building_they_are_taught_in(hub: Hub) -> None:
    """The department's question: students taught in C/D-rated buildings, by school."""
    county = hub.units["county"]
    rows = await _students(hub, county[2])
    rating = {
        r.id: r.danger_rating_code or ""
        for r in await _rows(
            hub,
            "SELECT c.id, b.danger_rating_code FROM class c"
            " LEFT JOIN building b ON b.id = c.building_id",
        )
    }
    expected = Counter(
        (_school_of(r.path), rating.get(r.class_id, "") if r.class_id else "")
        for r in rows
        if r.status_code == "01"
    )
    assert any(k[1] in ("C", "D") for k in expected), "the demo county teaches in C/D buildings"
    variables = {"under": county[1], "by": ["UNIT", "BUILDING_RATING"]}
    data = await hub.data(TABLE, variables, user="county.statistician")
    table = data["statistics"]["students"]
    got = {(r["keys"][0]["code"], r["keys"][1]["code"]): r["count"] for r in table["rows"]}
    assert got == dict(expected)
    labels = {r["keys"][1]["code"]: r["keys"][1]["label"] for r in table["rows"]}
    assert all(f"({code}级)" in label for code, label in labels.items() if code)
    # The registrar may not read buildings: their ratings are not given to it.
    data = await hub.data(TABLE, variables, user="county.registrar")
    keys = {r["keys"][1]["code"] for r in data["statistics"]["students"]["rows"]}
    assert keys == {""}


async def test_the_readme_question_is_answered_in_one_query(hub: Hub) -> None:
    """The README's cross-domain query, as written there, for the demo province."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Statistics across domains") :]
    start = section.index("```graphql") + len("```graphql")
    document = section[start : section.index("```", start)]
    data = await hub.data(document, user="province.admin")
    stats = data["statistics"]
    counties = {u["unit"]["code"] for u in stats["monitoring"]}
    rows = stats["students"]["rows"]
    assert {r["keys"][0]["code"] for r in rows} <= counties
    assert sum(r["count"] for r in rows) == stats["students"]["count"] > 0
    by_county: Counter[str] = Counter()
    for r in rows:
        if r["keys"][1]["code"] in ("C", "D"):
            by_county[r["keys"][0]["code"]] += r["count"]
    for unit in stats["monitoring"]:
        assert unit["studentsInDangerousBuildings"] == by_county[unit["unit"]["code"]]


async def test_statistics_cost_a_bounded_number_of_statements(hub: Hub) -> None:
    """One aggregate per figure, whatever the number of units or rows: the monitoring of the
    units and of the place share their statements; a table is one statement."""
    await hub.warm("province.admin")
    variables = {"under": hub.units["province"][1]}
    with hub.counter() as counter:
        await hub.data(MONITORING, variables, user="province.admin")
    # units, students, class sizes, schools, teachers, buildings (+ the unit's own lookup)
    assert 6 <= counter.count <= 7, counter.statements
    with hub.counter() as counter:
        await hub.data(TABLE, {**variables, "by": ["UNIT", "GRADE"]}, user="province.admin")
    assert 1 <= counter.count <= 2, counter.statements
