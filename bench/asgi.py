"""A minimal in-process HTTP client for an ASGI app: one POST, its status and body.

``bench.run`` measures the hub's own work per request. httpx's ASGI transport (a full HTTP
client: request building, header models, streams) spent about 0.3 ms per request in the
same process, which the figures would have counted as the hub's. This client hands the
app an ASGI request and collects its response, nothing more; throughput over real HTTP is
``bench.http``'s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


class AsgiClient:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def post(self, path: str, *, json: Any, headers: dict[str, str]) -> Answer:
        body = orjson.dumps(json)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"bench"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in headers.items()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("bench", 80),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Answer(status, b"".join(chunks))

    async def aclose(self) -> None:
        """Nothing to release (the app's engine is disposed by its owner)."""
