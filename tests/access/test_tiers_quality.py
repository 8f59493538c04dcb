"""The five-level tiers over the data-quality types: problem records, change requests and the
change feed show each level its subtree and nothing of a sibling county, by list, by
``node`` and through a record's students (a duplicate across counties is counted, never
shown)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Hub, running_hub

QUEUE = """
query ($under: String) {
  problemRecords(filter: {under: $under}, first: 500) {
    totalCount
    edges { node { id kind { code } orgUnit { code path } memberCount
      students { id studentNumber school { code } } } }
  }
}
"""
REQUESTS = """
{ changeRequests(first: 500) { totalCount edges { node { id student { id studentNumber } } } } }
"""
FEED = """
{ changes(first: 500) { totalCount edges { node { id entity subject } } } }
"""
UPDATE = """
mutation ($input: UpdateStudentInput!) {
  updateStudent(input: $input) { applied changeRequest { id } errors { message } }
}
"""


@pytest.fixture(scope="module")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    directory = tmp_path_factory.mktemp(f"tiers-quality-{backend}")
    async with running_hub(backend, directory, 8000, problems=True) as running:
        # Changes at the demo school (a change request: the name) and in county2 (applied).
        for user, key in (("school.registrar", "school"), ("county2.registrar", "county2")):
            student = await _first_student(running, running.units[key][1], user)
            body = await running.query(
                UPDATE,
                {"input": {"id": student, "changes": {"name": "改名测试", "phone": "13800000000"}}},
                user=user,
            )
            assert body["data"]["updateStudent"]["errors"] == [], body
        yield running


async def _first_student(hub: Hub, under: str, user: str) -> str:
    data = await hub.data(
        "query ($u: String!) { students(filter: {under: $u}, first: 1) { edges { node { id } } } }",
        {"u": under},
        user=user,
    )
    found: str = data["students"]["edges"][0]["node"]["id"]
    return found


def _paths(data: dict[str, Any]) -> set[str]:
    return {e["node"]["orgUnit"]["path"] for e in data["problemRecords"]["edges"]}


async def test_each_level_sees_the_queue_of_its_subtree(hub: Hub) -> None:
    county, school = (hub.units[k][2] for k in ("county", "school"))
    everything = await hub.data(QUEUE, user="national.admin")
    total = everything["problemRecords"]["totalCount"]
    assert total >= 15  # every kind, a few each
    in_county = await hub.data(QUEUE, user="county.registrar")
    at_school = await hub.data(QUEUE, user="school.registrar")
    in_county2 = await hub.data(QUEUE, user="county2.registrar")
    assert in_county["problemRecords"]["totalCount"] > at_school["problemRecords"]["totalCount"] > 0
    assert all(p.startswith(county) for p in _paths(in_county))
    assert all(p == school for p in _paths(at_school))
    assert not any(p.startswith(county) for p in _paths(in_county2))
    # The whole tree of records is the union of what each record's viewers see.
    national = {e["node"]["id"] for e in everything["problemRecords"]["edges"]}
    assert {e["node"]["id"] for e in in_county["problemRecords"]["edges"]} <= national
    # Asking for the county by filter from the sibling county gives nothing.
    probe = await hub.data(QUEUE, {"under": hub.units["county"][1]}, user="county2.registrar")
    assert probe["problemRecords"]["totalCount"] == 0


async def test_a_record_lists_only_the_students_the_viewer_may_read(hub: Hub) -> None:
    county = hub.units["county"][2]
    everything = await hub.data(QUEUE, user="national.admin")
    county_numbers = {
        s["studentNumber"]
        for e in everything["problemRecords"]["edges"]
        if e["node"]["orgUnit"]["path"].startswith(county)
        for s in e["node"]["students"]
    }
    school_code = hub.units["school"][1]
    at_school = await hub.data(QUEUE, user="school.registrar")
    for edge in at_school["problemRecords"]["edges"]:
        node = edge["node"]
        assert all(s["school"]["code"] == school_code for s in node["students"])
        assert node["memberCount"] >= len(node["students"])
    # A duplicate group reaching beyond the school: counted in memberCount, not listed.
    assert any(
        e["node"]["memberCount"] > len(e["node"]["students"])
        for e in at_school["problemRecords"]["edges"]
    )
    theirs = await hub.data(QUEUE, user="county2.registrar")
    shown = {
        s["studentNumber"] for e in theirs["problemRecords"]["edges"] for s in e["node"]["students"]
    }
    assert not shown & county_numbers


async def test_records_requests_and_events_of_the_county_are_not_found_by_node(hub: Hub) -> None:
    records = await hub.data(QUEUE, user="county.registrar")
    requests = await hub.data(REQUESTS, user="county.registrar")
    feed = await hub.data(FEED, user="county.registrar")
    ids = [
        records["problemRecords"]["edges"][0]["node"]["id"],
        requests["changeRequests"]["edges"][0]["node"]["id"],
        feed["changes"]["edges"][0]["node"]["id"],
    ]
    for user, visible in (
        ("county.registrar", True),
        ("national.admin", True),
        ("county2.registrar", False),
    ):
        for global_id in ids:
            found = await hub.data(
                "query ($id: ID!) { node(id: $id) { id } }", {"id": global_id}, user=user
            )
            assert (found["node"] is not None) is visible, (user, global_id)


async def test_change_requests_and_the_feed_stay_in_the_subtree(hub: Hub) -> None:
    mine = await hub.data(REQUESTS, user="county.registrar")
    theirs = await hub.data(REQUESTS, user="county2.registrar")
    national = await hub.data(REQUESTS, user="national.admin")
    mine_ids = {e["node"]["id"] for e in mine["changeRequests"]["edges"]}
    # county2's registrar approves at its county: its own change applied, no request.
    assert mine_ids and theirs["changeRequests"] == {"totalCount": 0, "edges": []}
    assert mine_ids <= {e["node"]["id"] for e in national["changeRequests"]["edges"]}
    school = await hub.data(REQUESTS, user="school.registrar")
    assert {e["node"]["id"] for e in school["changeRequests"]["edges"]} == mine_ids

    feed_mine = await hub.data(FEED, user="county.registrar")
    feed_theirs = await hub.data(FEED, user="county2.registrar")
    subjects_mine = {e["node"]["subject"] for e in feed_mine["changes"]["edges"]}
    subjects_theirs = {e["node"]["subject"] for e in feed_theirs["changes"]["edges"]}
    assert subjects_mine and subjects_theirs and not subjects_mine & subjects_theirs
