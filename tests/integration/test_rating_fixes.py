"""Rating rules at their edges, found by review: a re-sent review keeps the month it was first posted in, and a
cancelled order's follow-up enters no DSR. Incrementally and by a full rebuild, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from tests.conftest import ingest_text
from tests.integration.test_scoring import Feed, P, ledger, points

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection
from chengxin.services import standing_ledger


def _products(feed: Feed, n: int) -> Feed:
    for i in range(2, n + 1):
        feed.ev("cx.product.listed", "2026-01-02T12:00:00+08:00", {
            "product_id": f"G{i}", "shop_id": "S1", "title": "毛巾", "category": "daily_goods",
            "list_price": 990, "price": 990})
    return feed


def _months(cx) -> dict[str, str]:
    L = st.rating_ledger
    with read_connection(cx.engine) as conn:
        return {r.review_id: r.month for r in conn.execute(select(L.c.review_id, L.c.month))}


def test_a_review_resent_in_the_next_month_keeps_its_first_month_and_the_cap(app):
    """Seven five-star ratings in January: the seventh is past the pair's +6 cap. Re-sent unchanged on
    3 February under a new event id, it counted in February and the shop had 7 points (found by review)."""
    feed = _products(Feed().parties(), 7)
    for i in range(1, 8):
        feed.order(f"O{i}", f"2026-01-{i + 1:02d}", product=f"G{i}" if i > 1 else "G1")
    assert ingest_text(app, feed.text()).rejected == 0
    assert ledger(app)["RO7"] == (0, "pair_month_cap") and points(app) == 6
    again = Feed()
    again.n = 1000
    again.ev("cx.review.posted", "2026-02-03T12:00:00+08:00", {
        "review_id": "RO7", "order_id": "O7", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 5, "dimensions": {"as_described": 5, "service": 5, "logistics": 5}})
    assert ingest_text(app, again.text()).accepted == 1
    for _ in range(2):
        assert ledger(app)["RO7"] == (0, "pair_month_cap") and _months(app)["RO7"] == "2026-01"
        assert points(app) == 6
        standing_ledger.rebuild(app)


def test_a_cancelled_orders_follow_up_enters_no_dsr(app):
    """The follow-up check ran before the cancellation's, and a cancelled order's follow-up entered the shop's
    DSR (docs/scoring.md: a cancelled order's rating counts toward nothing) (found by review)."""
    feed = Feed().parties().order("O1", "2026-03-02")
    feed.ev("cx.order.cancelled", "2026-03-03T09:00:00+08:00", {"order_id": "O1", "by": "platform"})
    feed.ev("cx.review.posted", "2026-03-04T09:00:00+08:00", {
        "review_id": "RF1", "order_id": "O1", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 5, "follows": "RO1", "dimensions": {"as_described": 5, "service": 5, "logistics": 5}})
    assert ingest_text(app, feed.text()).rejected == 0
    L = st.rating_ledger
    for _ in range(2):
        with read_connection(app.engine) as conn:
            assert conn.execute(select(L.c.review_id).where(L.c.dsr.is_(True))).scalars().all() == []
            assert conn.execute(select(st.dsr_days).where(st.dsr_days.c.ratings != 0)).all() == []
        standing_ledger.rebuild(app)


def test_a_person_who_runs_a_shop_keeps_a_buyer_credit_beside_the_shops(app):
    """U1 runs shop S2 and buys at S1, whose five seller-to-buyer ratings gave U1 five points of buyer credit;
    U1's file showed only S2's points, 0, and no level (found by review)."""
    from tests.integration.test_scoring import REGULATOR

    from chengxin.services import parties

    feed = _products(Feed().parties(), 5)
    feed.ev("cx.shop.opened", "2026-01-04T09:00:00+08:00", {
        "shop_id": "S2", "operator_id": "U1", "name": "街角小铺", "url": "https://s2.example",
        "categories": ["daily_goods"]})
    for i in range(1, 6):
        feed.order(f"O{i}", f"2026-03-{i + 1:02d}", score=None, product=f"G{i}")
        feed.ev("cx.review.posted", f"2026-03-{i + 1:02d}T20:00:00+08:00", {
            "review_id": f"RS{i}", "order_id": f"O{i}", "author_id": "S1", "target_id": "U1",
            "direction": "seller_to_buyer", "score": 5})
    assert ingest_text(app, feed.text()).rejected == 0
    view = parties.show(app, P, "U1", REGULATOR)
    assert view["points"] == 0 and view["buyer_credit"]["points"] == 5
    assert view["buyer_credit"]["level"]["tier"] == "heart"
    merchant = parties.show(app, P, "M1", REGULATOR)  # buys nothing: its buyer credit is 0 beside its shop's
    assert merchant["buyer_credit"] == {"points": 0, "level": None}


def _carrier_review(feed: Feed, rid: str, day: str, carrier: str, score: int = 1) -> None:
    feed.ev("cx.review.posted", f"{day}T20:00:00+08:00", {
        "review_id": rid, "order_id": "O1", "author_id": "U1", "target_id": carrier, "direction": "buyer_to_carrier",
        "score": score, "dimensions": {"as_described": score, "service": score, "logistics": score}})


def _target_sums(cx) -> dict[str, int]:
    k = st.target_ratings
    with read_connection(cx.engine) as conn:
        return {r.target_id: r.ratings for r in conn.execute(select(k.c.target_id, k.c.ratings)) if r.ratings}


def test_a_buyer_rates_only_a_carrier_of_the_orders_shipments(app):
    """O1 was shipped by C1: five one-star ratings of O1 aimed at C2, which never carried it, all counted for C2
    (found by review). Now they count toward nothing; a rating of C1 counts once its shipment is known, whichever
    arrives first, incrementally and by a full rebuild."""
    from chengxin.services import scoring

    feed = Feed().parties().order("O1", "2026-10-01", score=None)
    for i in range(5):
        _carrier_review(feed, f"RC{i}", f"2026-10-0{i + 2}", "C2")
    _carrier_review(feed, "RK", "2026-10-03", "C1", score=4)
    assert ingest_text(app, feed.text()).rejected == 0
    assert {ledger(app)[f"RC{i}"] for i in range(5)} | {ledger(app)["RK"]} == {(0, "not_the_orders_parties")}
    shipped = Feed()
    shipped.n = 500
    shipped.ev("cx.shipment.created", "2026-10-01T12:00:00+08:00", {
        "shipment_id": "SH1", "order_id": "O1", "carrier_id": "C1", "tracking_no": "T1"})
    assert ingest_text(app, shipped.text()).accepted == 1
    for _ in range(2):
        got = ledger(app)
        assert {got[f"RC{i}"] for i in range(5)} == {(0, "not_the_orders_parties")}
        assert got["RK"] == (0, "direction_without_points")
        assert _target_sums(app).get("C2") is None and _target_sums(app)["C1"] == 1
        standing_ledger.rebuild(app)
        scoring.rebuild(app)


def _point_records(cx) -> list[tuple[str, str, str, int]]:
    import json

    from chengxin.adapters.db import tables as t

    cr = t.credit_records.c
    with read_connection(cx.engine) as conn:
        return [(r.kind, r.subject_id, json.loads(r.payload)["review"][1], json.loads(r.payload)["points"])
                for r in conn.execute(select(cr.kind, cr.subject_id, cr.payload).where(
                    cr.kind.in_(("points_retracted", "points_restored"))).order_by(cr.idx))]


def test_a_fake_orders_one_star_rating_leaves_its_victim_no_retraction_record(app):
    """A rival's one-star rating of an order confirmed fake gave the rated shop a public `points_retracted`
    record ("its rating's 1 point(s) were taken back"), a decided dishonesty record of the victim (found by
    review). Its point of loss is given back, and no record says so either way; the appeal writes none."""
    from chengxin.services import standing

    assert ingest_text(app, Feed().parties().order("O1", "2026-10-05", score=1).text()).rejected == 0
    assert points(app) == -1
    standing.set_order_verdict(app, (P, "O1"), "fake", "regulator:test", "reverse brushing by a rival")
    assert points(app) == 0 and ledger(app)["RO1"] == (0, "retracted_fake_order")
    assert _point_records(app) == []
    standing.set_order_verdict(app, (P, "O1"), "genuine", "regulator:test", "appeal upheld")
    assert points(app) == -1 and _point_records(app) == []


def test_one_order_rated_ten_times_counts_once(app):
    """Ten five-star reviews of O1 (none a follow-up) gave 1 point but a positive rate of 10/10 and ten
    ratings in the kept sums (found by review). The first posted counts, later ones count toward nothing, and
    one follow-up of the order enters DSR beside it; arriving newest first, incrementally and by a rebuild."""
    from datetime import UTC, datetime

    from chengxin.services import scoring, standing_views

    feed = Feed().parties().order("O1", "2026-10-01", score=None)
    reviews = Feed()
    reviews.n = 500
    for i in range(10):
        reviews.ev("cx.review.posted", f"2026-10-{i + 2:02d}T12:00:00+08:00", {
            "review_id": f"R{i}", "order_id": "O1", "author_id": "U1", "target_id": "S1",
            "direction": "buyer_to_seller", "score": 5, **({"follows": "R0"} if i >= 8 else {}),
            "dimensions": {"as_described": 5, "service": 5, "logistics": 5}})
    assert ingest_text(app, feed.text()).rejected == 0
    for line in reversed(reviews.lines):
        assert ingest_text(app, line).accepted == 1
    for _ in range(2):
        got = ledger(app)
        assert got["R0"] == (1, "counted") and {got[f"R{i}"] for i in range(1, 8)} == {(0, "duplicate_order_rating")}
        assert got["R8"] == got["R9"] == (0, "follow_up") and points(app) == 1
        assert _target_sums(app) == {"S1": 1}
        with read_connection(app.engine) as conn:
            view = standing_views.standing_view(conn, (P, "S1"), category="daily_goods",
                                                as_of=datetime(2026, 11, 1, tzinfo=UTC))
            L = st.rating_ledger
            assert sorted(conn.execute(select(L.c.review_id).where(L.c.dsr.is_(True))).scalars()) == ["R0", "R8"]
        assert (view["positive_rate"]["positive"], view["positive_rate"]["rate"]) == (1, 1.0)
        assert view["dsr"]["count"] == 2
        standing_ledger.rebuild(app)
        scoring.rebuild(app)
