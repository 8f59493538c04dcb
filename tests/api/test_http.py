"""The HTTP surface: health, GraphiQL in development, the committed SDL."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
import jwt
import pytest
from alembic.script import ScriptDirectory
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import GraphQLError

import schema
from hub.access.identity import KeyFiles, TokenError, mint_token
from hub.access.principals import PrincipalCache
from hub.app import create_app
from hub.db.migrate import alembic_config
from hub.settings import Settings
from schema.errors import classify
from tests.conftest import Hub


async def test_healthz_reports_the_database(hub: Hub) -> None:
    response = await hub.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert body["database"] == {"ok": True, "dialect": hub.engine.dialect.name, "revision": head}


async def test_healthz_says_when_the_database_is_unreachable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "hub.db"
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{missing}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.get("/healthz")
    await app.state.hub.close()
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


async def test_graphiql_is_served_in_development(hub: Hub) -> None:
    response = await hub.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def _rsa_keys(directory: Path) -> tuple[bytes, Path]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_file = directory / "identity.pub.pem"
    public_file.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, public_file


async def test_production_verifies_rs256_and_hides_graphiql_introspection_suggestions(
    hub: Hub, tmp_path: Path
) -> None:
    private_pem, public_file = _rsa_keys(tmp_path)
    settings = Settings(database_url=hub.url, env="production", jwt_public_key_file=public_file)
    token = jwt.encode(
        {"sub": "national.admin", "aud": "eduhub", "exp": int(time.time()) + 60},
        private_pem,
        algorithm="RS256",
    )
    dev_token = mint_token(Settings(), "national.admin")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    bearer = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        me = await client.post("/graphql", json={"query": "{ me { user } }"}, headers=bearer)
        forged = await client.post(
            "/graphql",
            json={"query": "{ me { user } }"},
            headers={"authorization": f"Bearer {dev_token}"},
        )
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=bearer
        )
        typo = await client.post(
            "/graphql", json={"query": "{ studnts { totalCount } }"}, headers=bearer
        )
    await app.state.hub.close()
    assert page.status_code != 200 or "graphiql" not in page.text.lower()
    assert me.json()["data"]["me"]["user"] == "national.admin"
    assert forged.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert introspection.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    message = typo.json()["errors"][0]["message"]
    assert "studnts" in message
    assert "Did you mean" not in message


async def test_development_suggests_field_names(hub: Hub) -> None:
    body = await hub.query("{ studnts { totalCount } }")
    assert "Did you mean" in body["errors"][0]["message"]


def test_committed_sdl_matches_the_code() -> None:
    committed = schema.SDL_PATH.read_text(encoding="utf-8")
    assert committed == schema.sdl(), "schema/schema.graphql is stale: run `make sdl`"


def test_sdl_carries_every_entry_point_of_the_contract() -> None:
    sdl = schema.sdl()
    for entry in (
        "me: Viewer!",
        "node(id: ID!): Node",
        "orgUnit(code: String!): OrgUnit",
        "orgUnits(filter: OrgUnitFilter",
        "school(code: String!): School",
        "schools(filter: SchoolFilter",
        "student(studentNumber: String!): Student",
        "students(filter: StudentFilter",
        "teachers(filter: TeacherFilter",
        "buildings(filter: BuildingFilter",
        "assets(filter: AssetFilter",
        "enum OrgLevel",
    ):
        assert entry in sdl, entry


async def test_production_verifies_tokens_against_a_jwks_file(hub: Hub, tmp_path: Path) -> None:
    private_pem, public_file = _rsa_keys(tmp_path)
    public_key = serialization.load_pem_public_key(public_file.read_bytes())
    assert isinstance(public_key, rsa.RSAPublicKey)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [{**jwk, "kid": "province-2026", "use": "sig"}]}))
    settings = Settings(database_url=hub.url, env="production", jwks_file=jwks_file)
    claims = {"sub": "county.viewer", "aud": "eduhub", "exp": int(time.time()) + 60}
    good = jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": "province-2026"})
    stranger = jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": "other"})
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        ok = await client.post(
            "/graphql",
            json={"query": "{ me { user } }"},
            headers={"authorization": f"Bearer {good}"},
        )
        refused = await client.post(
            "/graphql",
            json={"query": "{ me { user } }"},
            headers={"authorization": f"Bearer {stranger}"},
        )
        # The province rotates its key: the file is reread on change, without a restart.
        jwks_file.write_text(
            json.dumps({"keys": [{**jwk, "kid": "province-2027-rotated", "use": "sig"}]})
        )
        rotated = jwt.encode(
            claims, private_pem, algorithm="RS256", headers={"kid": "province-2027-rotated"}
        )
        after_rotation = [
            await client.post(
                "/graphql",
                json={"query": "{ me { user } }"},
                headers={"authorization": f"Bearer {token}"},
            )
            for token in (rotated, good)
        ]
    await app.state.hub.close()
    assert ok.json()["data"]["me"]["user"] == "county.viewer"
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert after_rotation[0].json()["data"]["me"]["user"] == "county.viewer"
    assert after_rotation[1].json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_key_files_are_parsed_once_and_again_only_when_they_change(tmp_path: Path) -> None:
    parsed: list[str] = []

    def count(text: str) -> str:
        parsed.append(text)
        return text

    files = KeyFiles()
    key = tmp_path / "key.pem"
    key.write_text("first")
    assert [files.load(key, count) for _ in range(50)] == ["first"] * 50
    key.write_text("second key")
    assert files.load(key, count) == "second key"
    assert parsed == ["first", "second key"]
    key.unlink()
    with pytest.raises(TokenError, match="cannot be read"):
        files.load(key, count)


def test_the_principal_cache_is_bounded() -> None:
    cache = PrincipalCache(ttl=60, size=100)
    for n in range(1000):
        cache.put(f"user{n}", None)
    assert len(cache) == 100
    assert cache.get("user999") == (True, None)
    assert cache.get("user0") == (False, None)
    expired = PrincipalCache(ttl=0)
    expired.put("user", None)
    assert expired.get("user") == (False, None)


def test_internal_errors_are_masked_with_a_reference_that_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    original = RuntimeError("connection string postgres://secret@db")
    error = GraphQLError("boom", original_error=original)
    with caplog.at_level(logging.ERROR, logger="hub.graphql"):
        masked = classify(error)
    assert masked.extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in masked.message
    reference = masked.message.split("reference ")[1].rstrip(").")
    assert reference in caplog.text


async def test_pooled_connections_the_server_closed_are_replaced(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    """The pool hands out no connection the server has closed (restart, idle timeout,
    an administrator's pg_terminate_backend), without a ping before every request."""
    import asyncio

    from sqlalchemy import event, text

    from hub.db.engine import _closed_is_gone, make_engine

    query = "{ schools(first: 2) { totalCount } }"
    for _ in range(3):  # connections in the pool
        await hub.data(query)
    checked = event.contains(hub.engine.sync_engine.pool, "checkout", _closed_is_gone)
    assert checked == (hub.backend == "postgresql")
    if hub.backend == "sqlite":  # an embedded file: no server to close anything
        return
    owner = make_engine(hub.owner_url)
    try:
        async with owner.connect() as connection:
            terminated = (
                await connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND backend_type = 'client backend'"
                    )
                )
            ).scalar()
    finally:
        await owner.dispose()
    assert terminated
    await asyncio.sleep(0.2)  # the event loop sees the sockets close
    caplog.clear()
    for _ in range(5):
        body = await hub.query(query)
        assert body["data"]["schools"]["totalCount"] > 0
        assert body["extensions"]["readPath"] == {"servedBy": "planner", "cached": True}
    # No statement failed on a dead connection (the request would have been answered a
    # second time on a new one, with the failure logged).
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records


def test_a_verified_token_is_remembered_only_while_it_is_valid() -> None:
    """Verified tokens are cached, but never past their expiry, and never for settings
    that would not accept them (another audience)."""
    from hub.access.identity import verify_token

    settings = Settings()
    token = mint_token(settings, "county.viewer", ttl_seconds=1)
    assert verify_token(settings, token) == "county.viewer"
    assert verify_token(settings, token) == "county.viewer"  # from the cache
    other = Settings(jwt_audience="another-hub")
    with pytest.raises(TokenError, match=r"(?i)audience"):
        verify_token(other, token)
    time.sleep(1.1)
    with pytest.raises(TokenError, match=r"(?i)expired"):
        verify_token(settings, token)
