"""FastAPI app factory: the GraphQL endpoint, /healthz and the request context.

This is the composition root: the one place below GraphQL that imports the schema (lazily,
inside ``create_app``) to mount it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

import casbin
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.access.audit import AuditLog
from hub.access.identity import TokenError, bearer_token, verify_token
from hub.access.policy import Access, build_enforcer, sync_user
from hub.access.principal import Principal
from hub.access.principals import PrincipalCache, load_all_assignments, load_principal
from hub.codes.registry import CodeRegistry, load_registry
from hub.context import Context
from hub.db.engine import make_engine, make_sessionmaker
from hub.settings import Settings, get_settings
from hub.sources.mapping import load_sources
from hub.sources.protocol import Source, make_source
from hub.sources.routes import Route, load_routes

log = logging.getLogger("hub")


class HubState:
    """Process-wide state shared by requests: the engine, sessions, the code sets, the Casbin
    enforcer and recently verified principals."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url, echo=settings.sql_echo)
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        self.principals = PrincipalCache(settings.principal_cache_seconds)
        self._codes: CodeRegistry | None = None
        self._enforcer: casbin.Enforcer | None = None
        self._lock = asyncio.Lock()
        self._sources: dict[str, Source] | None = None
        self._routes: list[Route] | None = None

    def sources(self) -> dict[str, Source]:
        """The adapters of the sources file (none if there is no such file), kept per process
        so their circuit breakers remember failures."""
        if self._sources is None:
            path = self.settings.sources_file
            configs = load_sources(path) if path.exists() else {}
            self._sources = {name: make_source(config) for name, config in configs.items()}
        return self._sources

    def routes(self) -> list[Route]:
        """Which source serves which entity under which subtree (the sources file's
        ``[routes]``); none without a sources file."""
        if self._routes is None:
            path = self.settings.sources_file
            self._routes = load_routes(path, set(self.sources())) if path.exists() else []
        return self._routes

    async def enforcer(self) -> casbin.Enforcer:
        """Casbin with the policy files and every grant in the database (loaded once; grant
        changes and principal reloads keep it in step)."""
        if self._enforcer is None:
            async with self._lock:
                if self._enforcer is None:
                    async with self.engine.connect() as connection:
                        assignments = await load_all_assignments(connection)
                    self._enforcer = build_enforcer(assignments)
        return self._enforcer

    async def authenticate(
        self, request: Request, session: AsyncSession
    ) -> tuple[Principal | None, str | None]:
        """The principal of the request's bearer token, or why there is none."""
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                return None, "no bearer token"
            username = verify_token(self.settings, token)
        except TokenError as error:
            return None, str(error)
        fresh, principal = self.principals.get(username)
        if not fresh:
            principal = await load_principal(session, username)
            self.principals.put(username, principal)
            enforcer = await self.enforcer()
            sync_user(enforcer, username, principal.assignments if principal else ())
        if principal is None:
            return None, f"unknown or inactive user {username!r}"
        return principal, None

    async def codes(self) -> CodeRegistry:
        """The code sets in force, read from the database once per process."""
        if self._codes is None:
            async with self._lock:
                if self._codes is None:
                    async with self.engine.connect() as connection:
                        self._codes = await load_registry(connection)
        return self._codes


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = HubState(settings)
    from schema import build_schema  # composition root: see the module docstring
    from schema.router import HubGraphQLRouter

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for source in state.sources().values():
            await source.close()
        await state.engine.dispose()

    app = FastAPI(
        title="eduhub",
        description="Unified education data hub (教育数据统一枢纽)",
        lifespan=lifespan,
        docs_url=None if settings.is_production else "/docs",
        redoc_url=None,
        openapi_url=None if settings.is_production else "/openapi.json",
    )
    app.state.hub = state

    async def context(request: Request) -> AsyncIterator[Context]:
        # The session lives for the request; Context.finish (run by the schema's Transaction
        # extension) writes the audit and commits; anything else is rolled back on close.
        async with state.sessions() as session:
            principal, problem = await state.authenticate(request, session)
            # The stated purpose of the request (用途), percent-encoded UTF-8 in the header.
            purpose = unquote(request.headers.get("x-hub-purpose", "")) or None
            yield Context(
                session=session,
                settings=settings,
                codes=await state.codes(),
                access=Access(await state.enforcer(), principal),
                audit=AuditLog(
                    principal,
                    operation=None,
                    purpose=purpose[:200] if purpose else None,
                    correlation_id=uuid.uuid4().hex,
                ),
                authentication_error=problem,
                state=state,
            )

    router = HubGraphQLRouter(
        build_schema(settings),
        # FastAPI resolves the getter as a dependency, so a generator (the session lives
        # for the whole request) is allowed although strawberry's annotation says otherwise.
        context_getter=context,  # type: ignore[arg-type]
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
        multipart_uploads_enabled=False,
    )
    router.hide_suggestions = settings.is_production
    app.include_router(router, prefix="/graphql")
    app.add_middleware(BodyLimit, max_bytes=settings.max_query_bytes * 10)

    @app.get("/healthz", summary="Liveness and database health (健康检查)")
    async def healthz(response: Response) -> dict[str, Any]:
        try:
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                revision = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar()
        except Exception as error:  # the report must say what is wrong, not crash
            log.warning("health check failed: %s", error)
            response.status_code = 503
            return {
                "status": "unavailable",
                "database": {"ok": False, "error": type(error).__name__},
            }
        return {
            "status": "ok",
            "database": {
                "ok": True,
                "dialect": state.engine.dialect.name,
                "revision": revision,
            },
        }

    return app


class BodyLimit:
    """Refuse request bodies declared larger than ``max_bytes`` (413) before reading them.
    A plain ASGI middleware: no per-request task group, unlike ``BaseHTTPMiddleware``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    response = JSONResponse(
                        {
                            "errors": [
                                {
                                    "message": f"Request body of {int(value)} bytes exceeds"
                                    f" {self.max_bytes} bytes.",
                                    "extensions": {"code": "QUERY_TOO_COMPLEX"},
                                }
                            ]
                        },
                        status_code=413,
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
