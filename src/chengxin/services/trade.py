"""Shops' trade figures (shipments, those shipped on time, those delivered, quality returns), each counted
with the weight of its order, kept per order and per shop as orders change.

Scoring a shop after one event used to count these over all its orders: 93 ms for bench-1m's largest shop
(4,496 orders), and it grows with the shop, while the scorer holds the write lock. Now the full recompute
writes every order's figures (`order_trade`) and their sums per shop (`shop_trade`); after that, each
drain recounts only the orders its marks name and adds the difference to their shops' sums, and scoring a
shop reads one row. An order's weight (its buyer's fairness and its lockstep flag) changes only at a full
recompute, which rewrites everything. Weights are kept in millionths, as integers, so that sums kept up to
date event by event equal a full recount exactly, in whatever order events arrive.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, DateTime, and_, bindparam, case, cast, delete, exists, func, literal, or_, select
from sqlalchemy.types import Double

from chengxin.adapters.db import bulk, direct, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.domain import scoring as S
from chengxin.services import credit_log

Ref = tuple[str, str]
SCALE = 1_000_000
QUALITY_RETURNS = ("quality", "not_as_described", "damaged", "counterfeit")
ROW = ("order_source", "order_id", "shop_source", "shop_id", "weight", "shipped", "on_time", "delivered",
       "returns")  # every order row the statements below return
COLUMNS = ("order_source", "order_id", "weight", "shipped", "on_time", "delivered", "returns")  # `order_trade`:
# an order's shop never changes (the same id with other content is a conflict, the first kept)


def weight(rules: S.ScoreRules, plain: bool, buyer_source: Any, buyer_id: Any, order_source: Any,
           order_id: Any) -> tuple[Any, list[Any]]:
    """The SQL weight of an order (or a rating) by its buyer's fairness and lockstep flag, and the joins it
    needs: min(1, (fairness / default)³), times `lockstep_weight` for an order placed in a lockstep burst."""
    if plain:
        return literal(1.0, Double), []
    F, LK = st.rater_fairness.alias("f"), st.lockstep_orders.alias("lk")
    d = rules.reliability.fairness_default
    x = cast(F.c.fairness, Double) / d  # DOUBLE: DuckDB's FLOAT has 4 bytes
    by_fairness = case((F.c.fairness.is_(None), 1.0), (F.c.fairness >= d, 1.0), else_=x * x * x)
    lockstep = case((LK.c.order_id.is_(None), 1.0), else_=float(rules.params["trade"]["lockstep_weight"]))
    joins = [(F, and_(F.c.author_source == buyer_source, F.c.author_id == buyer_id)),
             (LK, and_(LK.c.order_source == order_source, LK.c.order_id == order_id))]
    return by_fairness * lockstep, joins


def epoch(col: Any, dialect: str) -> Any:
    """Seconds since 1970 of a fixed-width UTC text time, in SQL."""
    if dialect in ("postgresql", "duckdb"):
        return func.extract("epoch", cast(func.substr(col, 1, 19), DateTime))
    return (func.julianday(func.substr(col, 1, 19)) - 2440587.5) * 86400.0


def orders_stmt(rules: S.ScoreRules, dialect: str, plain: bool, scoped: bool) -> Any:
    """Each order's weight and counts (`ROW`). `scoped`: every order, each counted by lookups, for the
    caller to narrow by order or by shop; else only orders with a shipment or a quality return, counted by
    whole-table GROUP BYs (a full recompute)."""
    o, ret = t.orders, t.returns
    w, joins = weight(rules, plain, o.c.buyer_source, o.c.buyer_id, o.c.source, o.c.order_id)
    hours = rules.params["trade"]["on_time_hours"] * 3600
    quality = or_(*(ret.c.reason == r for r in QUALITY_RETURNS))  # not IN: a literal list is rendered per
    # execution, so the statement could not run as compiled (adapters/db/direct.py)
    counts = _lookups(o, hours, quality, dialect) if scoped else _grouped(o, hours, quality, dialect)
    frm: Any = o
    for table, cond, _ in counts[1]:
        frm = frm.outerjoin(table, cond)
    for table, cond in joins:
        frm = frm.outerjoin(table, cond)
    q = select(o.c.source, o.c.order_id, o.c.shop_source, o.c.shop_id, w, *counts[0]).select_from(frm)
    return q if scoped else q.where(or_(*(found for _, _, found in counts[1])))


def _lookups(o: Any, hours: float, quality: Any, dialect: str) -> tuple[list[Any], list[Any]]:
    """Counts of one order by lookups through its indexes: cheap for a few orders."""
    sh, sc, u, ret = t.shipments, t.shipment_scans, t.order_updates, t.returns
    mine = and_(sh.c.order_source == o.c.source, sh.c.order_id == o.c.order_id)
    paid = select(func.min(u.c.at)).where(u.c.order_source == o.c.source, u.c.order_id == o.c.order_id,
                                          u.c.kind == "paid").correlate(o).scalar_subquery()
    signed = exists().where(sc.c.shipment_source == sh.c.source, sc.c.shipment_id == sh.c.shipment_id,
                            sc.c.signed_by.is_not(None))
    on_time = epoch(sh.c.created_at, dialect) - epoch(paid, dialect) <= hours  # no payment: not on time
    count = [select(func.count()).select_from(sh).where(mine, *extra).correlate(o).scalar_subquery()
             for extra in ((), (on_time,), (signed,))]
    returns = select(func.count()).select_from(ret).where(
        ret.c.order_source == o.c.source, ret.c.order_id == o.c.order_id, quality).correlate(o).scalar_subquery()
    return [*count, returns], []


def _grouped(o: Any, hours: float, quality: Any, dialect: str) -> tuple[list[Any], list[Any]]:
    """Counts of every order by whole-table GROUP BYs, joined to the orders."""
    sh, sc, u, ret = t.shipments, t.shipment_scans, t.order_updates, t.returns
    paid = select(u.c.order_source, u.c.order_id, func.min(u.c.at).label("at")).where(
        u.c.kind == "paid").group_by(u.c.order_source, u.c.order_id).subquery("paid")
    signs = select(sc.c.shipment_source, sc.c.shipment_id).where(sc.c.signed_by.is_not(None)).group_by(
        sc.c.shipment_source, sc.c.shipment_id).subquery("signs")
    on_time = case((epoch(sh.c.created_at, dialect) - epoch(paid.c.at, dialect) <= hours, 1), else_=0)
    delivered = case((signs.c.shipment_id.is_not(None), 1), else_=0)
    ships = select(sh.c.order_source, sh.c.order_id, func.count().label("n"), func.sum(on_time).label("on_time"),
                   func.sum(delivered).label("delivered")).select_from(sh.outerjoin(paid, and_(
                       paid.c.order_source == sh.c.order_source, paid.c.order_id == sh.c.order_id)).outerjoin(
                       signs, and_(signs.c.shipment_source == sh.c.source, signs.c.shipment_id == sh.c.shipment_id))
                   ).group_by(sh.c.order_source, sh.c.order_id).subquery("ships")
    rets = select(ret.c.order_source, ret.c.order_id, func.count().label("n")).where(quality).group_by(
        ret.c.order_source, ret.c.order_id).subquery("rets")
    zero = literal(0)
    cols = [func.coalesce(ships.c.n, zero), func.coalesce(ships.c.on_time, zero),
            func.coalesce(ships.c.delivered, zero), func.coalesce(rets.c.n, zero)]
    joins = [(ships, and_(ships.c.order_source == o.c.source, ships.c.order_id == o.c.order_id),
              ships.c.order_id.is_not(None)),
             (rets, and_(rets.c.order_source == o.c.source, rets.c.order_id == o.c.order_id),
              rets.c.order_id.is_not(None))]
    return cols, joins


def figures(row: Any) -> tuple[int, ...]:
    """An order row's (weight in millionths, shipped, on time, delivered, returns), as integers."""
    return (round(float(row[4]) * SCALE), int(row[5] or 0), int(row[6] or 0), int(row[7] or 0), int(row[8] or 0))


def by_shop(rows: Iterable[Any]) -> dict[Ref, list[int]]:
    """Weight × each count, summed per shop, in millionths."""
    sums: dict[Ref, list[int]] = {}
    for row in rows:
        w, *counts = figures(row)
        acc = sums.setdefault((row[2], row[3]), [0, 0, 0, 0])
        for i, n in enumerate(counts):
            acc[i] += w * n
    return sums


def rebuild(conn: Connection, rows: Iterable[Any], chunk: int = 20_000) -> dict[Ref, list[int]]:
    """Rewrite every order's figures and every shop's sums from `rows` (every order's, `orders_stmt`), in
    the caller's transaction (the full recompute's); returns the sums."""
    assert bulk.columns("order_trade") == COLUMNS
    for table in (st.order_trade, st.shop_trade):
        conn.execute(delete(table))
    sums: dict[Ref, list[int]] = {}
    part: list[tuple[Any, ...]] = []
    for row in rows:
        w, *counts = f = figures(row)
        part.append((row[0], row[1], *f))
        acc = sums.setdefault((row[2], row[3]), [0, 0, 0, 0])
        for i, n in enumerate(counts):
            acc[i] += w * n
        if len(part) >= chunk:
            bulk.insert_tuples(conn, "order_trade", part)
            part.clear()
    bulk.insert_tuples(conn, "order_trade", part)
    bulk.insert_tuples(conn, "shop_trade", [(*shop, *v) for shop, v in sums.items()])
    upsert.insert_or_update(conn, st.trade_state, [{"name": "trade", "built_at": credit_log.now_utc()}])
    return sums


def built(conn: Connection) -> bool:
    """Whether `order_trade` and `shop_trade` hold every order (else count shops' figures from orders)."""
    return bool(direct.rows(conn, _BUILT))


def shop_sums(conn: Connection, shops: list[Ref]) -> dict[Ref, list[int]]:
    """The kept sums of these shops (a shop without shipments or returns has no row)."""
    s = st.shop_trade
    return {(r[0], r[1]): list(r[2:]) for r in direct.in_refs(conn, _SHOPS, s.c.shop_source, s.c.shop_id, shops)}


def refresh(conn: Connection, rules: S.ScoreRules, orders: list[Ref]) -> None:
    """Recount these orders' figures and add the differences to their shops' sums (a drain, in its
    transaction). Nothing to do until a full recompute has built the tables."""
    if not orders or not built(conn):
        return
    o, ot = t.orders, st.order_trade
    stmt = _statement(conn.dialect.name, rules)
    new = {(r[0], r[1]): r for r in direct.in_refs(conn, stmt, o.c.source, o.c.order_id, orders)}
    old = {(r[0], r[1]): r for r in direct.in_refs(conn, _ORDERS, ot.c.order_source, ot.c.order_id, list(new))}
    deltas: dict[Ref, list[int]] = {}
    rows = []
    for ref, row in new.items():
        now, before = figures(row), old.get(ref)
        if tuple(before[2:]) == now if before is not None else not any(now[1:]):
            continue  # unchanged, or nothing to count yet (an order placed, not shipped)
        rows.append(dict(zip(COLUMNS, (*ref, *now), strict=True)))
        _add(deltas, (row[2], row[3]), now, 1)
        if before is not None:
            _add(deltas, (row[2], row[3]), tuple(before[2:]), -1)
    if rows:
        upsert.insert_or_update(conn, ot, rows)
        _apply(conn, deltas)


def _add(deltas: dict[Ref, list[int]], shop: Ref, f: tuple[int, ...], sign: int) -> None:
    acc = deltas.setdefault(shop, [0, 0, 0, 0])
    for i, n in enumerate(f[1:]):
        acc[i] += sign * f[0] * n


def _apply(conn: Connection, deltas: dict[Ref, list[int]]) -> None:
    sums = shop_sums(conn, list(deltas))
    rows = []
    for shop, d in deltas.items():
        now = [a + b for a, b in zip(sums.get(shop, [0, 0, 0, 0]), d, strict=True)]
        rows.append({"shop_source": shop[0], "shop_id": shop[1], **dict(zip(_SUMS, now, strict=True))})
    upsert.insert_or_update(conn, st.shop_trade, rows)


_SUMS = ("shipped", "on_time", "delivered", "returns")
_BUILT = select(st.trade_state.c.name).where(st.trade_state.c.name == bindparam("name", "trade"))
_SHOPS = select(*(st.shop_trade.c[c] for c in ("shop_source", "shop_id", *_SUMS)))
_ORDERS = select(*(st.order_trade.c[c] for c in COLUMNS))
_STATEMENTS: dict[str, Any] = {}


def _statement(dialect: str, rules: S.ScoreRules) -> Any:
    """The scoped, weighted order statement, built once per dialect (the rules are loaded once)."""
    if (found := _STATEMENTS.get(dialect)) is None:
        found = _STATEMENTS[dialect] = orders_stmt(rules, dialect, False, True)
    return found
