"""The two hub-to-hub endpoints of the cross-hub duplicate check (``hub.quality.across``):
plain HTTP, not the public GraphQL schema, with the same bearer tokens, access rules, audit
and single commit as a GraphQL request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from hub.access.principal import ROOT_PATH
from hub.errors import HubError
from hub.quality import across
from hub.writes import Writer

if TYPE_CHECKING:
    from hub.app import HubState

# The national hub's report to one province may be long: up to this many bytes.
REPORT_MAX_BYTES = 32 << 20
STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "BAD_INPUT": 400}


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _refusal(error: HubError) -> Response:
    return _json({"error": str(error), "code": error.code}, STATUS.get(error.code, 400))


def federation_routes(app: FastAPI, state: HubState) -> None:
    settings = state.settings

    @app.get("/federation/id-digests", include_in_schema=False)
    async def id_digests(
        request: Request, after: str | None = None, first: int = 10_000
    ) -> Response:
        async with state.open_context(request) as ctx:
            if ctx.access.principal is None:
                return _json({"error": ctx.authentication_error, "code": "UNAUTHENTICATED"}, 401)
            writer = Writer(ctx.session, ctx.access, ctx.codes, origin="federation")
            try:
                page = await across.id_digests(writer, settings.link_key, after, first)
            except HubError as error:
                ctx.audit.event("read", "student", "denied", ROOT_PATH, detail=str(error))
                await ctx.finish(failed=True)
                return _refusal(error)
            ctx.audit.event(
                "read",
                "student",
                "allowed",
                ROOT_PATH,
                detail=f"cross-hub check: {len(page.digests)} ID digests after {after}",
            )
            await ctx.finish()
            return _json({"digests": page.digests, "next": page.next})

    @app.post("/federation/cross-duplicates", include_in_schema=False)
    async def cross_duplicates(request: Request) -> Response:
        async with state.open_context(request) as ctx:
            if ctx.access.principal is None:
                return _json({"error": ctx.authentication_error, "code": "UNAUTHENTICATED"}, 401)
            try:
                body: Any = orjson.loads(await request.body())
                holders = body["holders"]
                report = {str(h["digest"]): list(h["provinces"]) for h in holders}
            except (orjson.JSONDecodeError, KeyError, TypeError) as error:
                return _json(
                    {
                        "error": 'a JSON body {"holders": [{"digest": ..., "provinces": [...]}]}'
                        f" was expected ({type(error).__name__}: {error})",
                        "code": "BAD_INPUT",
                    },
                    400,
                )
            writer = Writer(
                ctx.session,
                ctx.access,
                ctx.codes,
                origin="federation",
                due_days=settings.problem_due_days,
            )
            try:
                summary = await across.mark_cross(writer, settings.link_key, report)
            except HubError as error:
                await ctx.finish(failed=True)
                return _refusal(error)
            ctx.audit.event(
                "write",
                "student",
                "allowed",
                ROOT_PATH,
                detail=f"cross-hub duplicates: {len(report)} digests reported",
            )
            await ctx.finish()
            return _json({"opened": summary.opened, "kept": summary.kept, "closed": summary.closed})
