"""Fixes to the public portal found by review: what a public page and the public API show of a logged record
(who decided, personal numbers in free text), in zh and en, and that the browser still checks it."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from html import unescape
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
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", html, flags=re.S))))


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
    expect(result).to_contain_text("叶子已收录 ✓")
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


def test_the_public_api_masks_the_numbers_in_its_records_and_the_reporter_reads_them_whole(
        noisy: tuple[TestClient, Chengxin]) -> None:
    client, cx = noisy
    shown = client.get("/v1/parties/S1", params={"source": P1}).json()["credit_records"]
    confirmed = next(r for r in shown if r["kind"] == "confirmed")
    assert MOBILE not in str(shown) and CARD not in str(shown)
    assert MASKED[MOBILE] in confirmed["payload"]["reason"] and MASKED[CARD] in confirmed["payload"]["basis"]
    assert confirmed["masked"] == ["basis", "reason"] and "leaf_bytes" not in confirmed
    index = confirmed["index"]
    public = client.get(f"/v1/log/records/{index}").json()["record"]
    assert public["payload"] == confirmed["payload"] and "leaf_bytes" not in public
    _, secret = keys.create_key(cx, "platform", "P1 fixes", P1)
    own = client.get(f"/v1/log/records/{index}", headers={"Authorization": f"Bearer {secret}"}).json()["record"]
    assert MOBILE in own["payload"]["reason"] and "masked" not in own and own["leaf_bytes"]
    listed = client.get("/v1/parties/M2", params={"source": P1}).json()["credit_records"]
    assert LANDLINE not in str(listed) and any(MASKED[LANDLINE] in str(r["payload"]) for r in listed)
