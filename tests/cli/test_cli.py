"""The eduhub command as a newcomer runs it (in a scratch folder, on SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app


def test_demo_with_federation_wires_the_docked_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    result = CliRunner().invoke(
        app, ["demo", "--students", "300", "--federation", "--database", database]
    )
    assert result.exit_code == 0, result.output
    assert "docked" in result.output
    assert "route" in (tmp_path / "sources.toml").read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        docked_schools = connection.execute(
            "SELECT count(*) FROM school WHERE sync_source = 'gx_students'"
        ).fetchone()[0]
        users = connection.execute("SELECT count(*) FROM hub_user").fetchone()[0]
    assert docked_schools > 0
    assert users >= 9
    token = CliRunner().invoke(app, ["token", "county.viewer", "--database", database])
    assert token.exit_code == 0
    assert token.output.count(".") == 2  # header.payload.signature
    unknown = CliRunner().invoke(app, ["token", "nobody.here", "--database", database])
    assert unknown.exit_code == 2
    assert "does not exist" in unknown.output


def test_sources_check_says_when_the_source_is_unknown(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text('[sources.a]\nkind = "sql"\nurl = "sqlite+aiosqlite:///a.db"\n')
    result = CliRunner().invoke(app, ["sources", "check", "nope", "--sources", str(sources)])
    assert result.exit_code == 2
    assert "no source 'nope'" in result.output


def _serve_two_workers(
    tmp_path: Path, students: int, *, own_session: bool = False
) -> tuple[Any, str, int]:
    """``eduhub serve --workers 2`` on a demo SQLite database and a free port, once it
    answers /healthz: the server process, its base URL and its port. ``own_session``: in a
    session (and process group) of its own, as a terminal starts a command."""
    import os
    import socket
    import subprocess
    import sys

    database = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    loaded = CliRunner().invoke(app, ["demo", "--students", str(students), "--database", database])
    assert loaded.exit_code == 0, loaded.output
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).with_name("eduhub")), "serve", "--port", str(port),
        "--workers", "2", "--database", database,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=own_session,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
    except BaseException:
        server.kill()
        server.communicate()
        raise
    return server, base, port


def _wait_healthy(base: str) -> None:
    import time

    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base} did not come up")


def test_serve_with_several_workers_answers_over_http(tmp_path: Path) -> None:
    """``eduhub serve --workers 2``: worker processes that each build the app from the
    environment, answering GraphQL over real HTTP (planned and cached alike)."""
    import httpx

    from hub.access.identity import mint_token
    from hub.settings import Settings

    server, base, _port = _serve_two_workers(tmp_path, students=200)
    try:
        token = mint_token(Settings(), "national.admin")
        query = {"query": "{ schools(first: 3) { totalCount edges { node { code } } } }"}
        answers = [
            httpx.post(
                f"{base}/graphql",
                json=query,
                headers={"authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            for _ in range(6)
        ]
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert server.returncode == 0
    for answer in answers:
        assert "errors" not in answer, answer
        schools = answer["data"]["schools"]
        assert schools["totalCount"] >= 1
        assert len(schools["edges"]) == min(3, schools["totalCount"])
    assert {a["extensions"]["readPath"]["servedBy"] for a in answers} == {"planner"}
    assert any(a["extensions"]["readPath"].get("cached") for a in answers)


def test_quality_check_reports_findings_and_refuses_an_unknown_unit(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    loaded = CliRunner().invoke(app, ["demo", "--students", "200", "--database", database])
    assert loaded.exit_code == 0, loaded.output
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        first, second = connection.execute(
            "SELECT id, id_number FROM student WHERE id_type_code = '1' ORDER BY id LIMIT 2"
        ).fetchall()
        connection.execute("UPDATE student SET id_number = ? WHERE id = ?", (first[1], second[0]))
    result = CliRunner().invoke(app, ["quality", "check", "--database", database])
    assert result.exit_code == 0, result.output
    assert "kind 3: " in result.output and "opened" in result.output
    with sqlite3.connect(tmp_path / "hub.db") as connection:
        kinds = connection.execute("SELECT DISTINCT kind_code FROM problem_record").fetchall()
    assert ("3",) in kinds
    unknown = CliRunner().invoke(
        app, ["quality", "check", "--under", "999999", "--database", database]
    )
    assert unknown.exit_code == 2
    assert "unknown org unit code '999999'" in unknown.output


def _children(pid: int) -> list[int]:
    """The worker processes of server ``pid`` (not multiprocessing's resource tracker)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"resource_tracker" not in command:
                found.append(int(child))
    return found


def _established(pid: int, port: int) -> int:
    """TCP connections to ``port`` that process ``pid`` holds, from /proc (no tools)."""
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port and inode in inodes:
                    count += 1
    return count


def test_serve_workers_each_take_connections_and_a_dead_one_is_replaced(tmp_path: Path) -> None:
    """``eduhub serve --workers 2`` gives each worker its own accept queue (SO_REUSEPORT):
    keep-alive connections opened together land on both workers (uvicorn's shared socket
    gave them all to one), each worker audits into a lane of the audit chain of its own
    (their appends never wait for each other's) and the chain holds, a worker that dies is
    started again on its socket, and SIGTERM stops the lot."""
    import os
    import signal
    import socket
    import time

    import httpx
    import orjson

    from hub.access.identity import mint_token
    from hub.settings import Settings

    token = mint_token(Settings(), "national.admin")
    body = orjson.dumps({"query": "{ students(first: 2) { edges { node { idNumber } } } }"})
    audited = (
        b"POST /graphql HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    server, base, port = _serve_two_workers(tmp_path, students=50)
    try:
        workers = _children(server.pid)
        assert len(workers) == 2
        # 24 connections opened in one burst, as a load balancer's pool or a load tool
        # opens them, and kept open: uvicorn's shared socket let the first worker to wake
        # accept them all; spread by the kernel, all on one worker is 2 in 2**24. Each
        # asks for ID numbers, which are audited.
        burst = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]
        try:
            for sock in burst:
                sock.sendall(audited)
            for sock in burst:
                assert sock.recv(64).startswith(b"HTTP/1.1 200")
            held = {pid: _established(pid, port) for pid in workers}
        finally:
            for sock in burst:
                sock.close()
        assert sum(held.values()) == 24, held
        assert all(n > 0 for n in held.values()), held
        with sqlite3.connect(tmp_path / "hub.db") as connection:
            lanes = connection.execute(
                "SELECT lane, count(*), min(seq), max(seq) FROM audit_event"
                " WHERE action = 'unmask' GROUP BY lane ORDER BY lane"
            ).fetchall()
        assert [lane for lane, *_ in lanes] == [1, 2], lanes
        assert sum(n for _, n, _, _ in lanes) == 24, lanes
        verified = CliRunner().invoke(
            app, ["audit", "verify", "--database", f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"]
        )
        assert verified.exit_code == 0 and "intact" in verified.output, verified.output

        os.kill(workers[0], signal.SIGKILL)
        for _ in range(100):
            now = _children(server.pid)
            if len(now) == 2 and workers[0] not in now:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the dead worker was not replaced: {_children(server.pid)}")
        _wait_healthy(base)
        answers = [httpx.get(f"{base}/healthz", timeout=10).status_code for _ in range(20)]
        assert answers == [200] * 20
        last = _children(server.pid)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=60)
    assert server.returncode == 0, errors
    assert f"worker {workers[0]} exited" in errors.decode()
    assert len(last) == 2
    assert not any(os.path.exists(f"/proc/{pid}") for pid in last)  # stopped with it


def test_a_worker_dying_young_is_restarted_after_a_growing_pause() -> None:
    """A worker that keeps dying as it starts (an unreachable database) is started again
    after 1, 2, 4, … seconds, up to 30, not once a second for ever; one that ran a while
    is started again at once."""
    from hub.workers import restart_pause

    pauses, pause = [], 0.0
    for _ in range(7):
        pause = restart_pause(0.5, pause)
        pauses.append(pause)
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert restart_pause(60.0, 30.0) == 0.0


def test_ctrl_c_stops_the_server_and_a_killed_server_takes_its_workers_along(
    tmp_path: Path,
) -> None:
    """Ctrl-C in a terminal (SIGINT to the server's process group) reaches the parent only,
    which stops its workers once, and the server exits 0; a server killed outright (SIGKILL,
    no chance to stop anything) leaves no worker behind: the kernel ends them."""
    import os
    import signal
    import time

    server, _base, _port = _serve_two_workers(tmp_path, students=30, own_session=True)
    workers = _children(server.pid)
    assert len(workers) == 2
    os.killpg(server.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _, errors = server.communicate(timeout=60)
    assert server.returncode == 0, errors
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)

    (tmp_path / "again").mkdir()
    server, _base, _port = _serve_two_workers(tmp_path / "again", students=30)
    workers = _children(server.pid)
    assert len(workers) == 2
    server.kill()
    server.communicate(timeout=30)
    for _ in range(100):
        alive = [pid for pid in workers if _running(pid)]
        if not alive:
            break
        time.sleep(0.1)
    assert alive == [], f"workers {alive} outlived their server"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie awaiting its reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
