"""Shops' trade figures kept item by item as events arrive (`services/trade.py`) equal a full count of
every order, exactly, whatever the order and split of the events (both databases)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, insert, select
from tests.conftest import ingest_text
from tests.integration.test_scoring import Feed, P, assert_same_profiles

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import alembic_config, read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain import ratings as R
from chengxin.services import profile_gather, profiles, rating_sums, scoring, standing, trade
from chengxin.services import profiles as Pm
from chengxin.simulate import Simulator, make_params


def _lines(seed: int) -> list[bytes]:
    params = make_params(None, days=12, shops=12, buyers=80, orders_per_day=40, rings=1, ring_workers=(4, 6),
                         seed=seed)
    lines = list(Simulator(params).lines())
    random.Random(seed).shuffle(lines)
    return lines


def _kept(app: Chengxin) -> tuple[dict, dict, dict, dict]:
    """The kept figures, leaving out rows of nothing (an order marked before it shipped)."""
    with read_connection(app.engine) as conn:
        orders = {tuple(r[:3]): (r.shop_source, r.shop_id, r.weight, r.shipped, r.on_time, r.delivered, r.returns)
                  for r in conn.execute(select(st.trade_parts))}
        shops = {(r.shop_source, r.shop_id): [r.shipped, r.on_time, r.delivered, r.returns]
                 for r in conn.execute(select(st.shop_trade)) if r.shipped or r.returns}
        rated = {(r[0], r[1]): list(r[2:]) for r in conn.execute(select(st.target_ratings)) if any(r[2:])}
        days = {(r.target_source, r.target_id, r.day): [r.ratings, r.points] for r in conn.execute(
            select(st.dsr_days).where(st.dsr_days.c.day >= _first_day())) if r.ratings}
    return orders, shops, rated, days


def _first_day() -> str:
    """The first day of a DSR window that starts now (days before it are never read again)."""
    return R.window_start(scoring._now(), standing.rules().dsr_window_days)[:10]


def _counted(app: Chengxin) -> tuple[dict, dict, dict, dict]:
    """Every order and ledger row counted now, with the weights as last fitted (what a full recompute would
    keep)."""
    rules = scoring.score_rules()
    with read_connection(app.engine) as conn:
        rows = [r for q, _, _ in trade.statements(rules, conn.dialect.name, False, False) for r in conn.execute(q)]
        rated = rating_sums.by_target(conn.execute(rating_sums.rows_stmt(rules, False)))
        L = st.rating_ledger
        days = rating_sums.dsr_days_of(conn.execute(select(L.c.target_source, L.c.target_id, L.c.at, L.c.dims).where(
            L.c.dsr.is_(True), L.c.direction == "buyer_to_seller", L.c.at >= _first_day())))
    orders = {tuple(r[:3]): (r[3], r[4], *f) for r in rows if (f := trade.figures(r)) is not None}
    return orders, trade.by_shop(rows), {k: v for k, v in rated.items() if any(v)}, days


def test_figures_kept_event_by_event_equal_a_full_count_whatever_the_order(app: Chengxin) -> None:
    lines = _lines(9)
    first = len(lines) * 2 // 3
    assert ingest_text(app, b"".join(lines[:first]).decode()).rejected == 0
    scoring.rebuild(app)  # fits rater fairness and flags lockstep orders: weights below 1 from now on
    assert _kept(app) == _counted(app)
    rest = lines[first:]
    cuts = sorted(random.Random(1).sample(range(1, len(rest)), 5))
    for a, b in zip([0, *cuts], [*cuts, len(rest)], strict=True):  # each part ingested, then drained
        assert ingest_text(app, b"".join(rest[a:b]).decode()).rejected == 0
    kept, counted = _kept(app), _counted(app)
    assert kept == counted
    orders, rated = kept[0].values(), kept[2].values()
    assert any(w < trade.SCALE for _, _, w, *_ in orders)  # weighted...
    assert sum(o[5] for o in orders) and sum(o[6] for o in orders)  # ...with deliveries and quality returns
    assert len(orders) > len(lines) // 20
    assert any(r[2] < r[0] * trade.SCALE for r in rated) and len(rated) > 10  # ratings weighted below 1 too
    assert len(kept[3]) > 10  # DSR ratings on many days in the window
    with read_connection(app.engine) as conn:  # a verdict takes a rating's points back: the sums follow
        order = conn.execute(select(st.rating_ledger.c.source, t.reviews.c.order_source, t.reviews.c.order_id)
                             .join(t.reviews, t.reviews.c.review_id == st.rating_ledger.c.review_id)
                             .where(st.rating_ledger.c.points > 0)).first()
    standing.set_order_verdict(app, (order.order_source, order.order_id), "fake", "regulator:test", "a ring's")
    kept = _kept(app)
    assert kept == _counted(app) and sum(r[4] for r in kept[2].values()) == 1


def test_scoring_counts_from_the_orders_until_the_figures_are_built(app: Chengxin) -> None:
    # a store migrated with orders in it: nothing kept yet, every shop counted from its orders
    lines = _lines(6)
    with write_transaction(app.engine) as conn:
        conn.execute(delete(st.trade_state))
    assert ingest_text(app, b"".join(lines).decode()).rejected == 0
    with read_connection(app.engine) as conn:
        assert not trade.built(conn) and conn.execute(select(st.shop_trade)).first() is None
        now = scoring._now()
        everyone = scoring.profiles(conn, None, now)
        keys = sorted(everyone)
        alone = {k: p for i in range(0, len(keys), 5) for k, p in scoring.profiles(conn, keys[i:i + 5], now).items()}
    assert_same_profiles(alone, everyone)
    assert any(p.shipped and p.delivered and p.shipped_on_time for p in everyone.values())
    scoring.rebuild(app)
    with read_connection(app.engine) as conn:
        assert trade.built(conn)
    assert _kept(app) == _counted(app)


def test_a_dsr_window_counts_its_first_day_from_its_hour(app: Chengxin, monkeypatch) -> None:
    # scoring one party reads the window's first day rating by rating and the kept days after it: a rating
    # on that day before the window's hour is out, one after it is in, as for a full count
    fixed = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(scoring, "_now", lambda: fixed)
    first = R.window_start(fixed, standing.rules().dsr_window_days)
    day = first[:10]
    later = (date.fromisoformat(day) + timedelta(days=7)).isoformat()
    feed = Feed().parties()
    for oid, on, at, score in (("O1", day, "10:00", 1), ("O2", day, "14:00", 3), ("O3", later, "09:00", 5)):
        feed.order(oid, on, None)
        feed.ev("cx.review.posted", f"{on}T{at}:00+00:00", {
            "review_id": f"R{oid}", "order_id": oid, "author_id": "U1", "target_id": "S1",
            "direction": "buyer_to_seller", "score": score,
            "dimensions": {"as_described": score, "service": score, "logistics": score}})
    assert ingest_text(app, feed.text()).rejected == 0
    scoring.rebuild(app)
    with read_connection(app.engine) as conn:
        key = scoring.party_keys(conn, [(P, "S1")])[0]
        alone = profiles.collect(conn, [key], fixed, scoring.score_rules(), standing.rules())
        everyone = profiles.collect(conn, None, fixed, scoring.score_rules(), standing.rules())
    with write_transaction(app.engine) as conn:  # a full recompute reads the first day whole (for its row)
        rebuilt = profiles.collect(conn, None, fixed, scoring.score_rules(), standing.rules(), keep=True)
    n = profile_gather.FIELD["dsr_n"]
    assert alone.values[0][n] == 2 == everyone.values[everyone.keys.index(key)][n]  # O2 and O3, not O1
    assert rebuilt.values[rebuilt.keys.index(key)][n] == 2
    assert alone.profiles()[key].dsr_gap == everyone.profiles()[key].dsr_gap


def _check(app: Chengxin) -> None:
    """The kept figures equal a full count (when built), and every party scored alone has the profile a full
    recompute gives it."""
    with read_connection(app.engine) as conn:
        built = trade.built(conn)
        now = scoring._now()
        full = scoring.profiles(conn, None, now)
        alone = {k: p for k in full for k, p in scoring.profiles(conn, [k], now).items()}
    if built:
        assert _kept(app) == _counted(app)
    assert_same_profiles(alone, full)


# Re-sent events that move what they describe (a new event id, a later time, another reference): what was
# counted is taken back from where it counted (found in review, reproduced on both databases).
def _feed(start: int = 0) -> Feed:
    f = Feed()
    f.n = start
    return f


def _base() -> Feed:
    f = Feed().parties()
    f.ev("cx.subject.registered", "2026-01-02T09:30:00+08:00", {
        "subject_id": "M2", "kind": "enterprise", "name": "乙公司", "uscc": "91310000MA1K3R5T2F", "region": "310104"})
    f.ev("cx.shop.opened", "2026-01-02T11:30:00+08:00", {
        "shop_id": "S2", "operator_id": "M2", "name": "乙店", "url": "https://s2.example",
        "categories": ["daily_goods"]})
    return f


def _order(f: Feed, oid: str, shop: str, at: str = "2026-03-02T10:00:00+08:00") -> None:
    f.ev("cx.order.placed", at, {
        "order_id": oid, "shop_id": shop, "buyer_id": "U1",
        "items": [{"product_id": "G1", "quantity": 1, "unit_price": 990}], "total": 990, "ship_to_region": "310104"})


def _paid(f: Feed, oid: str) -> None:
    f.ev("cx.order.paid", "2026-03-02T10:05:00+08:00", {"order_id": oid, "amount": 990, "method": "wallet"})


def _ship(f: Feed, sid: str, oid: str, at: str = "2026-03-02T12:00:00+08:00") -> None:
    f.ev("cx.shipment.created", at, {"shipment_id": sid, "order_id": oid, "carrier_id": "LG",
                                     "tracking_no": f"T{sid}", "weight_g": 100})


def test_order_moves_to_another_shop(app) -> None:
    f = _base()
    _order(f, "O1", "S1")
    _paid(f, "O1")
    _ship(f, "SH1", "O1")
    assert ingest_text(app, f.text()).rejected == 0
    _check(app)
    g = _feed(500)  # the same order re-sent (new event id, later time) with its shop corrected
    _order(g, "O1", "S2", "2026-03-02T10:30:00+08:00")
    assert ingest_text(app, g.text()).rejected == 0
    _check(app)


def test_shipment_moves_to_another_order(app) -> None:
    f = _base()
    for oid, shop in (("O1", "S1"), ("O2", "S2")):
        _order(f, oid, shop)
        _paid(f, oid)
    _ship(f, "SH1", "O1")
    assert ingest_text(app, f.text()).rejected == 0
    _check(app)
    g = _feed(500)  # the shipment re-reported (new event id, later) for the right order
    _ship(g, "SH1", "O2", "2026-03-02T12:30:00+08:00")
    assert ingest_text(app, g.text()).rejected == 0
    _check(app)


def test_return_moves_to_another_order(app) -> None:
    f = _base()
    for oid, shop in (("O1", "S1"), ("O2", "S2")):
        _order(f, oid, shop)
        _paid(f, oid)
    f.ev("cx.return.requested", "2026-03-05T10:00:00+08:00",
         {"return_id": "RT1", "order_id": "O1", "reason": "quality"})
    assert ingest_text(app, f.text()).rejected == 0
    _check(app)
    g = _feed(500)
    g.ev("cx.return.requested", "2026-03-05T11:00:00+08:00",
         {"return_id": "RT1", "order_id": "O2", "reason": "quality"})
    assert ingest_text(app, g.text()).rejected == 0
    _check(app)


def test_review_moves_to_a_lockstep_order(app) -> None:
    f = _base()
    for oid in ("O1", "O2"):
        _order(f, oid, "S1")
        _paid(f, oid)
        f.ev("cx.order.completed", "2026-03-02T18:00:00+08:00", {"order_id": oid})
    assert ingest_text(app, f.text()).rejected == 0
    with write_transaction(app.engine) as conn:  # as a full recompute's lockstep pass would have flagged it
        row = dict(order_source=P, order_id="O1", shop_source=P, shop_id="S1",
                   computed_at="2026-03-03T00:00:00.000000Z")
        conn.execute(insert(st.lockstep_orders).values(**row))
    g = _feed(500)
    g.ev("cx.review.posted", "2026-03-02T19:00:00+08:00", {
        "review_id": "RX", "order_id": "O1", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 5})
    assert ingest_text(app, g.text()).rejected == 0
    _check(app)
    h = _feed(600)  # the review re-sent for the order it belongs to
    h.ev("cx.review.posted", "2026-03-02T19:30:00+08:00", {
        "review_id": "RX", "order_id": "O2", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 5})
    assert ingest_text(app, h.text()).rejected == 0
    _check(app)


def test_full_recompute_fails_after_its_first_transaction(app, monkeypatch) -> None:
    lines = _lines(9)
    first = len(lines) * 2 // 3
    assert ingest_text(app, b"".join(lines[:first]).decode()).rejected == 0
    scoring.rebuild(app)
    _check(app)
    assert ingest_text(app, b"".join(lines[first:]).decode()).rejected == 0
    _check(app)
    real = Pm.collect

    def failing(*a, **k):
        if k.get("keep"):
            raise RuntimeError("killed during the long second transaction")
        return real(*a, **k)

    monkeypatch.setattr(Pm, "collect", failing)
    with pytest.raises(RuntimeError):
        scoring.rebuild(app)
    monkeypatch.setattr(Pm, "collect", real)
    with read_connection(app.engine) as conn:
        assert not trade.built(conn)  # the weights changed: counted from orders and ledger until rebuilt
    _check(app)
    scoring.rebuild(app)
    _check(app)


def test_migration_with_reviews_but_no_orders(app) -> None:
    f = Feed().parties()
    f.ev("cx.subject.registered", "2026-01-04T11:00:00+08:00", {
        "subject_id": "LG", "kind": "logistics", "name": "示例速递有限公司", "uscc": "91310000MA1K3R5T2F",
        "region": "310000", "verified_at": "2026-01-04T11:00:00+08:00"})
    f.ev("cx.review.posted", "2026-02-13T09:06:00+08:00", {
        "review_id": "R3", "order_id": "O9", "author_id": "U1", "target_id": "LG", "direction": "buyer_to_carrier",
        "score": 4})
    assert ingest_text(app, f.text()).rejected == 0
    _check(app)
    with app.engine.begin() as conn:  # a store at 0013 with this in it, upgraded
        command.downgrade(alembic_config(conn), "0013")
    with app.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with read_connection(app.engine) as conn:
        assert not trade.built(conn)  # a carrier's rating without an order is in the ledger: not empty
    _check(app)


def test_review_moves_to_another_shop(app) -> None:
    # re-sent with another target, the rating leaves its old pair's ledger: counted once, under its new shop
    # (before, the new pair's recount failed on the old row's key, and the drain with it, at every retry)
    f = _base()
    for oid, shop in (("O1", "S1"), ("O2", "S2")):
        _order(f, oid, shop)
        _paid(f, oid)
        f.ev("cx.order.completed", "2026-03-02T18:00:00+08:00", {"order_id": oid})
    review = {"review_id": "RX", "order_id": "O1", "author_id": "U1", "target_id": "S1",
              "direction": "buyer_to_seller", "score": 5}
    f.ev("cx.review.posted", "2026-03-02T19:00:00+08:00", review)
    assert ingest_text(app, f.text()).rejected == 0
    _check(app)
    g = _feed(600)
    g.ev("cx.review.posted", "2026-03-02T19:30:00+08:00", {**review, "order_id": "O2", "target_id": "S2"})
    assert ingest_text(app, g.text()).rejected == 0
    with read_connection(app.engine) as conn:
        assert [tuple(r) for r in conn.execute(select(st.rating_ledger.c.review_id, st.rating_ledger.c.target_id))] \
            == [("RX", "S2")]
        points = {r.target_id: r.points for r in conn.execute(select(st.standings))}
    assert points == {"S1": 0, "S2": 1}
    _check(app)
