"""Logistics firms and couriers are scored over the parcels they carried, through real ingestion on both
databases: two carriers with the same upheld complaints and very different volumes score apart, the same way
event by event (the kept parcels, `services/trade.py`) and in a full rebuild (`chengxin score`); a new shipment
alone makes its carrier's and courier's scores current."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import select
from tests.conftest import ingest_text
from tests.integration.test_scoring import REGULATOR, Feed, P

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import alembic_config, read_connection
from chengxin.bootstrap import Chengxin
from chengxin.services import parties, scoring, trade

CARRIERS = {"LG1": ("logistics", "91310000MA1LG0010M", None), "LG2": ("logistics", "91310000MA1LG0020N", None),
            "C1": ("courier", None, "310104198501010013"), "C2": ("courier", None, "310104198602020050")}


def _feed(start: int = 0) -> Feed:
    f = Feed()
    f.n = start
    return f


def _carriers(f: Feed) -> Feed:
    for sid, (kind, uscc, ric) in CARRIERS.items():
        f.ev("cx.subject.registered", "2026-01-04T09:00:00+08:00", {
            "subject_id": sid, "kind": kind, "name": f"承运{sid}", "region": "310104",
            "verified_at": "2026-01-04T10:00:00+08:00",
            **({"uscc": uscc} if uscc else {"id_number": ric, "employer_id": "LG" + sid[1:]})})
    return f


def _parcels(f: Feed, carrier: str, courier: str, n: int, first: int, day: str = "2026-03-02") -> Feed:
    """`n` paid orders at shop S1, each shipped by this carrier and courier."""
    for i in range(first, first + n):
        f.ev("cx.order.placed", f"{day}T10:00:00+08:00", {
            "order_id": f"O{i}", "shop_id": "S1", "buyer_id": "U1",
            "items": [{"product_id": "G1", "quantity": 1, "unit_price": 990}], "total": 990,
            "ship_to_region": "310104"})
        f.ev("cx.order.paid", f"{day}T10:05:00+08:00", {"order_id": f"O{i}", "amount": 990, "method": "wallet"})
        f.ev("cx.shipment.created", f"{day}T12:00:00+08:00", {
            "shipment_id": f"SH{i}", "order_id": f"O{i}", "carrier_id": carrier, "courier_id": courier,
            "tracking_no": f"T{i:06d}", "weight_g": 300})
    return f


def _upheld(f: Feed, target: str) -> Feed:
    f.ev("cx.complaint.filed", "2026-03-05T10:00:00+08:00", {
        "complaint_id": f"K-{target}", "channel": "12315", "target_id": target, "category": "delivery"})
    f.ev("cx.complaint.resolved", "2026-03-09T10:00:00+08:00", {
        "complaint_id": f"K-{target}", "outcome": "upheld", "resolved_by": "M1"})
    return f


def _credit(app: Chengxin) -> dict[str, dict[str, Any]]:
    """Each carrier's and courier's score and complaints dimension, as its party file shows them."""
    out = {}
    for sid in CARRIERS:
        shown = parties.show(app, P, sid, REGULATOR)  # a courier's score is a person's: the regulator sees it
        complaints = next(d for d in shown["credit"]["dimensions"] if d["dimension"] == "complaints")
        out[sid] = {"score": shown["score"], "grade": shown["grade"], "complaints": complaints}
    return out


def _kept_parcels(app: Chengxin) -> tuple[dict, dict]:
    """The parcels kept per carrier and courier, and those a full count of every shipment gives."""
    with read_connection(app.engine) as conn:
        kept = {(r.subject_source, r.subject_id): r.parcels for r in conn.execute(select(st.carrier_trade))
                if r.parcels}
        rows = [r for q, _, _ in trade.statements(scoring.score_rules(), conn.dialect.name, False, False)
                for r in conn.execute(q)]
    return kept, trade.sums_of(rows)[1]


def test_the_same_upheld_complaints_over_more_parcels_score_better_event_by_event_and_rebuilt(app: Chengxin) -> None:
    f = _carriers(Feed().parties())
    _parcels(f, "LG1", "C1", 60, 1)
    _parcels(f, "LG2", "C2", 2, 100)
    for target in CARRIERS:
        _upheld(f, target)
    assert ingest_text(app, f.text()).rejected == 0  # settled event by event (a few hundred marks)
    incremental = _credit(app)
    for busy, idle in (("LG1", "LG2"), ("C1", "C2")):
        b, i = incremental[busy], incremental[idle]
        assert b["complaints"]["value"] > i["complaints"]["value"] and b["score"] > i["score"], (busy, b, i)
        assert b["complaints"]["facts"]["carried"] == 60 and i["complaints"]["facts"]["carried"] == 2
    assert i["complaints"]["value"] == 0.0  # 1 upheld of 2 parcels
    assert incremental["LG1"]["complaints"]["en"] == "1 complaint, 1 upheld over 60 parcels carried (upheld rate " \
                                                     "1.67%)"
    assert incremental["C2"]["complaints"]["zh"] == "承运包裹2件，被投诉1件，成立1件（成立率50.00%）"
    kept, counted = _kept_parcels(app)
    assert kept == counted == {(P, "LG1"): 60 * trade.SCALE, (P, "C1"): 60 * trade.SCALE,
                               (P, "LG2"): 2 * trade.SCALE, (P, "C2"): 2 * trade.SCALE}
    scoring.rebuild(app)  # a full rebuild counts every shipment anew: the same scores
    assert _credit(app) == incremental
    assert _kept_parcels(app)[0] == kept


def test_a_new_shipment_alone_makes_its_carriers_and_couriers_scores_current(app: Chengxin) -> None:
    f = _carriers(Feed().parties())
    _parcels(f, "LG2", "C2", 2, 1)
    _upheld(_upheld(f, "LG2"), "C2")
    assert ingest_text(app, f.text()).rejected == 0
    before = _credit(app)
    # forty more parcels: orders and shipments only, nothing that names the carrier but the shipments
    assert ingest_text(app, _parcels(_feed(1000), "LG2", "C2", 40, 10, "2026-03-20").text()).rejected == 0
    after = _credit(app)
    for sid in ("LG2", "C2"):
        assert after[sid]["complaints"]["facts"]["carried"] == 42
        assert after[sid]["complaints"]["value"] > before[sid]["complaints"]["value"] == 0.0
        assert after[sid]["score"] > before[sid]["score"]
        assert "over 42 parcels carried" in after[sid]["complaints"]["en"]
    # a shipment re-sent with another carrier and courier is taken back from those it counted for
    moved = _feed(5000)
    moved.ev("cx.shipment.created", "2026-03-20T12:30:00+08:00", {
        "shipment_id": "SH10", "order_id": "O10", "carrier_id": "LG1", "courier_id": "C1", "tracking_no": "T000010",
        "weight_g": 300})
    assert ingest_text(app, moved.text()).rejected == 0
    now = _credit(app)
    assert now["LG2"]["complaints"]["facts"]["carried"] == now["C2"]["complaints"]["facts"]["carried"] == 41
    assert now["LG1"]["complaints"]["facts"]["carried"] == now["C1"]["complaints"]["facts"]["carried"] == 1
    kept, counted = _kept_parcels(app)
    assert kept == counted
    scoring.rebuild(app)
    assert _credit(app) == now


def test_a_store_upgraded_with_shipments_keeps_its_figures_built_and_counts_their_parcels(app: Chengxin) -> None:
    f = _carriers(Feed().parties())
    _parcels(f, "LG1", "C1", 3, 1)
    _parcels(f, "LG2", "LG2", 2, 10)  # a courier named as the carrier too: its parcel counts once
    assert ingest_text(app, f.text()).rejected == 0
    kept = _kept_parcels(app)[0]
    assert kept == {(P, "LG1"): 3 * trade.SCALE, (P, "C1"): 3 * trade.SCALE, (P, "LG2"): 2 * trade.SCALE}
    with app.engine.begin() as conn:  # a store at 0020 with these in it, upgraded
        command.downgrade(alembic_config(conn), "0020")
    with app.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with read_connection(app.engine) as conn:
        assert trade.built(conn)
        parts = {r.item_id: (r.carrier_id, r.courier_id) for r in conn.execute(select(st.trade_parts))}
    assert parts == {**{f"SH{i}": ("LG1", "C1") for i in (1, 2, 3)}, "SH10": ("LG2", "LG2"), "SH11": ("LG2", "LG2")}
    assert _kept_parcels(app) == (kept, kept)
