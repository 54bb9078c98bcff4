"""Live detection at ingestion on every storage backend: after a full run has learnt the goods' weights, a
later load's empty parcels are flagged and queued for review when the load returns (issue 5: "within
seconds"), as the full run would flag them; a bulk backlog defers to the full detector."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from tests.conftest import ingest_text

from chengxin.adapters.db import findings as fd
from chengxin.adapters.db import review_tables as rt
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import parse_truth
from chengxin.services import detect_live
from chengxin.services.detect import detect
from chengxin.simulate import make_params, simulate


def _market(tmp: Path) -> tuple[list[str], set[tuple[str, str]]]:
    params = make_params(None, seed=17, days=40, shops=20, buyers=250, orders_per_day=60, rings=3,
                         ring_workers=(6, 9), ring_empty_parcel_share=0.8, couriers=4)
    events, truth = tmp / "events.jsonl", tmp / "truth.json"
    simulate(params, events, truth)
    planted = parse_truth(json.loads(truth.read_text())).kind("empty_parcel").of("orders")
    return events.read_text(encoding="utf-8").splitlines(), set(planted)


def _live_orders(cx: Chengxin) -> set[tuple[str, str]]:
    with read_connection(cx.engine) as conn:
        rows = conn.execute(select(fd.findings.c.subjects).where(fd.findings.c.run_id.like("live-%")))
        return {(o["source"], o["id"]) for (subjects,) in rows for o in json.loads(subjects)["orders"]}


def test_a_later_loads_empty_parcels_are_flagged_when_it_returns(app: Chengxin, tmp_path: Path) -> None:
    lines, planted = _market(tmp_path)
    cut = int(len(lines) * 0.6)
    assert ingest_text(app, "\n".join(lines[:cut])).rejected == 0
    full = detect(app, only=["empty_parcel"])  # learns the typical weights; queues its own findings
    first_part = {r for f in full.findings if f.evidence.get("level") == "order" for r in f.refs("orders")}
    with read_connection(app.engine) as conn:
        assert conn.execute(select(func.count()).select_from(fd.detector_state)).scalar_one() == 1

    assert ingest_text(app, "\n".join(lines[cut:])).rejected == 0  # the drain runs before ingest returns
    live = _live_orders(app)
    new = planted - first_part
    assert new and live
    caught = live & planted
    print(f"live: {len(live & new)} of {len(new)} new planted parcels, {len(caught)} of {len(live)} flagged planted")
    assert len(live & new) / len(new) >= 0.9, (len(live & new), len(new))  # recall on the later load's parcels
    assert len(caught) / len(live) >= 0.9, (len(caught), len(live))  # precision
    with read_connection(app.engine) as conn:
        queued = conn.execute(select(func.count()).select_from(rt.review_items).where(
            rt.review_items.c.run_id.like("live-%"))).scalar_one()
        left = conn.execute(select(func.count()).select_from(fd.live_queue)).scalar_one()
    assert queued > 0 and left == 0
    assert detect_live.drain(app) is None  # nothing left: re-running is a no-op


def test_without_a_full_run_the_other_tells_still_flag(app: Chengxin, tmp_path: Path) -> None:
    lines, planted = _market(tmp_path)
    assert ingest_text(app, "\n".join(lines)).rejected == 0
    live = _live_orders(app)
    assert live and len(live & planted) / len(live) >= 0.9  # no `light` tell yet: fewer, but right ones


def test_a_bulk_backlog_defers_to_the_full_detector(app: Chengxin, tmp_path: Path, monkeypatch) -> None:
    lines, _ = _market(tmp_path)
    monkeypatch.setattr(detect_live, "LIVE_MAX", 10)
    assert ingest_text(app, "\n".join(lines)).rejected == 0
    assert _live_orders(app) == set()  # no live run: the full run read the backlog
    with read_connection(app.engine) as conn:
        runs = set(conn.execute(select(fd.findings.c.run_id).distinct()).scalars())
        left = conn.execute(select(func.count()).select_from(fd.live_queue)).scalar_one()
    assert runs and all(r.startswith("detect-") for r in runs) and left == 0


def test_fake_discounts_are_flagged_as_prices_arrive(app: Chengxin, tmp_path: Path) -> None:
    """Price fraud reads a product against its own history only, so the live reading of every product whose
    prices arrived finds exactly what the full detector finds, and the planted ones."""
    params = make_params(None, seed=29, days=60, shops=25, buyers=200, orders_per_day=40, price_fraud_products=5)
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.json"
    simulate(params, events, truth)
    planted = parse_truth(json.loads(truth.read_text())).kind("price_fraud").of("products")
    assert ingest_text(app, events.read_text(encoding="utf-8")).rejected == 0
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(fd.findings.c.subjects).where(fd.findings.c.run_id.like("live-%"),
                                                                  fd.findings.c.kind == "price_fraud"))
        live = {(p["source"], p["id"]) for (subjects,) in rows for p in json.loads(subjects)["products"]}
        left = conn.execute(select(func.count()).select_from(fd.live_price_queue)).scalar_one()
    full = {r for f in detect(app, only=["price_fraud"], publish=False).findings for r in f.refs("products")}
    assert planted and live == full and live >= set(planted) and left == 0
