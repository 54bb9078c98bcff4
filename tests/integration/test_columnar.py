"""The columnar order reader gives exactly what reading the orders row by row gives, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, select
from tests.conftest import ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.domain.events import Ref
from chengxin.services.columnar import factorize, gather_orders
from chengxin.simulate import Simulator, make_params


def _rowwise(conn: Connection) -> dict[str, Any]:
    """The plain reading: one Python step per order (what gather_orders replaced)."""
    o, u = t.orders, t.order_updates
    payer = {(s, i): a for s, i, a in conn.execute(select(u.c.order_source, u.c.order_id, u.c.payer_account)
                                                    .where(u.c.kind == "paid", u.c.payer_account.is_not(None)))}
    buyers: dict[Ref, int] = {}
    shops: dict[Ref, int] = {}
    ids: dict[str, int] = {}
    out: dict[str, list[Any]] = {k: [] for k in ("orders", "buyer", "shop", "at", "device", "address", "payer")}
    for src, oid, b_src, b_id, s_src, s_id, at, dev, addr in conn.execute(
            select(o.c.source, o.c.order_id, o.c.buyer_source, o.c.buyer_id, o.c.shop_source, o.c.shop_id,
                   o.c.placed_at, o.c.device, o.c.address).where(o.c.buyer_id.is_not(None), o.c.shop_id.is_not(None))):
        out["orders"].append((src, oid))
        out["buyer"].append(buyers.setdefault((b_src, b_id), len(buyers)))
        out["shop"].append(shops.setdefault((s_src, s_id), len(shops)))
        out["at"].append(datetime.fromisoformat(at).timestamp())
        for col, value in (("device", dev), ("address", addr), ("payer", payer.get((src, oid)))):
            out[col].append(-1 if value is None else ids.setdefault(value, len(ids)))
    return {**out, "buyers": list(buyers), "shops": list(shops), "identifiers": list(ids)}


@pytest.fixture
def traded(app: Any) -> Iterator[Any]:
    params = make_params(None, seed=5, days=12, shops=12, buyers=150, orders_per_day=40, couriers=3, rings=1,
                         ring_workers=(5, 7))
    assert ingest_text(app, b"".join(Simulator(params).lines()).decode()).rejected == 0
    yield app


def test_columns_are_what_row_by_row_reading_gives(traded: Any) -> None:
    with read_connection(traded.engine) as conn:
        data, n = gather_orders(conn)
        want = _rowwise(conn)
    assert n == len(want["orders"]) > 300
    assert list(data.orders) == want["orders"]
    for col in ("buyer", "shop", "device", "address", "payer"):
        assert getattr(data, col).tolist() == want[col], col
    assert data.at.tolist() == want["at"]  # the same floats, not merely close
    assert list(data.buyers) == want["buyers"] and list(data.shops) == want["shops"]
    assert list(data.identifiers) == want["identifiers"]
    assert (data.payer >= 0).any() and (data.device >= 0).any()


def test_an_empty_store_has_no_orders(app: Any) -> None:
    with read_connection(app.engine) as conn:
        data, n = gather_orders(conn)
    assert n == 0 and len(data.orders) == 0


def test_factorize_numbers_by_first_appearance_and_skips_missing() -> None:
    codes, distinct = factorize(np.array(["b", "", "a", "b", "c", "a", ""]))
    assert codes.tolist() == [0, -1, 1, 0, 2, 1, -1] and distinct == ["b", "a", "c"]
