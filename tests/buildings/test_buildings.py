"""Buildings and assets: appraisal filters, asset classes, the cross-domain edges."""

from __future__ import annotations

from tests.conftest import Hub


async def test_dangerous_buildings_filter(hub: Hub) -> None:
    data = await hub.data(
        """{ all: buildings(first: 0) { totalCount }
             cd: buildings(filter: {dangerRating: ["C", "D"]}, first: 500) { totalCount
               edges { node { dangerRating { code label } school { name } } } }
             ab: buildings(filter: {dangerRating: ["A", "B"]}, first: 0) { totalCount } }"""
    )
    assert data["cd"]["totalCount"] > 0
    assert {e["node"]["dangerRating"]["code"] for e in data["cd"]["edges"]} <= {"C", "D"}
    assert data["cd"]["totalCount"] + data["ab"]["totalCount"] == data["all"]["totalCount"]


async def test_building_assets_point_back_to_the_building(hub: Hub) -> None:
    data = await hub.data(
        """{ buildings(first: 30) { edges { node { id code
               assets(first: 50) { totalCount edges { node { building { id } school { code } } } } } } } }"""
    )
    checked = 0
    for edge in data["buildings"]["edges"]:
        building = edge["node"]
        for asset in building["assets"]["edges"]:
            assert asset["node"]["building"]["id"] == building["id"]
            checked += 1
    assert checked > 0


async def test_asset_category_prefix(hub: Hub) -> None:
    data = await hub.data(
        """{ computers: assets(filter: {categoryPrefix: "201"}, first: 500) { totalCount
               edges { node { category { code label } } } }
             all: assets(first: 0) { totalCount } }"""
    )
    assert 0 < data["computers"]["totalCount"] < data["all"]["totalCount"]
    assert all(e["node"]["category"]["code"].startswith("201") for e in data["computers"]["edges"])


async def test_teachers_filters(hub: Hub) -> None:
    data = await hub.data(
        """{ staff: teachers(first: 0) { totalCount }
             teachers: teachers(filter: {teachersOnly: true}, first: 0) { totalCount }
             maths: teachers(filter: {teachersOnly: true, subject: ["02"]}, first: 200) {
               totalCount edges { node { subject { code label } isTeacher } } } }"""
    )
    assert (
        data["staff"]["totalCount"]
        > data["teachers"]["totalCount"]
        > data["maths"]["totalCount"]
        > 0
    )
    for edge in data["maths"]["edges"]:
        assert edge["node"]["subject"] == {"code": "02", "label": "数学"}
