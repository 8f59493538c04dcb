"""The eduhub command as a newcomer runs it (in a scratch folder, on SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
