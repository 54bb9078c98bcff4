"""Whole columns for the detectors, read straight from the driver and coded in numpy.

A detector over millions of orders needs integers, not rows: `gather_orders` reads the columns it needs in
one query (each (source, id) reference joined into one string by the database), and numpy turns each column
into codes (`factorize`). No Python object is made per row beyond the order references the findings name.
The codes are numbered in order of first appearance, as reading row by row would number them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, literal, select

from chengxin.adapters.db import tables as t
from chengxin.domain.detection.rings import Orders
from chengxin.domain.events import Ref

SEP = "\x1f"  # between source and id in a joined reference (the ingestion refuses control characters)
Ints = NDArray[np.int64]


def factorize(values: Sequence[str | None]) -> tuple[Ints, list[str]]:
    """Codes of `values` (-1 for None or "") and the distinct values, numbered by first appearance. A dict
    of interned strings (each hashed once) beats sorting them in numpy (measured: 6 ms against 45 ms for
    83,000 values)."""
    index: dict[str, int] = {}
    codes = [index.setdefault(v, len(index)) if v else -1 for v in values]
    return np.array(codes, np.int64), list(index)


def _driver_sql(conn: Connection, stmt: Any) -> tuple[str, Any]:
    """A Core statement's SQL for this connection's driver, and its parameters in the driver's style."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    return str(compiled), params


def rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """All rows of a Core statement as plain tuples from the driver's own cursor (same transaction)."""
    return driver_rows(conn, *_driver_sql(conn, stmt))


def driver_rows(conn: Connection, sql: str, params: Any) -> list[tuple[Any, ...]]:
    """All rows of SQL in the driver's own dialect and parameter style, as plain tuples (same transaction)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def stream(conn: Connection, stmt: Any, size: int = 5000) -> Iterator[tuple[Any, ...]]:
    """The rows of a Core statement as plain tuples, `size` at a time (a server-side cursor on PostgreSQL),
    so a pass over millions of rows holds a few thousand; the caller may write in the same transaction."""
    sql, params = _driver_sql(conn, stmt)
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor(name="cx_stream") if conn.dialect.name == "postgresql" else raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield from batch
    finally:
        cursor.close()


def _joined(source: Any, ident: Any) -> Any:
    return source + literal(SEP) + ident


def _split(keys: list[str]) -> list[Ref]:
    return [tuple(k.split(SEP, 1)) for k in keys]  # type: ignore[misc]


def _epochs(at: Sequence[str]) -> NDArray[np.float64]:
    """Seconds since the epoch of stored UTC times (`2026-05-19T16:00:00.000000Z`, as ingestion writes
    them): parsed by numpy, the same value `datetime.fromisoformat(at).timestamp()` gives."""
    micros = np.array([a[:-1] for a in at], dtype="datetime64[us]").astype(np.int64)
    return micros / 1e6


def paid_query() -> Any:
    """Every payment with a payer account: (order source, order id, account, time, source, event id)."""
    u = t.order_updates
    return select(u.c.order_source, u.c.order_id, u.c.payer_account, u.c.at, u.c.source, u.c.event_id).where(
        u.c.kind == "paid", u.c.payer_account.is_not(None))


def latest_payers(paid: Iterable[Sequence[Any]]) -> dict[Ref, str]:
    """Each order's payer account from its latest payment: the greatest (time, source, event id), compared in
    Python (code points), not by SQL ORDER BY, whose order follows PostgreSQL's collation and could name
    another payment of the same second."""
    best: dict[Ref, tuple[tuple[str, str, str], str]] = {}
    for src, oid, account, at, source, event_id in paid:
        rank, old = (at, source, event_id), best.get((src, oid))
        if old is None or rank > old[0]:
            best[(src, oid)] = (rank, account)
    return {order: account for order, (_, account) in best.items()}


def gather_orders(conn: Connection) -> tuple[Orders, int]:
    """Every order with a buyer and a shop as columns (buyer, shop, time, device, address, payer account of
    its payment): two queries. Returns (input, orders)."""
    o = t.orders
    payer = latest_payers(rows(conn, paid_query()))
    got = rows(conn, select(o.c.source, o.c.order_id, _joined(o.c.buyer_source, o.c.buyer_id),
                            _joined(o.c.shop_source, o.c.shop_id), o.c.placed_at, o.c.device, o.c.address)
               .where(o.c.buyer_id.is_not(None), o.c.shop_id.is_not(None)))
    if not got:
        return Orders.build([]), 0
    src, oid, buyer, shop, at, device, address = zip(*got, strict=True)
    b_codes, buyers = factorize(buyer)
    s_codes, shops = factorize(shop)
    paid = [payer.get(k) for k in zip(src, oid, strict=True)]
    # one numbering for the three links, row by row: device, address, payer (as first seen)
    id_codes, identifiers = factorize([x for row in zip(device, address, paid, strict=True) for x in row])
    links = id_codes.reshape(-1, 3)
    data = Orders(list(zip(src, oid, strict=True)), b_codes, s_codes, _epochs(at), links[:, 0].copy(),
                  links[:, 1].copy(), links[:, 2].copy(), _split(buyers), _split(shops), identifiers)
    return data, len(got)
