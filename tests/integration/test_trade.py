"""Shops' trade figures kept order by order as events arrive (`services/trade.py`) equal a full count of
every order, exactly, whatever the order and split of the events (both databases)."""

from __future__ import annotations

import random

from sqlalchemy import delete, select
from tests.conftest import ingest_text
from tests.integration.test_scoring import assert_same_profiles

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import scoring, trade
from chengxin.simulate import Simulator, make_params


def _lines(seed: int) -> list[bytes]:
    params = make_params(None, days=12, shops=12, buyers=80, orders_per_day=40, rings=1, ring_workers=(4, 6),
                         seed=seed)
    lines = list(Simulator(params).lines())
    random.Random(seed).shuffle(lines)
    return lines


def _kept(app: Chengxin) -> tuple[dict, dict]:
    """The kept figures, leaving out rows of nothing (an order marked before it shipped)."""
    with read_connection(app.engine) as conn:
        orders = {(r.order_source, r.order_id): (r.shop_source, r.shop_id, r.weight, r.shipped, r.on_time,
                                                 r.delivered, r.returns)
                  for r in conn.execute(select(st.order_trade)) if r.shipped or r.returns}
        shops = {(r.shop_source, r.shop_id): [r.shipped, r.on_time, r.delivered, r.returns]
                 for r in conn.execute(select(st.shop_trade)) if r.shipped or r.returns}
    return orders, shops


def _counted(app: Chengxin) -> tuple[dict, dict]:
    """Every order counted now, with the weights as last fitted (what a full recompute would keep)."""
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(trade.orders_stmt(scoring.score_rules(), conn.dialect.name, False, False)))
    orders = {(r[0], r[1]): (r[2], r[3], *trade.figures(r)) for r in rows}
    return orders, trade.by_shop(rows)


def test_figures_kept_event_by_event_equal_a_full_count_whatever_the_order(app: Chengxin) -> None:
    lines = _lines(4)
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
    orders = kept[0].values()
    assert any(w < trade.SCALE for _, _, w, *_ in orders)  # weighted...
    assert sum(o[5] for o in orders) and sum(o[6] for o in orders)  # ...with deliveries and quality returns
    assert len(orders) > len(lines) // 20


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
