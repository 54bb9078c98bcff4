"""Shops' trade figures (shipments, those shipped on time, those delivered, quality returns), each counted
with the weight of its order, kept per shipment and return and per shop as orders change.

Scoring a shop after one event used to count these over all its orders: 93 ms for bench-1m's largest shop
(4,496 orders), and it grows with the shop, while the scorer holds the write lock. Now the full recompute
writes what every shipment and return counts, and for which shop (`trade_parts`), and their sums per shop
(`shop_trade`); after that, each drain recounts the shipments and returns of the orders its marks name,
takes what each counted before from the shop it counted for, and adds what it counts now to the shop it
counts for now: an order re-sent to another shop, or a shipment re-sent for another order, moves its
figures. Scoring a shop reads one row. An order's weight (its buyer's fairness and its lockstep flag) is
kept with each part; weights are refitted only by a full recompute, which rewrites everything. Weights are
kept in millionths, as integers, so that sums kept event by event equal a full count exactly, in whatever
order events arrive.

A shipment's part also names its carrier and courier, and `carrier_trade` keeps per subject the weights of the
parcels it carried, moved the same way (a shipment re-sent with another carrier is taken back from the one it
counted for): a logistics firm's or a courier's complaints are counted per parcel carried, and scoring one that
carried a million parcels reads one row. A drain whose shipments move a carrier's or courier's parcels rescores
it in the drain's transaction: no order names it, so nothing else would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Connection,
    DateTime,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.types import Double, String

from chengxin.adapters.db import bulk, direct, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import bound_pair_in, pair_params
from chengxin.domain import scoring as S
from chengxin.services import credit_log

Ref = tuple[str, str]
SCALE = 1_000_000
QUALITY_RETURNS = ("quality", "not_as_described", "damaged", "counterfeit")
ROW = ("item_kind", "item_source", "item_id", "shop_source", "shop_id", "weight", "shipped", "on_time",
       "delivered", "returns", "carrier_source", "carrier_id", "courier_source", "courier_id")  # every item row
# the statements below return; `trade_parts` holds the same, the weight in millionths (a return: no carrier)
CARRIED = slice(10, 14)  # a row's carrier and courier references


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


def statements(rules: S.ScoreRules, dialect: str, plain: bool, scoped: bool) -> list[tuple[Any, Any, Any]]:
    """The shipments' and the returns' rows (`ROW`), each with the columns of its order's reference, by which a
    caller narrows it. `scoped`: each counted by lookups, every one of the orders asked about (the shop is None
    when the order is unknown); else only those that count, by whole-table GROUP BYs (a full recompute)."""
    sh, ret = t.shipments, t.returns
    return [(_shipments(rules, dialect, plain, scoped), sh.c.order_source, sh.c.order_id),
            (_returns(rules, plain, scoped), ret.c.order_source, ret.c.order_id)]


def _of_order(item: Any, rules: S.ScoreRules, plain: bool, scoped: bool) -> tuple[Any, Any]:
    """The item joined to its order (outer when scoped: an unknown order counts nothing), and the weight."""
    o = t.orders
    w, joins = weight(rules, plain, o.c.buyer_source, o.c.buyer_id, o.c.source, o.c.order_id)
    on = and_(o.c.source == item.c.order_source, o.c.order_id == item.c.order_id)
    frm: Any = item.outerjoin(o, on) if scoped else item.join(o, on)
    for table, cond in joins:
        frm = frm.outerjoin(table, cond)
    return frm, w


def _shipments(rules: S.ScoreRules, dialect: str, plain: bool, scoped: bool) -> Any:
    sh, sc, u, o = t.shipments, t.shipment_scans, t.order_updates, t.orders
    frm, w = _of_order(sh, rules, plain, scoped)
    paid: Any
    if scoped:
        paid = select(func.min(u.c.at)).where(u.c.order_source == sh.c.order_source, u.c.order_id == sh.c.order_id,
                                              u.c.kind == "paid").correlate(sh).scalar_subquery()
        signed: Any = exists().where(sc.c.shipment_source == sh.c.source, sc.c.shipment_id == sh.c.shipment_id,
                                     sc.c.signed_by.is_not(None)).correlate(sh)
    else:  # gathered once and joined: a third faster than ~2 lookups per shipment on SQLite at bench-1m
        paid_at = select(u.c.order_source, u.c.order_id, func.min(u.c.at).label("at")).where(
            u.c.kind == "paid").group_by(u.c.order_source, u.c.order_id).subquery("paid")
        signs = select(sc.c.shipment_source, sc.c.shipment_id).where(sc.c.signed_by.is_not(None)).group_by(
            sc.c.shipment_source, sc.c.shipment_id).subquery("signs")
        frm = frm.outerjoin(paid_at, and_(paid_at.c.order_source == sh.c.order_source,
                                          paid_at.c.order_id == sh.c.order_id)).outerjoin(
            signs, and_(signs.c.shipment_source == sh.c.source, signs.c.shipment_id == sh.c.shipment_id))
        paid, signed = paid_at.c.at, signs.c.shipment_id.is_not(None)
    hours = rules.params["trade"]["on_time_hours"] * 3600
    on_time = case((epoch(sh.c.created_at, dialect) - epoch(paid, dialect) <= hours, 1), else_=0)  # unpaid: 0
    return select(literal("shipment"), sh.c.source, sh.c.shipment_id, o.c.shop_source, o.c.shop_id, w, literal(1),
                  on_time, case((signed, 1), else_=0), literal(0), sh.c.carrier_source, sh.c.carrier_id,
                  sh.c.courier_source, sh.c.courier_id).select_from(frm)


def _returns(rules: S.ScoreRules, plain: bool, scoped: bool) -> Any:
    """Quality returns, each by its order's weight; one the seller rejected (resolved `rejected`) counts
    nothing: a buyer's 30 rejected "quality" returns took a shop's returns part to 0 (found by review)."""
    ret, o, rr = t.returns, t.orders, t.return_resolutions
    frm, w = _of_order(ret, rules, plain, scoped)
    rejected = exists().where(rr.c.source == ret.c.source, rr.c.return_id == ret.c.return_id,
                              rr.c.outcome == "rejected")
    quality = and_(or_(*(ret.c.reason == r for r in QUALITY_RETURNS)), ~rejected)  # not IN: a literal list is
    # rendered per execution, so the statement could not run as compiled (adapters/db/direct.py)
    q = select(literal("return"), ret.c.source, ret.c.return_id, o.c.shop_source, o.c.shop_id, w, literal(0),
               literal(0), literal(0), case((quality, 1), else_=0), *[_NO_REF] * 4).select_from(frm)
    return q if scoped else q.where(quality)


_NO_REF = cast(null(), String)  # typed: PostgreSQL types a UNION ALL's columns pair by pair


def carriers(refs: Sequence[Any]) -> list[Ref]:
    """The subjects a parcel counts for, from its (carrier source, id, courier source, id): its carrier and its
    courier (once where both name one subject)."""
    return [r for r in dict.fromkeys(((refs[0], refs[1]), (refs[2], refs[3]))) if r[1] is not None]


def figures(row: Any) -> tuple[int, ...] | None:
    """An item row's (weight in millionths, shipped, on time, delivered, returns), as integers; None when it
    counts nothing (its order unknown, or a return for another reason than quality)."""
    if row[3] is None or not any(row[6:10]):
        return None
    return (round(float(row[5]) * SCALE), int(row[6]), int(row[7]), int(row[8]), int(row[9]))


def by_shop(rows: Iterable[Any]) -> dict[Ref, list[int]]:
    """Weight × each count, summed per shop, in millionths."""
    return sums_of(rows)[0]


def sums_of(rows: Iterable[Any]) -> tuple[dict[Ref, list[int]], dict[Ref, int]]:
    """Weight × each count summed per shop, and the parcels' weights per carrier and courier, in millionths
    (one pass: `rows` may be a stream)."""
    sums: dict[Ref, list[int]] = {}
    carried: dict[Ref, int] = {}
    for row in rows:
        if (f := figures(row)) is not None:
            _add(sums, (row[3], row[4]), f, 1)
            _carry(carried, row[CARRIED], f, 1)
    return sums, carried


def carried_by(rows: Iterable[Any], role: int) -> dict[Ref, int]:
    """The parcels' weights per carrier (`role` 0) or courier (1) of shipment rows read by that role's
    reference; a parcel whose courier is its carrier too counts once, as the carrier's."""
    carried: dict[Ref, int] = {}
    for row in rows:
        if (f := figures(row)) is None or not f[1]:
            continue
        carrier, courier = (row[10], row[11]), (row[12], row[13])
        ref = carrier if role == 0 else courier
        if ref[1] is not None and (role == 0 or courier != carrier):
            carried[ref] = carried.get(ref, 0) + f[0]
    return carried


def rebuild(conn: Connection, rows: Iterable[Any], chunk: int = 20_000
            ) -> tuple[dict[Ref, list[int]], dict[Ref, int]]:
    """Rewrite every item's part, every shop's sums and every carrier's and courier's parcels from `rows` (every
    shipment's and return's, `statements`), in the caller's transaction (the full recompute's); returns the
    sums (`sums_of`)."""
    assert bulk.columns("trade_parts") == ROW
    for table in (st.trade_parts, st.shop_trade, st.carrier_trade):
        conn.execute(delete(table))
    sums: dict[Ref, list[int]] = {}
    carried: dict[Ref, int] = {}
    part: list[tuple[Any, ...]] = []
    for row in rows:
        if (f := figures(row)) is None:
            continue
        part.append((*row[:5], *f, *row[CARRIED]))
        _add(sums, (row[3], row[4]), f, 1)
        _carry(carried, row[CARRIED], f, 1)
        if len(part) >= chunk:
            bulk.insert_tuples(conn, "trade_parts", part)
            part.clear()
    bulk.insert_tuples(conn, "trade_parts", part)
    bulk.insert_tuples(conn, "shop_trade", [(*shop, *v) for shop, v in sums.items()])
    bulk.insert_tuples(conn, "carrier_trade", [(*ref, n) for ref, n in carried.items() if n])
    upsert.insert_or_update(conn, st.trade_state, [{"name": "trade", "built_at": credit_log.now_utc()}])
    note_built(conn, True)
    return sums, carried


def built(conn: Connection) -> bool:
    """Whether the kept figures hold every order and rating (else count shops' figures from orders). Read
    once per transaction: a lone event's step asked three times (the figures, the rating sums, the profile),
    and only a full recount or recompute changes the answer, each telling `note_built`."""
    tx = conn.get_transaction()
    if tx is not None and (known := _BUILT_IN.get(tx)) is not None:
        return known
    found = bool(direct.rows(conn, _BUILT))
    if tx is not None:
        _BUILT_IN[tx] = found
    return found


def note_built(conn: Connection, now: bool) -> None:
    """What `built` answers for the rest of this transaction, which has just written or deleted the state."""
    if (tx := conn.get_transaction()) is not None:
        _BUILT_IN[tx] = now


_BUILT_IN: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()  # transaction -> built (gone with it)


def shop_sums(conn: Connection, shops: list[Ref]) -> dict[Ref, list[int]]:
    """The kept sums of these shops (a shop without shipments or returns has no row)."""
    s = st.shop_trade
    return {(r[0], r[1]): list(r[2:]) for r in direct.in_refs(conn, _SHOPS, s.c.shop_source, s.c.shop_id, shops)}


def carrier_sums(conn: Connection, subjects: list[Ref]) -> dict[Ref, int]:
    """The kept parcels (weights, millionths) of these carriers and couriers (none carried: no row)."""
    c = st.carrier_trade.c
    return {(r[0], r[1]): int(r[2]) for r in direct.in_refs(conn, _CARRIERS, c.subject_source, c.subject_id,
                                                              subjects)}


def refresh(conn: Connection, rules: S.ScoreRules, orders: list[Ref]) -> None:
    """Recount the shipments and returns of these orders; take what each counted before from the shop (and
    carrier, courier) it counted for, add what it counts now to its shop (carrier, courier) now, and rescore
    the carriers and couriers whose parcels moved (a drain, in its transaction). Nothing to do until a full
    recompute has built the tables."""
    if not orders or not built(conn):
        return
    new = {(r[0], r[1], r[2]): r for r in _items_of(conn, rules, orders)}
    deltas: dict[Ref, list[int]] = {}
    carried: dict[Ref, int] = {}
    for key, row in new.items():
        before = _part(conn, key)
        now = figures(row)
        if before is not None and now is not None and tuple(before[3:8]) == now and before[1:3] == row[3:5] \
                and tuple(before[8:]) == tuple(row[CARRIED]):
            continue
        if before is not None:
            was = tuple(before[3:8])
            _add(deltas, (before[1], before[2]), was, -1)
            _carry(carried, before[8:12], was, -1)
            direct.execute(conn, _DROP, dict(zip(("kind", "src", "id"), key, strict=True)))
        if now is not None:
            _add(deltas, (row[3], row[4]), now, 1)
            _carry(carried, row[CARRIED], now, 1)
            bulk.insert_tuples(conn, "trade_parts", [(*row[:5], *now, *row[CARRIED])])
    _apply(conn, {k: d for k, d in deltas.items() if any(d)})
    if moved := {k: d for k, d in carried.items() if d}:
        _apply_carried(conn, moved)
        from chengxin.services import scoring  # it reads the kept figures: no import at load

        scoring.rescore_in(conn, scoring.party_keys(conn, list(moved)))


def _part(conn: Connection, key: tuple[str, str, str]) -> Any:
    """What an item counted for which shop when last counted: (kind, shop source, shop id, weight, counts...,
    carrier source, carrier id, courier source, courier id)."""
    found = direct.rows(conn, _PART, dict(zip(("kind", "src", "id"), key, strict=True)))
    return found[0] if found else None


def _add(deltas: dict[Ref, list[int]], shop: Ref, f: tuple[int, ...], sign: int) -> None:
    acc = deltas.setdefault(shop, [0, 0, 0, 0])
    for i, n in enumerate(f[1:]):
        acc[i] += sign * f[0] * n


def _carry(carried: dict[Ref, int], refs: Sequence[Any], f: tuple[int, ...], sign: int) -> None:
    """A shipment's parcel (its weight) to each subject that carried it (`refs`: as `carriers` takes them)."""
    if f[1]:  # shipped: a shipment, not a return
        for ref in carriers(refs):
            carried[ref] = carried.get(ref, 0) + sign * f[0]


def _apply_carried(conn: Connection, deltas: dict[Ref, int]) -> None:
    sums = carrier_sums(conn, list(deltas))
    upsert.insert_or_update(conn, st.carrier_trade, [
        {"subject_source": ref[0], "subject_id": ref[1], "parcels": sums.get(ref, 0) + d} for ref, d in deltas.items()])


def _apply(conn: Connection, deltas: dict[Ref, list[int]]) -> None:
    if not deltas:
        return
    sums = shop_sums(conn, list(deltas))
    rows = []
    for shop, d in deltas.items():
        now = [a + b for a, b in zip(sums.get(shop, [0, 0, 0, 0]), d, strict=True)]
        rows.append({"shop_source": shop[0], "shop_id": shop[1], **dict(zip(_SUMS, now, strict=True))})
    upsert.insert_or_update(conn, st.shop_trade, rows)


_SUMS = ("shipped", "on_time", "delivered", "returns")
_TP = st.trade_parts
_KEY = (_TP.c.item_kind == bindparam("kind"), _TP.c.item_source == bindparam("src"), _TP.c.item_id == bindparam("id"))
_PART = select(_TP.c.item_kind, _TP.c.shop_source, _TP.c.shop_id, _TP.c.weight, *(_TP.c[c] for c in _SUMS),
               *(_TP.c[c] for c in ROW[CARRIED])).where(*_KEY)
_DROP = delete(_TP).where(*_KEY)
_BUILT = select(st.trade_state.c.name).where(st.trade_state.c.name == bindparam("name", "trade"))
_SHOPS = select(*(st.shop_trade.c[c] for c in ("shop_source", "shop_id", *_SUMS)))
_CARRIERS = select(st.carrier_trade.c.subject_source, st.carrier_trade.c.subject_id, st.carrier_trade.c.parcels)
_STATEMENTS: dict[tuple[str, int], Any] = {}


def _items_of(conn: Connection, rules: S.ScoreRules, orders: list[Ref]) -> list[Any]:
    """The weighted shipment and return rows (`ROW`) of these orders: one statement for both kinds (a UNION
    ALL, built once per dialect and number of orders), in chunks of `direct.CHUNK` orders."""
    orders = list(dict.fromkeys(orders))
    found: list[Any] = []
    for i in range(0, len(orders), direct.CHUNK):
        part = orders[i:i + direct.CHUNK]
        n = 1 << (len(part) - 1).bit_length()  # a few shapes (1, 2, 4 ... orders), each built once
        part += [direct.NO_REF] * (n - len(part))
        found.extend(direct.rows(conn, _items_stmt(conn.dialect.name, rules, n), pair_params("r", part)))
    return found


def _items_stmt(dialect: str, rules: S.ScoreRules, n: int) -> Any:
    """Both scoped item statements narrowed to `n` orders given as `pair_params("r", ...)` (the rules are
    loaded once, so the statement is built once per dialect and shape)."""
    if (found := _STATEMENTS.get((dialect, n))) is None:
        shipments, returns = (stmt.where(bound_pair_in(src, oid, "r", n))
                              for stmt, src, oid in statements(rules, dialect, False, True))
        found = _STATEMENTS[(dialect, n)] = shipments.union_all(returns)
    return found
