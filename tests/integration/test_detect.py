"""`detect` on every storage backend: a small simulated marketplace with empty parcels and a courier faking
deliveries, its findings stored under one run and scored against the simulator's truth."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select
from tests.conftest import ingest_text
from tests.integration.test_waybills import both_ways

from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.db.findings import latest_runs, read_findings
from chengxin.domain.detection import DETECTORS
from chengxin.services.detect import detect
from chengxin.services.evaluate import evaluate
from chengxin.simulate import Simulator, make_params


@pytest.fixture
def marketplace(app, tmp_path):
    params = make_params(None, seed=11, days=24, shops=25, buyers=300, orders_per_day=50, couriers=4, rings=2,
                         ring_workers=(6, 9), fake_delivery_couriers=1)
    sim = Simulator(params)
    lines = b"".join(sim.lines())
    assert ingest_text(app, lines.decode()).rejected == 0
    truth = tmp_path / "truth.json"
    truth.write_bytes(orjson.dumps(sim.truth.as_dict({"seed": params.seed, "preset": None})))
    return app, truth


def test_detect_finds_empty_parcels_and_stores_one_run(marketplace):
    cx, truth = marketplace
    run = detect(cx)
    # nothing of the other kinds is planted here, and nothing of them is found
    assert {f.kind for f in run.findings} == {"empty_parcel", "fake_order_ring", "template_review"}
    assert set(run.detectors) == set(DETECTORS)
    assert sum(d["findings"] for d in run.detectors.values()) == len(run.findings)
    with read_connection(cx.engine) as conn:
        assert sorted(latest_runs(conn)) == [(name, run.run_id) for name in sorted(DETECTORS)
                                             if run.detectors[name]["findings"]]
        stored = read_findings(conn, run_id=run.run_id)
    assert [s.finding for s in stored] == run.findings  # what was returned is what was kept

    report = evaluate(cx, truth).as_dict()
    assert report["outside_universe"] == {"parties": 0, "orders": 0, "reviews": 0, "products": 0}
    empty = report["kinds"]["empty_parcel"]
    assert empty["groups"] == 3  # two rings' parcels and one courier
    orders, parties = empty["classes"]["orders"], empty["classes"]["parties"]
    assert orders["truth"] > 30
    assert orders["precision"] >= 0.95 and orders["recall"] >= 0.95, orders
    assert parties["precision"] >= 0.95 and parties["recall"] >= 0.95, parties
    assert parties["roles"]["courier"]["recall"] == 1.0 and parties["roles"]["shop"]["recall"] == 1.0
    assert empty["classes"]["products"]["predicted"] == 0 and empty["classes"]["reviews"]["predicted"] == 0


def test_a_rerun_gives_the_same_findings_and_supersedes(marketplace):
    cx, _ = marketplace
    first, second = detect(cx), detect(cx)
    assert first.run_id != second.run_id
    assert [f.as_dict() for f in first.findings] == [f.as_dict() for f in second.findings]  # deterministic
    with read_connection(cx.engine) as conn:
        assert {run for _, run in latest_runs(conn)} == {second.run_id}
        assert len(read_findings(conn)) == len(second.findings)


def test_the_screened_waybills_give_what_every_waybill_read_as_an_object_gives(marketplace):
    """The full run screens the waybills as arrays and reads only the flagged orders' (services/waybills.py);
    reading every order's waybills as objects must find the same, and the screen must have left most out."""
    got = both_ways(marketplace[0])
    assert got["found"] == got["want"] and got["typical"] == got["typical_want"]
    assert got["orders"] > 1000 and 0 < got["judged"] < got["orders"] / 10
    levels = {f["evidence"]["level"] for f in got["found"]}
    assert {"order", "courier", "shop"} <= levels


def test_a_second_process_finds_what_one_process_finds(marketplace, monkeypatch):
    # on a large store the waybills are read and judged in a second process: same findings, same live state
    from chengxin.adapters.db import findings as fd
    from chengxin.services import detect as D

    def typical() -> str:  # what the live empty-parcel reader learnt from the run
        with read_connection(cx.engine) as conn:
            return conn.execute(select(fd.detector_state.c.state)).scalar_one()

    cx, _ = marketplace
    alone = detect(cx, publish=False)
    typical_alone = typical()
    monkeypatch.setattr(D, "APART_FROM", 0)
    started = []
    real = D.detect_apart.beside
    monkeypatch.setattr(D.detect_apart, "beside", lambda url, names: started.append(names) or real(url, names))
    both = detect(cx, publish=False)
    assert started == [["empty_parcel"]]
    assert [f.as_dict() for f in both.findings] == [f.as_dict() for f in alone.findings]
    assert list(both.detectors) == list(alone.detectors) and both.inputs.keys() == alone.inputs.keys()
    assert both.detectors["empty_parcel"]["findings"] == alone.detectors["empty_parcel"]["findings"] > 0
    assert typical() == typical_alone
    monkeypatch.setattr(cx, "settings", cx.settings.model_copy(update={"detect_processes": 1}))
    detect(cx, publish=False)  # CHENGXIN_DETECT_PROCESSES=1: one process whatever the size
    assert started[-1] == []


def test_a_failing_second_process_fails_the_run(marketplace, monkeypatch, tmp_path):
    from chengxin.services import detect as D

    cx, _ = marketplace
    monkeypatch.setattr(D, "APART_FROM", 0)
    real = D.detect_apart.beside
    empty = f"sqlite:///{tmp_path / 'empty.db'}"  # a store without tables: the child's read fails
    monkeypatch.setattr(D.detect_apart, "beside", lambda url, names: real(empty, names))
    with pytest.raises(RuntimeError, match="second process: OperationalError"):
        detect(cx, publish=False)


def test_rings_and_templates_against_the_truth(marketplace):
    cx, truth = marketplace
    detect(cx, ["fake_order_ring", "template_review"])
    report = evaluate(cx, truth).as_dict()["kinds"]
    ring = report["fake_order_ring"]
    assert ring["groups"] == 2
    buyers = ring["classes"]["parties"]["roles"]["worker+hijacked"]
    orders = ring["classes"]["orders"]
    assert buyers["truth"] >= 12 and buyers["precision"] >= 0.95 and buyers["recall"] >= 0.95, buyers
    # rings of 6-9 accounts: a campaign day with too few orders for a lockstep burst goes unnamed
    assert orders["truth"] > 30 and orders["precision"] >= 0.95 and orders["recall"] >= 0.9, orders
    assert ring["classes"]["parties"]["roles"]["shop"]["recall"] == 1.0
    reviews = report["template_review"]["classes"]["reviews"]
    assert reviews["truth"] > 10 and reviews["precision"] >= 0.95 and reviews["recall"] >= 0.95, reviews


@pytest.fixture
def trading_frauds(app, tmp_path):
    """A marketplace with price fraud, bought traffic and not-as-described and counterfeit sellers."""
    params = make_params(None, seed=13, days=30, shops=40, buyers=400, orders_per_day=80, price_fraud_products=6,
                         fake_traffic_shops=3, bad_sellers=3, counterfeit_sellers=2)
    sim = Simulator(params)
    assert ingest_text(app, b"".join(sim.lines()).decode()).rejected == 0
    truth = tmp_path / "truth.json"
    truth.write_bytes(orjson.dumps(sim.truth.as_dict({"seed": params.seed, "preset": None})))
    return app, truth


def test_price_traffic_and_quality_frauds_against_the_truth(trading_frauds):
    cx, truth = trading_frauds
    run = detect(cx, ["price_fraud", "fake_traffic", "not_as_described"])
    assert all(0 <= (f.score or 0) <= 1 and f.evidence.get("why") for f in run.findings)
    report = evaluate(cx, truth).as_dict()["kinds"]
    for kind, groups in (("price_fraud", 6), ("fake_traffic", 3), ("not_as_described", 5)):
        assert report[kind]["groups"] == groups
        for cls in ("parties", "products"):
            m = report[kind]["classes"][cls]
            assert m["truth"] > 0 and m["precision"] >= 0.8 and m["recall"] >= 0.8, (kind, cls, m)


@pytest.fixture
def review_and_payment_frauds(app, tmp_path):
    """A marketplace with extortionists, serial negative reviewers, sabotage campaigns and stolen payer accounts,
    and a ring (whose shared payer accounts and templated reviews must not be taken for them)."""
    params = make_params(None, seed=17, days=30, shops=40, buyers=400, orders_per_day=80, rings=1,
                         ring_workers=(6, 9), extortionists=3, serial_negative_reviewers=3, sabotage_campaigns=2,
                         stolen_accounts=3)
    sim = Simulator(params)
    assert ingest_text(app, b"".join(sim.lines()).decode()).rejected == 0
    truth = tmp_path / "truth.json"
    truth.write_bytes(orjson.dumps(sim.truth.as_dict({"seed": params.seed, "preset": None})))
    return app, truth


def test_malicious_reviews_and_payment_fraud_against_the_truth(review_and_payment_frauds):
    cx, truth = review_and_payment_frauds
    run = detect(cx, ["malicious_review", "payment_fraud"])
    assert all(0 <= (f.score or 0) <= 1 and f.evidence.get("why") for f in run.findings)
    report = evaluate(cx, truth).as_dict()["kinds"]
    mal, pay = report["malicious_review"], report["payment_fraud"]
    assert mal["groups"] == 8 and pay["groups"] == 3
    roles = mal["classes"]["parties"]["roles"]
    for role in ("reviewer", "worker"):
        m = roles[role]
        assert m["truth"] > 0 and m["precision"] >= 0.8 and m["recall"] >= 0.8, (role, m)
    for kind, classes in (("malicious_review", ("orders", "reviews")), ("payment_fraud", ("parties", "orders"))):
        for cls in classes:
            m = report[kind]["classes"][cls]
            assert m["truth"] > 0 and m["precision"] >= 0.8 and m["recall"] >= 0.8, (kind, cls, m)
    victims = {(g["details"]["victim"]["source"], g["details"]["victim"]["id"])
               for g in orjson.loads(truth.read_bytes())["kinds"]["malicious_review"] if g["scheme"] == "sabotage"}
    named = {p for f in run.findings if f.kind == "malicious_review" for p in f.refs("parties")}
    assert victims and not victims & named  # the victim shop is in the evidence, never named
