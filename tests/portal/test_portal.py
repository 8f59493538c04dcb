"""The portal (门户) in a real headless Chromium, offline (every non-local request is
aborted), for a national, a county and a school user: each sees its own unit and only what
lies below it, masked values stay masked, the charts render. On failure the page's
screenshot is kept in ``test-artifacts/`` (``HUB_TEST_ARTIFACTS``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_clients import CHROMIUM
from tests.conftest import Hub

ARTIFACTS = Path(os.environ.get("HUB_TEST_ARTIFACTS", "test-artifacts"))
MASK = "******************"


@pytest.fixture
def browse(live: str) -> Iterator[Callable[..., Any]]:
    """Open the portal as a demo user; yields (page opener); screenshots on failure."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run does)"
    foreign: list[str] = []
    pages: list[tuple[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )

        def only_local(route: Any) -> None:
            if route.request.url.startswith(live):
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort()

        def open_as(user: str, hash_: str = "") -> Any:
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.route("**/*", only_local)
            page.goto(f"{live}/portal?user={user}{hash_}")
            page.wait_for_selector("#unit:not([hidden])", timeout=20_000)
            page.wait_for_function(
                "() => document.querySelectorAll('#chart-classes svg path').length > 3",
                timeout=20_000,
            )
            pages.append((user, page))
            return page

        failed = True
        try:
            yield open_as
            failed = False
        finally:
            if failed:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                for user, page in pages:
                    page.screenshot(path=str(ARTIFACTS / f"portal-{user}.png"), full_page=True)
            browser.close()
    assert foreign == [], f"the portal asked the internet for {foreign}"


def _ask(hub: Hub, live: str, query: str, variables: dict[str, Any]) -> Any:
    """The oracle, as the national administrator over HTTP (a sync client: the browser's
    sync API runs outside any event loop)."""
    response = httpx.post(
        f"{live}/graphql",
        json={"query": query, "variables": variables},
        headers=hub.headers("national.admin"),
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _child_codes(hub: Hub, live: str, key: str) -> set[str]:
    """The codes of the units one level below the demo unit ``key``."""
    data = _ask(
        hub,
        live,
        "query ($c: String!) { orgUnit(code: $c) { children(first: 500) {"
        " edges { node { code } } } } }",
        {"c": hub.units[key][1]},
    )
    return {e["node"]["code"] for e in data["orgUnit"]["children"]["edges"]}


def _a_name_in(hub: Hub, live: str, key: str) -> tuple[str, int]:
    """A surname of a pupil under unit ``key``, and how many there have it (at most 20)."""
    code = hub.units[key][1]
    first = _ask(
        hub,
        live,
        "query ($c: String!) { students(filter: {under: $c}, first: 1) {"
        " edges { node { name } } } }",
        {"c": code},
    )
    surname = first["students"]["edges"][0]["node"]["name"][0]
    counted = _ask(
        hub,
        live,
        "query ($c: String!, $n: String!) { students(filter: {under: $c, namePrefix: $n})"
        " { totalCount } }",
        {"c": code, "n": surname},
    )
    return surname, min(int(counted["students"]["totalCount"]), 20)


def _links(page: Any) -> set[str]:
    return set(page.eval_on_selector_all("#children a", "els => els.map(e => e.dataset.code)"))


def test_national_user_sees_the_country_and_drills_down(
    hub: Hub,
    live: str,
    browse: Any,
) -> None:
    page = browse("national.admin")
    assert "（CN）" in page.inner_text("#unit-name")
    provinces = _child_codes(hub, live, "national")
    assert _links(page) == provinces
    enrolled = _ask(hub, live, '{ students(filter: {status: ["01"]}) { totalCount } }', {})[
        "students"
    ]["totalCount"]
    assert int(page.inner_text(".card[data-label='学生数'] b")) == enrolled  # 在读
    assert page.eval_on_selector_all("#chart-buildings svg path", "els => els.length") > 3
    # Drill down: the province, then its city.
    province = hub.units["province"][1]
    page.click(f"#children a[data-code='{province}']")
    page.wait_for_function(
        f"() => document.querySelector('#unit-name').innerText.includes('（{province}）')"
    )
    assert _links(page) == _child_codes(hub, live, "province")
    assert "›" in page.inner_text("#crumbs")


def test_county_viewer_sees_its_county_masked(
    hub: Hub,
    live: str,
    browse: Any,
) -> None:
    county = hub.units["county"][1]
    other = hub.units["county2"][1]
    page = browse("county.viewer", f"#unit={other}")
    # Asked for the neighbouring county, it stays in its own and says why.
    page.wait_for_function("() => document.querySelector('#message').innerText.length > 0")
    assert "无法查看该单位" in page.inner_text("#message")
    assert f"（{county}）" in page.inner_text("#unit-name")
    assert _links(page) == _child_codes(hub, live, "county")
    surname, expected = _a_name_in(hub, live, "county")
    page.fill("#search-text", surname)
    page.click("#search-form button")
    page.wait_for_function("() => document.querySelectorAll('#students tbody tr').length > 0")
    rows = page.eval_on_selector_all(
        "#students tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert len(rows) == expected
    assert all(r[1].startswith(surname) for r in rows)
    assert {r[5] for r in rows} <= {MASK, "—"}
    assert all(not r[0].startswith("G") or r[0] == "G" + MASK for r in rows)


def test_school_registrar_sees_its_school_only(
    hub: Hub,
    live: str,
    browse: Any,
) -> None:
    school = hub.units["school"][1]
    page = browse("school.registrar")
    assert f"（{school}）" in page.inner_text("#unit-name")
    assert page.is_hidden("#children")
    assert page.eval_on_selector_all("#chart-classes svg path", "els => els.length") > 3
    surname, expected = _a_name_in(hub, live, "school")
    page.fill("#search-text", surname)
    page.click("#search-form button")
    page.wait_for_function("() => document.querySelectorAll('#students tbody tr').length > 0")
    rows = page.eval_on_selector_all(
        "#students tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert len(rows) == expected
    assert len({r[4] for r in rows}) == 1  # one school: its own
    # The registrar may unmask at its school: real ID numbers where there are any.
    assert any(r[5] not in (MASK, "—") for r in rows)
    assert page.is_visible("#exports")
    # Buildings are not the registrar's to read: the portal says so rather than "0 栋".
    page.wait_for_selector("#school:not([hidden])")
    assert page.inner_text("#building-count") == "无权查看"
    assert page.is_hidden("#school-buildings") and page.is_visible("#school-buildings-denied")
    assert page.is_hidden("#chart-buildings") and page.is_visible("#buildings-denied")
    cards = dict(
        page.eval_on_selector_all(
            "#headline .card",
            "els => els.map(e => [e.dataset.label, e.querySelector('b').innerText])",
        )
    )
    assert cards["校舍面积(㎡)"] == cards["在C/D级校舍上课学生"] == "无权查看"
    assert cards["学生数"] != "无权查看"
    classes = page.eval_on_selector_all(
        "#school-classes tbody tr",
        "rows => rows.map(r => [r.cells[2].innerText, r.cells[4].innerText])",
    )
    assert classes and all(where == "无权查看" and size.isdigit() for size, where in classes)


def test_a_school_page_shows_its_buildings_and_classes(hub: Hub, live: str, browse: Any) -> None:
    """Drilled down from the county to a school: the school's facts, its buildings with
    their ratings and its classes with their size band and teaching building, as the API
    says."""
    school = hub.units["school"][1]
    page = browse("county.statistician")  # reads buildings (a registrar does not)
    assert page.is_hidden("#school")  # a county: no school page
    page.click(f"#children a[data-code='{school}']")
    page.wait_for_selector("#school:not([hidden])")
    assert f"（{school}）" in page.inner_text("#unit-name")
    assert school in page.inner_text("#school-facts")
    expected = _ask(
        hub,
        live,
        "query ($c: String!) { school(code: $c) { type { label }"
        " buildings(first: 100) { totalCount edges { node { name dangerRating { code } } } }"
        " classes { name size building { dangerRating { code } } } } }",
        {"c": school},
    )["school"]
    assert expected["type"]["label"] in page.inner_text("#school-facts")
    buildings = page.eval_on_selector_all(
        "#school-buildings tbody tr",
        "rows => rows.map(r => [r.cells[0].innerText, r.className])",
    )
    assert buildings, "the demo school has buildings"
    assert [name for name, _ in buildings] == [
        e["node"]["name"] for e in expected["buildings"]["edges"]
    ]
    dangerous = {
        e["node"]["name"]
        for e in expected["buildings"]["edges"]
        if (e["node"]["dangerRating"] or {}).get("code") in ("C", "D")
    }
    assert {name for name, css in buildings if css == "danger"} == dangerous
    assert page.inner_text("#building-count") == str(expected["buildings"]["totalCount"])
    assert page.is_hidden("#school-buildings-denied") and page.is_hidden("#buildings-denied")
    classes = page.eval_on_selector_all(
        "#school-classes tbody tr",
        "rows => rows.map(r => [r.cells[0].innerText, Number(r.cells[2].innerText),"
        " r.cells[3].innerText])",
    )
    assert [(n, s) for n, s, _ in classes] == [(c["name"], c["size"]) for c in expected["classes"]]
    assert all(band == "大班额" for _n, s, band in classes if 56 <= s <= 65)
