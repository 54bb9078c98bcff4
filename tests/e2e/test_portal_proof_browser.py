"""The record page's proof in Debian's chromium (Playwright): the browser hashes the leaf bytes of the record
shown, after checking they are that record, so a record edited in the database (or on the way) shows as not
verified; a record with float and Chinese fields, which JavaScript cannot re-encode, verifies."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import select, update
from tests.e2e.conftest import P1, make_portal_cx, serve_in_thread

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord, leaf_bytes
from chengxin.entrypoints.api.app import create_app
from chengxin.services import credit_log

pytestmark = pytest.mark.browser
LICENCE = 9  # the sample's food business permit of M1 (JY13101040000001)
CONFIRMED = 25  # appended after the sample's 25 records
SCORED = CreditRecord("confirmed", "subject", (P1, "M1"), ("urn:cx:chengxin:review", "7"),
                      "2026-03-21T02:00:00.000000Z",
                      {"finding_kind": "fake_order_ring", "score": 1.0, "reason": "核对了订单与\"聊天\"记录",
                       "basis": "沪市监〔2026〕1号", "orders": 1, "summary": {"density": 3.0, "share": 0.00001}})
PROOF_DATA = re.compile(r'(<script type="application/json" id="proof-data">)(.*?)(</script>)', re.S)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chengxin]:
    cx = make_portal_cx(tmp_path_factory.mktemp("proof-browser"))
    with write_transaction(cx.engine) as conn:
        credit_log.append(conn, cx.keys, cx.settings.log_origin, [(SCORED, hashlib.sha256(b"7").hexdigest())])
    yield cx
    cx.engine.dispose()


@pytest.fixture(scope="module")
def server(store: Chengxin) -> Iterator[str]:
    """The portal over this module's store, served by uvicorn on a free port in a background thread."""
    yield from serve_in_thread(create_app(store), "proof-uvicorn")


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="zh-CN")
    yield context.new_page()
    context.close()


def expect_states(page: Page, server: str, browser_check: str, signature: str = "verified") -> None:
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-state", browser_check)
    expect(page.get_by_test_id("signature-result")).to_have_attribute("data-state", signature)
    expect(page.get_by_test_id("server-result")).to_have_attribute("data-state", server)


def test_a_record_with_floats_and_chinese_text_verifies(page: Page) -> None:
    page.goto(f"/records/{CONFIRMED}")
    expect_states(page, "verified", "verified")
    expect(page.get_by_test_id("verify-result")).to_have_text("已验证 ✓")
    shown = json.loads(PROOF_DATA.search(page.content())[2])["record"]  # type: ignore[index]
    assert b'"score":1.0' in base64.b64decode(shown["leaf_bytes"])  # what JSON.stringify would write as 1


def test_a_record_edited_in_the_database_shows_as_not_verified(page: Page, store: Chengxin) -> None:
    page.goto(f"/records/{LICENCE}")
    expect_states(page, "verified", "verified")
    cr = t.credit_records
    with store.engine.begin() as conn:
        original = conn.execute(select(cr.c.payload).where(cr.c.idx == LICENCE)).scalar_one()
        forged = {**orjson.loads(original), "number": "JY13101049999999"}
        conn.execute(update(cr).where(cr.c.idx == LICENCE).values(payload=orjson.dumps(forged).decode()))
    try:
        page.reload()
        expect(page.get_by_test_id("record-description")).to_contain_text("JY13101049999999")  # as it now reads
        expect_states(page, "failed", "failed")
        expect(page.get_by_test_id("verify-result")).to_contain_text("验证失败 ✗")
        expect(page.get_by_test_id("server-result")).to_contain_text("未通过 ✗")
    finally:
        with store.engine.begin() as conn:
            conn.execute(update(cr).where(cr.c.idx == LICENCE).values(payload=original))
    page.reload()
    expect_states(page, "verified", "verified")


def _forge_number(d: dict[str, Any]) -> None:
    d["record"]["payload"]["number"] = "JY13101049999999"


def _forge_number_and_leaf(d: dict[str, Any]) -> None:
    """The record and its leaf bytes changed together: they agree, but the leaf is not the one logged."""
    _forge_number(d)
    r = d["record"]
    record = CreditRecord(r["kind"], r["subject"]["kind"], (r["subject"]["source"], r["subject"]["id"]),
                          (r["event"]["source"], r["event"]["id"]), r["at"], r["payload"])
    r["leaf_bytes"] = base64.b64encode(leaf_bytes(r["index"], record, r["event"]["hash"])).decode()


def _forge(field: str) -> Callable[[dict[str, Any]], None]:
    def forge(d: dict[str, Any]) -> None:
        d[field] = "0123456789abcdef" if field == "key_id" else "another.example/log"
    return forge


@pytest.mark.parametrize(("forge", "inclusion", "signature", "detail"), [
    (_forge_number, "failed", "verified", "leaf: payload"),
    (_forge_number_and_leaf, "failed", "verified", "root"),
    (_forge("key_id"), "verified", "failed", "key"),
    (_forge("origin"), "verified", "failed", "note"),
], ids=["record", "record-and-leaf", "key-id", "origin"])
def test_a_page_altered_on_the_way_fails_in_the_browser(page: Page, forge: Callable[[dict[str, Any]], None],
                                                        inclusion: str, signature: str, detail: str) -> None:
    """The server saw the intact record (its check passes); only the browser sees the page as altered."""
    def tamper(route: Route) -> None:
        response = route.fetch()
        found = PROOF_DATA.search(response.text())
        assert found is not None
        data = json.loads(found[2])
        forge(data)
        body = response.text()[:found.start(2)] + json.dumps(data) + response.text()[found.end(2):]
        route.fulfill(response=response, body=body)

    page.route(f"**/records/{LICENCE}", tamper)
    page.goto(f"/records/{LICENCE}")
    expect_states(page, "verified", inclusion, signature)
    failed = "verify-result" if inclusion == "failed" else "signature-result"
    expect(page.get_by_test_id(failed)).to_have_attribute("data-detail", detail)  # the page says it in its language
