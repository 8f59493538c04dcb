"""Several worker processes on one port, each with its own accept queue (多进程服务).

uvicorn's ``--workers`` shares one listening socket among its workers. Whichever worker's
event loop wakes first accepts every connection waiting, so a handful of keep-alive clients
(a portal's gateway, a load balancer's pool) all land on one worker while the others idle:
measured with 8 connections on 2 cores, one worker used a whole core and the other none.
Here every worker listens on a socket of its own, bound to the same address with
``SO_REUSEPORT``, and the kernel spreads new connections over the sockets by their
addresses (as nginx's ``reuseport`` and gunicorn's ``--reuse-port`` do).

The sockets are bound by this (parent) process before any worker starts, so an address in
use is reported at once, and a worker that dies is started again on the same socket:
connections waiting in its queue are served by the new worker. A worker that keeps dying
soon after it starts (a database that cannot be reached, say) is started again after a
pause that doubles each time, up to half a minute, rather than once a second for ever.

Each worker runs in a process group of its own, so Ctrl-C in a terminal reaches the parent
alone, which then asks every worker once to finish (SIGTERM: uvicorn completes the requests
under way; a second signal would cut them). A worker whose parent dies, even by SIGKILL, is
sent SIGTERM by the kernel (``PR_SET_PDEATHSIG``), so no worker outlives its server.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn

from hub.http_protocol import CoalescingHttpToolsProtocol

multiprocessing.allow_connection_pickling()  # sockets go to the workers through spawn
_SPAWN = multiprocessing.get_context("spawn")

APP = "hub.app:create_app"
BACKLOG = 2048
RESTART_PAUSE = 1.0  # seconds before the first restart of a worker that died young
RESTART_PAUSE_MAX = 30.0
STABLE_SECONDS = 10.0  # a worker that lived this long died of something else: restart at once
_PR_SET_PDEATHSIG = 1


def restart_pause(lived: float, previous: float) -> float:
    """Seconds to wait before starting again a worker that lived ``lived`` seconds, after
    a pause of ``previous`` before it started: none after a stable run, else doubling."""
    if lived >= STABLE_SECONDS:
        return 0.0
    return min(max(previous * 2, RESTART_PAUSE), RESTART_PAUSE_MAX)


def _detach_from_terminal_and_follow_parent(parent: int) -> None:  # pragma: no cover
    """In a worker: leave the terminal's process group (Ctrl-C is the parent's to pass on)
    and ask the kernel for SIGTERM when the parent dies (Linux)."""
    os.setpgrp()
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took hold
        os.kill(os.getpid(), signal.SIGTERM)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, listening."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def _worker(
    sock: socket.socket, lane: int, log_level: str, parent: int
) -> None:  # pragma: no cover - a child
    _detach_from_terminal_and_follow_parent(parent)
    os.environ["HUB_AUDIT_LANE"] = str(lane)  # read by the app's settings
    config = uvicorn.Config(
        APP, factory=True, log_level=log_level, access_log=False, http=CoalescingHttpToolsProtocol
    )
    uvicorn.Server(config).run(sockets=[sock])


def _start(sock: socket.socket, lane: int, log_level: str) -> SpawnProcess:
    process = _SPAWN.Process(
        target=_worker, args=(sock, lane, log_level, os.getpid()), daemon=False
    )
    process.start()
    return process


def serve(host: str, port: int, workers: int, log_level: str = "info", first_lane: int = 1) -> None:
    """Run ``workers`` processes of the hub's app (``hub.app:create_app``, configured from
    the environment) on ``host:port`` until SIGINT or SIGTERM, restarting any that dies.
    Worker ``i`` appends to lane ``first_lane + i`` of the audit chain, so the workers'
    audit writers never wait for each other; a worker started again takes its lane."""
    sockets = [listening_socket(host, port) for _ in range(workers)]
    lanes = [first_lane + i for i in range(workers)]
    processes = [_start(sock, lane, log_level) for sock, lane in zip(sockets, lanes, strict=True)]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    started = [time.monotonic()] * workers
    pauses = [0.0] * workers
    due: list[float | None] = [None] * workers  # when a dead worker is started again
    try:
        while not stopping:
            now = time.monotonic()
            for i, process in enumerate(processes):
                if stopping or process.is_alive():
                    continue
                if due[i] is None:
                    pauses[i] = restart_pause(now - started[i], pauses[i])
                    due[i] = now + pauses[i]
                    after = f" in {pauses[i]:.0f} s" if pauses[i] else ""
                    print(
                        f"eduhub: worker {process.pid} exited ({process.exitcode}),"
                        f" starting another{after}",
                        file=sys.stderr,
                    )
                if now >= (due[i] or 0):
                    processes[i] = _start(sockets[i], lanes[i], log_level)
                    started[i], due[i] = time.monotonic(), None
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests under way
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        for sock in sockets:
            sock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
