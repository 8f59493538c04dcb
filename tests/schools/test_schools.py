"""Schools and org units: subtree lists, type filters, counts."""

from __future__ import annotations

from tests.conftest import Hub


async def test_org_unit_schools_equal_the_under_filter(hub: Hub) -> None:
    cities = await hub.data(
        "{ orgUnits(filter: {level: CITY}, first: 10) { edges { node { code } } } }"
    )
    for edge in cities["orgUnits"]["edges"]:
        code = edge["node"]["code"]
        data = await hub.data(
            """query ($c: String!) { orgUnit(code: $c) { schools(first: 0) { totalCount } }
                 schools(filter: {under: $c}, first: 0) { totalCount } }""",
            {"c": code},
        )
        assert data["orgUnit"]["schools"]["totalCount"] == data["schools"]["totalCount"] > 0


async def test_batched_org_unit_schools_match_one_by_one(hub: Hub) -> None:
    batched = await hub.data(
        """{ orgUnits(filter: {level: COUNTY}, first: 50) { edges { node { code
               schools(first: 3) { totalCount edges { node { code } } } } } } }"""
    )
    for edge in batched["orgUnits"]["edges"]:
        county = edge["node"]
        alone = await hub.data(
            """query ($c: String!) { schools(filter: {under: $c}, first: 3) { totalCount
                 edges { node { code } } } }""",
            {"c": county["code"]},
        )
        assert county["schools"] == alone["schools"]


async def test_school_type_filter(hub: Hub) -> None:
    data = await hub.data(
        """{ all: schools(first: 0) { totalCount }
             primary: schools(filter: {type: ["211"]}, first: 500) { totalCount edges { node { type { code } } } }
             other: schools(filter: {type: ["311", "312", "341", "342", "218"]}, first: 0) { totalCount } }"""
    )
    assert all(e["node"]["type"]["code"] == "211" for e in data["primary"]["edges"])
    assert data["primary"]["totalCount"] + data["other"]["totalCount"] == data["all"]["totalCount"]
