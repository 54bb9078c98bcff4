"""The black list in Debian's chromium (Playwright): a blacklisted shop's page shows the badge, which leads to the
black list page with the reason; the pages load without console errors (CSP, assets)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import P1
from tests.e2e.test_portal_lists import BLACK_BASIS, FAKE_ORDERS_EN, FAKE_ORDERS_ZH, make_listed_cx

from chengxin.entrypoints.api.app import create_app

pytestmark = pytest.mark.browser
SOURCE = quote(P1, safe="")


@pytest.fixture(scope="module")
def lists_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The portal over the sample with confirmed rings, served by uvicorn on a free port in a background thread."""
    cx = make_listed_cx(tmp_path_factory.mktemp("lists-browser"))
    config = uvicorn.Config(create_app(cx), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="lists-uvicorn", daemon=True)
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


def test_from_the_badge_of_a_blacklisted_shop_to_the_black_list(browser: Browser, lists_server: str) -> None:
    context = browser.new_context(base_url=lists_server, locale="zh-CN")
    page = context.new_page()
    page.goto(f"/shops/S2?source={SOURCE}")
    badge = page.locator('[data-testid="list-badge"][data-list="black"]')
    expect(badge).to_be_visible()
    expect(badge).to_contain_text("严重失信名单（黑名单）")
    expect(badge).to_contain_text(FAKE_ORDERS_ZH)
    expect(page.locator('[data-measure="hide_shop"]')).to_contain_text("店铺屏蔽")

    badge.get_by_role("link").click()
    expect(page).to_have_url(f"{lists_server}/lists/black")
    expect(page.get_by_test_id("list-title")).to_have_text("严重失信名单（黑名单）")
    row = page.locator('[data-testid="list-member"][data-party="M2"]')
    expect(row).to_be_visible()
    expect(row.get_by_test_id("member-reason")).to_have_text(FAKE_ORDERS_ZH)
    expect(row.get_by_test_id("member-basis")).to_have_text(BLACK_BASIS)
    expect(page.get_by_test_id("list-remedy")).not_to_be_empty()

    # back to the shop through the list, and the same in English
    row.get_by_test_id("member-shop").click()
    expect(page.get_by_test_id("shop-name")).to_have_text("示例日用小店")
    page.get_by_test_id("lang-switch").click()
    expect(page.locator('[data-testid="list-badge"][data-list="black"]')).to_contain_text(FAKE_ORDERS_EN)
    context.close()


def test_list_and_notice_pages_run_without_console_errors(page: Page, lists_server: str) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    for path in ("/lists/black", "/lists/red", "/notices", f"/shops/S1?source={SOURCE}"):
        response = page.goto(lists_server + path)
        assert response is not None and response.status == 200, path
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="风险提示").click()
    expect(page).to_have_url(f"{lists_server}/notices")
    expect(page.locator('[data-testid="notice"]').first).to_be_visible()
    assert problems == []


def test_older_and_newer_notices_a_page_at_a_time(browser: Browser, lists_server: str) -> None:
    """The notices page showed the newest 50 and no way on: "older" and "newer" links page through them, and
    the language switch keeps the page."""
    context = browser.new_context(base_url=lists_server, locale="zh-CN")
    page = context.new_page()
    page.goto("/notices?limit=1")
    rows = page.get_by_test_id("notice")
    expect(rows).to_have_count(1)
    newest = rows.get_attribute("data-record")
    expect(page.get_by_test_id("notices-newer")).to_have_count(0)
    page.get_by_role("link", name="更早的风险提示 →").click()
    expect(page).to_have_url(re.compile(r"/notices\?before=\d+&limit=1$"))
    expect(rows).to_have_count(1)
    assert rows.get_attribute("data-record") != newest
    page.get_by_test_id("lang-switch").click()
    expect(page).to_have_url(re.compile(r"before=\d+&limit=1&lang=en$"))
    page.get_by_role("link", name="← Newer notices").click()
    expect(rows).to_have_attribute("data-record", newest or "")
    expect(page.get_by_test_id("notices-older")).to_have_text("Older notices →")
    context.close()


def test_on_a_phone_the_grade_comes_before_the_measures(browser: Browser, lists_server: str) -> None:
    """On a phone the shop's grade and its reasons came below its measures, where people looked for the grade
    first: there it now comes first (after the shop's header). It does by the document's order, on every screen
    (the phone's CSS `order` made what was seen differ from what was read out: WCAG 1.3.2, found by review)."""
    for viewport in ({"width": 390, "height": 844}, {"width": 1280, "height": 900}):
        context = browser.new_context(viewport=viewport, base_url=lists_server, locale="zh-CN")
        page = context.new_page()
        page.goto(f"/shops/S1?source={SOURCE}")  # on the black list (measures) with a grade, capped to D
        expect(page.get_by_test_id("grade")).to_have_attribute("data-grade", "D")
        head, grade = page.locator(".profile-head").bounding_box(), page.get_by_test_id("credit").bounding_box()
        measures = page.get_by_test_id("measures").bounding_box()
        reasons = page.get_by_test_id("credit-reasons").bounding_box()
        assert head and grade and measures and reasons
        assert head["y"] + head["height"] <= grade["y"], (head, grade)
        assert grade["y"] + grade["height"] <= measures["y"], (grade, measures)  # reasons included
        assert reasons["y"] < measures["y"]
        # what is seen is what is read: the sections' order on screen is their order in the document
        tops = page.eval_on_selector_all(".shop-profile > *", "els => els.map(e => e.getBoundingClientRect().top)")
        assert tops == sorted(tops), tops
        # nothing scrolls sideways
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        context.close()
