"""The portal's search reaches what the public looks for (public review, findings 1, 4 and 7): a business by its
registered name (never a natural person by name), a shop by a pasted item link, an overlong query explained,
and the true number of shops with a way to the rest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import party_href, shop_href
from chengxin.services import shop_search

P1, REG = "urn:cx:platform:P1", "urn:cx:regulator:310000"
S1_NAME, S2_NAME = "示例食品旗舰店", "示例日用小店"
HX = {"HX-Request": "true"}


def _event(eid: str, source: str, kind: str, data: dict[str, object], day: int = 5) -> bytes:
    return json.dumps({"specversion": "1.0", "id": eid, "source": source, "type": kind,
                       "time": f"2026-11-{day:02d}T09:00:00+08:00", "data": data}, ensure_ascii=False).encode()


def _shop(i: int, name: str, url: str, operator: str = "M404") -> bytes:  # M404: an operator never reported
    return _event(f"reach-shop-{i}", P1, "cx.shop.opened", {
        "shop_id": f"R{i}", "operator_id": operator, "name": name, "url": url, "categories": ["daily_goods"]})


EXTRA = [
    # a regulator's report of M1 (same USCC) under a name no platform reported
    _event("reach-reg-1", REG, "cx.subject.registered", {
        "subject_id": "E-M1", "kind": "enterprise", "name": "沪上示例食品集团有限公司", "uscc": "91310104MA1FL8XQ36",
        "region": "310104"}),
    # a shop a natural person (张三, U1) runs, and a shop whose address has a path on a marketplace's host
    _shop(900, "三号小铺", "https://s900.shop.example", operator="U1"),
    _shop(901, "商城七七店", "https://mall.example/shop/77"),
    *[_shop(i, f"批量店{i:02d}", f"https://b{i}.shop.example") for i in range(45)],
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory,
           portal_factory: Callable[..., Chengxin]) -> Iterator[TestClient]:
    cx = portal_factory(tmp_path_factory.mktemp("reach"), *EXTRA)
    with TestClient(create_app(cx)) as c:
        yield c
    cx.engine.dispose()


def _get(client: TestClient, q: str, **params: str) -> str:
    """The results for `q`, in zh unless `lang` says otherwise (the client keeps the last page's language)."""
    r = client.get("/search", params={"q": q, "lang": "zh", **params}, headers=HX)
    assert r.status_code == 200, r.text
    return unescape(r.text)


def _shops(html: str) -> list[str]:
    return re.findall(r'data-testid="result-link">([^<]+)<', html)


def _parties(html: str) -> list[str]:
    return re.findall(r'data-testid="party-link">([^<]+)<', html)


# --- finding 1: a business by its registered name; a person never --------------------------------------------

@pytest.mark.parametrize("query", ["上海示例食品有限公司", "示例食品有限", " 上海示例食品 "])
def test_a_business_is_found_by_its_registered_name_with_its_shops(client: TestClient, query: str) -> None:
    html = _get(client, query)
    assert S1_NAME in _shops(html) and S2_NAME not in _shops(html)
    assert "上海示例食品有限公司" in _parties(html) and "登记名称相符的经营主体" in html
    assert party_href(P1, "M1") in html and shop_href(P1, "S1") in html
    assert 'data-testid="no-results"' not in html


def test_an_individual_business_is_found_by_its_name_with_every_report(client: TestClient) -> None:
    html = _get(client, "杭州西湖区示例日用品店")
    assert _shops(html) == [S2_NAME]
    assert party_href(P1, "M2") in html and party_href(REG, "E-M2") in html


def test_a_name_only_a_regulator_reported_finds_the_shops_a_platform_reported(client: TestClient) -> None:
    html = _get(client, "沪上示例食品集团")
    assert S1_NAME in _shops(html) and party_href(REG, "E-M1") in html


@pytest.mark.parametrize("name", ["张三", "李四", "王五"])
def test_a_natural_persons_name_finds_neither_the_person_nor_their_shop(client: TestClient, name: str) -> None:
    html = _get(client, name)
    assert _shops(html) == [] and _parties(html) == [] and "三号小铺" not in html
    assert 'data-testid="no-results"' in html


@pytest.mark.parametrize(("lang", "words"), [
    ("zh", ["没有找到与“不存在的公司”相符的网店或经营主体", "经营者（企业、个体工商户等）的登记名称",
            "不按个人姓名查找", "没有找到不代表没有信用记录"]),
    ("en", ["No shop or business matches “不存在的公司”", "registered names", "does not search people's names",
            "does not mean a clean record"])])
def test_nothing_found_says_what_was_searched(client: TestClient, lang: str, words: list[str]) -> None:
    html = _get(client, "不存在的公司", lang=lang)
    for w in words:
        assert w in html, w
    scope = html.split('data-testid="search-scope"')[1].split("</p>")[0]
    assert 'href="/lists/black"' in scope and 'href="/notices"' in scope


# --- finding 4: a pasted item link, an overlong query ----------------------------------------------------------

@pytest.mark.parametrize("query", ["https://s1.shop.example/item/123?spm=a1", "HTTPS://S1.Shop.Example:443/item/1#x",
                                   "s1.shop.example/item/9", "//www.s1.shop.example/?from=share",
                                   "https://user@s1.shop.example./item/123"])
def test_a_pasted_item_link_finds_its_shop(client: TestClient, query: str) -> None:
    assert _shops(_get(client, query)) == [S1_NAME]


def test_a_link_under_a_shops_address_on_a_shared_host_finds_that_shop_only(client: TestClient) -> None:
    assert _shops(_get(client, "https://mall.example/shop/77/item/5?x=1")) == ["商城七七店"]
    assert _shops(_get(client, "https://mall.example/shop/78/item/5")) == []


def test_a_long_pasted_link_is_cut_to_its_shops_address(client: TestClient) -> None:
    link = "https://s1.shop.example/item/123?spm=" + "a1b2" * 100 + "#reviews"
    assert len(link) > shop_search.MAX_QUERY
    html = _get(client, link)
    assert _shops(html) == [S1_NAME] and 'data-testid="query-problem"' not in html
    whole = client.get("/search", params={"q": link})
    assert whole.status_code == 200 and S1_NAME in whole.text
    deep = "https://s1.shop.example/" + "/".join(["x" * 30] * 10)  # host and path still too long: the host
    assert _shops(_get(client, deep)) == [S1_NAME]


@pytest.mark.parametrize(("lang", "text"), [("zh", "查询内容过长（最多 200 个字符）"), ("en", "too long (at most 200")])
def test_an_overlong_query_says_why_in_the_pages_language(client: TestClient, lang: str, text: str) -> None:
    long = "店" * (shop_search.MAX_QUERY + 1)
    page = client.get("/search", params={"q": long, "lang": lang})
    assert page.status_code == 422 and text in page.text and 'data-testid="query-problem"' in page.text
    assert 'name="q"' in page.text  # the search box is there to try again
    live = client.get("/search", params={"q": long, "lang": lang}, headers=HX)  # htmx swaps only a 2xx
    assert live.status_code == 200 and text in live.text and "<html" not in live.text


@pytest.mark.parametrize("url", ["/", "/search?q=x", "/no-such-page"])
def test_no_search_box_cuts_a_pasted_link_silently(client: TestClient, url: str) -> None:
    html = client.get(url).text
    boxes = re.findall(r'<input[^>]*name="q"[^>]*>', html)
    assert boxes and not any("maxlength" in b for b in boxes)


# --- finding 7: the true total, and the pages after the first ---------------------------------------------------

def test_the_count_is_the_true_total_and_the_next_pages_show_the_rest(client: TestClient) -> None:
    first = _get(client, "批量店")
    assert "找到 45 家网店，只显示前 20 家" in first and 'data-testid="more-results"' in first
    assert 'data-testid="prev-page"' not in first
    seen = _shops(first)
    href = re.search(r'<a href="([^"]+)" rel="next" data-testid="next-page">下一页', first)
    pages = [first]
    while href:
        page = unescape(client.get(href[1]).text)
        pages.append(page)
        seen += _shops(page)
        href = re.search(r'<a href="([^"]+)" rel="next" data-testid="next-page">下一页', page)
    assert len(pages) == 3 and sorted(seen) == [f"批量店{i:02d}" for i in range(45)]
    assert "找到 45 家网店，这是第 21–40 家" in pages[1] and 'data-testid="prev-page"' in pages[1]
    assert "这是第 41–45 家" in pages[2] and 'data-testid="more-results"' not in pages[2]


def test_the_count_and_pages_in_english(client: TestClient) -> None:
    first = _get(client, "批量店", lang="en")
    assert "45 shops found; only the first 20 are shown" in first and ">Next page<" in first
    second = _get(client, "批量店", lang="en", offset="20")
    assert "45 shops found; showing 21–40" in second and ">Previous page<" in second


def test_a_short_list_says_its_count_without_paging(client: TestClient) -> None:
    html = _get(client, "批量店07")
    assert "找到 1 家网店" in html and 'data-testid="search-pager"' not in html


# --- the API's shop search is the same service ------------------------------------------------------------------

@pytest.mark.parametrize("query", ["上海示例食品有限公司", "https://s1.shop.example/item/123?spm=a1"])
def test_the_apis_shop_search_finds_the_same(client: TestClient, query: str) -> None:
    found = client.get("/v1/shops", params={"q": query}).json()
    assert [s["name"] for s in found["shops"]] == [S1_NAME] and found["total"] == 1


def test_the_apis_shop_search_never_finds_a_person_by_name(client: TestClient) -> None:
    assert client.get("/v1/shops", params={"q": "张三"}).json()["total"] == 0


def test_a_page_past_the_end_leads_back_to_the_last_page(client: TestClient) -> None:
    html = _get(client, "批量店", offset="400")
    assert _shops(html) == [] and "找到 45 家网店" in html and "第 401" not in html
    assert 'href="/search?q=%E6%89%B9%E9%87%8F%E5%BA%97&offset=40" rel="prev"' in html


def test_one_business_is_one_result_with_its_reporters_named(client: TestClient) -> None:
    """A USCC's reports were a card each, with opposite marks and the reporter as a URN
    ("报送来源 urn:cx:regulator:310000"; public review, finding 2): one card, one mark, every reporter named and
    linked to its report."""
    html = _get(client, "92330106MA2B7C4D1W")
    assert len(re.findall(r'data-testid="party-result"', html)) == 1
    assert len(re.findall(r'data-testid="verify-mark"', html)) == 1
    reporters = re.search(r'data-testid="party-reporters">(.*?)</span>', html, re.S)
    assert reporters and "urn:cx:" not in reporters.group(1)
    assert "上海市市场监管部门" in reporters.group(1)
    assert party_href(P1, "M2") in reporters.group(1) and party_href(REG, "E-M2") in reporters.group(1)
