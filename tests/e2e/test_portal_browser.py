"""The portal in Debian's chromium (Playwright): live search, shop pages, language switch, proof checks, privacy."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, Route, expect

pytestmark = pytest.mark.browser

P1 = quote("urn:cx:platform:P1", safe="")
S1_NAME, S2_NAME = "示例食品旗舰店", "示例日用小店"


def _search(page: Page, text: str) -> None:
    box = page.get_by_test_id("search-input")
    box.click()
    box.press_sequentially(text, delay=30)


def test_live_search_then_shop_page(page: Page) -> None:
    page.goto("/")
    page.evaluate("window.__sameDocument = true")
    _search(page, "示例")
    results = page.get_by_test_id("result-link")
    expect(results.filter(has_text=S1_NAME)).to_be_visible()
    expect(results.filter(has_text=S2_NAME)).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "htmx results must not reload the page"
    assert "/search?q=" in page.url  # htmx replaced the URL so reload and sharing work

    results.filter(has_text=S1_NAME).click()
    expect(page.get_by_test_id("shop-name")).to_have_text(S1_NAME)
    operator = page.get_by_test_id("operator")
    expect(operator.get_by_test_id("operator-name")).to_have_text("上海示例食品有限公司")
    expect(operator.get_by_test_id("operator-uscc")).to_have_text("91310104MA1FL8XQ36")
    expect(operator.get_by_test_id("verify-mark")).to_have_attribute("data-state", "verified")
    expect(operator.get_by_test_id("verify-mark")).to_contain_text("已实名核验")
    food = page.locator('[data-licence-type="food_business"]')
    expect(food).to_contain_text("食品经营许可证")
    expect(food).to_contain_text("JY13101040000001")
    expect(page.get_by_test_id("licence-gap")).to_have_count(0)


def test_shop_with_a_licence_gap_is_flagged(page: Page) -> None:
    page.goto(f"/shops/S2?source={P1}")
    expect(page.get_by_test_id("shop-name")).to_have_text(S2_NAME)
    expect(page.get_by_test_id("gap-banner")).to_be_visible()
    gap = page.locator('[data-testid="licence-gap"][data-category="farm_produce"]')
    expect(gap).to_be_visible()
    expect(gap).to_contain_text("食用农产品")
    expect(gap).to_contain_text("缺失")


def test_english_switch_persists_across_navigation(page: Page) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search shops")

    _search(page, "旗舰")
    expect(page.get_by_test_id("result-link")).to_have_count(1)
    expect(page.get_by_test_id("lang-switch")).to_have_attribute("href", re.compile(r"q=%E6%97%97%E8%88%B0"))
    page.get_by_test_id("result-link").filter(has_text=S1_NAME).click()
    expect(page.get_by_test_id("shop-name")).to_have_text(S1_NAME)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Business licence and permits")).to_be_visible()
    expect(page.get_by_test_id("verify-mark").first).to_contain_text("Identity verified")
    expect(page.get_by_test_id("lang-switch")).to_have_text("中文")

    page.get_by_test_id("lang-switch").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="营业执照与许可证")).to_be_visible()


def test_verify_inclusion_in_the_browser(page: Page) -> None:
    page.goto(f"/shops/S1?source={P1}")
    page.get_by_test_id("verify-link").first.click()
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-state", "verified")
    expect(result).to_contain_text("已验证 ✓")
    expect(page.get_by_test_id("signature-result")).to_have_attribute("data-state", "verified")
    expect(page.get_by_test_id("server-result")).to_contain_text("✓")
    expect(page.get_by_test_id("server-signature")).to_have_attribute("data-state", "verified")
    expect(page.get_by_test_id("server-signature")).to_contain_text("✓")


def test_every_public_record_verifies(page: Page, live_server: str) -> None:
    size = page.request.get(f"{live_server}/v1/log/head").json()["size"]
    verified = 0
    for index in range(size):
        response = page.goto(f"/records/{index}")
        assert response is not None
        if response.status == 404:  # not public (a natural person's record, a complaint filing)
            continue
        expect(page.get_by_test_id("verify-result")).to_have_attribute("data-state", "verified")
        verified += 1
    assert verified >= size // 2


def test_a_tampered_proof_fails_in_the_browser(page: Page) -> None:
    def tamper(route: Route) -> None:
        response = route.fetch()
        body = response.text()
        step = re.search(r'"proof": ?\["([^"]+)"', body)  # the first hash of the audit path
        assert step is not None
        flipped = ("B" if step[1][0] != "B" else "C") + step[1][1:]
        route.fulfill(response=response, body=body.replace(step[1], flipped))

    page.route("**/records/9", tamper)
    page.goto("/records/9")
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-state", "failed")
    expect(result).to_contain_text("验证失败 ✗")


def test_person_page_never_shows_personal_data(page: Page) -> None:
    page.goto(f"/parties/U1?source={P1}")
    expect(page.get_by_test_id("party-name")).to_have_text("张*")
    expect(page.get_by_test_id("verify-mark")).to_have_attribute("data-state", "verified")
    expect(page.get_by_test_id("person-notice")).to_be_visible()
    html = page.content()
    assert "31010419900307123X" not in html and "张三" not in html


@pytest.mark.parametrize("query", ["91310104MA1FL8XQ36", "https://s1.shop.example"])
def test_search_by_uscc_and_by_shop_url(page: Page, query: str) -> None:
    page.goto("/")
    _search(page, query)
    links = page.get_by_test_id("result-link")
    expect(links).to_have_count(1)
    expect(links).to_have_text(S1_NAME)


def test_search_works_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=base_url)
    page = context.new_page()
    page.goto("/")
    page.get_by_test_id("search-input").fill("示例")
    page.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(page.get_by_test_id("result-link")).to_have_count(2)
    context.close()


def test_missing_shop_gives_the_404_page(page: Page) -> None:
    response = page.goto(f"/shops/NO-SUCH-SHOP?source={P1}")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("error-page")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("没有找到您要的内容")
    expect(page.get_by_role("link", name="返回首页")).to_be_visible()


def test_pages_run_without_console_errors(page: Page) -> None:
    """No CSP violation, failed subresource-integrity check, missing asset or script error on the way."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto("/")
    _search(page, "示例")
    expect(page.get_by_test_id("result-link")).to_have_count(2)
    for url in (f"/shops/S1?source={P1}", f"/parties/LG?source={P1}", "/records/9"):
        page.goto(url)
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-state", "verified")
    assert problems == []
