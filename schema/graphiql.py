"""GraphiQL for development, served from files inside the package (no CDN: education bureau
networks are often offline). GraphiQL 3.9.0, React 18.3.1 and ReactDOM 18.3.1 are vendored
from npm in ``hub/static/graphiql`` (MIT licences beside them).

In development the page carries a picker of the demo users: each option holds a development
token minted when the page is served, so a newcomer queries as any level without editing
JSON. Production serves no page (GET /graphql answers 405: operations are POSTed)."""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.access.identity import mint_token
from hub.demo.users import DEMO_USERS
from hub.settings import Settings

ASSETS = Path(__file__).resolve().parents[1] / "hub" / "static" / "graphiql"
ASSET_PREFIX = "/graphiql-assets"
DEFAULT_QUERY = """# eduhub 开发环境 · 选择上方的演示用户，然后运行 (Ctrl-Enter)
{
  me { user level roles }
  schools(first: 3) {
    totalCount
    edges { node { code name type { label }
      students(first: 2) { totalCount edges { node { studentNumber name grade { label } } } } } }
  }
}
"""

PAGE = Path(__file__).with_name("graphiql.html").read_text(encoding="utf-8")


def page(settings: Settings) -> str:
    tokens = {user: mint_token(settings, user, 8 * 3600) for user, *_ in DEMO_USERS}
    options = "".join(
        f'<option value="{html.escape(user)}">{html.escape(user)} · {html.escape(label)}</option>'
        for user, label, *_ in DEMO_USERS
    )

    def script_json(value: object) -> str:
        return orjson.dumps(value).decode().replace("</", "<\\/")

    return PAGE.format(
        prefix=ASSET_PREFIX,
        options=options,
        tokens=script_json(tokens),
        endpoint=script_json("/graphql"),
        query=script_json(DEFAULT_QUERY),
    )


def graphiql_routes(app: FastAPI, settings: Settings) -> None:
    """GET /graphql: the page (development) or 405; the vendored assets."""
    if not settings.is_production:
        app.mount(ASSET_PREFIX, StaticFiles(directory=ASSETS), name="graphiql-assets")

    async def get_graphql(request: Request) -> Response:
        accepts_html = "text/html" in request.headers.get("accept", "")
        if accepts_html and not settings.is_production:
            return HTMLResponse(page(settings))
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "GraphQL operations are sent with POST (a query in a URL"
                        " would be kept in proxy and server logs).",
                        "extensions": {"code": "BAD_INPUT"},
                    }
                ]
            },
            status_code=405,
            headers={"allow": "POST"},
        )

    app.add_route("/graphql", get_graphql, methods=["GET"], include_in_schema=False)
