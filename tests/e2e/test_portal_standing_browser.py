"""Credit standing and grade in Debian's chromium (Playwright), on a phone-sized screen and with the language
switch; the pages load without console errors (CSP, assets)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from tests.e2e.standing_feed import P1, make_standing_cx

from chengxin.entrypoints.api.app import create_app

pytestmark = pytest.mark.browser
SOURCE = quote(P1, safe="")
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def standing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The portal over the standing marketplace, served by uvicorn on a free port in a background thread."""
    cx = make_standing_cx(tmp_path_factory.mktemp("standing-browser"))
    config = uvicorn.Config(create_app(cx), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="standing-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    cx.engine.dispose()


def test_shop_standing_on_a_phone_in_both_languages(browser: Browser, standing_server: str) -> None:
    context = browser.new_context(viewport=PHONE, base_url=standing_server, locale="zh-CN")
    page = context.new_page()
    page.goto(f"/shops/S1?source={SOURCE}")
    badge = page.get_by_test_id("level-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_attribute("data-tier", "heart")
    expect(badge).to_contain_text("1红心")
    expect(page.get_by_test_id("points")).to_have_text("5")
    expect(page.get_by_test_id("positive-rate")).to_contain_text("100.00%")
    compare = page.get_by_test_id("dsr-compare")
    expect(compare).to_have_count(3)
    expect(compare.first).to_contain_text("高于同类 12.0%")
    expect(page.get_by_test_id("grade")).to_be_visible()
    expect(page.get_by_test_id("credit-reasons")).not_to_contain_text("不足90天")  # licensed 2020
    expect(page.get_by_test_id("credit-history")).to_be_visible()
    # the stacked tables and badges fit the narrow screen: nothing scrolls sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("level-badge")).to_contain_text("1 heart")
    expect(page.get_by_test_id("level-next")).to_have_text("6 more point(s) to the next level (11)")
    expect(page.get_by_test_id("dsr-compare").first).to_contain_text("12.0% above the category")
    expect(page.get_by_role("heading", name="How the grade moved")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()


def test_standing_pages_run_without_console_errors(page: Page, standing_server: str) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    for path in (f"/shops/S1?source={SOURCE}", f"/shops/S2?source={SOURCE}", f"/parties/M1?source={SOURCE}",
                 f"/parties/U1?source={SOURCE}"):
        response = page.goto(standing_server + path)
        assert response is not None and response.status == 200, path
    expect(page.get_by_test_id("person-notice")).to_be_visible()
    expect(page.get_by_test_id("grade")).to_have_count(0)
    assert problems == []
