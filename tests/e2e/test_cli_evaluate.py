"""`chengxin evaluate` as a user runs it: a real process on a fresh store holding the sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import SAMPLE
from tests.e2e.cli import run

P = "urn:cx:platform:P1"
KINDS = ("fake_order_ring", "empty_parcel", "malicious_review", "template_review", "fake_traffic", "price_fraud",
         "not_as_described", "payment_fraud")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The shared subprocess environment, on a store holding the sample."""
    run(env, "ingest", str(SAMPLE))
    return env


def ref(i: str, role: str | None = None) -> dict[str, str]:
    return {"source": P, "id": i, **({"role": role} if role else {})}


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    ring = {"group": "ring-1", "scheme": "ring", "parties": [ref("U1", "worker"), ref("S1", "shop")],
            "orders": [ref("O1")], "reviews": [ref("R1")], "products": []}
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"format": "chengxin-truth/1", "kinds": {**{k: [] for k in KINDS},
                                                                        "fake_order_ring": [ring]}}))
    found = tmp_path / "findings.json"
    found.write_text(json.dumps({"findings": [
        {"kind": "fake_order_ring", "score": 0.8, "parties": [ref("U1")], "orders": [ref("O1"), ref("O2")],
         "products": [], "evidence": {"lockstep_minutes": 30}},
    ]}))
    return truth, found


def test_evaluate_json_from_a_findings_file(env, files):
    truth, found = files
    out = json.loads(run(env, "evaluate", "--truth", str(truth), "--findings", str(found), "--json").stdout)
    assert out["format"] == "chengxin-evaluation/1" and out["universe"] == "database" and out["findings"] == 1
    ring = out["kinds"]["fake_order_ring"]["classes"]
    assert (ring["orders"]["precision"], ring["orders"]["recall"], ring["orders"]["universe"]) == (0.5, 1.0, 3)
    assert ring["orders"]["auc"] == 0.75  # O1 tied with O2 (one finding names both), above O3
    assert (ring["parties"]["precision"], ring["parties"]["recall"]) == (1.0, 0.5)
    assert ring["parties"]["roles"]["worker"]["recall"] == 1.0
    assert ring["reviews"]["precision"] is None and ring["reviews"]["recall"] == 0.0


def test_evaluate_table_and_stored_findings(env, files):
    truth, _ = files
    text = run(env, "evaluate", "--truth", str(truth)).stderr
    assert "0 findings scored" in text and "fake_order_ring" in text and "worker" in text and "AUC" in text
    out = json.loads(run(env, "evaluate", "--truth", str(truth), "--json").stdout)
    assert out["findings"] == 0 and out["kinds"]["fake_order_ring"]["classes"]["orders"]["recall"] == 0.0


def test_evaluate_errors_exit_65_naming_the_problem(env, files, tmp_path):
    _, found = files
    missing = run(env, "evaluate", "--truth", str(tmp_path / "nope.json"), check=False)
    assert missing.returncode == 65 and "nope.json" in missing.stderr and "Traceback" not in missing.stderr
    wrong = run(env, "evaluate", "--truth", str(found), check=False)
    assert wrong.returncode == 65 and "format" in wrong.stderr
