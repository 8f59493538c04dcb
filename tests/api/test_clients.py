"""Real clients against a live server on loopback: the graphql-http conformance audit (node)
and GraphiQL in headless Chromium with every non-local request blocked (no internet)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import Hub

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CHROMIUM = "/usr/bin/chromium"
# Items noticed by design (README, "HTTP conformance"): GET is not served.
EXPECTED_NOTICES = {"5A70", "D6D5", "6A70"}


def test_graphql_http_audit(hub: Hub, live: str) -> None:
    assert (NODE_DIR / "node_modules" / "graphql-http").exists(), (
        "run `npm install` in tests/node (.ci/run does)"
    )
    token = hub.headers("national.admin")["authorization"].split()[1]
    done = subprocess.run(
        ["node", "audit.mjs", f"{live}/graphql", token],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results = json.loads(done.stdout)
    assert len(results) == 61
    by_status: dict[str, list[str]] = {}
    for result in results:
        by_status.setdefault(result["status"], []).append(result["id"])
    # Every item passes but the GET ones, which are refused by design (README).
    assert set(by_status) <= {"ok", "notice"}, [r for r in results if r["status"] != "ok"]
    assert set(by_status.get("notice", [])) <= EXPECTED_NOTICES, by_status["notice"]
    assert len(by_status["ok"]) >= 61 - len(EXPECTED_NOTICES)


def test_graphiql_works_offline_in_a_real_browser(hub: Hub, live: str) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run does)"
    foreign: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()

        def only_local(route: object) -> None:
            request = route.request  # type: ignore[attr-defined]
            if request.url.startswith(live):
                route.continue_()  # type: ignore[attr-defined]
            else:
                foreign.append(request.url)
                route.abort()  # type: ignore[attr-defined]

        page.route("**/*", only_local)
        page.goto(f"{live}/graphql?user=county.viewer")
        page.wait_for_selector(".graphiql-container", timeout=20_000)
        page.click(".graphiql-execute-button")
        page.wait_for_function(
            "() => document.querySelector('.result-window')"
            " && document.querySelector('.result-window').innerText.includes('county.viewer')",
            timeout=20_000,
        )
        result = page.inner_text(".result-window")
        browser.close()
    assert '"user": "county.viewer"' in result
    assert "totalCount" in result
    assert foreign == []
