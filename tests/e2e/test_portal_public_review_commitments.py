"""Public review finding 5 on a black-listed shop: the breached clause cited by the template's number beside the
merchant's own text, "共 N 条" beside a longer list of terms, a broken commitment still marked "有效", "K19" as the
commitment's only name on /notices (the dishonesty sentence's "0 records" beside a listing: the unit tests)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from tests.conftest import ingest_text
from tests.integration.test_lists import RING_S1, RING_S2, confirm

from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import shop_href
from chengxin.services import commitments, lifecycle, lists, notices

P1 = "urn:cx:platform:P1"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _own_words(cx: Chengxin) -> None:
    """M2 commits early in the words of the standard text itself: its clause numbers are the template's."""
    clauses = [c.zh for c in lifecycle.templates().templates["merchant-standard-v1"].clauses]
    ingest_text(cx, json.dumps({"specversion": "1.0", "id": "own-words", "source": P1,
                                "type": "cx.commitment.published", "time": "2026-01-01T09:00:00+08:00",
                                "data": {"commitment_id": "K-OWN", "subject_id": "M2",
                                         "template": "merchant-standard-v1", "clauses": clauses}},
                               ensure_ascii=False))


def test_a_broken_commitment_is_shown_broken_and_its_clause_cited_in_the_right_numbering(sample_app: Chengxin):
    cx = sample_app
    _own_words(cx)
    lists.drain(cx)
    confirm(cx, RING_S1, "run-s1")  # M1's K1 (its own three-clause text) covers fake orders: broken
    confirm(cx, RING_S2, "run-s2")  # M2's K-OWN, in the standard text's own words: broken
    lists.drain(cx)
    with read_connection(cx.engine) as conn:
        (k1,) = commitments.of_refs(conn, [(P1, "M1")])
        own = next(c for c in commitments.of_refs(conn, [(P1, "M2")]) if c["id"] == "K-OWN")
    assert k1["broken"] is True and [b["own_clause"] for b in k1["breaches"]] == [None]
    assert own["broken"] is True and [b["own_clause"] for b in own["breaches"]] == [1]
    shown = {n["shop"]["id"]: n["breaches"] for n in notices.page(cx)["notices"] if n["shop"]}
    assert shown["S1"][0]["commitment"]["title"]["zh"] == "电子商务经营者信用承诺书"
    assert shown["S2"][0]["own_clause"] == 1
    with TestClient(create_app(cx)) as client:
        html = client.get(shop_href(P1, "S1") + "&lang=zh&limit=200").text
        page = _text(html)
        en = _text(client.get(shop_href(P1, "S1") + "&lang=en&limit=200").text)
        board = _text(client.get("/notices", params={"lang": "zh"}).text)
    # the commitment card: broken, with where to read the record; not "有效"
    card = html[html.index('data-testid="commitments"'):]
    card = card[:card.index("</section>")]
    assert 'data-testid="commitment-broken">已违反<' in card and "badge-open" not in card
    assert "已记录违反本承诺 1 次" in card
    assert "标准文本条款（违反按此认定）" in card and "Terms of the standard text" in en
    # the record: by the standard text's number (K1's own clause 1 is "依法经营，信息真实"); its own clause count
    assert "违反信用承诺《电子商务经营者信用承诺书》标准文本第 1 条（不进行虚构交易" in page
    assert "原文共 3 条" in page and "clauses as published" in en
    # /notices: by title, the right numbering each, never the bare id
    assert "另违反信用承诺《电子商务经营者信用承诺书》标准文本第 1 条" in board
    assert "另违反信用承诺《电子商务经营者信用承诺书》第 1 条" in board and "K-OWN" not in board

