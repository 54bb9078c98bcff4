"""The portal without JavaScript (FastAPI TestClient): pages, fragments, languages, errors, and a PII leak scan."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from stdnum.cn import ric

from chengxin.adapters.db import tables as t
from chengxin.bootstrap import Chengxin
from chengxin.domain import merkle
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web import i18n, render, routes
from chengxin.entrypoints.web.present import party_href, shop_href
from chengxin.services import credit_file, parties

SAMPLE = Path(__file__).resolve().parents[2] / "spec/sample-v1.jsonl"
P1 = "urn:cx:platform:P1"
WEB = Path(render.__file__).parent
S1, S2 = shop_href(P1, "S1"), shop_href(P1, "S2")
PERSONS = {"31010419900307123X": "张三", "110105198511224567": "李四", "440305199208157893": "王五"}


def test_home_has_a_search_form_that_works_without_js(portal_client: TestClient) -> None:
    html = portal_client.get("/").text
    assert '<html lang="zh-CN">' in html
    assert 'action="/search"' in html and 'name="q"' in html
    assert 'hx-get="/search"' in html and 'hx-target="#results"' in html
    assert 'href="/docs"' in html and 'href="/v1/log/head"' in html
    assert "https://" not in html.split("<body>")[0]  # no CDN: every asset is served from here


def test_vendored_htmx_matches_its_sri_hash(portal_client: TestClient) -> None:
    body = portal_client.get("/static/htmx.min.js").content
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert f"sha384-{digest}" == render.HTMX_SRI
    assert f'integrity="{render.HTMX_SRI}"' in portal_client.get("/").text
    assert b"version:\"2.0.11\"" in body or b'"2.0.11"' in body


def test_search_without_htmx_returns_the_whole_page(portal_client: TestClient) -> None:
    r = portal_client.get("/search", params={"q": "示例"})
    assert r.status_code == 200 and r.text.lstrip().startswith("<!doctype html>")
    assert "示例食品旗舰店" in r.text and "示例日用小店" in r.text
    assert f'href="{S1}"'.replace("&", "&amp;") in r.text


def test_search_with_htmx_returns_only_the_fragment(portal_client: TestClient) -> None:
    r = portal_client.get("/search", params={"q": "示例"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and "<footer" not in r.text
    assert "示例食品旗舰店" in r.text and 'data-testid="result-link"' in r.text
    assert r.headers["vary"] == "HX-Request"


@pytest.mark.parametrize("query", ["91310104MA1FL8XQ36", "9131 0104 MA1F L8XQ36",
                                   "".join(chr(ord(c) + 0xFEE0) for c in "91310104MA1FL8XQ36"),  # full-width
                                   "https://s1.shop.example", "https://s1.shop.example/", "s1.shop.example",
                                   "HTTP://www.S1.shop.example/", "旗舰"])
def test_search_finds_the_shop_by_uscc_url_or_name(portal_client: TestClient, query: str) -> None:
    html = portal_client.get("/search", params={"q": query}, headers={"HX-Request": "true"}).text
    assert "示例食品旗舰店" in html and "示例日用小店" not in html


def test_search_by_uscc_finds_a_party_without_shops(portal_client: TestClient) -> None:
    html = portal_client.get("/search", params={"q": "91310000MA1K3R5T2F"}).text
    assert "示例速递有限公司" in html
    assert party_href(P1, "LG").replace("&", "&amp;") in html


def test_search_marks_a_closed_shop_and_never_guesses_open(portal_client: TestClient) -> None:
    html = portal_client.get("/search", params={"q": "92330106MA2B7C4D1W"}, headers={"HX-Request": "true"}).text
    assert "示例日用小店" in html and "已关闭" in html
    by_name = portal_client.get("/search", params={"q": "示例"}, headers={"HX-Request": "true"}).text
    assert "营业中" not in by_name


def test_search_by_name_marks_a_closed_shop(portal_client: TestClient) -> None:
    html = portal_client.get("/search", params={"q": "日用小店"}, headers={"HX-Request": "true"}).text
    assert "已关闭" in html


def test_search_by_resident_id_finds_nobody(portal_client: TestClient) -> None:
    html = portal_client.get("/search", params={"q": "31010419900307123X"}, headers={"HX-Request": "true"}).text
    assert 'data-testid="no-results"' in html and "张" not in html and "result-link" not in html


def test_search_without_match_says_so(portal_client: TestClient) -> None:
    html = portal_client.get("/search", params={"q": "不存在的店"}, headers={"HX-Request": "true"}).text
    assert 'data-testid="no-results"' in html and "不存在的店" in html


def test_shop_page_shows_identity_licences_and_records(portal_client: TestClient) -> None:
    html = portal_client.get(S1).text
    for text in ("示例食品旗舰店", "https://s1.shop.example", "上海示例食品有限公司", "91310104MA1FL8XQ36",
                 "上海市徐汇区", "已实名核验", "食品经营许可证", "JY13101040000001", "营业执照", "经营所需证照齐全",
                 "营业中", 'href="/records/9"', "验证收录"):
        assert text in html, text
    assert 'data-licence-type="food_business"' in html
    assert 'data-testid="licence-gap"' not in html


def test_shop_with_missing_licences_is_flagged(portal_client: TestClient) -> None:
    html = portal_client.get(S2).text
    assert 'data-testid="gap-banner"' in html
    assert 'data-category="farm_produce"' in html and "食用农产品" in html
    assert "已关闭" in html and "operator request" in html
    # the regulator's sanction on the operator was lifted as repaired (s-047): no longer public
    assert "杭西市监罚〔2026〕12号" not in html and 'data-record-kind="sanction' not in html


def test_english_is_chosen_by_query_and_kept_by_cookie(portal_app: object) -> None:
    with TestClient(portal_app) as client:  # type: ignore[arg-type]
        first = client.get(S1 + "&lang=en")
        assert '<html lang="en">' in first.text and "Business licence and permits" in first.text
        assert "Food business permit" in first.text and "Identity verified" in first.text
        assert first.cookies.get(i18n.COOKIE) == "en"
        later = client.get("/")
        assert '<html lang="en">' in later.text and "Search shops" in later.text
        back = client.get("/?lang=zh")
        assert '<html lang="zh-CN">' in back.text and "查询网店" in back.text


def test_person_page_shows_only_masked_name_and_mark(portal_client: TestClient) -> None:
    html = portal_client.get(party_href(P1, "U1")).text
    assert "张*" in html and 'data-state="verified"' in html and 'data-testid="person-notice"' in html
    assert "张三" not in html and "31010419900307123X" not in html and "123X" not in html
    assert "3101" not in html.split("<main")[1]  # not even the masked ID number or the region code


def test_logistics_firm_page_uses_the_public_view(portal_client: TestClient) -> None:
    html = portal_client.get(party_href(P1, "LG")).text
    assert "示例速递有限公司" in html and "91310000MA1K3R5T2F" in html
    assert "urn:cx:logistics:L1" in html  # both reports of the firm
    assert "买家给物流服务评分 4/5" in html


def test_record_page_carries_a_proof_that_verifies(portal_client: TestClient) -> None:
    html = portal_client.get("/records/9").text
    data = json.loads(re.search(r'<script type="application/json" id="proof-data">(.*?)</script>', html, re.S)[1])
    record = data["record"]
    assert record["index"] == 9 and data["size"] == 25  # the sample's 23 records and 2 consequences
    assert "leaf" not in data  # the browser derives the leaf hash from the record's leaf bytes, never trusts one
    leaf = base64.b64decode(record["leaf_bytes"])
    assert json.loads(leaf)["payload"] == record["payload"] and json.loads(leaf)["event"][2] == record["event"]["hash"]
    merkle.verify_inclusion(merkle.leaf_hash(leaf), record["index"], data["size"],
                            [base64.b64decode(p) for p in data["proof"]], base64.b64decode(data["root"]))
    assert data["note"] == f"{data['origin']}\n{data['size']}\n{data['root']}\n{data['signed_at']}\n"
    for text in ('data-testid="verify-result"', "/static/verify.js", data["root"], data["signature"], "签名树头",
                 "食品经营许可证", "JY13101040000001"):
        assert text in html, text


@pytest.mark.parametrize("url", ["/shops/NOPE?source=" + quote(P1, safe=""), "/parties/NOPE?source=x",
                                 "/records/3", "/records/999", "/no/such/page"])
def test_missing_things_get_the_friendly_404_page(portal_client: TestClient, url: str) -> None:
    r = portal_client.get(url)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'data-testid="error-page"' in r.text and "没有找到您要的内容" in r.text and 'href="/docs"' in r.text
    assert 'action="/search"' in r.text.split('data-testid="error-page"')[1]  # search from where the link broke


def test_bad_parameters_get_a_friendly_page(portal_client: TestClient) -> None:
    for url in ("/records/abc", "/records/-1"):  # a shop link without its source: test_portal_entity_pages
        r = portal_client.get(url)
        assert r.status_code == 422 and 'data-testid="error-page"' in r.text, url


def test_api_errors_stay_json(portal_client: TestClient) -> None:
    r = portal_client.get("/v1/parties/NOPE", params={"source": P1})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert portal_client.get("/v1/no-such-endpoint").json() == {"error": "not_found", "detail": "Not Found"}


def test_shop_and_party_urls_redirect_to_each_other(portal_client: TestClient) -> None:
    r = portal_client.get(party_href(P1, "S1"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == S1
    r = portal_client.get(shop_href(P1, "M1"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == party_href(P1, "M1")


def test_untrusted_text_is_escaped_and_bad_links_are_not_linked(
        tmp_path: Path, portal_factory: Callable[..., Chengxin]) -> None:
    line = {"specversion": "1.0", "id": "x-1", "source": P1, "type": "cx.shop.opened",
            "time": "2026-03-01T09:00:00+08:00",
            "data": {"shop_id": "S<9>", "operator_id": "M1", "name": "<script>alert(1)</script>店",
                     "url": "javascript:alert(1)", "categories": ["food"]}}
    cx = portal_factory(tmp_path, json.dumps(line, ensure_ascii=False).encode())
    with TestClient(create_app(cx)) as client:
        html = client.get(shop_href(P1, "S<9>")).text
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;店" in html
        assert 'href="javascript:' not in html
        found = client.get("/search", params={"q": "alert"}).text
        assert "<script>alert" not in found and "/shops/S%3C9%3E?source=" in found
    cx.engine.dispose()


def test_every_template_message_is_in_both_catalogues() -> None:
    assert set(i18n.MESSAGES["zh"]) == set(i18n.MESSAGES["en"])
    used = set()
    for path in (WEB / "templates").glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.0-9]+)["']\s*[,)]""", path.read_text()))
    assert used and not used - set(i18n.MESSAGES["zh"])


# --- a store with more: an invalid identity, many records, sanctions ------------------------------------------

REG = "urn:cx:regulator:310000"
DAY = date(2027, 1, 10)  # "today" of the sanction pages (the service's clock is replaced)
INSPECTIONS = 25


def _event(event_id: str, source: str, type_: str, data: dict[str, Any],
           time: str = "2026-11-01T09:00:00+08:00") -> bytes:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": source, "type": type_, "time": time,
                       "data": data}, ensure_ascii=False).encode()


def _sanction(sanction_id: str, until: date) -> bytes:
    return _event(f"imp-{sanction_id}", REG, "cx.sanction.imposed", {
        "sanction_id": sanction_id, "subject_id": {"source": P1, "id": "M1"}, "kind": "administrative_penalty",
        "authority": "上海市徐汇区市场监督管理局", "decision_no": f"徐市监罚〔2026〕{sanction_id}号",
        "legal_basis": "《中华人民共和国价格法》第十四条", "category": "price_fraud",
        "disclose_until": until.isoformat()})


def _more_lines() -> list[bytes]:
    bad_uscc = _event("m-1", P1, "cx.subject.registered", {
        "subject_id": "M9", "kind": "enterprise", "name": "上海校验有误贸易有限公司", "uscc": "91310104MA1FL8XQ37",
        "region": "310104"})
    shop = _event("m-2", P1, "cx.shop.opened", {"shop_id": "S9", "operator_id": "M9", "name": "校验有误小店",
                                               "url": "https://s9.shop.example", "categories": ["daily_goods"]})
    inspections = [_event(f"in-{i}", REG, "cx.inspection.recorded", {
        "inspection_id": f"IN-{i}", "subject_id": {"source": P1, "id": "M1"}, "authority": "上海市徐汇区市场监督管理局",
        "result": "pass"}, time=f"2026-10-{1 + i:02d}T09:00:00+08:00") for i in range(INSPECTIONS)]
    lifted = _event("lift-71", REG, "cx.sanction.lifted", {"sanction_id": "71", "reason": "expired"},
                    time="2026-11-02T09:00:00+08:00")
    repaired = _event("lift-72", REG, "cx.sanction.lifted", {"sanction_id": "72", "reason": "repaired"},
                      time="2026-11-02T09:00:00+08:00")
    later = DAY + timedelta(days=365)
    sanctions = [_sanction("70", DAY), _sanction("69", DAY - timedelta(days=1)), _sanction("71", later), lifted,
                 _sanction("72", later), repaired]
    return [bad_uscc, shop, *inspections, *sanctions]


@pytest.fixture(scope="module")
def more_client(tmp_path_factory: pytest.TempPathFactory,
                portal_factory: Callable[..., Chengxin]) -> Iterator[TestClient]:
    cx = portal_factory(tmp_path_factory.mktemp("more"), *_more_lines())
    with TestClient(create_app(cx)) as client:
        yield client
    cx.engine.dispose()


@pytest.fixture
def on_day(monkeypatch: pytest.MonkeyPatch) -> date:
    monkeypatch.setattr(credit_file, "today", lambda: DAY)
    return DAY


def test_identity_reason_is_shown_in_the_pages_language(more_client: TestClient) -> None:
    zh = more_client.get(shop_href(P1, "S9") + "&lang=zh").text
    assert 'data-state="invalid"' in zh and "统一社会信用代码校验位错误" in zh
    assert "uscc: check character wrong" not in zh
    en = more_client.get(shop_href(P1, "S9") + "&lang=en").text
    assert "uscc: check character wrong" in en and "统一社会信用代码校验位错误" not in en
    party = more_client.get(party_href(P1, "M9") + "&lang=zh").text  # the mark and the identity record's description
    assert party.count("统一社会信用代码校验位错误") == 2 and "check character wrong" not in party


def test_older_records_are_behind_a_link(more_client: TestClient, on_day: date) -> None:
    first = more_client.get(S1 + "&lang=zh").text
    rows = re.findall(r'data-record-kind="([a-z_]+)"', first)
    assert len(rows) == routes.PAGE_SIZE and 'data-testid="newest-records"' not in first
    older = re.search(r'<a href="([^"]+)" rel="next" data-testid="older-records">较早的记录', first)
    assert older is not None
    second = more_client.get(older[1].replace("&amp;", "&")).text
    more_rows = re.findall(r'data-record-kind="([a-z_]+)"', second)
    assert 'data-testid="newest-records"' in second and 'data-testid="older-records"' not in second
    first_links = set(re.findall(r'href="/records/(\d+)"', first))
    second_links = set(re.findall(r'href="/records/(\d+)"', second))
    assert first_links and second_links and not first_links & second_links
    total = int(re.search(r"共 (\d+) 条", first)[1])  # type: ignore[index]
    assert len(rows) + len(more_rows) == total > routes.PAGE_SIZE
    assert more_client.get(S1 + "&before=-1").status_code == 422


def test_a_lifted_sanction_is_marked_and_a_withdrawn_one_is_not_public(more_client: TestClient,
                                                                      on_day: date) -> None:
    zh = more_client.get(party_href(P1, "M1") + "&lang=zh").text
    assert "徐市监罚〔2026〕70号" in zh  # disclose_until is today: still shown
    assert "徐市监罚〔2026〕69号" not in zh  # its period ended yesterday
    assert "徐市监罚〔2026〕72号" not in zh  # lifted as repaired
    lifted = re.findall(r'data-testid="sanction-lifted">([^<]+)<', zh)
    assert lifted == ["已解除（2026-11-02）：公示期满"]  # sanction 71, lifted as expired, still in its period
    en = more_client.get(party_href(P1, "M1") + "&lang=en").text
    lifted_en = re.findall(r'data-testid="sanction-lifted">([^<]+)<', en)
    assert lifted_en == ["lifted on 2026-11-02: disclosure period ended"]


def test_record_page_shows_the_servers_inclusion_and_signature_checks(portal_client: TestClient) -> None:
    html = portal_client.get("/records/9").text
    assert re.search(r'data-testid="server-result"\s+data-state="verified"', html)
    assert re.search(r'data-testid="server-signature"\s+data-state="verified"', html)
    assert "签名（服务器验证）" in html and "已通过 ✓（服务器已用本节点公钥核对树头签名）" in html


def test_record_page_says_when_the_server_finds_a_bad_signature(
        tmp_path: Path, portal_factory: Callable[..., Chengxin]) -> None:
    cx = portal_factory(tmp_path)
    with cx.engine.begin() as conn:
        conn.execute(t.tree_heads.update().values(signature=bytes(64)))
    with TestClient(create_app(cx)) as client:
        html = client.get("/records/9").text
    cx.engine.dispose()
    assert re.search(r'data-testid="server-result"\s+data-state="verified"', html)
    assert re.search(r'data-testid="server-signature"\s+data-state="failed"', html)
    assert "未通过 ✗（树头签名与本节点公钥不符）" in html


def test_search_by_uscc_lists_parties_without_building_credit_files(
        portal_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_full_views(*args: object, **kwargs: object) -> None:
        raise AssertionError("search must not build whole credit files")

    monkeypatch.setattr(parties, "show", no_full_views)
    html = portal_client.get("/search", params={"q": "92330106MA2B7C4D1W"}, headers={"HX-Request": "true"}).text
    links = re.findall(r'data-testid="party-link">([^<]+)<', html)
    assert links == ["杭州西湖区示例日用品店"]  # one business, reported by P1 and by the regulator
    assert html.count('data-testid="party-report-link"') == 2  # each report linked by its reporter's name
    assert party_href(P1, "M2").replace("&", "&amp;") in html and "92330106MA2B7C4D1W" in html
    assert html.count('data-testid="verify-mark"') == 1


# --- leak scan ------------------------------------------------------------------------------------------


def _portal_urls(client: TestClient) -> list[str]:
    events = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    urls = ["/", "/search?q=" + quote("示例"), "/search?q=" + quote("有限公司")]
    for e in events:
        d = e["data"]
        if e["type"] == "cx.subject.registered":
            urls.append(party_href(e["source"], d["subject_id"]))
            urls += [f"/search?q={d['uscc']}"] if d.get("uscc") else []
        elif e["type"] == "cx.shop.opened":
            urls += [shop_href(e["source"], d["shop_id"]), "/search?q=" + quote(d["url"], safe="")]
    size = client.get("/v1/log/head").json()["size"]
    urls += [f"/records/{i}" for i in range(size)]
    return urls + [u + ("&" if "?" in u else "?") + "lang=en" for u in urls]


def _valid_ids(html: str) -> set[str]:
    candidates = re.findall(r"(?=(\d{17}[\dXx]))", html)
    return {c for c in candidates if ric.is_valid(c)}


def test_no_page_of_the_sample_shows_a_resident_id_or_a_full_name(portal_client: TestClient) -> None:
    urls = _portal_urls(portal_client)
    assert len(urls) > 60
    statuses = set()
    for url in urls:
        r = portal_client.get(url, follow_redirects=True)
        statuses.add(r.status_code)
        assert not _valid_ids(r.text), url
        for id_number, name in PERSONS.items():
            assert id_number not in r.text and name not in r.text, url
    assert statuses <= {200, 404}
    assert _valid_ids("x 31010419900307123X y")  # the scanner does find one


def test_the_language_link_stays_on_the_site_and_a_404_quotes_nothing(portal_client: TestClient) -> None:
    """The language link was the request's path plus a query: on the 404 page of `//evil.example/x` it led
    off-site. A not-found page said the service's English message, with the visitor's text in it (both
    found by review)."""
    for path in ("//evil.example/x", "/%2F%2Fevil.example"):
        response = portal_client.get(path)
        assert response.status_code == 404
        href = re.search(r'id="lang-switch" href="([^"]*)"', response.text) or \
            re.search(r'href="([^"]*)"[^>]*data-testid="lang-switch"', response.text)
        assert href and href[1].startswith("?") and "evil" not in href[1], href
    planted = "本店已被公安查封，请致电400-000-0000退款"
    page = portal_client.get(f"/shops/{planted}?source=urn:cx:platform:P1&lang=zh")
    assert page.status_code == 404 and planted not in unescape(page.text) and "该页面不存在" in page.text
    english = portal_client.get(f"/shops/{planted}?source=urn:cx:platform:P1&lang=en")
    assert english.status_code == 404 and planted not in unescape(english.text)


def test_a_search_with_more_matches_than_shown_says_so(tmp_path: Path,
                                                        portal_factory: Callable[..., Chengxin]) -> None:
    """Search shows 20 shops; with more it stopped there without a word (found by review)."""
    lines = [_event(f"bulk-{i}", P1, "cx.shop.opened", {
        "shop_id": f"B{i}", "operator_id": "M1", "name": f"批量店{i:02d}", "url": f"https://b{i}.shop.example",
        "categories": ["daily_goods"]}) for i in range(21)]
    cx = portal_factory(tmp_path, *lines)
    with TestClient(create_app(cx)) as client:
        many = client.get("/search?q=批量店&lang=zh").text
        one = client.get("/search?q=批量店07&lang=en").text
    cx.engine.dispose()
    assert many.count('data-testid="result-link"') == 20 and 'data-testid="more-results"' in many
    assert "只显示前 20 家" in many
    assert one.count('data-testid="result-link"') == 1 and 'data-testid="more-results"' not in one


@pytest.mark.parametrize("url", ["/docs", "/static/htmx.min.js", "/openapi.json"])
def test_pages_beside_the_portal_cannot_be_framed_or_sniffed(portal_client: TestClient, url: str) -> None:
    """/docs, where a regulator types a key, had no frame-ancestors, X-Frame-Options or nosniff (found by
    review); the portal's own pages keep their full policy."""
    r = portal_client.get(url)
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert portal_client.get("/").headers["content-security-policy"] == render.SECURITY_HEADERS[
        "Content-Security-Policy"]


def test_english_pages_give_legal_bases_in_english(portal_client: TestClient) -> None:
    """The commitment's basis stayed in Chinese on the English page (found by review)."""
    en = portal_client.get(S1 + "&lang=en").text
    assert "E-Commerce Law art. 5, 17; Shanghai Social Credit Regulations art. 30" in en
    assert "电子商务法 第五条" not in en
    assert "电子商务法 第五条、第十七条" in portal_client.get(S1 + "&lang=zh").text


def test_a_shop_ordered_closed_is_not_shown_open() -> None:
    """A blacklisted shop showed "营业中 / Open" beside its close_shop measure in force (found by review)."""
    from chengxin.entrypoints.web.i18n import Translator

    macros = render.templates.env.get_template("_macros.html").module
    for lang, ordered, open_ in (("zh", "责令关闭", "营业中"), ("en", "Ordered closed", "Open")):
        t = Translator(lang)
        assert ordered in str(macros.shop_status(t, None, [{"measure": "close_shop", "value": True}]))
        assert ordered in str(macros.shop_status(t, None, [{"measure": "hide_shop", "value": True}]))
        assert open_ in str(macros.shop_status(t, None, [{"measure": "lower_grade", "value": "D"}]))


def test_the_licence_gap_banner_names_what_is_missing(portal_client: TestClient) -> None:
    """It said only "lacks 3 required licence(s)", the licences three screens further down (found by review)."""
    html = portal_client.get(S2 + "&lang=en").text
    banner = html[html.index('data-testid="gap-banner"'):].split("</p>")[0]
    assert 'href="#requirements"' in banner and "Business licence" in banner and 'id="requirements"' in html


def test_records_name_their_reporter_and_their_verify_links(portal_client: TestClient) -> None:
    """The reporter column showed URNs (urn:cx:regulator:310000), and every verify link had one name for a
    screen reader (found by review)."""
    from chengxin.entrypoints.web.i18n import Translator
    from chengxin.entrypoints.web.present import reporter_label

    zh = portal_client.get(S1 + "&lang=zh").text
    table = zh[zh.index('class="data records stack"'):].split("</table>")[0]
    assert ">示例电商平台有限公司<" in table and 'title="urn:cx:platform:P1"' in table
    assert "按记入信用日志的先后排列" in zh and 'aria-label="验证第 ' in table
    assert ">urn:cx:" not in table
    en = Translator("en")
    assert reporter_label(en, "urn:cx:regulator:310000", {}) == "market regulator of 上海市"
    assert reporter_label(en, "urn:cx:hotline:12315", {}) == "hotline 12315"
    assert reporter_label(en, "urn:cx:chengxin:lists", {}) == "Chengxin"


def test_a_live_search_retitles_the_page_and_static_files_are_cached(portal_client: TestClient) -> None:
    """After a live search the tab kept the first query's title; a reload asked for every static file again
    (found by review)."""
    frag = portal_client.get("/search?q=示例", headers={"HX-Request": "true"}).text
    assert "<title>“示例”的查询结果 · " in frag
    assert portal_client.get("/static/portal.css").headers["cache-control"] == "public, max-age=3600"
    assert portal_client.get("/").headers.get("cache-control") != "public, max-age=3600"
