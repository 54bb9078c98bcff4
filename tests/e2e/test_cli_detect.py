"""`chengxin detect` as a user runs it: simulate, ingest, detect, evaluate, each a real process."""

from __future__ import annotations

import json

from tests.conftest import SAMPLE
from tests.e2e.cli import run

CLASSES = ("parties", "orders", "reviews", "products")


def test_detect_json_on_the_sample_prints_the_contract_shape(env):
    run(env, "ingest", str(SAMPLE))
    out = json.loads(run(env, "detect", "--json").stdout)
    assert list(out) == ["findings"] and isinstance(out["findings"], list)  # the sample's two parcels look honest
    assert "findings" in run(env, "detect").stderr


def test_detect_then_evaluate_a_simulated_marketplace(env, tmp_path):
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.json"
    run(env, "simulate", "--seed", "5", "--days", "20", "--shops", "20", "--buyers", "200", "--orders-per-day", "50",
        "--set", "rings=1", "--set", "ring_workers=8,10", "--set", "couriers=4", "--set", "fake_delivery_couriers=1",
        "--out", str(events), "--truth", str(truth))
    run(env, "ingest", str(events))
    out = json.loads(run(env, "detect", "--json").stdout)
    findings = out["findings"]
    assert {f["kind"] for f in findings} == {"empty_parcel", "fake_order_ring", "template_review"}
    for f in findings:
        assert {"kind", "score", "evidence", *CLASSES} <= f.keys() and 0 <= f["score"] <= 1
        assert all(set(r) == {"source", "id"} for c in CLASSES for r in f[c])
    rings = [f for f in findings if f["kind"] == "fake_order_ring"]
    assert rings and all(f["parties"] and f["orders"] and f["evidence"]["why"] for f in rings)
    findings = [f for f in findings if f["kind"] == "empty_parcel"]
    orders = [f for f in findings if f["evidence"]["level"] == "order"]
    assert orders and all(len(f["orders"]) == 1 and f["parties"] == [] and f["evidence"]["tells"] for f in orders)
    levels = {f["evidence"]["level"] for f in findings if f["parties"]}
    assert levels == {"shop", "courier", "order_delivery"}  # order_delivery: a parcel a courier faked

    table = run(env, "detect").stderr  # human output: one row per kind, then the parties named
    assert "empty_parcel" in table and "courier" in table and "shop" in table

    saved = tmp_path / "findings.json"
    saved.write_text(json.dumps(out))
    for source in ([], ["--findings", str(saved)]):  # the store's newest run, and the printed file: the same
        report = json.loads(run(env, "evaluate", "--truth", str(truth), *source, "--json").stdout)
        m = report["kinds"]["empty_parcel"]["classes"]["orders"]
        assert m["truth"] > 10 and m["precision"] >= 0.95 and m["recall"] >= 0.95, m
