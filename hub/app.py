"""FastAPI app factory: the GraphQL endpoint, /healthz and the request context.

This is the composition root: the one place below GraphQL that imports the schema (lazily,
inside ``create_app``) to mount it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import casbin
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.access.audit import AuditLog, RefusalFolding, decode_purpose, request_id
from hub.access.identity import TokenError, bearer_token, verify_token
from hub.access.policy import Access, build_enforcer, sync_user
from hub.access.principal import Principal
from hub.access.principals import PrincipalCache, load_all_assignments, load_principal
from hub.access.writer import AuditWriter
from hub.codes.registry import CodeRegistry, load_registry
from hub.context import Context
from hub.db.driver import DriverPool
from hub.db.engine import make_engine, make_sessionmaker
from hub.exports.jobs import ExportJobs, expire
from hub.metrics import CURRENT_TALLY, Metrics, StatementTally
from hub.quality.register import Register, load_register
from hub.quality.routes import REPORT_MAX_BYTES, federation_routes
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
        self.principals = PrincipalCache(
            settings.principal_cache_seconds, settings.principal_cache_size
        )
        self.refusals = RefusalFolding()
        self.metrics = Metrics(self.engine, self.breaker_states)
        # asyncpg's own pool for the hot path's statements (PostgreSQL; hub/db/driver.py).
        self.driver = DriverPool(self.engine) if self.engine.dialect.name == "postgresql" else None
        self.audit_writer = AuditWriter(
            self.engine, self.metrics.audit_batches.observe, settings.audit_lane, self.driver
        )
        self._codes: CodeRegistry | None = None
        self._enforcer: casbin.Enforcer | None = None
        self._lock = asyncio.Lock()
        self._sources: dict[str, Source] | None = None
        self._routes: list[Route] | None = None
        self._register: Register | Literal[False] | None = False
        self.export_jobs = ExportJobs(self)

    async def close(self) -> None:
        """Release the process's connections: the driver's pool and the engine's."""
        if self.driver is not None:
            await self.driver.close()
        await self.engine.dispose()

    def sources(self) -> dict[str, Source]:
        """The adapters of the sources file (none if there is no such file), kept per process
        so their circuit breakers remember failures."""
        if self._sources is None:
            path = self.settings.sources_file
            configs = load_sources(path) if path.exists() else {}
            self._sources = {name: make_source(config) for name, config in configs.items()}
            for source in self._sources.values():
                source.resilience.observe = self.metrics.source_call
        return self._sources

    def register(self, codes: CodeRegistry) -> Register | None:
        """The population register the sources file names (``[register]``), read through
        the same adapter as every other use of its source; None without one."""
        if self._register is False:
            path = self.settings.sources_file
            configs = {name: s.config for name, s in self.sources().items()}
            spec = load_register(path, configs) if path.exists() else None
            self._register = (
                None if spec is None else Register(self.sources()[spec.source], codes, spec)
            )
        return self._register

    def breaker_states(self) -> dict[str, str]:
        if self._sources is None:
            return {}
        return {n: s.resilience.breaker.state.value for n, s in self._sources.items()}

    def routes(self) -> list[Route]:
        """Which source serves which entity under which subtree (the sources file's
        ``[routes]``); none without a sources file."""
        if self._routes is None:
            path = self.settings.sources_file
            regions = {name: source.config.region for name, source in self.sources().items()}
            self._routes = load_routes(path, regions) if path.exists() else []
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

    async def authenticate(self, request: Request) -> tuple[Principal | None, str | None]:
        """The principal of the request's bearer token, or why there is none (its grants
        read in a session of their own when they are not in the principal cache)."""
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                return None, "no bearer token"
            username = verify_token(self.settings, token)
        except TokenError as error:
            return None, str(error)
        fresh, principal = self.principals.get(username)
        if not fresh:
            async with self.sessions() as session:
                principal = await load_principal(session, username)
            self.principals.put(username, principal)
            enforcer = await self.enforcer()
            sync_user(enforcer, username, principal.assignments if principal else ())
        if principal is None:
            return None, f"unknown or inactive user {username!r}"
        return principal, None

    @asynccontextmanager
    async def open_context(self, request: Request) -> AsyncIterator[Context]:
        """The request's context: one session (opened when a statement first needs it;
        closed, and rolled back unless ``Context.finish`` committed, when the request ends),
        the principal, its access."""
        purpose = decode_purpose(_raw_header(request, b"x-hub-purpose"))
        agent = _raw_header(request, b"user-agent")
        CURRENT_TALLY.set(StatementTally())
        # The process-wide objects load on their own connection: before the request takes its
        # session's, so that a cold start under many concurrent requests cannot exhaust the
        # pool with sessions that all wait for the one loader's second connection.
        codes = await self.codes()
        enforcer = await self.enforcer()
        principal, problem = await self.authenticate(request)
        context = Context(
            sessions=self.sessions,
            settings=self.settings,
            codes=codes,
            access=Access(enforcer, principal),
            audit=AuditLog(
                principal,
                operation=None,
                purpose=purpose,
                correlation_id=request_id(),
                user_agent=agent.decode("utf-8", "replace") if agent else None,
                lane=self.settings.audit_lane,
            ),
            authentication_error=problem,
            state=self,
        )
        try:
            yield context
        finally:
            await context.close()  # rolled back unless ``Context.finish`` committed

    def observe(
        self,
        operation: str,
        outcome: str,
        seconds: float,
        context: Context | None,
        body: dict[str, Any],
    ) -> None:
        """Metrics and the JSON request log of one GraphQL request."""
        tally = CURRENT_TALLY.get()
        references = [
            match.group(1)
            for error in body.get("errors", [])
            if (match := _REFERENCE.search(str(error.get("message", ""))))
        ]
        fields: dict[str, Any] = {"error_references": references} if references else {}
        if context is not None:
            fields.update(
                user=context.principal.user if context.principal else None,
                operation_name=context.audit.operation,
                root_fields=context.audit.root_fields,
                correlation_id=context.audit.correlation_id,
                served_by=context.served_by,
            )
        self.metrics.request(
            operation,
            outcome,
            seconds,
            tally.count if tally else 0,
            context.audit.written if context else 0,
            fields,
        )

    async def codes(self) -> CodeRegistry:
        """The code sets in force, read from the database once per process."""
        if self._codes is None:
            async with self._lock:
                if self._codes is None:
                    async with self.engine.connect() as connection:
                        self._codes = await load_registry(connection)
        return self._codes


class HubApp(FastAPI):
    """FastAPI, with ``POST /graphql`` handed straight to the GraphQL endpoint.

    Every other request goes through FastAPI's middleware stack and router as usual. The
    endpoint needs none of it (no dependencies, exception handlers or exit stacks): seven
    wrappers per request cost a fifth of a cached lookup's CPU. What the stack did for it
    is done here: the body limit (``BodyLimit``, the same settings) and a 500 for an
    unexpected exception (Starlette's ``ServerErrorMiddleware``, which raises it on for
    uvicorn to log).
    ``/graphql`` stays a route of the router, which answers its other methods."""

    graphql: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        graphql = self.graphql
        if (
            graphql is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and _route_path(scope) == "/graphql"
        ):
            scope["app"] = self
            await graphql(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the router matches (the app's root path, if mounted, taken off)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def create_app(settings: Settings | None = None) -> HubApp:
    settings = settings or get_settings()
    state = HubState(settings)
    from schema import build_schema  # composition root: see the module docstring
    from schema.downloads import download_routes
    from schema.graphiql import graphiql_routes
    from schema.http import GraphQLEndpoint
    from schema.portal import portal_routes

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Start-up objects (schema, code sets, policies) live as long as the process: move
        # them out of the collector's sight, so full collections stay short (a profile
        # showed them adding ~100 ms to 12% of 100-student pages).
        gc.collect()
        gc.freeze()
        await state.export_jobs.resume()
        sweeper = asyncio.get_running_loop().create_task(_sweep_exports(state))
        yield
        sweeper.cancel()
        await state.export_jobs.close()
        for source in state.sources().values():
            await source.close()
        await state.close()

    app = HubApp(
        title="eduhub",
        description="Unified education data hub (教育数据统一枢纽)",
        lifespan=lifespan,
        docs_url=None if settings.is_production else "/docs",
        redoc_url=None,
        openapi_url=None if settings.is_production else "/openapi.json",
    )
    app.state.hub = state
    endpoint = GraphQLEndpoint(
        build_schema(settings), settings, state.open_context, observe=state.observe
    )
    app.add_route("/graphql", endpoint.handle, methods=["POST"], include_in_schema=False)
    graphiql_routes(app, settings)
    federation_routes(app, state)
    download_routes(app, state)
    portal_routes(app, settings)
    limits: dict[str, Any] = {
        "max_bytes": settings.max_query_bytes * 10,
        "larger": {"/federation/cross-duplicates": REPORT_MAX_BYTES},
        "uploads": {"/graphql": settings.max_upload_bytes},
    }
    app.add_middleware(BodyLimit, **limits)
    app.graphql = BodyLimit(ServerErrorMiddleware(endpoint.asgi), **limits)

    @app.get("/metrics", summary="Prometheus metrics (运行指标)", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

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


async def _sweep_exports(state: HubState) -> None:
    """Delete expired export files, and start approved exports no job has taken (another
    worker's approval, a job whose process died), every ``export_sweep_seconds``."""
    while True:
        await asyncio.sleep(state.settings.export_sweep_seconds)
        try:
            await expire(state.engine)
            await state.export_jobs.resume()
        except Exception:  # the sweep must outlive a database hiccup
            log.exception("export sweep failed")


_REFERENCE = re.compile(r"reference ([0-9a-f]{6,32})")


def _raw_header(request: Request, name: bytes) -> bytes | None:
    """A header's bytes as sent (Starlette decodes headers as Latin-1)."""
    for key, value in request.scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _too_large(max_bytes: int) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": f"The request body is larger than {max_bytes} bytes.",
                    "extensions": {"code": "QUERY_TOO_COMPLEX"},
                }
            ]
        },
        status_code=413,
    )


class BodyLimit:
    """Refuse request bodies larger than ``max_bytes`` with 413, counting the bytes as they
    arrive (a declared ``Content-Length`` is checked first; chunked bodies are counted). The
    body is read here, at most ``max_bytes`` of it, and replayed to the app. A plain ASGI
    middleware: no per-request task group, unlike ``BaseHTTPMiddleware``."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: dict[str, int] | None = None,
        uploads: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # paths allowed a larger body (hub-to-hub reports)
        self.uploads = uploads or {}  # paths allowed a larger multipart body (file uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.larger.get(path, self.max_bytes)
        if path in self.uploads and any(
            name == b"content-type" and value.lower().startswith(b"multipart/form-data")
            for name, value in scope["headers"]
        ):
            limit = self.uploads[path]
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _too_large(limit)(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
