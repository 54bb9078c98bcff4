"""A shop's DSR is compared with its category's published average, the same in its score and on its page, and
that average follows the ratings of the category's other shops within `dsr_category_step`: when it moves beyond
it, the category's shops are rescored, with no event of their own (both databases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import ingest_text
from tests.integration.test_scoring import REGULATOR, Feed, P

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import shop_href
from chengxin.services import parties, scoring, standing

BUYERS = ["310104199001010062", "310104199001010150", "310104199001010249", "310104199001010337",
          "310104199001010425", "310104199001010513", "310104199001010601", "310104199001010898"]


def _day(ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=ago)).date().isoformat()


def _feed(start: int = 0) -> Feed:
    f = Feed()
    f.n = start
    return f


def _two_shops() -> Feed:
    """Shops S1 (M1) and S2 (M2), both selling daily goods, and eight buyers B1..B8."""
    f = Feed().parties()
    f.ev("cx.subject.registered", "2026-01-02T09:30:00+08:00", {
        "subject_id": "M2", "kind": "enterprise", "name": "乙公司", "uscc": "91310000MA1K3R5T2F", "region": "310104"})
    f.ev("cx.shop.opened", "2026-01-02T11:30:00+08:00", {
        "shop_id": "S2", "operator_id": "M2", "name": "乙店", "url": "https://s2.example",
        "categories": ["daily_goods"]})
    for i, number in enumerate(BUYERS, 1):
        f.ev("cx.subject.registered", "2026-01-03T09:00:00+08:00", {
            "subject_id": f"B{i}", "kind": "person", "name": f"买家{i}", "id_number": number, "region": "310104"})
    return f


def _rated(f: Feed, shop: str, buyer: int, score: int, ago: int) -> Feed:
    """A paid, completed order of buyer B`buyer` at `shop`, rated `score` on every DSR dimension."""
    oid, day = f"O-{shop}-{buyer}-{ago}", _day(ago)
    f.ev("cx.order.placed", f"{day}T10:00:00+08:00", {
        "order_id": oid, "shop_id": shop, "buyer_id": f"B{buyer}",
        "items": [{"product_id": "G1", "quantity": 1, "unit_price": 990}], "total": 990, "ship_to_region": "310104"})
    f.ev("cx.order.paid", f"{day}T10:05:00+08:00", {"order_id": oid, "amount": 990, "method": "wallet"})
    f.ev("cx.order.completed", f"{day}T18:00:00+08:00", {"order_id": oid})
    f.ev("cx.review.posted", f"{day}T19:00:00+08:00", {
        "review_id": f"R{oid}", "order_id": oid, "author_id": f"B{buyer}", "target_id": shop,
        "direction": "buyer_to_seller", "score": score,
        "dimensions": {"as_described": score, "service": score, "logistics": score}})
    return f


def _s1(app: Chengxin) -> dict[str, Any]:
    """Shop S1 as its file shows it: its DSR, the category average beside it, and its score's DSR gap."""
    shown = parties.show(app, P, "S1", REGULATOR)
    trade = next(d for d in shown["credit"]["dimensions"] if d["dimension"] == "trade")
    with read_connection(app.engine) as conn:
        key = scoring.party_keys(conn, [(P, "S1")])[0]
        row = conn.execute(select(st.credit_scores.c.computed_at).where(st.credit_scores.c.party_key == key)).one()
        moves = len(conn.execute(select(st.score_history).where(st.score_history.c.party_key == key)).all())
    return {"dsr": shown["dsr"]["as_described"], "average": shown["dsr"]["category_average"],
            "gap": trade["facts"]["dsr_gap"], "trade": trade, "score": shown["score"], "computed_at": row.computed_at,
            "moves": moves}


def _live(app: Chengxin) -> float:
    """The category's average over every shop now, read anew."""
    from chengxin.services import standing_views

    standing_views._CATEGORY_CACHE.clear()
    with read_connection(app.engine) as conn:
        since = standing.R.window_start(scoring._now(), standing.rules().dsr_window_days)
        return float(standing_views.category_dsr(conn, "daily_goods", since)["as_described"])


def test_a_shops_gap_follows_its_categorys_average_when_other_shops_move_it(app: Chengxin) -> None:
    f = _two_shops()
    for shop in ("S1", "S2"):  # five ratings each: a DSR is compared from trade.dsr_min_ratings (5)
        for buyer, ago in ((1, 30), (2, 30), (3, 30), (1, 60), (2, 60)):
            _rated(f, shop, buyer, 3, ago)
    assert ingest_text(app, f.text()).rejected == 0
    before = _s1(app)
    assert before["dsr"] == 3.0 and before["average"]["as_described"] == 3.0 and before["gap"] == 0.0
    # ten five-star ratings of S2 alone: the category's average goes from 3 to 4, S1 has no event
    g = _feed(1000)
    for buyer, ago in [(b, 10) for b in range(3, 9)] + [(b, 40) for b in range(3, 7)]:
        _rated(g, "S2", buyer, 5, ago)
    assert ingest_text(app, g.text()).rejected == 0
    after = _s1(app)
    assert _live(app) == 4.0
    assert after["average"]["as_described"] == 4.0 and "as_of" in after["average"]  # the page's comparison...
    assert after["gap"] == after["dsr"] - after["average"]["as_described"] == -1.0  # ...is the score's
    assert after["score"] < before["score"] and after["moves"] == before["moves"] + 1
    assert after["trade"]["en"].endswith("; DSR -1.00 against the category")
    with TestClient(create_app(app)) as client:  # the shop page: the table and the grade's reasons agree
        for lang, table, reason in (("zh", "（同类平均 4.00）", "店铺动态评分较同类-1.00"),
                                    ("en", "(category average 4.00)", "DSR -1.00 against the category")):
            page = client.get(shop_href(P, "S1") + f"&lang={lang}")
            assert page.status_code == 200, page.text
            text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.text)))
            assert table in text and reason in text, lang
    rebuilt = scoring.rebuild(app)  # a full rebuild gives the same score
    scored = _s1(app)
    assert rebuilt["changed"] == 0 and scored["score"] == after["score"]
    # a rating that leaves the average where it is (within the step) rescores no other shop
    h = _feed(2000)
    _rated(h, "S2", 7, 4, 5)
    assert ingest_text(app, h.text()).rejected == 0
    assert _live(app) == 4.0
    assert _s1(app) == scored


def test_the_average_is_published_within_the_step_and_followed_as_the_window_moves(app: Chengxin,
                                                                                   monkeypatch) -> None:
    f = _two_shops()
    for buyer in (1, 2):
        _rated(f, "S1", buyer, 3, 10)
        _rated(f, "S2", buyer, 3, 10)
        _rated(f, "S2", buyer + 2, 5, 170)  # leaves the 180-day window in eleven days
    assert ingest_text(app, f.text()).rejected == 0
    now = _s1(app)
    assert now["average"]["as_described"] == pytest.approx(3.667) and now["gap"] == pytest.approx(-0.667)
    later = datetime.now(UTC) + timedelta(days=15)
    monkeypatch.setattr(scoring, "_now", lambda: later)
    # the scorer's aging pass, with no score old enough to age: it compares the category's published average
    # with the average now, publishes it and queues the category's shops, which the drain rescores
    assert scoring.rescore_stale(app, timedelta(days=1000), now=later) == 0
    with read_connection(app.engine) as conn:
        queued = {(r.a_source, r.a_id) for r in conn.execute(select(st.scoring_queue))}
    assert queued == {(P, "S1"), (P, "S2")}
    standing.drain(app)
    moved = _s1(app)
    assert moved["average"]["as_described"] == 3.0 and moved["gap"] == 0.0 and moved["score"] > now["score"]


def test_the_step_must_be_above_zero() -> None:
    # scoring reads a category anew below 4 / step ratings: a step of 0 divided by zero for every shop
    from chengxin.adapters.resources import vocab_text
    from chengxin.domain import scoring as S
    from chengxin.domain.vocabulary import VocabularyError

    text = vocab_text("credit_score.yaml")
    assert "dsr_category_step: 0.01" in text
    with pytest.raises(VocabularyError, match="dsr_category_step: expected a number above 0"):
        S.load_score_rules(text.replace("dsr_category_step: 0.01", "dsr_category_step: 0"), "credit_score.yaml")
