"""The order graph (services/order_graph.py) holds what the orders table holds, however the orders arrived,
and ring detection reads the same rings from it as from the orders table; on both databases."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import ingest_text

from chengxin.adapters.db import graph_tables as g
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.domain.detection import rings
from chengxin.domain.detection.rings import Orders
from chengxin.services import order_graph
from chengxin.services.columnar import gather_orders
from chengxin.services.detect import detect, rules
from chengxin.simulate import Simulator, make_params

SOURCE = "urn:cx:platform:sim"


def _lines() -> list[str]:
    params = make_params(None, seed=7, days=14, shops=12, buyers=160, orders_per_day=40, couriers=3, rings=1,
                         ring_workers=(6, 8))
    return [line.decode() for line in Simulator(params).lines()]


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return _lines()


def _orders(data: Orders) -> set[tuple[Any, ...]]:
    """Each order as (order, buyer, shop, time, device, address, payer), names instead of codes."""
    def ident(code: int) -> str | None:
        return None if code < 0 else data.identifiers[code]

    return {(tuple(data.orders[i]), tuple(data.buyers[int(data.buyer[i])]), tuple(data.shops[int(data.shop[i])]),
             float(data.at[i]), ident(int(data.device[i])), ident(int(data.address[i])), ident(int(data.payer[i])))
            for i in range(len(data.orders))}


def _refresh(app: Any) -> dict[str, Any]:
    with write_transaction(app.engine) as conn:
        return order_graph.refresh(conn)


def _both(app: Any) -> tuple[Orders, Orders]:
    with read_connection(app.engine) as conn:
        return order_graph.read(conn)[0], gather_orders(conn)[0]


def _rings(data: Orders) -> list[tuple[Any, ...]]:
    found = rings.detect(data, rules().fake_order_ring)
    return sorted((tuple(sorted(map(tuple, f.refs("parties")))), tuple(sorted(map(tuple, f.refs("orders")))))
                  for f in found)


def test_a_first_refresh_numbers_as_the_orders_table_reads(app: Any, lines: list[str]) -> None:
    assert ingest_text(app, "".join(lines)).rejected == 0
    assert _refresh(app)["rebuilt"] is True
    graph, table = _both(app)
    assert len(graph.orders) == len(table.orders) > 400
    for col in ("buyer", "shop", "device", "address", "payer", "at"):
        assert getattr(graph, col).tolist() == getattr(table, col).tolist(), col
    assert list(graph.orders) == list(table.orders)
    assert list(graph.buyers) == list(table.buyers) and list(graph.shops) == list(table.shops)
    assert list(graph.identifiers) == list(table.identifiers)
    assert _rings(graph) == _rings(table) and _rings(graph)


def test_refreshes_between_loads_keep_up_with_the_store(app: Any, lines: list[str]) -> None:
    for part in (lines[: len(lines) // 3], lines[len(lines) // 3: len(lines) // 2], lines[len(lines) // 2:]):
        assert ingest_text(app, "".join(part)).rejected == 0
        done = _refresh(app)
        graph, table = _both(app)
        assert _orders(graph) == _orders(table)
    assert done["rebuilt"] is False and done["events"] > 0 and done["orders"] > 0
    assert _rings(graph) == _rings(table) and _rings(graph)
    with read_connection(app.engine) as conn:
        assert conn.execute(select(g.order_graph_state.c.chunks)).scalar_one() == 3


def test_a_refresh_with_nothing_new_appends_nothing(app: Any, lines: list[str]) -> None:
    ingest_text(app, "".join(lines))
    _refresh(app)
    ingest_text(app, "".join(lines[:50]))  # duplicates only: no event is stored
    assert _refresh(app) == {"rebuilt": False, "events": 0, "orders": 0}
    with read_connection(app.engine) as conn:
        assert conn.execute(select(func.count()).select_from(g.order_graph_chunks)).scalar_one() > 0
        assert conn.execute(select(g.order_graph_state.c.chunks)).scalar_one() == 1


def _event(eid: str, etype: str, at: str, data: dict[str, Any]) -> str:
    return json.dumps({"specversion": "1.0", "id": eid, "source": SOURCE, "type": etype, "time": at,
                       "data": data}) + "\n"


def test_an_order_placed_again_and_paid_later_is_read_as_it_stands(app: Any) -> None:
    placed = {"order_id": "O1", "shop_id": "S1", "buyer_id": "U1", "items": [
        {"product_id": "G1", "quantity": 1, "unit_price": 100}], "total": 100, "ship_to_region": "310104",
        "device": "d:1"}
    ingest_text(app, _event("e1", "cx.order.placed", "2026-03-01T10:00:00Z", placed)
                + _event("e2", "cx.order.placed", "2026-03-01T10:05:00Z", {**placed, "order_id": "O2"}))
    _refresh(app)
    # O1 placed again by a later event at another shop; O2 paid; O1's earlier entry must not stay an edge
    ingest_text(app, _event("e3", "cx.order.placed", "2026-03-01T11:00:00Z", {**placed, "shop_id": "S2"})
                + _event("e4", "cx.order.paid", "2026-03-01T10:06:00Z",
                         {"order_id": "O2", "amount": 100, "method": "card", "payer_account": "p:9"}))
    assert _refresh(app) == {"rebuilt": False, "events": 2, "orders": 2}
    graph, table = _both(app)
    assert _orders(graph) == _orders(table)
    got = {o[0]: o for o in _orders(graph)}
    assert got[(SOURCE, "O1")][2] == (SOURCE, "S2") and got[(SOURCE, "O2")][6] == "p:9"
    assert len(graph.orders) == 2 and len(graph.shops) == 2  # S1 keeps its number, O2 still orders there


def test_detect_refreshes_the_graph_and_a_rebuild_reads_the_same(app: Any, lines: list[str]) -> None:
    half = len(lines) // 2
    ingest_text(app, "".join(lines[:half]))
    detect(app, ["fake_order_ring"], publish=False)
    ingest_text(app, "".join(lines[half:]))
    run = detect(app, ["fake_order_ring"], publish=False)
    assert run.graph["events"] > 0 and run.inputs["orders"]["rows"] > 400
    with read_connection(app.engine) as conn:
        table = gather_orders(conn)[0]
    rebuilt = detect(app, ["fake_order_ring"], publish=False, rebuild_graph=True)
    assert rebuilt.graph["rebuilt"] is True
    want = _rings(table)
    for r in (run, rebuilt):
        assert sorted((tuple(sorted(map(tuple, f.refs("parties")))), tuple(sorted(map(tuple, f.refs("orders")))))
                      for f in r.findings) == want
    assert want


def test_an_empty_store_reads_no_orders(app: Any) -> None:
    assert _refresh(app)["orders"] == 0
    with read_connection(app.engine) as conn:
        data, n = order_graph.read(conn)
    assert n == 0 and len(data.orders) == 0


@pytest.fixture
def names() -> Iterator[order_graph.Names]:
    yield order_graph.Names([zlib.compress(b'["a","1","b","2"]'), zlib.compress(b'["c","3"]')], 3)


def test_names_read_across_chunks_like_a_list(names: order_graph.Names) -> None:
    assert list(names) == [("a", "1"), ("b", "2"), ("c", "3")]
    assert names[-1] == ("c", "3") and names[1:] == [("b", "2"), ("c", "3")]
    with pytest.raises(IndexError):
        names[3]
    ids = order_graph.Names([zlib.compress(b'["","d:1","","d:2"]')], 2, pairs=False)
    assert list(ids) == ["d:1", "d:2"]


def _placed(oid: str, shop: str = "S1", buyer: str = "U1") -> dict[str, Any]:
    return {"order_id": oid, "shop_id": shop, "buyer_id": buyer, "items": [
        {"product_id": "G1", "quantity": 1, "unit_price": 100}], "total": 100, "ship_to_region": "310104"}


def _paid(oid: str, account: str) -> dict[str, Any]:
    return {"order_id": oid, "amount": 100, "method": "card", "payer_account": account}


def test_payments_in_the_same_second_name_one_payer_everywhere(app: Any) -> None:
    """The latest payment is the greatest (time, source, event id) by code point, whatever PostgreSQL's
    collation would sort first: the graph (refreshed or rebuilt) and the table read agree."""
    ingest_text(app, _event("p1", "cx.order.placed", "2026-03-01T10:00:00Z", _placed("O1")))
    _refresh(app)
    ingest_text(app, _event("e1", "cx.order.paid", "2026-03-01T10:01:00Z", _paid("O1", "acct:A"))
                + _event("E2", "cx.order.paid", "2026-03-01T10:01:00Z", _paid("O1", "acct:B")))
    for step in ("refresh", "rebuild"):
        with write_transaction(app.engine) as conn:
            order_graph.rebuild(conn) if step == "rebuild" else order_graph.refresh(conn)
        graph, table = _both(app)
        assert {o[6] for o in _orders(graph)} == {o[6] for o in _orders(table)} == {"acct:A"}, step  # "e1" > "E2"


def test_a_read_keeps_its_snapshot_while_a_refresh_commits(app: Any) -> None:
    ingest_text(app, "".join(_event(f"p{i}", "cx.order.placed", "2026-03-01T10:00:00Z", _placed(f"O{i}"))
                             for i in range(3)))
    _refresh(app)
    with read_connection(app.engine) as conn:
        before = conn.execute(select(g.order_graph_state.c.entries)).scalar_one()  # the snapshot starts here
        ingest_text(app, _event("p9", "cx.order.placed", "2026-03-01T11:00:00Z", _placed("O0", shop="S2"))
                    + _event("pa", "cx.order.placed", "2026-03-01T11:00:00Z", _placed("O3")))
        assert _refresh(app)["orders"] == 2
        data, n = order_graph.read(conn)
        assert before == n == 3 and {o[2] for o in _orders(data)} == {(SOURCE, "S1")}
    graph, table = _both(app)
    assert _orders(graph) == _orders(table) and len(graph.orders) == 4


def test_a_large_change_or_many_superseded_entries_rebuild(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(order_graph, "REBUILD_FROM", 2)
    ingest_text(app, "".join(_event(f"p{i}", "cx.order.placed", "2026-03-01T10:00:00Z", _placed(f"O{i}"))
                             for i in range(8)))
    _refresh(app)
    ingest_text(app, "".join(_event(f"q{i}", "cx.order.placed", "2026-03-01T10:00:00Z", _placed(f"N{i}"))
                             for i in range(5)))
    assert _refresh(app)["rebuilt"] is True  # 5 changed orders > max(2, 13 // 2)
    for k in range(3):  # each payment appends its order again; the third round passes 2 x 13 + 2 entries
        ingest_text(app, "".join(_event(f"y{k}{i}", "cx.order.paid", f"2026-03-01T10:0{k}:00Z", _paid(f"O{i}", "a"))
                                 for i in range(6)))
        done = _refresh(app)
        assert done["rebuilt"] is (k == 2) and (done["orders"] == 6 if k < 2 else 13)
        graph, table = _both(app)
        assert _orders(graph) == _orders(table)
    with read_connection(app.engine) as conn:
        assert conn.execute(select(g.order_graph_state.c.entries)).scalar_one() == 13
