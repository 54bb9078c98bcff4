"""What a mark of the scoring queue names: the rating pairs to recount (those marked, those of marked orders'
ratings), the orders whose trade figures may change, and the shops and subjects whose party's score may change.

Neighbours: `services/standing_queue.py` (the marks), `services/standing_drain.py` and
`services/standing_verdicts.py` (which settle what they name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, literal, select, union_all

from chengxin.adapters.db import direct
from chengxin.adapters.db import tables as t
from chengxin.services.standing_queue import Pair, Ref


def touched(conn: Connection, marks: Sequence[Any], pairs: list[Pair], orders: dict[Ref, OrderRefs]
             ) -> list[Ref]:
    """Shops and subjects whose party's score the marks may change (`orders`: what `orders_read` found)."""
    refs: dict[Ref, None] = {}
    for target, author in pairs:
        refs[target] = refs[author] = None
    for m in marks:
        ref = (m.a_source, m.a_id)
        found = orders[ref].parties if m.kind == "order" and ref in orders else _RESOLVE[m.kind](conn, ref)
        for party in found:
            refs[party] = None
    return list(refs)


def _one(conn: Connection, table: Any, key: str, ref: Ref, *cols: str) -> list[Ref]:
    """The (source, id) pairs in `cols` of the row of `table` whose (source, key) is `ref`."""
    stmt = _ONE.get((table.name, key, cols))
    if stmt is None:
        stmt = _ONE[(table.name, key, cols)] = select(*(table.c[c] for c in cols)).where(
            table.c.source == bindparam("src"), table.c[key] == bindparam("key"))
    found = direct.rows(conn, stmt, {"src": ref[0], "key": ref[1]})
    return [(found[0][i], found[0][i + 1]) for i in range(0, len(cols), 2)] if found else []


_ONE: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _order_parties(conn: Connection, ref: Ref) -> list[Ref]:
    return _one(conn, t.orders, "order_id", ref, "shop_source", "shop_id", "buyer_source", "buyer_id")


def _shipment_order(conn: Connection, ref: Ref) -> list[Ref]:
    return _one(conn, t.shipments, "shipment_id", ref, "order_source", "order_id")


def orders_of(conn: Connection, marks: Sequence[Any]) -> list[Ref]:
    """The orders whose trade figures the marks may change: their own, those of signed shipments, and those
    of resolved returns."""
    refs: dict[Ref, None] = {}
    for m in marks:
        if m.kind == "order":
            refs[(m.a_source, m.a_id)] = None
        elif m.kind == "shipment":
            refs.update(dict.fromkeys(_shipment_order(conn, (m.a_source, m.a_id))))
        elif m.kind == "return":  # its resolution: a rejected return no longer counts
            refs.update(dict.fromkeys(_one(conn, t.returns, "return_id", (m.a_source, m.a_id), "order_source",
                                           "order_id")))
    return list(refs)


def _return_parties(conn: Connection, ref: Ref) -> list[Ref]:
    orders = _one(conn, t.returns, "return_id", ref, "order_source", "order_id")
    return _order_parties(conn, orders[0]) if orders else []


_RESOLVE: dict[str, Any] = {
    "pair": lambda conn, ref: [],  # the pair's own refs are added from the recounted pairs
    "party": lambda conn, ref: [ref],
    "order": _order_parties,
    "return": _return_parties,
    "shipment": lambda conn, ref: [p for order in _shipment_order(conn, ref) for p in _order_parties(conn, order)],
    "complaint": lambda conn, ref: _one(conn, t.complaints, "complaint_id", ref, "target_source", "target_id"),
    "sanction": lambda conn, ref: _one(conn, t.sanctions, "sanction_id", ref, "subject_source", "subject_id"),
}


class OrderRefs(NamedTuple):
    """What an order mark names: the pairs of its ratings, and its shop and buyer (none: an unknown order)."""
    pairs: list[Pair]
    parties: list[Ref]


def orders_read(conn: Connection, marks: Sequence[Any]) -> dict[Ref, OrderRefs]:
    """For each order mark, its ratings' pairs and its parties, in one statement per order (they were two,
    the parties read after the recount, which changes neither)."""
    found: dict[Ref, OrderRefs] = {}
    for m in marks:
        if m.kind == "order" and (ref := (m.a_source, m.a_id)) not in found:
            rows = direct.rows(conn, _ORDER_REFS, {"src": m.a_source, "oid": m.a_id})
            order = next((r for r in rows if r[0] == "order"), None)  # the order's key: one row at most
            found[ref] = OrderRefs([((r[1], r[2]), (r[3], r[4])) for r in rows if r[0] == "rating"],
                                   [(order[1], order[2]), (order[3], order[4])] if order else [])
    return found


def pairs_of(marks: Sequence[Any], orders: dict[Ref, OrderRefs]) -> list[Pair]:
    """The pairs to recount: those marked, and those of the ratings of marked orders (`orders`: what
    `orders_read` found)."""
    pairs = {((m.a_source, m.a_id), (m.b_source, m.b_id)): None for m in marks if m.kind == "pair"}
    for m in marks:
        if m.kind == "order":
            for target, author in orders[(m.a_source, m.a_id)].pairs:
                if target[1] is not None and author[1] is not None:
                    pairs[(target, author)] = None
    return list(pairs)


_R, _O = t.reviews.c, t.orders.c
_ORDER_REFS = union_all(
    select(literal("rating"), _R.target_source, _R.target_id, _R.author_source, _R.author_id).where(
        _R.order_source == bindparam("src"), _R.order_id == bindparam("oid")),
    select(literal("order"), _O.shop_source, _O.shop_id, _O.buyer_source, _O.buyer_id).where(
        _O.source == bindparam("src"), _O.order_id == bindparam("oid")))
