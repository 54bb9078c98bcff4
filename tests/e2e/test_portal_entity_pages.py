"""Public review findings 2, 6, 10, 11: one business reported by several reporters (who verified it, why another
report carries no check, reporters by name), record pages in plain words with their subject named and linked, a
link without its source, plain licence names, the partial in-browser check of a masked record, the language of
Chinese parts on English pages, and the shop page's reading order on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.e2e.conftest import P1, make_portal_cx, serve_in_thread

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web import present_entities
from chengxin.entrypoints.web.i18n import Translator
from chengxin.entrypoints.web.present import party_href, shop_href
from chengxin.services import review
from chengxin.services.viewer import Viewer

REGULATOR_310000 = "urn:cx:regulator:310000"
L1 = "urn:cx:logistics:L1"
PLATFORM_NAME = "示例电商平台有限公司"
WEB = Path(present_entities.__file__).parent


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chengxin]:
    """The sample (M2 reported by P1, verified, and by the regulator 310000 as E-M2, not; the logistics firm LG
    by P1, verified, and by L1 itself, not), with an empty-parcel finding at S1 a regulator confirmed."""
    cx = make_portal_cx(tmp_path_factory.mktemp("portal-entities"))
    found = Finding("empty_parcel", 0.96, {"orders": ((P1, "O1"),)}, {"level": "order", "tells": {"light": {}}})
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (found,), detector="entities", run_id="detect-entities")
    review.publish(cx)
    officer = Viewer("regulator", key_id="k-officer")
    review.decide(cx, 1, "confirm", officer, "40 g parcel for a 650 g box", "沪市监〔2026〕7号")
    yield cx
    cx.engine.dispose()


@pytest.fixture(scope="module")
def client(store: Chengxin) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as c:
        yield c


def index_of(cx: Chengxin, kind: str) -> int:
    with read_connection(cx.engine) as conn:
        return int(conn.execute(select(t.credit_records.c.idx).where(t.credit_records.c.kind == kind)
                                .order_by(t.credit_records.c.idx)).scalars().first())


def text_of(html: str) -> str:
    html = re.sub(r"</?span[^>]*>", "", re.sub(r"<script.*?</script>", "", html, flags=re.S))
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def part(html: str, testid: str, end: str = "</div>") -> str:
    return html[html.index(f'data-testid="{testid}"'):].split(end)[0]


# --- finding 2: one business, several reporters ------------------------------------------------------------


def test_a_business_reported_by_a_platform_and_a_regulator_has_one_mark_and_says_who_verified_it(
        client: TestClient) -> None:
    """The search listed 上海普陀区鑫源食品店 twice, "✓ verified" (platform) and "! not verified" (regulator), with
    URNs as reporters. Its page now says one thing, and explains the other report."""
    for url in (party_href(REGULATOR_310000, "E-M2"), party_href(P1, "M2"), shop_href(P1, "S2")):
        html = client.get(url + "&lang=zh").text
        check = part(html, "entity-check")
        assert 'data-state="verified"' in check, url
        summary = text_of(part(html, "entity-summary", "</p>"))
        assert f"已由{PLATFORM_NAME}实名核验" in summary and "上海市市场监管部门的报送未附实名核验结果" in summary
        assert "不表示核验未通过" in summary
        rows = re.findall(r'data-testid="entity-report" data-state="(\w+)" data-source="([^"]+)"', check)
        assert sorted(rows) == [("unverified", REGULATOR_310000), ("verified", P1)], url
        assert "urn:cx:" not in text_of(html), url  # no reporter as a URN anywhere on the page


def test_a_party_pages_reporters_are_named_one_by_one(client: TestClient) -> None:
    """`urn:cx:logistics:L1urn:cx:platform:M1urn:cx:platform:M2` ran together (found by review)."""
    html = client.get(party_href(L1, "LG") + "&lang=zh").text
    names = re.findall(r'data-testid="party-reporter">([^<]+)<', html)
    assert sorted(names) == sorted([PLATFORM_NAME, "示例速递有限公司"])
    assert '<span class="sr-only">、</span>' in part(html, "party-reporters", "</dd>")
    en = client.get(party_href(L1, "LG") + "&lang=en").text
    summary = text_of(part(en, "entity-summary", "</p>"))
    assert f"Identity verified by {PLATFORM_NAME}." in summary and "did not report a check" in summary


def test_one_entity_is_reconciled_over_its_reports() -> None:
    zh, en = Translator("zh"), Translator("en")
    ok = {"source": P1, "id": "M", "identity": {"valid": True, "verified": True}}
    none = {"source": REGULATOR_310000, "id": "E", "identity": {"valid": True, "verified": False}}
    bad = {"source": "urn:cx:platform:P9", "id": "X", "identity": {"valid": False, "verified": False,
                                                                   "reason": "uscc: check character wrong"}}
    names = {P1: PLATFORM_NAME, "urn:cx:platform:P9": "另一平台"}
    assert present_entities.entity_verification(zh, [ok], names)["summary"] == f"已由{PLATFORM_NAME}实名核验。"
    assert present_entities.entity_verification(zh, [none], names)["state"] == "unverified"
    assert present_entities.entity_verification(zh, [none], names)["summary"] == "尚无报送方实名核验该经营主体。"
    mixed = present_entities.entity_verification(en, [ok, none, bad], names)
    assert mixed["state"] == "invalid" and mixed["mixed"]  # not valid somewhere outweighs verified elsewhere
    assert mixed["summary"].startswith("另一平台 reported identity details that are not valid.")
    assert f"Identity verified by {PLATFORM_NAME}." in mixed["summary"]
    assert "Market regulator of 上海市 reported it without an identity check." in mixed["summary"]
    assert [r["reason"] for r in mixed["rows"]] == [None, None, "uscc: check character wrong"]
    grouped = present_entities.group_entities([{**ok, "name": "甲", "kind": "enterprise", "uscc": "U1"},
                                               {**none, "name": "甲", "kind": "enterprise", "uscc": "U1"},
                                               {**bad, "name": "乙", "kind": "enterprise", "uscc": "U2"}])
    assert [(g["uscc"], len(g["reports"])) for g in grouped] == [("U1", 2), ("U2", 1)]


def test_reporters_are_named_never_as_urns() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert present_entities.reporter_name(zh, REGULATOR_310000) == "上海市市场监管部门"
    assert present_entities.reporter_name(en, REGULATOR_310000) == "market regulator of 上海市"
    assert present_entities.reporter_name(zh, P1, {P1: PLATFORM_NAME}) == PLATFORM_NAME
    assert present_entities.reporter_name(zh, "urn:cx:platform:P7") == "其他报送方"


# --- finding 6: record pages, licence names, links without a source ----------------------------------------


def test_a_record_page_names_its_shop_and_says_its_fields_in_words(client: TestClient, store: Chengxin) -> None:
    html = client.get(f"/records/{index_of(store, 'confirmed')}?lang=zh").text
    link = part(html, "record-subject", "</dd>")
    assert f'href="{shop_href(P1, "S1")}"'.replace("&", "&amp;") in link and "示例食品旗舰店" in link
    assert "urn:cx:" not in text_of(link)
    plain = text_of(part(html, "plain-fields", "</dl>"))
    assert "失信行为类型 空包裹代发" in plain and "认定方 监管部门" in plain
    assert "自动检测评分（0–1） 0.96" in plain  # the detector's score, not a buyer's rating
    outside = text_of(re.sub(r"<details.*?</details>", "", html, flags=re.S))
    for code in ("finding_kind", "run_id", "decided_by", "urn:cx:", "empty_parcel"):
        assert code not in outside, code
    technical = html[html.index('data-testid="technical-details"'):].split("</details>")[0]
    assert "<summary>技术细节" in technical and "finding_kind" in technical and "urn:cx:chengxin:review" in technical
    assert "<details open" not in html  # folded: for experts


def test_a_records_reporter_is_named(client: TestClient, store: Chengxin) -> None:
    with read_connection(store.engine) as conn:
        index = conn.execute(select(t.credit_records.c.idx).where(
            t.credit_records.c.event_source == REGULATOR_310000, t.credit_records.c.kind == "identity")).scalar()
    html = client.get(f"/records/{index}?lang=zh").text
    assert text_of(part(html, "record-reporter", "</dd>")).strip(' >"').endswith("上海市市场监管部门")
    assert "监管部门（310000）" not in html
    assert "杭州西湖区示例日用品店" in text_of(part(html, "record-subject", "</dd>"))


def test_english_licence_names_carry_no_notes_for_developers(client: TestClient) -> None:
    html = client.get(shop_href(P1, "S1") + "&lang=en").text
    assert ">Food business permit<" in html and ">Business licence<" in html
    assert "Published food business permit, number JY13101040000001" in text_of(html)  # in a sentence too
    for gloss in ("(number JY", "its number is the USCC", "14 digits"):
        assert gloss not in html, gloss


def test_a_link_without_its_source_leads_somewhere(client: TestClient) -> None:
    one = client.get("/shops/S1?lang=zh", follow_redirects=False)
    assert one.status_code == 303 and one.headers["location"] == shop_href(P1, "S1") + "&lang=zh"
    two = client.get("/parties/LG?lang=zh")  # reported by P1 and by L1: choose
    assert two.status_code == 200 and "缺少参数" not in two.text
    links = re.findall(r'<a href="([^"]+)" data-testid="pick-link">', two.text)
    assert sorted(unescape(h) for h in links) == sorted([party_href(P1, "LG"), party_href(L1, "LG")])
    assert "报送方：示例速递有限公司" in text_of(two.text)
    none = client.get("/shops/NOPE?lang=zh")
    assert none.status_code == 404 and "没有编号为“NOPE”的网店或主体" in none.text


# --- finding 11: language of parts, reading order ---------------------------------------------------------


def test_english_pages_mark_chinese_names_as_chinese(client: TestClient) -> None:
    en = client.get(shop_href(P1, "S1") + "&lang=en").text
    assert '<h1 data-testid="shop-name"><span lang="zh-CN">示例食品旗舰店</span></h1>' in en
    assert '<dd data-testid="operator-name"><span lang="zh-CN">上海示例食品有限公司</span></dd>' in en
    assert re.search(r'id="lang-switch"[^>]*lang="zh-CN"', en)
    zh = client.get(shop_href(P1, "S1") + "&lang=zh").text
    assert 'lang="zh-CN">' not in zh.split("<body>")[1].split('id="lang-switch"')[1]  # a zh page needs none
    assert re.search(r'id="lang-switch"[^>]*lang="en"', zh)
    assert str(present_entities.zh(Translator("en"), "电话138****5678")) == '<span lang="zh-CN">电话</span>138****5678'


def test_the_shop_pages_document_order_puts_the_grade_before_the_measures(client: TestClient) -> None:
    html = client.get(shop_href(P1, "S1") + "&lang=zh").text
    order = [m for m in re.findall(r'data-testid="(credit|standing|operator|records)"', html)]
    assert order == ["credit", "standing", "operator", "records"]
    template = (WEB / "templates/shop.html").read_text()
    assert template.index("credit_card(") < template.index("measures_card(") < template.index("standing_card(")
    assert not re.search(r"\border\s*:", (WEB / "static/portal.css").read_text().split(".site-nav { order")[-1])


# --- in the browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(store: Chengxin) -> Iterator[str]:
    yield from serve_in_thread(create_app(store), "entities-uvicorn")


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="zh-CN", viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_on_a_phone_the_shop_page_is_seen_in_its_reading_order(phone: Page) -> None:
    """On phones the grade was moved up by CSS `order` only: screen readers heard the measures first."""
    phone.goto(shop_href(P1, "S1"))
    tops = phone.eval_on_selector_all(".shop-profile > *", "els => els.map(e => e.getBoundingClientRect().top)")
    assert len(tops) >= 5 and tops == sorted(tops)


@pytest.mark.browser
def test_a_masked_records_check_is_labelled_partial_not_verified(phone: Page, store: Chengxin) -> None:
    phone.goto(f"/records/{index_of(store, 'confirmed')}")
    result = phone.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-state", "partial")
    expect(result).to_have_class("partial")
    expect(result).to_contain_text("部分验证")
    assert "✓" not in result.inner_text()
    colour = result.evaluate("e => getComputedStyle(e).color")
    ok = phone.evaluate("() => { const s = document.createElement('span'); s.className = 'ok'; "
                        "document.body.append(s); return getComputedStyle(s).color; }")
    assert colour != ok  # not the green of a full check
    expect(phone.get_by_test_id("partial-why")).to_contain_text("无法自行核对本页所示内容与日志一致")
    expect(phone.get_by_test_id("signature-result")).to_have_attribute("data-state", "verified")
    phone.goto(f"/records/{index_of(store, 'licence')}")  # a record shown whole: the full check, its green tick
    full = phone.get_by_test_id("verify-result")
    expect(full).to_have_attribute("data-state", "verified")
    expect(full).to_have_class("ok")
    expect(full).to_contain_text("✓")
    expect(phone.get_by_test_id("partial-why")).to_have_count(0)


def test_english_list_and_notice_pages_mark_chinese_names_as_chinese(tmp_path: Path) -> None:
    """/lists/black?lang=en had no lang attribute but the page's: an English screen reader read every listed
    name as English (found by review)."""
    from tests.e2e.test_portal_lists import make_listed_cx

    cx = make_listed_cx(tmp_path)
    with TestClient(create_app(cx)) as c:
        black = c.get("/lists/black?lang=en").text
        names = re.findall(r'data-testid="member-name">(.*?)</', black)
        assert names and all(n.startswith('<span lang="zh-CN">') for n in names), names
        notices = c.get("/notices?lang=en").text
        shops = re.findall(r'data-testid="notice-(?:shop|party)">(.*?)</', notices)
        assert shops and all(s.startswith('<span lang="zh-CN">') for s in shops), shops
        assert 'lang="zh-CN"' not in c.get("/lists/black?lang=zh").text.split("<body>")[1].split('id="lang-switch"')[1]
    cx.engine.dispose()
