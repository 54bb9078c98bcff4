"""The black and red lists, risk notices and their Atom feed on the portal (server-rendered, no JavaScript), and
the shop page's list badge, public measures and commitments; a natural person is masked on a list and never in
the notices; the watch list is not public."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from tests.e2e.conftest import P1, make_portal_cx

from chengxin.adapters.db.engine import write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import party_href, shop_href
from chengxin.services import list_views, lists, review
from chengxin.services.viewer import Viewer

REGULATOR = Viewer("regulator", key_id="k-reg")
DECISION = "沪市监〔2026〕1号"
BLACK_BASIS = "电子商务法 第十七条; 反不正当竞争法 第八条; 严重违法失信名单管理办法"
FAKE_ORDERS_ZH = "经确认的刷单炒信、空包裹或虚构评价"
FAKE_ORDERS_EN = "confirmed fake orders, empty parcels or fabricated reviews"
ATOM = "{http://www.w3.org/2005/Atom}"
PERSON_NAME, PERSON_ID, PERSON_SHOP = "张三", "31010419900307123X", "街角杂货铺"


def _ring(shop: str, order: str) -> Finding:
    return Finding("fake_order_ring", 0.9, {"parties": ((P1, shop),), "orders": ((P1, order),)}, {"density": 3.0})


def _person_shop() -> bytes:
    """Shop S9, run by the natural person U1 (张三)."""
    return json.dumps({"specversion": "1.0", "id": "lists-s9", "source": P1, "type": "cx.shop.opened",
                       "time": "2026-03-20T09:00:00+08:00",
                       "data": {"shop_id": "S9", "operator_id": "U1", "name": PERSON_SHOP,
                                "url": "https://s9.shop.example", "categories": ["daily_goods"]}},
                      ensure_ascii=False).encode()


def confirm(cx: Chengxin, finding: Finding, run: str) -> None:
    """A regulator confirms a fake-order ring: the shop's operator gets a serious record and joins the black list."""
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (finding,), detector="test", run_id=run)
    review.publish(cx, run)
    items = [i for i in review.list_items(cx, REGULATOR, status="open")["items"] if i["run_id"] == run]
    review.decide(cx, items[0]["id"], "confirm", REGULATOR, "checked the orders and chats", DECISION)


def make_listed_cx(tmp: Path) -> Chengxin:
    """The sample plus a person's shop; rings confirmed at S1 (M1, who committed to merchant-standard-v1), S2 (M2)
    and S9 (the person U1); the logistics firm LG put on the red list by a regulator."""
    cx = make_portal_cx(tmp, _person_shop())
    lists.drain(cx)
    confirm(cx, _ring("S1", "O1"), "run-s1")
    confirm(cx, _ring("S2", "O2"), "run-s2")
    confirm(cx, _ring("S9", "O9"), "run-s9")
    list_views.override(cx, "red", (P1, "LG"), "add", REGULATOR, "on-time delivery for three years",
                        "上海市社会信用条例 第二十六条")
    lists.drain(cx)
    return cx


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    cx = make_listed_cx(tmp_path_factory.mktemp("lists-portal"))
    with TestClient(create_app(cx)) as c:
        yield c
    cx.engine.dispose()


def get(client: TestClient, url: str, lang: str = "zh", status: int = 200) -> str:
    response = client.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert response.status_code == status, response.text
    return response.text


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def members(html: str) -> list[dict[str, Any]]:
    """Each member row of a list page: party id and its text."""
    rows = re.findall(r'<tr data-testid="list-member" data-party="([^"]+)">(.*?)</tr>', html, re.S)
    return [{"party": p, "text": text_of(body), "html": body} for p, body in rows]


def test_black_list_page_has_criteria_remedy_and_the_confirmed_ring(client: TestClient) -> None:
    html = get(client, "/lists/black")
    page = text_of(html)
    assert "严重失信名单（黑名单）" in page
    # SHSC art. 25: the entry criteria with their legal basis, and the remedy, are published
    criteria = text_of(html[html.index('data-testid="list-criteria"'):html.index('data-testid="list-members"')])
    for text in (FAKE_ORDERS_ZH, BLACK_BASIS, "经确认的销售假冒伪劣商品", "消费者权益保护法 第五十五条", "救济途径",
                 "可依法提出异议或申请信用修复", "店铺屏蔽"):
        assert text in criteria, text
    rows = {m["party"]: m for m in members(html)}
    assert {"M1", "M2", "U1"} <= set(rows)
    m2 = rows["M2"]
    for text in ("杭州西湖区示例日用品店", "示例日用小店", FAKE_ORDERS_ZH, BLACK_BASIS):
        assert text in m2["text"], text
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{4}-\d{2}-\d{2}", m2["text"])  # since, review date
    assert f'href="{shop_href(P1, "S2")}"'.replace("&", "&amp;") in m2["html"]
    assert "示例食品旗舰店" in rows["M1"]["text"]
    english = text_of(get(client, "/lists/black", "en"))
    for text in ("black list (serious dishonesty)", FAKE_ORDERS_EN, "Entry criteria", "Remedy", "Current members"):
        assert text in english, text


def test_a_natural_person_on_the_black_list_is_masked(client: TestClient) -> None:
    html = get(client, "/lists/black")
    person = {m["party"]: m for m in members(html)}["U1"]
    assert person["text"].strip().startswith("张")
    assert PERSON_NAME not in html and PERSON_ID not in html
    assert "/parties/U1" not in person["html"]  # no link to the person's file


def test_black_list_pages_with_an_after_cursor(client: TestClient) -> None:
    first = get(client, "/lists/black?limit=2")
    page1 = [m["party"] for m in members(first)]
    assert len(page1) == 2
    found = re.search(r'href="(/lists/black\?after=\d+&amp;limit=2)" rel="next"', first)
    assert found, "no link to the next page"
    second = get(client, unescape(found[1]))
    page2 = [m["party"] for m in members(second)]
    assert page2 and not set(page1) & set(page2)
    assert set(page1) | set(page2) >= {"M1", "M2", "U1"}
    assert 'data-testid="list-first"' in second


def test_red_list_page(client: TestClient) -> None:
    html = get(client, "/lists/red")
    page = text_of(html)
    red = next(x for x in list_views.catalog_view()["lists"] if x["name"] == "red")
    assert red["policies"]
    for text in [red["zh"], red["remedy"]["zh"]] + [p[k] for p in red["policies"] for k in ("zh", "basis")]:
        assert text in page, text
    rows = {m["party"]: m for m in members(html)}
    assert "示例速递有限公司" in rows["LG"]["text"] and "上海市社会信用条例 第二十六条" in rows["LG"]["text"]
    assert not {"M1", "M2", "U1"} & set(rows)  # black-listed parties earn no reward


def test_watch_list_and_unknown_lists_are_not_public(client: TestClient) -> None:
    html = get(client, "/lists/watch", status=404)
    assert "该名单不对外公示" in text_of(html)
    assert 'data-testid="list-member"' not in html and "杭州西湖区示例日用品店" not in html
    assert "This list is not public" in get(client, "/lists/watch", "en", status=404)
    get(client, "/lists/grey", status=404)


def test_navigation_links_the_lists_and_notices(client: TestClient) -> None:
    html = get(client, "/")
    nav = html[html.index('data-testid="site-nav"'):]
    nav = nav[:nav.index("</nav>")]
    for href in ('href="/lists/black"', 'href="/lists/red"', 'href="/notices"'):
        assert href in nav, href
    assert "风险提示" in nav and "黑名单" in nav


def notice_rows(html: str) -> list[tuple[str, str]]:
    return [(cat, text_of(body).strip()) for cat, body in re.findall(
        r'<tr data-testid="notice" data-record="\d+" data-category="(\w+)">(.*?)</tr>', html, re.S)]


def test_notices_show_serious_records_of_businesses_only(client: TestClient) -> None:
    html = get(client, "/notices")
    rows = notice_rows(html)
    shops = [r for r in rows if r[1].startswith("示例日用小店")]
    assert shops and shops[0][0] == "fake_order"
    for text in ("杭州西湖区示例日用品店", "虚假交易（刷单炒信）", DECISION, "2029-"):
        assert text in shops[0][1], text
    assert any(r[1].startswith("示例食品旗舰店") for r in rows)
    # the person's shop and name never appear; the sample's minor (price-fraud, repaired) sanction neither
    for absent in (PERSON_NAME, PERSON_SHOP, PERSON_ID, "价格欺诈"):
        assert absent not in html, absent
    assert all(cat != "price_fraud" for cat, _ in rows)
    assert "fake orders (brushing)" in get(client, "/notices", "en")


def test_notices_atom_feed_parses_and_has_the_entry(client: TestClient) -> None:
    response = client.get("/notices.atom?lang=zh")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{tag}") or "").strip(), tag
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for e in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert (e.findtext(f"{ATOM}{tag}") or "").strip(), tag
        link = e.find(f"{ATOM}link")
        assert link is not None and link.get("href", "").startswith("http")
    s2 = [e for e in entries if (e.findtext(f"{ATOM}title") or "").startswith("示例日用小店")]
    assert s2, [e.findtext(f"{ATOM}title") for e in entries]
    link = s2[0].find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith(shop_href(P1, "S2"))
    assert "虚假交易（刷单炒信）" in (s2[0].findtext(f"{ATOM}summary") or "")
    updated = [e.findtext(f"{ATOM}updated") or "" for e in entries]
    assert updated == sorted(updated, reverse=True) and feed.findtext(f"{ATOM}updated") == updated[0]
    body = response.content.decode()
    assert PERSON_NAME not in body and PERSON_SHOP not in body
    english = ET.fromstring(client.get("/notices.atom?lang=en").content)
    assert english.findtext(f"{ATOM}title") == "Risk notices: serious dishonesty records"
    assert "fake orders (brushing)" in (english.findtext(f"{ATOM}entry/{ATOM}summary") or "")


def notice_records(html: str) -> list[int]:
    return [int(r) for r in re.findall(r'<tr data-testid="notice" data-record="(\d+)"', html)]


def pager_link(html: str, testid: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="\w+" data-testid="{testid}">', html)
    return unescape(found[1]) if found else None


def test_notices_page_by_page_older_then_newer_in_both_languages(client: TestClient) -> None:
    """The page showed the 50 newest notices and no way to the older ones. Pages of `limit`, newest first, by
    "older" and "newer" links (record-id cursors; two notices confirmed at the same instant are told apart by
    id); the same notices as one page, each once."""
    every = notice_records(get(client, "/notices"))
    assert len(every) >= 2  # one act, one notice: a breach of a commitment is part of its act's
    html = get(client, "/notices?limit=1")
    assert pager_link(html, "notices-newer") is None and "更早的风险提示" in html
    pages, href = [notice_records(html)], pager_link(html, "notices-older")
    hrefs = [href]
    while href is not None:
        html = get(client, href)
        pages.append(notice_records(html))
        assert pager_link(html, "notices-newer") is not None  # a later page leads back
        href = pager_link(html, "notices-older")
        hrefs.append(href)
    assert [r for p in pages for r in p] == every and all(len(p) == 1 for p in pages)
    assert hrefs[0] == f"/notices?before={every[0]}&limit=1" and hrefs[-1] is None
    # and back: the newer link of each page shows the page before it
    for i in range(len(pages) - 1, 0, -1):
        newer = pager_link(get(client, f"/notices?before={pages[i - 1][0]}&limit=1"), "notices-newer")
        assert newer is not None and notice_records(get(client, newer)) == pages[i - 1]
    # in English
    english = get(client, "/notices?limit=1", "en")
    assert notice_records(english) == every[:1] and "Older notices →" in english
    second = get(client, pager_link(english, "notices-older") or "", "en")
    assert notice_records(second) == every[1:2] and "← Newer notices" in second
    assert notice_records(get(client, f"/notices?after={every[-1]}&limit=1")) == every[-2:-1]
    # nothing newer than the newest: the first page; nothing older than the oldest: an empty page saying so
    assert notice_records(get(client, f"/notices?after={every[0]}")) == every
    last = get(client, f"/notices?before={every[-1]}", "en")
    assert notice_records(last) == [] and "No risk notice on this page." in last
    assert pager_link(last, "notices-newer") is not None and pager_link(last, "notices-older") is None


def _record_id(client: TestClient, subject: str, severity: str) -> int:
    from sqlalchemy import select

    from chengxin.adapters.db import lists_tables as lt
    from chengxin.adapters.db.engine import read_connection

    cx = client.app.state.chengxin  # type: ignore[attr-defined]
    d = lt.dishonesty_records.c
    with read_connection(cx.engine) as conn:
        return int(conn.execute(select(d.id).where(d.subject_id == subject, d.severity == severity)).scalars().first())


def test_bad_notice_cursors_get_the_error_page_on_the_page_and_the_feed(client: TestClient) -> None:
    """A cursor that is no number, out of range, names no notice (a minor record, a natural person's: its time
    is not for the public either), or two cursors at once: the portal's error page (422) in the page's
    language, never a 500."""
    person, minor = _record_id(client, "S9", "serious"), _record_id(client, "E-M2", "minor")
    bad = ["before=abc", "before=-1", "before=0", f"before={2**70}", "after=1.5", "before=99999999",
           f"before={person}", f"after={minor}", "before=2&after=3", "limit=0", "limit=101", "limit=x"]
    for path in ("/notices", "/notices.atom"):
        for query in bad:
            response = client.get(f"{path}?{query}")
            assert response.status_code == 422, (path, query, response.status_code)
            assert 'data-testid="error-page"' in response.text, (path, query)
    zh, en = client.get("/notices?before=99999999&lang=zh").text, client.get("/notices?before=99999999&lang=en").text
    assert "没有这条风险提示" in zh and "there is no such notice" in en


def test_the_atom_feed_pages_as_the_page_does(client: TestClient) -> None:
    """The feed gives the page's newest notices and pages on as the page does (RFC 5005: `next` older,
    `previous` newer, `first`), each link in the feed's language."""
    every = notice_records(get(client, "/notices"))

    def links(feed: ET.Element) -> dict[str, str]:
        return {link.get("rel", ""): link.get("href", "") for link in feed.findall(f"{ATOM}link")}

    def records(feed: ET.Element) -> list[int]:
        return [int((e.findtext(f"{ATOM}id") or "").rsplit(":", 1)[1]) for e in feed.findall(f"{ATOM}entry")]

    first = ET.fromstring(client.get("/notices.atom?lang=en&limit=1").content)
    assert records(first) == every[:1] and "previous" not in links(first) and "first" not in links(first)
    seen, feed = records(first), first
    while "next" in links(feed):
        href = links(feed)["next"]
        assert href.startswith("http://testserver/notices.atom?lang=en&before=") and href.endswith("&limit=1")
        feed = ET.fromstring(client.get(href.removeprefix("http://testserver")).content)
        assert feed.findtext(f"{ATOM}title") == "Risk notices: serious dishonesty records"
        assert {"previous", "first"} <= set(links(feed))
        seen += records(feed)
    assert seen == every
    whole = ET.fromstring(client.get("/notices.atom").content)
    assert records(whole) == every and not {"next", "previous"} & set(links(whole))


def test_shop_page_shows_list_badge_public_measures_and_commitment(client: TestClient) -> None:
    html = get(client, shop_href(P1, "S1"))
    found = re.search(r'data-testid="list-badge" data-list="black">(.*?)</div>', html, re.S)
    assert found, "no black-list badge"
    badge = text_of(found[1])
    for text in ("严重失信名单（黑名单）", FAKE_ORDERS_ZH, BLACK_BASIS):
        assert text in badge, text
    assert 'href="/lists/black"' in html
    start = html.index('data-testid="measures"')
    measures = text_of(html[start:html.index("</section>", start)])
    assert "店铺屏蔽" in measures and "电子商务法 第三十六条" in measures
    assert "搜索排序权重" not in measures and "抽查频次" not in measures  # platforms' and regulators' only
    start = html.index('data-testid="commitments"')
    commitments = text_of(html[start:html.index("</section>", start)])
    for text in ("电子商务经营者信用承诺书", "主动型承诺", "2027-01-08", "依法经营，信息真实", "七天无理由退货",
                 "违法失信自愿接受约束和惩戒", "不进行虚构交易、编造用户评价等刷单炒信行为，不组织或参与虚假交易。"):
        assert text in commitments, text
    english = text_of(get(client, shop_href(P1, "S1"), "en"))
    for text in ("black list (serious dishonesty)", FAKE_ORDERS_EN, "shop hidden from search",
                 "e-commerce merchant credit commitment", "We do not fake orders or reviews"):
        assert text in english, text


def test_a_shop_on_no_list_has_no_badge_nor_measures(portal_client: TestClient) -> None:
    html = get(portal_client, shop_href(P1, "S1"))  # the plain sample: nobody is listed yet
    assert 'data-list="black"' not in html and 'data-measure="hide_shop"' not in html
    assert 'data-testid="commitment"' in html and "七天无理由退货" in html


def test_list_and_breach_records_read_as_sentences_in_both_languages(client: TestClient) -> None:
    """`list_entered` and `commitment_breach` are public credit records: they showed their raw kind and JSON
    (found by review). Every public kind has a label and a sentence."""
    from chengxin.entrypoints.web import i18n, present
    from chengxin.services.credit_file import PUBLIC_KINDS

    for kind in PUBLIC_KINDS:
        assert f"record.{kind}" in i18n.MESSAGES["zh"] and f"record.{kind}" in i18n.MESSAGES["en"], kind
        assert kind in present._DESCRIBERS, kind
    zh = text_of(get(client, shop_href(P1, "S1") + "&limit=200"))
    en = text_of(get(client, shop_href(P1, "S1") + "&limit=200", "en"))
    assert "list_entered" not in zh and "commitment_breach" not in zh and '{"' not in zh
    assert "列入严重失信名单（黑名单）" in zh and "Entered the black list (serious dishonesty)" in en
    assert "违反信用承诺《电子商务经营者信用承诺书》标准文本第" in zh and "Broke clause" in en


def test_the_operators_own_page_shows_its_lists_measures_and_commitments(client: TestClient) -> None:
    """Black-list members link to the business's page, which showed none of it (found by review)."""
    html = get(client, party_href(P1, "M1"))
    assert 'data-testid="list-badge" data-list="black"' in html and 'data-testid="measures"' in html
    start = html.index('data-testid="commitments"')
    assert "电子商务经营者信用承诺书" in text_of(html[start:html.index("</section>", start)])


def test_search_results_say_which_platform_and_which_public_list(client: TestClient) -> None:
    """Two shops of one name were told apart by nothing, and a blacklisted shop looked like any other among
    the results (found by review)."""
    for lang, black, platform in (("zh", "严重失信名单（黑名单）", "所在平台："),
                                  ("en", "black list (serious dishonesty)", "on ")):
        html = get(client, "/search?q=" + quote("示例"), lang)
        results = re.findall(r'<li class="card result">(.*?)</li>', html, re.S)
        s2 = next(r for r in results if 'data-testid="result-link">示例日用小店<' in r)
        assert 'data-list="black"' in s2 and black in text_of(s2)
        assert platform in text_of(s2)


def test_search_results_show_each_shops_grade_as_its_page_does(client: TestClient) -> None:
    """A D-graded shop looked like an A-graded one among the results. The grade shown is the shop page's:
    capped by the black list's `lower_grade` measure; none for a natural person's shop (its operator's score
    counts accounts the public may not learn of)."""
    from chengxin.services import parties, shop_search
    from chengxin.services.viewer import ANONYMOUS

    cx = client.app.state.chengxin  # type: ignore[attr-defined]
    found = {s["id"]: s for s in shop_search.search_shops(cx, "示例", limit=50)}
    for shop in ("S1", "S2"):
        page = parties.show(cx, P1, shop, ANONYMOUS)
        assert (found[shop]["grade"], found[shop]["grade_computed"]) == (page["grade"], page.get("grade_computed"))
    assert (found["S1"]["grade"], found["S1"]["grade_computed"]) == ("D", "B")  # capped by the black list
    person = shop_search.search_shops(cx, PERSON_SHOP)[0]
    assert person["grade"] is None and person["score_withheld"] == "natural_person"
    for lang, words in (("zh", "信用等级 D"), ("en", "Credit grade D")):
        html = get(client, "/search?q=" + quote("示例"), lang)
        results = re.findall(r'<li class="card result">(.*?)</li>', html, re.S)
        row = next(r for r in results if 'data-testid="result-link">示例食品旗舰店<' in r)
        assert 'data-testid="result-grade" data-grade="D"' in row and words in text_of(row)
    html = get(client, "/search?q=" + quote(PERSON_SHOP))
    assert 'data-testid="result-grade"' not in html


def test_the_feed_names_the_configured_address_and_never_caches_a_callers_host(client: TestClient) -> None:
    """Links were built from the request's Host header and the feed was cacheable: a cache in front could keep
    another host's links for every reader (found by review). Without `public_url` the answer is for its caller
    only; with it, the links name it whatever the Host."""
    forged = client.get("/notices.atom", headers={"Host": "evil.example"})
    assert forged.headers["cache-control"] == "no-store" and "http://evil.example/" in forged.text


def test_a_configured_public_address_is_what_the_feed_links(tmp_path: Path) -> None:
    from dataclasses import replace

    cx = make_listed_cx(tmp_path)
    cx = replace(cx, settings=cx.settings.model_copy(update={"public_url": "https://credit.example.gov.cn"}))
    with TestClient(create_app(cx)) as c:
        response = c.get("/notices.atom", headers={"Host": "evil.example"})
    body = response.content.decode()
    assert "evil.example" not in body and "https://credit.example.gov.cn/notices.atom" in body
    assert response.headers["cache-control"] == "public, max-age=300"
    cx.engine.dispose()
