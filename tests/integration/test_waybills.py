"""`services/waybills.gather` (the waybills screened as arrays, only the flagged orders read as objects) against
reading every order's waybills as objects, on both databases, on data chosen to break the merge of the two
sorted streams and the arrays: ids whose order differs between a locale collation and code points, the same
ids under two sources, shipments and scans reported by another source, orders shipped in three parcels with
tied scores, scans of shipments no order has, a shipment of an order never stored, multi-item orders,
quantities of 0, weights of 0 or none, and declared weights beyond what a float holds exactly."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from tests.conftest import PG_URL, _with_db, ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import make_engine, migrate, read_connection
from chengxin.bootstrap import bootstrap
from chengxin.domain.detection import empty_parcel
from chengxin.domain.detection.empty_parcel import Waybills
from chengxin.services import waybills
from chengxin.services.detect import rules as detect_rules
from chengxin.settings import Settings

P, Q, L = "urn:cx:platform:P1", "urn:cx:platform:P2", "urn:cx:logistics:L1"
n = [0]


def ev(src, typ, data, time="2026-01-05T10:00:00+08:00"):
    n[0] += 1
    return json.dumps({"specversion": "1.0", "id": f"e{n[0]}", "source": src, "type": typ, "time": time, "data": data},
                      ensure_ascii=False)


def hh(h):
    d, h = divmod(h, 24)
    return f"2026-01-{6 + d:02d}T{h:02d}:00:00+08:00"


def scan(who, shipment, status, region, h):
    if status == "delivered":
        return ev(who, "cx.shipment.delivered", {"shipment_id": shipment, "signed_by": "recipient", "region": region},
                  hh(h))
    return ev(who, "cx.shipment.scanned", {"shipment_id": shipment, "status": status, "region": region}, hh(h))


def build():
    lines = []
    for src in (P, Q):
        lines.append(ev(src, "cx.subject.registered", {"subject_id": "M1", "kind": "enterprise", "name": "m",
                        "uscc": "91310104MA1FL8XQ36", "region": "310104"}))
        lines.append(ev(src, "cx.shop.opened", {"shop_id": "S1", "operator_id": "M1", "name": "s", "url": "https://x",
                                                "categories": ["food"]}))
        for g, cat in (("G1", "food"), ("G2", "food"), ("Gé", "drug")):
            lines.append(ev(src, "cx.product.listed", {"product_id": g, "shop_id": "S1", "title": "t",
                                                       "category": cat, "list_price": 10, "price": 9}))
    lines.append(ev(L, "cx.subject.registered", {"subject_id": "LG", "kind": "logistics", "name": "l",
                    "uscc": "91310000MA1K3R5T2F", "region": "310000"}))
    # ids chosen so that a locale collation and code point order disagree; the same ids in two sources
    oids = ["a", "B", "b", "ä", "Z", "z", "a-1", "a1", "é", "中", "O 1", "O1", "o1", "x" * 30, "Ω"]
    k = 0
    for src in (P, Q):
        for i, oid in enumerate(oids):
            items = [{"product_id": ["G1", "G2", "Gé"][i % 3], "quantity": (i % 3), "unit_price": 1}]
            if i % 5 == 4:
                items.append({"product_id": "G2", "quantity": 1, "unit_price": 1})
            lines.append(ev(src, "cx.order.placed", {"order_id": oid, "shop_id": "S1", "buyer_id": "U1",
                                                     "items": items, "total": 1, "ship_to_region": "310104"}))
            for s in range(1 + (i % 4 == 0) * 2):  # some orders ship in three parcels
                k += 1
                sid = f"{oid}/{s}" if s else ["Sh", "sh", "Ä", "ä", "中", "z", "A"][k % 7] + oid
                who = L if k % 2 else src
                lines.append(ev(who, "cx.shipment.created", {
                    "shipment_id": sid, "order_id": oid if who == src else {"source": src, "id": oid},
                    "carrier_id": "LG" if who == L else {"source": L, "id": "LG"},
                    "tracking_no": f"T{k % 9}", "weight_g": [None, 0, 30, 500, 800, 600][k % 6]}))
                rep = sid if k % 3 else {"source": who, "id": sid}
                scanner = who if k % 3 else L
                # no transit (tied across shipments of one order), moved, signed far, never scanned
                steps = ([("picked_up", "310104", 0), ("delivered", "310104", 2)],
                         [("picked_up", "330106", 0), ("in_transit", "330106", 10), ("delivered", "310104", 40)],
                         [("picked_up", "330106", 0), ("delivered", "650102", 60)], [])[k % 4]
                lines += [scan(scanner, rep, status, region, h) for status, region, h in steps]
    # a shipment of an order never stored, with scans, and scans of a shipment never created
    for who, sid, oid in ((P, "aa", "nope"), (P, "ä0", "nope2"), (Q, "", None)):
        if oid:
            lines.append(ev(who, "cx.shipment.created", {"shipment_id": sid, "order_id": oid, "carrier_id": "LG",
                                                         "tracking_no": "T1"}))
        for x in ("a", "zz", "中中", sid or "B"):
            lines += [scan(who, x + "~", "picked_up", "310104", 0), scan(who, x + "~", "delivered", "310104", 1)]
    # A stray scan whose id falls between two shipments' by a locale's rules (a1 < b0 < B1) and after both by
    # code points (B1 < a1 < b0): a merge in the wrong order would lose B1's scans, and with them its tells.
    for oid, sid, steps in (("OA", "a1", [("picked_up", "330106", 0), ("in_transit", "330106", 10),
                                          ("delivered", "310104", 40)]),
                            ("OB", "B1", [("picked_up", "310104", 0), ("delivered", "310104", 2)])):
        lines.append(ev(P, "cx.order.placed", {"order_id": oid, "shop_id": "S1", "buyer_id": "U1", "items": [
            {"product_id": "G1", "quantity": 1, "unit_price": 1}], "total": 1, "ship_to_region": "310104"}))
        lines.append(ev(P, "cx.shipment.created", {"shipment_id": sid, "order_id": oid, "carrier_id": "LG",
                                                   "tracking_no": f"U{sid}", "weight_g": 600}))
        lines += [scan(P, sid, status, region, h) for status, region, h in steps]
    lines += [scan(P, "b0", "picked_up", "310104", 0)]
    return "\n".join(lines) + "\n"


def both_ways(app) -> dict:
    """The screened path and every waybill read as an object: findings (`found`, `want`), typical weights
    (`typical`, `typical_want`), the orders judged as objects and all orders with a waybill."""
    rules = detect_rules().empty_parcel
    with read_connection(app.engine) as conn:
        screened, rows = waybills.gather(conn, rules)
        orders = [(r.source, r.order_id) for r in conn.execute(select(t.orders.c.source, t.orders.c.order_id))]
        every = waybills.by_orders(conn, orders)
        categories = waybills.categories_of(conn, sorted({p for w in every for p, _ in w.items}))
    assert rows == len(every)
    whole = Waybills(every, categories)
    return {"found": [f.as_dict() for f in empty_parcel.detect(screened, rules)],
            "want": [f.as_dict() for f in empty_parcel.detect(whole, rules)],
            "typical": empty_parcel.learn_typical(screened, rules).as_state(),
            "typical_want": empty_parcel.learn_typical(whole, rules).as_state(),
            "judged": len({w.order for w in screened.waybills}), "orders": len({w.order for w in every})}


def test_awkward_ids_split_orders_and_stray_scans(app):
    assert ingest_text(app, build()).rejected == 0
    got = both_ways(app)
    assert got["found"] == got["want"] and got["typical"] == got["typical_want"]
    levels = {f["evidence"]["level"] for f in got["found"]}
    assert "order" in levels and len(got["found"]) > 5
    assert {"source": P, "id": "OB"} in [o for f in got["found"] for o in f["orders"]]  # B1's scans were read


def test_declared_weights_beyond_exact_floats(app):
    """2**56 g and a weight just under 0.3 of it: the object detector compares an int with a float exactly and
    finds the second light; so must the screen."""
    heavy = 2**56
    light = int(0.3 * float(heavy)) - 1
    lines = [ev(P, "cx.subject.registered", {"subject_id": "M1", "kind": "enterprise", "name": "m",
                                              "uscc": "91310104MA1FL8XQ36", "region": "310104"}),
             ev(P, "cx.shop.opened", {"shop_id": "S1", "operator_id": "M1", "name": "s", "url": "https://x",
                                      "categories": ["food"]}),
             ev(P, "cx.product.listed", {"product_id": "G1", "shop_id": "S1", "title": "t", "category": "food",
                                         "list_price": 1, "price": 1})]
    for k, weight in enumerate((heavy, light)):
        lines.append(ev(P, "cx.order.placed", {"order_id": f"O{k}", "shop_id": "S1", "buyer_id": "U1", "items": [
            {"product_id": "G1", "quantity": 1, "unit_price": 1}], "total": 1, "ship_to_region": "310104"}))
        lines.append(ev(P, "cx.shipment.created", {"shipment_id": f"SH{k}", "order_id": f"O{k}", "carrier_id": "LG",
                                                   "tracking_no": f"T{k}", "weight_g": weight}))
    assert ingest_text(app, "\n".join(lines) + "\n").rejected == 0
    got = both_ways(app)
    assert got["found"] == got["want"] and got["typical"] == got["typical_want"]
    assert [f["orders"] for f in got["found"]] == [[{"source": P, "id": "O1"}]]
    assert list(got["found"][0]["evidence"]["tells"]) == ["light"]


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CHENGXIN_TEST_DATABASE_URL)")
def test_a_postgresql_database_collated_by_locale(tmp_path):
    """PostgreSQL sorts text by the database's collation; the merge of the two sorted streams relies on
    `COLLATE "C"` (code points, as Python compares strings). The test databases are C.UTF-8, so here is one
    collated by ICU's English rules (a < ä < b < B < Z): the screen must still find what reading every
    waybill finds."""
    name = f"cx_icu_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en'"))
    except DBAPIError as e:  # a server built without ICU
        admin.dispose()
        pytest.skip(f"no ICU collation on this server: {e.orig}")
    try:
        url = _with_db(PG_URL, name)
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        cx = bootstrap(Settings(database_url=url, keys_file=tmp_path / "keys.json", batch_size=1000))
        try:
            with cx.engine.connect() as c:  # the database does order otherwise than code points
                assert c.execute(text("SELECT x FROM (VALUES ('B'), ('a'), ('ä')) v(x) ORDER BY x")).scalars().all() \
                    == ["a", "ä", "B"]
            assert ingest_text(cx, build()).rejected == 0
            got = both_ways(cx)
            assert got["found"] == got["want"] and got["typical"] == got["typical_want"] and len(got["found"]) > 5
        finally:
            cx.engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
