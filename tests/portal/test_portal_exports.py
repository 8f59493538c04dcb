"""Export requests (数据导出申请) through the portal in a real headless Chromium: a county
registrar asks for its county's students, the city's administrator approves with a note,
the registrar downloads the file once the job has written it; a second request is
withdrawn. A hub of its own: these tests write."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import Hub, running_hub
from tests.portal.test_portal import _ask, browse

__all__ = ["browse"]  # the fixture, shared with the portal's read-only tests


@pytest.fixture(scope="module")
async def hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Hub]:
    async with running_hub(backend, tmp_path_factory.mktemp(f"portal-{backend}"), 1500) as h:
        yield h


def _request(page: Any, entity: str, purpose: str, format_: str) -> str:
    """Fill and send the request form; the number the portal reports."""
    page.select_option("#export-entity", entity)
    page.fill("#export-purpose", purpose)
    page.select_option("#export-format", format_)
    page.click("#export-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#export-message').innerText.includes('已提交申请')"
    )
    found = re.search(r"已提交申请 (\d+)（待审批）", page.inner_text("#export-message"))
    assert found, page.inner_text("#export-message")
    return found.group(1)


def _status(page: Any, number: str) -> str:
    row = f"#export-list tr[data-number='{number}']"
    page.wait_for_selector(row)
    return str(page.get_attribute(row, "data-status"))


def test_a_registrar_requests_an_export_the_city_approves_and_it_is_downloaded(
    hub: Hub, live: str, browse: Any
) -> None:
    county = hub.units["county"][1]
    page = browse("county.registrar")
    assert f"（{county}）" in page.inner_text("#export-under")
    number = _request(page, "STUDENTS", "核对本县在读学生名单", "CSV")
    row = f"#export-list tr[data-number='{number}']"
    assert _status(page, number) == "1"
    assert "撤回" in page.inner_text(row)
    assert page.locator(f"{row} button:has-text('批准')").count() == 0  # not its own
    # What the portal asked for: the county's students, as CSV.
    mine = _ask(
        hub,
        live,
        "{ exports(first: 50) { edges { node { number entity format filter requestedBy } } } }",
        {},
    )
    request = next(
        e["node"] for e in mine["exports"]["edges"] if str(e["node"]["number"]) == number
    )
    assert (request["entity"], request["format"]) == ("STUDENTS", "CSV")
    assert request["requestedBy"] == "county.registrar"
    assert county in request["filter"]

    # The city's administrator sees it to decide, and approves it with a note.
    admin = browse("city.admin")
    assert _status(admin, number) == "1"
    admin.fill(f"{row} input.note", "同意，限内部核对")
    admin.click(f"{row} button:has-text('批准')")
    admin.wait_for_function(
        f"() => document.querySelector(\"{row}\").dataset.status !== '1'", timeout=20_000
    )
    assert "批准" not in admin.inner_text(f"{row} td:last-child")

    # The registrar reloads until the job has written the file, then downloads it.
    deadline = time.monotonic() + 30
    while _status(page, number) != "5":
        assert time.monotonic() < deadline, f"export {number}: {page.inner_text(row)}"
        time.sleep(0.3)
        page.reload()
        page.wait_for_selector("#exports:not([hidden])")
    assert "同意，限内部核对" in page.inner_text(row)
    with page.expect_download() as download:
        page.click(f"{row} a:has-text('下载')")
    content = download.value.path().read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(content)))
    total = _ask(
        hub,
        live,
        "{ exports(first: 50) { edges { node { number rowsTotal } } } }",
        {},
    )
    rows = next(
        e["node"]["rowsTotal"]
        for e in total["exports"]["edges"]
        if str(e["node"]["number"]) == number
    )
    assert rows > 0
    # The watermark first (request, requester, purpose, reviewer), then a header row of
    # Chinese names, then every row.
    assert (
        lines[0][0].startswith(f"导出申请编号：{number}；")
        and "核对本县在读学生名单" in lines[0][0]
    )
    header = next(i for i, line in enumerate(lines) if "姓名" in line)
    assert len(lines) - header - 1 == rows


def test_a_request_is_withdrawn_from_the_portal(hub: Hub, live: str, browse: Any) -> None:
    page = browse("school.registrar")
    number = _request(page, "STUDENTS", "本校学生花名册", "XLSX")
    row = f"#export-list tr[data-number='{number}']"
    page.click(f"{row} button:has-text('撤回')")
    page.wait_for_function(
        f"() => document.querySelector(\"{row}\").dataset.status === '8'", timeout=20_000
    )
    assert "已撤回" in page.inner_text(row)
    # Too short a purpose is refused with the hub's message, and nothing is requested (the
    # oracle counts the requests; the form's own minlength is lifted to reach the hub).
    listed = "{ exports(first: 100) { edges { node { number } } } }"
    before = len(_ask(hub, live, listed, {})["exports"]["edges"])
    page.evaluate("document.querySelector('#export-purpose').removeAttribute('minlength')")
    page.fill("#export-purpose", "核")
    page.click("#export-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#export-message').innerText.includes('at least 4')"
    )
    assert "用途" in page.inner_text("#export-message")
    assert len(_ask(hub, live, listed, {})["exports"]["edges"]) == before
