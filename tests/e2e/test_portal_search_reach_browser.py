"""The portal's search in Debian's chromium (Playwright), as the public review used it: a long item link
pasted into the box is not cut and finds its shop, a company is found by its registered name, a person's name
finds nothing and the page says what is searched, and the true count comes with a next page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import make_portal_cx, serve_in_thread
from tests.e2e.test_portal_search_reach import EXTRA

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import shop_search

pytestmark = pytest.mark.browser
S1_NAME = "示例食品旗舰店"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chengxin]:
    cx = make_portal_cx(tmp_path_factory.mktemp("search-browser"), *EXTRA)
    yield cx
    cx.engine.dispose()


@pytest.fixture(scope="module")
def server(store: Chengxin) -> Iterator[str]:
    yield from serve_in_thread(create_app(store), "search-uvicorn")


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="zh-CN")
    yield context.new_page()
    context.close()


def test_a_long_pasted_item_link_is_kept_whole_and_finds_its_shop(page: Page) -> None:
    link = "https://s1.shop.example/item/123?spm=a1&scm=" + "x9" * 150 + "#detail"
    assert len(link) > shop_search.MAX_QUERY
    page.goto("/")
    page.get_by_test_id("search-input").click()
    page.keyboard.insert_text(link)  # as a paste: the input's maxlength cut it here
    expect(page.get_by_test_id("search-input")).to_have_value(link)
    expect(page.get_by_test_id("result-link")).to_have_text([S1_NAME])
    expect(page.get_by_test_id("query-problem")).to_have_count(0)


def test_an_overlong_query_that_is_no_link_says_why(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("search-input").click()
    page.keyboard.insert_text("店" * (shop_search.MAX_QUERY + 1))
    expect(page.get_by_test_id("query-problem")).to_contain_text("查询内容过长")


def test_a_company_is_found_by_its_registered_name(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("search-input").click()
    page.keyboard.insert_text("上海示例食品有限公司")
    expect(page.get_by_test_id("result-link")).to_have_text([S1_NAME])
    party = page.get_by_test_id("party-link").filter(has_text="上海示例食品有限公司")
    expect(party).to_have_count(1)
    party.click()
    expect(page).to_have_url(re.compile(r"/parties/M1\?source="))


def test_a_persons_name_finds_nothing_and_the_page_says_what_is_searched(page: Page) -> None:
    page.goto("/?lang=en")
    page.get_by_test_id("search-input").click()
    page.keyboard.insert_text("张三")
    expect(page.get_by_test_id("no-results")).to_be_visible()
    expect(page.get_by_test_id("search-scope")).to_contain_text("does not search people's names")
    expect(page.get_by_test_id("result-link")).to_have_count(0)
    expect(page.get_by_test_id("party-link")).to_have_count(0)


def test_the_true_count_and_the_next_page(page: Page) -> None:
    page.goto("/")
    page.get_by_test_id("search-input").click()
    page.keyboard.insert_text("批量店")
    expect(page.get_by_test_id("result-count")).to_have_text("找到 45 家网店，只显示前 20 家")
    expect(page.get_by_test_id("result-link")).to_have_count(20)
    page.get_by_test_id("next-page").click()
    expect(page).to_have_url(re.compile(r"offset=20"))
    expect(page.get_by_test_id("result-count")).to_have_text("找到 45 家网店，这是第 21–40 家")
    expect(page.get_by_test_id("result-link").first).to_have_text("批量店20")
    page.get_by_test_id("prev-page").click()
    expect(page.get_by_test_id("result-link").first).to_have_text("批量店00")
