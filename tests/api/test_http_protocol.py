"""One write per response (hub/http_protocol.py): the writes of one turn of the event loop
leave together, streamed answers still leave chunk by chunk, and answers of every size
arrive whole through a real uvicorn server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import uvicorn

from hub.http_protocol import FLUSH_AT, CoalescingHttpToolsProtocol, CoalescingTransport


class Recording(asyncio.Transport):
    """The socket's side of a transport: what was written, call by call."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


async def _turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_the_writes_of_one_turn_leave_as_one() -> None:
    socket_side = Recording()
    transport = CoalescingTransport(socket_side, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert socket_side.writes == []  # nothing before the turn ends
    assert transport.get_write_buffer_size() == 40
    await _turn()
    assert socket_side.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    # A chunk of a streamed answer, the app having awaited in between: a write of its own.
    transport.write(b"chunk 1")
    await _turn()
    transport.writelines([b"chunk ", b"2"])
    await _turn()
    assert socket_side.writes[1:] == [b"chunk 1", b"chunk 2"]


async def test_a_large_answer_is_written_without_waiting_for_the_turn() -> None:
    socket_side = Recording()
    transport = CoalescingTransport(socket_side, asyncio.get_running_loop())
    transport.write(b"headers\r\n\r\n")
    transport.write(b"x" * FLUSH_AT)
    assert socket_side.writes == [b"headers\r\n\r\n" + b"x" * FLUSH_AT]
    await _turn()  # the flush scheduled for the turn finds nothing left
    assert len(socket_side.writes) == 1


async def test_close_writes_what_was_gathered_and_abort_drops_it() -> None:
    loop = asyncio.get_running_loop()
    closed = Recording()
    transport = CoalescingTransport(closed, loop)
    transport.write(b"last words")
    transport.close()
    assert closed.writes == [b"last words"] and closed.closed
    await _turn()
    assert closed.writes == [b"last words"]

    aborted = Recording()
    transport = CoalescingTransport(aborted, loop)
    transport.write(b"never sent")
    transport.abort()
    await _turn()
    assert aborted.writes == [] and aborted.aborted


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(3):
            await send({"type": "http.response.body", "body": b"part %d;" % i, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"end"})
        return
    size = 300_000 if path == "/large" else 2
    body = b"{" + b"x" * (size - 2) + b"}"
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_answers_arrive_whole_through_a_real_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, log_level="warning", http=CoalescingHttpToolsProtocol
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):  # up to 5 s
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "the server did not start"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(3):  # one keep-alive connection, answers one after another
                small = await client.get("/small")
                assert small.status_code == 200 and small.content == b"{}"
                large = await client.get("/large")
                assert len(large.content) == 300_000 and large.content.endswith(b"x}")
                streamed = await client.get("/stream")
                assert streamed.text == "part 0;part 1;part 2;end"
    finally:
        server.should_exit = True
        await serving
