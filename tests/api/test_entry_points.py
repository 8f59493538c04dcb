"""Every entry point of SCHEMA.md answers from the demo data over HTTP."""

from __future__ import annotations

from typing import Any

from stdnum.cn import ric

from tests.conftest import DEMO_STUDENTS, Hub


async def test_me_is_the_viewer(hub: Hub) -> None:
    data = await hub.data("{ me { user orgUnitCode level roles orgUnit { code } } }")
    assert data["me"]["level"] == "NATIONAL"
    assert data["me"]["orgUnit"]["code"] == "CN"


async def test_org_unit_tree_from_root_to_school(hub: Hub) -> None:
    data = await hub.data(
        """{ orgUnit(code: "44") { code name level parent { code level }
             children(first: 50) { totalCount edges { node { code level
               children(first: 50) { edges { node { code level path
                 children(first: 1) { edges { node { code level } } } } } } } } } } }"""
    )
    province = data["orgUnit"]
    assert province["level"] == "PROVINCE"
    assert province["parent"] == {"code": "CN", "level": "NATIONAL"}
    cities = [e["node"] for e in province["children"]["edges"]]
    assert cities
    assert all(c["level"] == "CITY" and c["code"].startswith("44") for c in cities)
    counties = [e["node"] for c in cities for e in c["children"]["edges"]]
    assert counties
    assert all(len(c["code"]) == 6 and c["level"] == "COUNTY" for c in counties)
    schools = [e["node"] for c in counties for e in c["children"]["edges"]]
    assert schools
    assert all(s["level"] == "SCHOOL" and len(s["code"]) == 10 for s in schools)


async def test_org_units_filtered_by_level_under_a_city(hub: Hub) -> None:
    data = await hub.data(
        """{ orgUnits(filter: {under: "4401", level: COUNTY}, first: 100) {
               totalCount edges { node { code level path } } } }"""
    )
    nodes = [e["node"] for e in data["orgUnits"]["edges"]]
    assert data["orgUnits"]["totalCount"] == len(nodes) > 0
    assert all(n["level"] == "COUNTY" and n["path"].startswith("/CN/44/4401/") for n in nodes)


async def test_school_by_code_with_every_edge(hub: Hub) -> None:
    code = (await hub.data("{ schools(first: 1) { edges { node { code } } } }"))["schools"][
        "edges"
    ][0]["node"]["code"]
    data = await hub.data(
        """query ($code: String!) { school(code: $code) { code name type { code label }
             ownership { label } urbanRural { code label } address
             orgUnit { level parent { level } }
             students(first: 2) { totalCount edges { node { name school { code } } } }
             teachers(first: 2) { totalCount edges { node { name school { code } } } }
             buildings(first: 2) { totalCount edges { node { name school { code } } } }
             assets(first: 2) { totalCount edges { node { name school { code } } } }
             classes { name grade { label } size school { code } } } }""",
        {"code": code},
    )
    school = data["school"]
    assert school["code"] == code
    assert school["type"]["label"]
    assert school["urbanRural"]["label"]
    assert school["orgUnit"]["level"] == "SCHOOL"
    assert school["orgUnit"]["parent"]["level"] == "COUNTY"
    for edge in ("students", "teachers", "buildings", "assets"):
        assert school[edge]["totalCount"] > 0, edge
        assert all(e["node"]["school"]["code"] == code for e in school[edge]["edges"])
    assert sum(c["size"] for c in school["classes"]) == school["students"]["totalCount"]


async def test_student_by_number_has_the_core_fields(hub: Hub) -> None:
    first = await hub.data("{ students(first: 1) { edges { node { studentNumber } } } }")
    number = first["students"]["edges"][0]["node"]["studentNumber"]
    data = await hub.data(
        """query ($n: String!) { student(studentNumber: $n) { id studentNumber name
             sex { code label } birthDate ethnicity { code label } idType { code label } idNumber
             grade { code label } className enrolledOn status { code label } migrantChild
             leftBehind { code label } disability { code label } birthplace { label }
             class { name grade { label } } school { name orgUnit { parent { name } } }
             guardians { name relationship { code label } isGuardian phone idNumber }
             statusChanges { type { label } } } }""",
        {"n": number},
    )
    student: dict[str, Any] = data["student"]
    assert student["studentNumber"] == number == "G" + student["idNumber"]
    assert ric.is_valid(student["idNumber"])
    assert ric.get_birth_date(student["idNumber"]).isoformat() == student["birthDate"]
    assert student["sex"]["label"] in ("男", "女")
    assert (int(student["idNumber"][16]) % 2 == 1) == (student["sex"]["code"] == "1")
    assert student["className"] == student["class"]["name"]
    assert student["grade"]["label"] == student["class"]["grade"]["label"]
    assert len(student["guardians"]) >= 2
    assert {g["relationship"]["code"] for g in student["guardians"]} >= {"51", "52"}


async def test_unknown_student_is_null(hub: Hub) -> None:
    data = await hub.data('{ student(studentNumber: "G110101190001010000") { name } }')
    assert data["student"] is None


async def test_students_total_count_is_the_whole_data_set(hub: Hub) -> None:
    data = await hub.data("{ students(first: 1) { totalCount } }")
    assert data["students"]["totalCount"] == DEMO_STUDENTS


async def test_teachers_buildings_assets_lists(hub: Hub) -> None:
    data = await hub.data(
        """{ teachers(first: 3, filter: {teachersOnly: true}) { totalCount edges { node {
               staffNumber name sex { label } birthDate idNumber title { label } subject { label }
               education { label } status { label } isTeacher school { name } } } }
             buildings(first: 3) { totalCount edges { node { code name use { label }
               structure { label } storeys builtOn floorArea seismicIntensity { label }
               seismicCategory { label } dangerRating { code label } appraisedOn
               school { name } } } }
             assets(first: 3) { totalCount edges { node { code name category { code label }
               quantity unitValue totalValue acquiredOn status { label } school { name } } } } }"""
    )
    assert data["teachers"]["totalCount"] > 0
    assert all(e["node"]["isTeacher"] for e in data["teachers"]["edges"])
    assert data["buildings"]["totalCount"] > 0
    assert data["assets"]["totalCount"] > 0
    for edge in data["assets"]["edges"]:
        asset = edge["node"]
        assert float(asset["totalValue"]) == round(float(asset["unitValue"]) * asset["quantity"], 2)


async def test_node_fetches_every_type_by_global_id(hub: Hub) -> None:
    data = await hub.data(
        """{ students(first: 1) { edges { node { id guardians { id } statusChanges { id }
               class { id } school { id orgUnit { id } } } } }
             teachers(first: 1) { edges { node { id } } }
             buildings(first: 1) { edges { node { id } } }
             assets(first: 1) { edges { node { id } } } }"""
    )
    student = data["students"]["edges"][0]["node"]
    ids = [
        student["id"],
        student["guardians"][0]["id"],
        student["class"]["id"],
        student["school"]["id"],
        student["school"]["orgUnit"]["id"],
        data["teachers"]["edges"][0]["node"]["id"],
        data["buildings"]["edges"][0]["node"]["id"],
        data["assets"]["edges"][0]["node"]["id"],
    ]
    for global_id in ids:
        found = await hub.data(
            "query ($id: ID!) { node(id: $id) { id __typename } }", {"id": global_id}
        )
        assert found["node"]["id"] == global_id
