"""Bad input gets a GraphQL error with a stable code and a message that says what was wrong,
never a stack trace; limits reject a query before any SQL runs."""

from __future__ import annotations

import pytest

from tests.conftest import Hub

DEEP = (
    '{ orgUnit(code: "44") { ' + "children { edges { node { " * 6 + "code" + " } } }" * 6 + " } }"
)
ALIASES = "{ " + " ".join(f"a{i}: me {{ user }}" for i in range(31)) + " }"
TOKENS = "{ me { " + " user" * 2100 + " } }"
OVERSIZED = "{ me { user } }" + " " * 20_001


@pytest.mark.parametrize(
    ("document", "code", "fragment"),
    [
        ('{ students(after: "not-a-cursor") { totalCount } }', "BAD_INPUT", "invalid cursor"),
        ('{ students(after: "U3R1ZGVudDox") { totalCount } }', "BAD_INPUT", "invalid cursor"),
        ("{ students(first: 501) { totalCount } }", "BAD_INPUT", "between 0 and 500, got 501"),
        ("{ schools(first: -1) { totalCount } }", "BAD_INPUT", "got -1"),
        (
            '{ buildings(filter: {dangerRating: ["E"]}) { totalCount } }',
            "BAD_INPUT",
            "unknown code 'E' for filter.dangerRating",
        ),
        (
            '{ students(filter: {grade: ["99"]}) { totalCount } }',
            "BAD_INPUT",
            "unknown code '99' for filter.grade",
        ),
        (
            '{ schools(filter: {under: "9999"}) { totalCount } }',
            "BAD_INPUT",
            "unknown org unit code '9999'",
        ),
        (
            '{ schools(filter: {under: "abc"}) { totalCount } }',
            "BAD_INPUT",
            "'filter.under' must be",
        ),
        (
            '{ assets(filter: {categoryPrefix: "20-1"}) { totalCount } }',
            "BAD_INPUT",
            "filter.categoryPrefix",
        ),
        (
            '{ students(filter: {classId: "U2Nob29sOjE"}) { totalCount } }',
            "BAD_INPUT",
            "must be the id of a Class",
        ),
        ('{ school(code: "123") { name } }', "BAD_INPUT", "10-digit school identification code"),
        ('{ student(studentNumber: "X1") { name } }', "BAD_INPUT", "national student number"),
        ('{ node(id: "bad!") { id } }', "BAD_INPUT", "invalid id"),
        ("{ students(first: 1 { totalCount } }", "BAD_INPUT", "Syntax Error"),
        ("{ students { nope } }", "BAD_INPUT", "Cannot query field 'nope'"),
        ('{ students(first: "ten") { totalCount } }', "BAD_INPUT", "Int cannot represent"),
        (DEEP, "QUERY_TOO_COMPLEX", "exceeds maximum operation depth"),
        (ALIASES, "QUERY_TOO_COMPLEX", "31 aliases found"),
        (TOKENS, "QUERY_TOO_COMPLEX", "more than 2000 tokens"),
        (OVERSIZED, "QUERY_TOO_COMPLEX", "larger than 20000 bytes"),
    ],
    ids=[
        "cursor-garbage",
        "cursor-foreign",
        "first-over-cap",
        "first-negative",
        "unknown-rating",
        "unknown-grade",
        "unknown-under",
        "malformed-under",
        "malformed-category",
        "wrong-id-type",
        "malformed-school-code",
        "malformed-student-number",
        "malformed-node-id",
        "syntax",
        "unknown-field",
        "wrong-type",
        "depth",
        "aliases",
        "tokens",
        "oversized",
    ],
)
async def test_bad_input_is_reported_with_a_code(
    hub: Hub, document: str, code: str, fragment: str
) -> None:
    body = await hub.query(document)
    errors = body["errors"]
    assert len(errors) == 1, errors
    assert errors[0]["extensions"]["code"] == code
    assert fragment in errors[0]["message"]
    assert "Traceback" not in str(body)
    assert 'File "' not in str(body)


@pytest.mark.parametrize("document", [DEEP, ALIASES, TOKENS, OVERSIZED])
async def test_limits_reject_before_any_sql(hub: Hub, document: str) -> None:
    with hub.counter() as counter:
        body = await hub.query(document)
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert counter.count == 0, counter.statements


async def test_partial_errors_keep_the_rest_of_the_data(hub: Hub) -> None:
    body = await hub.query('{ me { user } school(code: "123") { name } }')
    assert body["data"]["me"]["user"] == "national.admin"
    assert body["data"]["school"] is None
    assert body["errors"][0]["path"] == ["school"]


async def test_oversized_http_body_is_refused(hub: Hub) -> None:
    response = await hub.client.post(
        "/graphql", json={"query": "{ me { user } }", "variables": {"x": "y" * 300_000}}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_queries_over_get_are_refused(hub: Hub) -> None:
    response = await hub.client.get(
        "/graphql", params={"query": "{ me { user } }"}, headers=hub.headers("national.admin")
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    mutation = await hub.client.get(
        "/graphql",
        params={
            "query": 'mutation { revokeRole(input: {username: "county.viewer", role: "viewer", orgUnitCode: "CN"}) { errors { code } } }'
        },
        headers=hub.headers("national.admin"),
    )
    assert mutation.status_code in (400, 405)
