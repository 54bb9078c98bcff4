"""Fixes to the public portal found by review: what a public page and the public API show of a logged record
(who decided, personal numbers in free text), in zh and en, and that the browser still checks it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.e2e.conftest import P1, make_portal_cx, serve_in_thread

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain import merkle
from chengxin.domain.quality import Finding
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import party_href, shop_href
from chengxin.services import keys, list_views, review
from chengxin.services.viewer import Viewer

OFFICER = "k-case-officer-7"  # the key id (or CLI officer) a regulator's decision is logged with
REGULATOR = Viewer("regulator", key_id=OFFICER)
PROOF_DATA = re.compile(r'<script type="application/json" id="proof-data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chengxin]:
    """The sample, with an empty-parcel finding at S1's order O1 that a regulator confirmed."""
    cx = make_portal_cx(tmp_path_factory.mktemp("portal-fixes"))
    found = Finding("empty_parcel", 0.96, {"orders": ((P1, "O1"),)}, {"level": "order", "tells": {"light": {}}})
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (found,), detector="fixes", run_id="detect-fixes")
    review.publish(cx)
    review.decide(cx, 1, "confirm", REGULATOR, "40 g parcel for a 650 g gift box", "沪市监〔2026〕7号")
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
    # a span marks a part's language (lang="zh-CN" on English pages) inside a sentence: no gap in the text
    html = re.sub(r"</?span[^>]*>", "", re.sub(r"<script.*?</script>", "", html, flags=re.S))
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- who decided: the record page as the credit file ---------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_record_page_does_not_show_who_decided(client: TestClient, store: Chengxin, lang: str) -> None:
    # /records/<n> served the whole payload: the key id was in the description, the payload table and the proof
    # JSON, where the credit file masked it (found by review)
    for kind in ("confirmed", "points_retracted"):
        html = client.get(f"/records/{index_of(store, kind)}?lang={lang}").text
        assert OFFICER not in html, kind
        check = PROOF_DATA.search(html)
        assert check is not None
        assert OFFICER not in unescape(check[1])
        assert 'data-testid="leaf-bytes"' not in html and 'data-testid="leaf-withheld"' in html
        assert "regulator:" not in text_of(html)


def test_a_record_nothing_masks_keeps_its_leaf_bytes_and_says_they_are_the_logged_record(
        client: TestClient, store: Chengxin) -> None:
    html = client.get(f"/records/{index_of(store, 'licence')}").text
    assert 'data-testid="leaf-bytes"' in html and 'data-testid="leaf-logged"' in html
    assert "leaf-withheld" not in html


def test_the_public_api_serves_a_masked_record_with_a_proof_of_its_logged_leaf(client: TestClient,
                                                                               store: Chengxin) -> None:
    index = index_of(store, "confirmed")
    body = client.get(f"/v1/log/records/{index}").json()
    record, proof, head = body["record"], body["proof"], body["tree_head"]
    assert record["payload"]["decided_by"] == "regulator" and record["masked"] == ["decided_by"]
    assert "leaf_bytes" not in record and OFFICER not in str(body)
    merkle.verify_inclusion(base64.b64decode(proof["leaf_hash"]), index, head["size"],
                            [base64.b64decode(p) for p in proof["proof"]], base64.b64decode(head["root"]))
    assert body["checks"] == {"inclusion": True, "signature": True}
    _, secret = keys.create_key(store, "regulator", "fixes test")
    whole = client.get(f"/v1/log/records/{index}", headers={"Authorization": f"Bearer {secret}"}).json()["record"]
    assert whole["payload"]["decided_by"] == f"regulator:{OFFICER}" and "masked" not in whole
    leaf = base64.b64decode(whole["leaf_bytes"])
    assert merkle.leaf_hash(leaf) == base64.b64decode(proof["leaf_hash"]) and OFFICER.encode() in leaf


# --- in the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(store: Chengxin) -> Iterator[str]:
    yield from serve_in_thread(create_app(store), "fixes-uvicorn")


@pytest.fixture
def zh_page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.mark.browser
def test_the_browser_proves_a_masked_records_leaf_and_says_what_it_could_not_check(zh_page: Page,
                                                                                    store: Chengxin) -> None:
    zh_page.goto(f"/records/{index_of(store, 'confirmed')}")
    result = zh_page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-state", "partial")
    expect(result).to_contain_text("部分验证")  # not the tick of a full check: test_portal_entity_pages
    expect(zh_page.get_by_test_id("signature-result")).to_have_attribute("data-state", "verified")
    zh_page.goto(f"/records/{index_of(store, 'licence')}")  # a record shown whole is still checked whole
    expect(zh_page.get_by_test_id("verify-result")).to_have_attribute("data-state", "verified")


@pytest.mark.browser
def test_a_masked_records_leaf_hash_altered_on_the_way_fails(zh_page: Page, store: Chengxin) -> None:
    from playwright.sync_api import Route

    index = index_of(store, "confirmed")

    def tamper(route: Route) -> None:
        response = route.fetch()
        found = PROOF_DATA.search(response.text())
        assert found is not None
        data: dict[str, Any] = json.loads(found[1])
        data["leaf_hash"] = base64.b64encode(bytes(32)).decode()
        body = response.text()[:found.start(1)] + json.dumps(data) + response.text()[found.end(1):]
        route.fulfill(response=response, body=body)

    zh_page.route(f"**/records/{index}", tamper)
    zh_page.goto(f"/records/{index}")
    expect(zh_page.get_by_test_id("verify-result")).to_have_attribute("data-state", "failed")


# --- personal numbers in free text ---------------------------------------------------------------------------

MOBILE, RIC, LANDLINE, CARD = "13812345678", "110105198511224567", "021-62345678", "6222021234567894"
MASKED = {MOBILE: "138****5678", RIC: "1101**********4567", LANDLINE: "*******5678", CARD: "************7894"}
CLOSURE = f"店主赵小明（电话{MOBILE}，身份证{RIC}）申请注销"


def _event(event_id: str, type_: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": P1, "type": type_,
                       "time": "2026-10-05T09:00:00+08:00", "data": data}, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Chengxin]]:
    """The sample, with free text that quotes personal numbers: a shop S7 closed with its owner's phone and ID
    number in the reason, a review of S1 that P1 confirmed quoting a phone and a bank card, and M2 put on the
    black list by a regulator whose reason quotes a landline."""
    cx = make_portal_cx(tmp_path_factory.mktemp("portal-noisy"),
                        _event("n-1", "cx.shop.opened", {"shop_id": "S7", "operator_id": "M1", "name": "示例服饰店",
                                                          "url": "https://s7.shop.example", "categories": ["food"]}),
                        _event("n-2", "cx.shop.closed", {"shop_id": "S7", "reason": CLOSURE}))
    found = Finding("empty_parcel", 0.96, {"orders": ((P1, "O1"),)}, {"level": "order", "tells": {"light": {}}})
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (found,), detector="fixes", run_id="detect-noisy")
    review.publish(cx)
    review.decide(cx, 1, "confirm", Viewer("platform", P1, "k-p1"), f"买家来电 {MOBILE} 称收到空包",
                  f"退款至卡号 {CARD}")
    list_views.override(cx, "black", (P1, "M2"), "add", REGULATOR, f"举报电话 {LANDLINE} 核实的售假",
                        "沪市监〔2026〕9号")
    with TestClient(create_app(cx)) as c:
        yield c, cx
    cx.engine.dispose()


def assert_masked(html: str, *numbers: str) -> None:
    """None of the numbers is in the page, however split by markup; each is there masked."""
    text = text_of(html)
    for number in numbers:
        assert number not in html and number not in text.replace(" ", ""), number
        assert MASKED[number] in text, number


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_shops_closure_reason_is_shown_with_its_numbers_masked(noisy: tuple[TestClient, Chengxin],
                                                                  lang: str) -> None:
    client, _ = noisy
    html = client.get(shop_href(P1, "S7") + f"&lang={lang}").text
    assert_masked(html, MOBILE, RIC)
    assert "店主赵小明" in text_of(html)  # the rest of the reason as written


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_decisions_reason_and_basis_are_shown_with_their_numbers_masked(noisy: tuple[TestClient, Chengxin],
                                                                          lang: str) -> None:
    client, cx = noisy
    assert_masked(client.get(shop_href(P1, "S1") + f"&lang={lang}").text, MOBILE, CARD)
    assert_masked(client.get(f"/records/{index_of(cx, 'confirmed')}?lang={lang}").text, MOBILE, CARD)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_list_overrides_reason_is_shown_with_its_numbers_masked(noisy: tuple[TestClient, Chengxin],
                                                                  lang: str) -> None:
    client, _ = noisy
    assert_masked(client.get(f"/lists/black?lang={lang}").text, LANDLINE)
    assert_masked(client.get(party_href(P1, "M2") + f"&lang={lang}").text, LANDLINE)
    assert_masked(client.get(shop_href(P1, "S2") + f"&lang={lang}").text, LANDLINE)


def test_the_numbers_in_a_records_free_text_are_masked_in_the_log_itself(noisy: tuple[TestClient, Chengxin]) -> None:
    """A leaf's hash is public, and a number masked only on display was recovered from it by hashing the 10^4
    leaves the mask left (found by review): the log keeps the text masked, so the public is served the leaf
    bytes and checks the record whole, and the reporter reads the same masked text."""
    client, cx = noisy
    shown = client.get("/v1/parties/S1", params={"source": P1}).json()["credit_records"]
    confirmed = next(r for r in shown if r["kind"] == "confirmed")
    assert MOBILE not in str(shown) and CARD not in str(shown)
    assert MASKED[MOBILE] in confirmed["payload"]["reason"] and MASKED[CARD] in confirmed["payload"]["basis"]
    leaf = base64.b64decode(confirmed["leaf_bytes"]).decode()
    assert "masked" not in confirmed and MASKED[MOBILE] in leaf and MOBILE not in leaf and CARD not in leaf
    index = confirmed["index"]
    public = client.get(f"/v1/log/records/{index}").json()["record"]
    assert public["payload"] == confirmed["payload"] and public["leaf_bytes"] == confirmed["leaf_bytes"]
    _, secret = keys.create_key(cx, "platform", "P1 fixes", P1)
    own = client.get(f"/v1/log/records/{index}", headers={"Authorization": f"Bearer {secret}"}).json()["record"]
    assert own["payload"] == confirmed["payload"] and own["leaf_bytes"] == confirmed["leaf_bytes"]
    with read_connection(cx.engine) as conn:
        stored = " ".join(conn.execute(select(t.credit_records.c.payload)).scalars())
    for number in (MOBILE, CARD, LANDLINE, RIC):
        assert number not in stored, number
    listed = client.get("/v1/parties/M2", params={"source": P1}).json()["credit_records"]
    assert LANDLINE not in str(listed) and any(MASKED[LANDLINE] in str(r["payload"]) for r in listed)


# --- no raw vocabulary codes on zh and en pages -----------------------------------------------------------

SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
WORD = re.compile(r"^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$")
TEXT_KEYS = frozenset({"zh", "en", "basis", "remedy", "label", "description"})


def vocabulary_codes() -> set[str]:
    """Every code the vocabularies define: mapping keys and string values that are identifiers (`fake_order`,
    `clothing`, `merchant-standard-v1`), never their zh/en texts; with the simulator's shop categories, which a
    demo's shops carry."""
    import yaml

    from chengxin.adapters.resources import vocab_text
    from chengxin.simulate.text import CATEGORIES

    found: set[str] = {c[0] for c in CATEGORIES}

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and WORD.match(k):
                    found.add(k)
                if k not in TEXT_KEYS:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and WORD.match(value):
            found.add(value)

    for name in ("commitments", "credit_score", "detection", "events-v1", "key_categories", "lifecycle",
                 "list_policies", "measures", "rating_rules"):
        walk(yaml.safe_load(vocab_text(f"{name}.yaml")))
    return found


RAW_SECTIONS = re.compile(r'<(script|style)\b.*?</\1>|<([a-z]+)\b[^>]*\btranslate="no"[^>]*>.*?</\2>', re.S)
NOT_WORDS = re.compile(r"(?:urn:\S+|https?://\S+|[\w.-]+\.example\S*|[A-Za-z0-9+/=]{24,})")


# Free text, shown as its writer wrote it: the demo officer's bilingual reason, the simulator's closure reasons.
FREE_TEXT = ("operator request", "platform: violation", "licence expired")


def visible_words(html: str) -> list[str]:
    """The lowercase ASCII words of a page's visible text: no scripts, no raw record data (`translate="no"`),
    no URNs, URLs or hashes, nor free text as written."""
    from chengxin.services.demo import DEMO_REASON

    text = unescape(re.sub(r"<[^>]+>", " ", RAW_SECTIONS.sub(" ", html)))
    for written in (DEMO_REASON, *FREE_TEXT):
        text = text.replace(written, " ")
    return re.findall(r"(?<![\w-])[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*(?![\w-])", NOT_WORDS.sub(" ", text))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Chengxin]]:
    """A small demo marketplace (the showcase, a simulated one with its detections, a case officer's decisions,
    lists), scored again 120 days on (the cause `time`)."""
    from datetime import UTC, datetime, timedelta

    from chengxin.bootstrap import bootstrap
    from chengxin.services import scoring
    from chengxin.services.demo import demo_params, load_demo
    from chengxin.settings import Settings

    tmp = tmp_path_factory.mktemp("portal-demo")
    cx = bootstrap(Settings(database_url=f"sqlite:///{tmp}/x.db", keys_file=tmp / "keys.json"))
    load_demo(cx, params=demo_params(days=5, shops=20, buyers=100, orders_per_day=40))
    scoring.rescore_stale(cx, older_than=timedelta(0), most=100_000, now=datetime.now(UTC) + timedelta(days=120))
    with TestClient(create_app(cx)) as c:
        yield c, cx
    cx.engine.dispose()


def demo_pages(client: TestClient, cx: Chengxin) -> list[str]:
    """The main pages: home, a search, the lists, the notices, every shop and party page the lists and notices
    link to plus the showcase's, and a record page of each public kind."""
    from chengxin.services.credit_file import PUBLIC_KINDS

    pages = ["/", "/search?q=%E5%BA%97", "/lists/black", "/lists/red", "/notices",
             shop_href(P1, "S1"), shop_href(P1, "S2"), party_href(P1, "M1"), party_href(P1, "M2")]
    for listing in ("/lists/black", "/lists/red", "/notices", "/search?q=%E5%BA%97"):
        linked = re.findall(r'href="(/(?:shops|parties)/[^"]+)"', client.get(listing).text)
        pages += sorted({unescape(h) for h in linked})
    with read_connection(cx.engine) as conn:
        cr = t.credit_records.c
        for kind in sorted(PUBLIC_KINDS):
            for idx in conn.execute(select(cr.idx).where(cr.kind == kind).order_by(cr.idx.desc()).limit(3)).scalars():
                if client.get(f"/records/{idx}").status_code == 200:
                    pages.append(f"/records/{idx}")
                    break
    return list(dict.fromkeys(pages))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_main_pages_show_no_raw_vocabulary_code(demo: tuple[TestClient, Chengxin], lang: str) -> None:
    # categories (`clothing`), the score history's cause (`time`), who decided (`regulator`, a URN) and
    # commitment templates (`merchant-standard-v1`) were shown raw, English codes on Chinese pages (found by review)
    client, cx = demo
    codes = vocabulary_codes()
    found: dict[str, set[str]] = {}
    pages = demo_pages(client, cx)
    assert len(pages) > 20 and any(p.startswith("/records/") for p in pages)
    for page in pages:
        response = client.get(page + ("&" if "?" in page else "?") + f"lang={lang}")
        assert response.status_code == 200, page
        words = set(visible_words(response.text))
        # a zh page has no English code at all; an en page none written as a code (snake_case, an id)
        raw = {w for w in words & codes if lang == "zh" or SNAKE.match(w) or any(c.isdigit() for c in w)}
        if raw:
            found[page] = raw
    assert not found, found


@pytest.mark.parametrize(("lang", "regulator", "platform"), [
    ("zh", "（认定方：监管部门）", "（认定方：平台（示例电商平台有限公司））"),
    ("en", "(decided by regulator)", "(decided by platform (示例电商平台有限公司))"),
])
def test_who_decided_is_said_as_a_role_and_a_platform_by_its_name(client: TestClient, store: Chengxin,
                                                                   noisy: tuple[TestClient, Chengxin], lang: str,
                                                                   regulator: str, platform: str) -> None:
    # "（认定方：regulator）" or a source's URN was printed (found by review)
    for c, cx, said in ((client, store, regulator), (noisy[0], noisy[1], platform)):
        for page in (shop_href(P1, "S1") + f"&lang={lang}", f"/records/{index_of(cx, 'confirmed')}?lang={lang}"):
            text = text_of(c.get(page).text)
            assert said in text, page
            assert "urn:cx:platform:P1）" not in text and "urn:cx:platform:P1)" not in text


def _proof_page(page: Page, url: str, forge: Any) -> None:
    from playwright.sync_api import Route

    def tamper(route: Route) -> None:
        response = route.fetch()
        found = PROOF_DATA.search(response.text())
        assert found is not None
        data: dict[str, Any] = json.loads(found[1])
        forge(data)
        body = response.text()[:found.start(1)] + json.dumps(data) + response.text()[found.end(1):]
        route.fulfill(response=response, body=body)

    page.route(f"**{url.split('?')[0]}*", tamper)
    page.goto(url)


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "leaf", "key"), [
    ("zh", "验证失败 ✗ （页面所示记录与其叶子不符：记录内容）", "验证失败 ✗ （密钥编号与公钥不符）"),
    ("en", "failed ✗ (the record shown is not its leaf: Recorded fields)",
     "failed ✗ (the key id is not the public key's)"),
])
def test_the_browsers_failures_are_told_in_the_pages_language(browser: Browser, server: str, store: Chengxin,
                                                              lang: str, leaf: str, key: str) -> None:
    # verify.js wrote its failure details in English on every page (found by review)
    context = browser.new_context(base_url=server)
    page = context.new_page()
    url = f"/records/{index_of(store, 'licence')}?lang={lang}"
    _proof_page(page, url, lambda d: d["record"]["payload"].update(number="JY13101049999999"))
    expect(page.get_by_test_id("verify-result")).to_have_text(leaf)
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-detail", "leaf: payload")
    page.unroute("**")
    _proof_page(page, url, lambda d: d.update(key_id="0123456789abcdef"))
    expect(page.get_by_test_id("signature-result")).to_have_text(key)
    expect(page.get_by_test_id("signature-result")).to_have_attribute("data-detail", "key")
    context.close()


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "said"), [
    ("zh", "未验证：此浏览器不支持 WebCrypto（请通过 HTTPS 打开本页）"),
    ("en", "not checked: this browser lacks WebCrypto (open this page over HTTPS)"),
])
def test_a_browser_without_webcrypto_says_it_did_not_check(browser: Browser, server: str, store: Chengxin,
                                                           lang: str, said: str) -> None:
    # it said "验证失败 ✗" (failed), as if the record were altered (found by review)
    context = browser.new_context(base_url=server)
    context.add_init_script("Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined});")
    page = context.new_page()
    page.goto(f"/records/{index_of(store, 'licence')}?lang={lang}")
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-state", "unsupported")
    expect(page.get_by_test_id("verify-result")).to_have_text(said)
    expect(page.get_by_test_id("signature-result")).to_have_attribute("data-state", "unsupported")
    context.close()


# --- search by a USCC written in groups ---------------------------------------------------------------------


@pytest.mark.parametrize("query", ["9131 0000 MA1K 3R5T 2F", "91310000-MA1K3R5T2F", "9131-0000-ma1k-3r5t-2f",
                                   "".join(chr(ord(c) + 0xFEE0) for c in "91310000-MA1K3R5T2F")])
def test_the_portals_search_finds_a_party_by_its_uscc_written_in_groups(client: TestClient, query: str) -> None:
    # the length was tested before spaces and hyphens were dropped: such a code found nothing (found by review)
    html = client.get("/search", params={"q": query}, headers={"HX-Request": "true"}).text
    assert "示例速递有限公司" in html and 'data-testid="party-link"' in html


@pytest.mark.parametrize("query", ["9131 0104 MA1F L8XQ36", "91310104-MA1FL8XQ36", "91310104 - MA1FL8XQ36"])
def test_the_portal_and_the_api_find_a_shop_by_its_operators_uscc_written_in_groups(client: TestClient,
                                                                                     query: str) -> None:
    html = client.get("/search", params={"q": query}, headers={"HX-Request": "true"}).text
    assert "示例食品旗舰店" in html and 'data-testid="no-results"' not in html
    assert [s["id"] for s in client.get("/v1/shops", params={"q": query}).json()["shops"]] == ["S1"]


# --- a list counts and shows parties, not entries -------------------------------------------------------------


@pytest.fixture(scope="module")
def listed_twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Chengxin]]:
    """The sample with fake-order rings confirmed at S1 (M1) and S2 (M2): both on the black list by its policy;
    and M2 put on it once more by a regulator's override: three entries, two parties."""
    from chengxin.services import lists

    cx = make_portal_cx(tmp_path_factory.mktemp("portal-listed-twice"))
    lists.drain(cx)
    for shop, order in (("S1", "O1"), ("S2", "O2")):
        ring = Finding("fake_order_ring", 0.9, {"parties": ((P1, shop),), "orders": ((P1, order),)}, {"density": 3.0})
        with write_transaction(cx.engine) as conn:
            insert_findings(conn, (ring,), detector="test", run_id=f"run-{shop}")
        review.publish(cx, f"run-{shop}")
        item = next(i for i in review.list_items(cx, REGULATOR, status="open")["items"] if i["run_id"] == f"run-{shop}")
        review.decide(cx, item["id"], "confirm", REGULATOR, "checked the orders and chats", "沪市监〔2026〕1号")
    list_views.override(cx, "black", (P1, "M2"), "add", REGULATOR, "售假屡教不改", "沪市监〔2026〕2号")
    lists.drain(cx)
    with TestClient(create_app(cx)) as c:
        yield c, cx
    cx.engine.dispose()


def member_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-testid="(list-member(?:-entry)?)" data-party="([^"]+)">', html)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_list_counts_its_parties_and_shows_each_once_with_its_entries(listed_twice: tuple[TestClient, Chengxin],
                                                                        lang: str) -> None:
    # "共 10 个主体" counted memberships, and a party listed twice appeared twice (found by review)
    client, cx = listed_twice
    entries = list_views.members(cx, "black", Viewer("regulator", key_id="k"))["members"]
    assert sorted(m["party"]["id"] for m in entries) == ["M1", "M2", "M2"]  # the case: three entries, two parties
    html = client.get(f"/lists/black?lang={lang}").text
    rows = member_rows(html)
    assert [p for kind, p in rows if kind == "list-member"] == ["M2", "M1"]  # newest first, once each
    assert [p for kind, p in rows if kind == "list-member-entry"] == ["M2"]
    assert ("共 2 个主体" if lang == "zh" else "2 member(s)") in text_of(html)
    m2 = html[html.index('data-party="M2"'):html.index('data-party="M1"')]
    assert "售假屡教不改" in m2 and m2.count('data-testid="member-reason"') == 2
    assert m2.count('data-testid="member-shop"') == 1  # its shop once


def test_a_lists_pages_hold_whole_parties(listed_twice: tuple[TestClient, Chengxin]) -> None:
    client, _ = listed_twice
    first = client.get("/lists/black?limit=1&lang=zh").text
    assert [p for _, p in member_rows(first)] == ["M2", "M2"]  # both of M2's entries on its page
    found = re.search(r'href="(/lists/black\?after=\d+&amp;limit=1)" rel="next"', first)
    assert found
    second = client.get(unescape(found[1])).text
    assert [p for _, p in member_rows(second)] == ["M1"] and 'rel="next"' not in second
    assert "共 2 个主体" in text_of(second)


# --- HEAD ----------------------------------------------------------------------------------------------------


def portal_urls(cx: Chengxin) -> list[str]:
    return ["/", "/?lang=en", "/search?q=%E7%A4%BA%E4%BE%8B", shop_href(P1, "S1"), party_href(P1, "M1"),
            f"/records/{index_of(cx, 'licence')}", "/lists/black", "/lists/red", "/notices", "/notices.atom"]


def test_portal_pages_answer_head_like_get_without_a_body(client: TestClient, store: Chengxin) -> None:
    # HEAD was 405 on every page: link checkers and monitors saw the portal as broken (found by review)
    for url in portal_urls(store):
        got, head = client.get(url), client.head(url)
        assert (head.status_code, got.status_code) == (200, 200), url
        assert head.content == b"", url
        assert head.headers["content-type"] == got.headers["content-type"], url
        assert int(head.headers["content-length"]) == len(got.content), url
    for url, status in (("/shops/NOPE?source=x", 404), ("/no/such/page", 404), ("/records/x", 422),
                        (shop_href(P1, "M1"), 303)):
        head = client.head(url, follow_redirects=False)
        assert head.status_code == status and head.content == b"", url


def test_a_live_server_answers_head(server: str, store: Chengxin) -> None:
    import urllib.request

    for url in [*portal_urls(store)[:4], "/static/verify.js"]:
        with urllib.request.urlopen(urllib.request.Request(server + url, method="HEAD"), timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b"", url


# --- a search result's grade ----------------------------------------------------------------------------------


def test_a_shop_whose_operator_is_not_yet_scored_says_so_among_the_results_and_its_grade_once_scored(
        tmp_path: Path) -> None:
    """A deferred load leaves a new business unscored until `settle`: its shop says "not yet graded", not
    nothing, and shows its grade once scored; the API gives the same grade."""
    from chengxin.services import ingest as ingest_service
    from chengxin.services.ingest import ingest, read_lines

    cx = make_portal_cx(tmp_path)
    lines = [_event("grade-m9", "cx.subject.registered", {
                 "subject_id": "M9", "kind": "enterprise", "name": "上海新开食品有限公司", "uscc": "91310000MA1XYW9Q0E",
                 "region": "310104", "verified_at": "2026-03-01T10:00:00+08:00"}),
             _event("grade-s19", "cx.shop.opened", {"shop_id": "S19", "operator_id": "M9", "name": "新开小铺",
                                                    "url": "https://s19.shop.example", "categories": ["daily_goods"]})]
    assert ingest(cx, read_lines("new", lines), origin="new", defer=True).accepted == 2
    c = TestClient(create_app(cx))  # no lifespan: no scorer process to score M9 before we look
    for lang, words in (("zh", "尚未评级"), ("en", "not yet graded")):
        html = c.get("/search", params={"q": "新开小铺", "lang": lang}).text
        assert 'data-testid="result-grade" data-grade=""' in html and words in text_of(html)
    assert c.get("/v1/shops", params={"q": "新开小铺"}).json()["shops"][0]["grade"] is None
    ingest_service.settle(cx)
    grade = c.get("/v1/shops", params={"q": "新开小铺"}).json()["shops"][0]["grade"]
    assert grade in ("A", "B", "C", "D")
    assert f'data-testid="result-grade" data-grade="{grade}"' in c.get("/search", params={"q": "新开小铺"}).text
    cx.engine.dispose()
