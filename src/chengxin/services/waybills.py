"""The waybills the empty-parcel detector reads (`domain/detection/empty_parcel.py`), from storage.

- `gather(conn)`: the full run's input. Every shipment of a stored order with its scans, streamed once (two
  queries merged) through the array screen (`domain/detection/parcel_columns.py`); then
  only the flagged orders' waybills are read as objects, with the orders under their tracking numbers. What
  stays in memory is a row of numbers per waybill and each order's name packed in a buffer (`OrderNames`),
  where a Python object per waybill and scan took about a kilobyte (2.1 GiB at 0.9M orders).
- `by_shipments(conn, refs)`, `by_orders(conn, refs)`: waybills as objects, by key, in chunks (judging the
  flagged orders; the live reader, `services/detect_live.py`).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, or_, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import pair_in
from chengxin.domain.detection.empty_parcel import Rules, Scan, Screened, Trail, Waybill
from chengxin.domain.detection.parcel_columns import Builder, screen
from chengxin.domain.events import Ref

_STREAM = 20_000  # rows fetched at a time
_CHUNK = 200  # keys per OR-list query
_TRACKING_CHUNK = 500  # tracking numbers per IN-list query

# A waybill as `Builder.add` takes it after the order's number: shop, carrier, courier, items, ship-to, weight, scans
Row = tuple[Ref, Ref | None, Ref | None, tuple[tuple[Ref, int], ...], str, int | None, tuple[Scan, ...]]


def gather(conn: Connection, rules: Rules) -> tuple[Screened, int]:
    """Screen every waybill as arrays, then read the flagged orders' waybills. Returns (input, waybills).
    Orders with several shipments (in `split`) wait until all their waybills are read: the screen takes an
    order's rows together."""
    shared, split = _shared_tracking_numbers(conn), _split_orders(conn)
    builder, names = Builder(rules), OrderNames()
    waiting: dict[Ref, list[tuple[Ref, Row, bool]]] = defaultdict(list)
    for order, ship, tracking, row in _waybill_rows(conn):
        if order in split:  # an order's rows go in together: this one's when all are read
            waiting[order].append((ship, row, tracking in shared))
        else:
            names.add(order)
            builder.add(len(names) - 1, *row, tracking in shared)
    for order, rows in waiting.items():
        names.add(order)
        for _, row, on_several in sorted(rows, key=lambda r: r[0]):  # in shipment order: a tie counts by the first
            builder.add(len(names) - 1, *row, on_several)
    categories = {(s, pid): cat for s, pid, cat in stream_rows(conn, select(
        t.products.c.source, t.products.c.product_id, t.products.c.category))}
    found = screen(builder, categories, rules)
    flagged = by_orders(conn, [names[int(i)] for i in found.flagged])
    return Screened(flagged, found.typical, others(conn, flagged), found.totals), len(builder)


class OrderNames:
    """Every order's (source, id), numbered as read: the sources numbered, the ids packed in one buffer (a
    Python string and tuple each would be ~110 bytes an order)."""

    def __init__(self) -> None:
        self.sources: dict[str, int] = {}
        self.names: list[str] = []
        self.source, self.end, self.ids = array("i"), array("q"), bytearray()

    def add(self, ref: Ref) -> None:
        if ref[0] not in self.sources:
            self.sources[ref[0]] = len(self.names)
            self.names.append(ref[0])
        self.source.append(self.sources[ref[0]])
        self.ids += ref[1].encode()
        self.end.append(len(self.ids))

    def __len__(self) -> int:
        return len(self.end)

    def __getitem__(self, i: int) -> Ref:
        start = self.end[i - 1] if i else 0
        return self.names[self.source[i]], self.ids[start:self.end[i]].decode()


def _waybill_rows(conn: Connection) -> Iterator[tuple[Ref, Ref, str, Row]]:
    """(order, shipment, tracking number, the rest of a `Builder.add` row) for every shipment of a stored
    order: the shipments (with their orders) and the scans, each read in shipment-key order and merged, so
    that no more than one shipment's scans are held (joined in SQL, each shipment's scans were an index
    lookup: three times slower on SQLite)."""
    sh, o, sc = t.shipments, t.orders, t.shipment_scans
    c = _bytewise(conn)
    ships = select(sh.c.source, sh.c.shipment_id, sh.c.carrier_source, sh.c.carrier_id, sh.c.courier_source,
                   sh.c.courier_id, sh.c.tracking_no, sh.c.weight_g, o.c.source, o.c.order_id, o.c.shop_source,
                   o.c.shop_id, o.c["items"], o.c.ship_to_region,
                   ).select_from(sh.join(o, and_(o.c.source == sh.c.order_source, o.c.order_id == sh.c.order_id))
                                 ).order_by(c(sh.c.source), c(sh.c.shipment_id))
    scans = stream_rows(conn, select(sc.c.shipment_source, sc.c.shipment_id, sc.c.at, sc.c.status, sc.c.region).where(
        sc.c.shipment_source.is_not(None), sc.c.shipment_id.is_not(None)).order_by(
        c(sc.c.shipment_source), c(sc.c.shipment_id)))
    scan = next(scans, None)
    for (src, sid, car_src, car_id, cou_src, cou_id, tracking, weight, o_src, o_id, shop_src, shop_id, items,
         ship_to) in stream_rows(conn, ships):
        key, trail = (src, sid), Trail()
        while scan is not None and (scan[0], scan[1]) < key:  # scans of no stored order's shipment
            scan = next(scans, None)
        while scan is not None and scan[0] == src and scan[1] == sid:
            trail.add(epoch(scan[2]), scan[3], scan[4])
            scan = next(scans, None)
        yield (o_src, o_id), key, tracking, (
            (shop_src, shop_id), (car_src, car_id) if car_id else None, (cou_src, cou_id) if cou_id else None,
            _items(o_src, items), ship_to, weight, trail.scans())


def _bytewise(conn: Connection) -> Any:
    """Ordering by code point, as Python compares strings (the merge above relies on it): SQLite's default;
    PostgreSQL's "C" collation (its default follows the locale)."""
    if conn.dialect.name == "postgresql":
        return lambda col: col.collate("C")
    return lambda col: col


def _split_orders(conn: Connection) -> set[Ref]:
    """Orders with more than one shipment (few: most orders ship in one parcel)."""
    sh = t.shipments.c
    return {(src, oid) for src, oid in conn.execute(select(sh.order_source, sh.order_id).where(
        sh.order_id.is_not(None)).group_by(sh.order_source, sh.order_id).having(func.count() > 1))}


def _items(source: str, text: str) -> tuple[tuple[Ref, int], ...]:
    return tuple(((source, str(i["product_id"])), int(i.get("quantity", 1))) for i in orjson.loads(text))


def epoch(at: str) -> float:
    """Seconds since 1970 of a stored time."""
    return datetime.fromisoformat(at).timestamp()


def stream_rows(conn: Connection, q: Any) -> Iterator[Any]:
    """The rows of a Core statement, fetched `_STREAM` at a time (a server-side cursor on PostgreSQL; two may
    be open at once on one connection)."""
    for chunk in conn.execute(q, execution_options={"yield_per": _STREAM}).partitions():
        yield from chunk


def _shared_tracking_numbers(conn: Connection) -> set[str]:
    """Tracking numbers on the shipments of more than one stored order."""
    sh, o = t.shipments, t.orders
    return set(conn.execute(
        select(sh.c.tracking_no).select_from(sh.join(o, and_(o.c.source == sh.c.order_source,
                                                              o.c.order_id == sh.c.order_id)))
        .group_by(sh.c.tracking_no)
        .having(or_(func.min(o.c.source) != func.max(o.c.source), func.min(o.c.order_id) != func.max(o.c.order_id)))
    ).scalars())


def others(conn: Connection, waybills: Sequence[Waybill]) -> dict[str, list[Ref]]:
    """The stored orders under each of these waybills' tracking numbers (shipments of a stored order, as the
    full run counts them)."""
    sh, o = t.shipments, t.orders
    numbers = sorted({w.tracking_no for w in waybills})
    out: dict[str, list[Ref]] = defaultdict(list)
    for i in range(0, len(numbers), _TRACKING_CHUNK):
        for no, src, oid in conn.execute(
                select(sh.c.tracking_no, o.c.source, o.c.order_id).select_from(sh.join(o, and_(
                    o.c.source == sh.c.order_source, o.c.order_id == sh.c.order_id)))
                .where(sh.c.tracking_no.in_(numbers[i:i + _TRACKING_CHUNK]))):
            out[no].append((src, oid))
    return out


def by_shipments(conn: Connection, refs: Sequence[Ref]) -> list[Waybill]:
    """The waybills of these shipments (of a stored order)."""
    return _waybills(conn, t.shipments.c.source, t.shipments.c.shipment_id, refs)


def by_orders(conn: Connection, refs: Sequence[Ref]) -> list[Waybill]:
    """Every waybill of these orders."""
    return _waybills(conn, t.shipments.c.order_source, t.shipments.c.order_id, refs)


def _waybills(conn: Connection, source_col: Any, id_col: Any, refs: Sequence[Ref]) -> list[Waybill]:
    sh, o, sc = t.shipments, t.orders, t.shipment_scans
    out: list[Waybill] = []
    for i in range(0, len(refs), _CHUNK):
        rows = list(conn.execute(select(
            sh.c.source, sh.c.shipment_id, sh.c.carrier_source, sh.c.carrier_id, sh.c.courier_source,
            sh.c.courier_id, sh.c.tracking_no, sh.c.weight_g, o.c.source, o.c.order_id, o.c.shop_source,
            o.c.shop_id, o.c["items"], o.c.ship_to_region).select_from(sh.join(o, and_(
                o.c.source == sh.c.order_source, o.c.order_id == sh.c.order_id))).where(
            pair_in(source_col, id_col, refs[i:i + _CHUNK]))))
        trails: dict[Ref, Trail] = defaultdict(Trail)
        for src, sid, at, status, region in [] if not rows else conn.execute(select(
                sc.c.shipment_source, sc.c.shipment_id, sc.c.at, sc.c.status, sc.c.region).where(
                pair_in(sc.c.shipment_source, sc.c.shipment_id, [(r[0], r[1]) for r in rows]))):
            trails[(src, sid)].add(epoch(at), status, region)
        out += [_waybill(r, trails.get((r[0], r[1]))) for r in rows]
    return out


def _waybill(r: Any, trail: Trail | None) -> Waybill:
    (src, sid, car_src, car_id, cou_src, cou_id, tracking, weight, o_src, o_id, shop_src, shop_id, items,
     ship_to) = r
    return Waybill((o_src, o_id), (shop_src, shop_id), _items(o_src, items), ship_to, (src, sid),
                   (car_src, car_id) if car_id else None, (cou_src, cou_id) if cou_id else None, tracking,
                   weight, () if trail is None else trail.scans())


def categories_of(conn: Connection, products: Sequence[Ref]) -> dict[Ref, str]:
    """The categories of these products."""
    p, out = t.products.c, {}
    for i in range(0, len(products), _CHUNK):
        out.update({(s, pid): cat for s, pid, cat in conn.execute(select(p.source, p.product_id, p.category).where(
            pair_in(p.source, p.product_id, products[i:i + _CHUNK])))})
    return out
