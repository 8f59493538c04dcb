"""The portal (门户) at ``/portal``: one page for a person at any of the five levels, built only
on the public GraphQL API and the download endpoints (``hub/static/portal/portal.js``), with
every asset in the package (ECharts 6.1.0 vendored from npm, Apache-2.0 licence beside it):
it works offline.

In development the page offers the demo users (a development token minted when the page is
served, as GraphiQL does); in production it asks for the token of the identity service and
keeps it for the browser tab only (``sessionStorage``)."""

from __future__ import annotations

import html
from pathlib import Path

import orjson
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from hub.access.identity import mint_token
from hub.demo.users import DEMO_USERS
from hub.settings import Settings

ASSETS = Path(__file__).resolve().parents[1] / "hub" / "static" / "portal"
ASSET_PREFIX = "/portal-assets"
PAGE = Path(__file__).with_name("portal.html").read_text(encoding="utf-8")


def _script_json(value: object) -> str:
    return orjson.dumps(value).decode().replace("</", "<\\/")


def page(settings: Settings) -> str:
    if settings.is_production:
        login = (
            '<form id="token-form"><input id="token" type="password" required'
            ' placeholder="统一身份认证令牌"><button type="submit">登录</button></form>'
        )
        config = {"endpoint": "/graphql", "tokens": {}}
    else:
        options = "".join(
            f'<option value="{html.escape(user)}">{html.escape(label)}（{html.escape(user)}）'
            "</option>"
            for user, label, *_ in DEMO_USERS
        )
        login = (
            '<label>演示用户 <select id="user"><option value="">请选择</option>'
            f"{options}</select></label>"
        )
        tokens = {user: mint_token(settings, user, 8 * 3600) for user, *_ in DEMO_USERS}
        config = {"endpoint": "/graphql", "tokens": tokens}
    return (
        PAGE.replace("{prefix}", ASSET_PREFIX)
        .replace("{login}", login)
        .replace("{config}", _script_json(config))
    )


def portal_routes(app: FastAPI, settings: Settings) -> None:
    app.mount(ASSET_PREFIX, StaticFiles(directory=ASSETS), name="portal-assets")

    @app.get("/portal", include_in_schema=False)
    async def portal() -> HTMLResponse:
        return HTMLResponse(page(settings), headers={"Cache-Control": "no-store"})
