"""`evaluate` on every storage backend: findings stored and read back, the store as universe, truth files."""

from __future__ import annotations

import json

import pytest

from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings, latest_runs, read_findings
from chengxin.domain.quality import TRUTH_FORMAT, parse_finding
from chengxin.exc import InvalidInput
from chengxin.services.evaluate import evaluate

P = "urn:cx:platform:P1"


def ref(i: str, role: str | None = None) -> dict[str, str]:
    return {"source": P, "id": i, **({"role": role} if role else {})}


TRUTH = {
    "format": TRUTH_FORMAT, "seed": 1, "preset": "test",
    "kinds": {
        "fake_order_ring": [{"group": "ring-1", "scheme": "ring",
                             "parties": [ref("U1", "worker"), ref("U2", "hijacked"), ref("S1", "shop")],
                             "orders": [ref("O1"), ref("O3")], "reviews": [], "products": []}],
        "malicious_review": [{"group": "m-1", "scheme": "sabotage", "parties": [], "orders": [],
                              "reviews": [ref("R1")], "products": []}],
        "payment_fraud": [{"group": "p-1", "scheme": "stolen_account", "parties": [], "orders": [ref("O404")],
                           "reviews": [], "products": []}],
    },
}


def finding(kind: str, score: float, **subjects: list[str]):
    return parse_finding({"kind": kind, "score": score, "evidence": {"why": "test"},
                          **{c: [ref(i) for i in ids] for c, ids in subjects.items()}}, "test")


def store_findings(cx) -> None:
    with write_transaction(cx.engine) as conn:
        # An older run of the ring detector: superseded by the newer one below.
        insert_findings(conn, [finding("fake_order_ring", 1.0, parties=["PLAT"])], detector="ring", run_id="r0",
                        created_at="2026-01-01T00:00:00.000000Z")
        insert_findings(conn, [finding("fake_order_ring", 0.9, parties=["U1", "S1"], orders=["O1"]),
                               finding("fake_order_ring", 0.4, parties=["M2"], orders=["O2"])],
                        detector="ring", run_id="r1", created_at="2026-01-02T00:00:00.000000Z")
        insert_findings(conn, [finding("malicious_review", 0.8, reviews=["R1", "R2"])], detector="reviews",
                        run_id="r5", created_at="2026-01-01T12:00:00.000000Z")


@pytest.fixture
def truth_file(tmp_path):
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(TRUTH))
    return path


def test_findings_round_trip_and_newest_run_per_detector(app):
    store_findings(app)
    with read_connection(app.engine) as conn:
        assert latest_runs(conn) == [("reviews", "r5"), ("ring", "r1")]
        newest = read_findings(conn)
        old = read_findings(conn, run_id="r0")
        reviews = read_findings(conn, kind="malicious_review")
    assert [s.run_id for s in newest] == ["r1", "r1", "r5"]
    assert newest[0].finding == finding("fake_order_ring", 0.9, parties=["U1", "S1"], orders=["O1"])
    assert newest[0].detector == "ring" and newest[0].finding.evidence == {"why": "test"}
    assert [s.finding.refs("parties") for s in old] == [((P, "PLAT"),)]
    assert [s.detector for s in reviews] == ["reviews"]


def test_a_live_run_is_not_the_detectors_newest_run(sample_app, truth_file):
    # Live detection stores a few per-order findings as `live-…` runs of the same detector; taken for its
    # newest run, `evaluate` and a plain `review publish` read those instead of the full run (found by review).
    store_findings(sample_app)
    with write_transaction(sample_app.engine) as conn:
        insert_findings(conn, [finding("fake_order_ring", 0.9, orders=["O3"])], detector="ring", run_id="live-1",
                        created_at="2026-01-03T00:00:00.000000Z")
    with read_connection(sample_app.engine) as conn:
        assert latest_runs(conn) == [("reviews", "r5"), ("ring", "r1")]
        assert [s.run_id for s in read_findings(conn)] == ["r1", "r1", "r5"]
        assert [s.run_id for s in read_findings(conn, run_id="live-1")] == ["live-1"]  # still read when named
    assert evaluate(sample_app, truth_file).findings == 3


def test_evaluate_scores_stored_findings_against_the_store(sample_app, truth_file):
    store_findings(sample_app)
    report = evaluate(sample_app, truth_file)
    assert report.universe == "database" and report.findings == 3
    assert report.outside_universe == {"parties": 0, "orders": 1, "reviews": 0, "products": 0}  # O404
    ring = report.kinds["fake_order_ring"].classes
    # Truth O1 O3; O1 .9, O2 .4; O3 unnamed, tied with O404 (another kind's truth, missing from the store but
    # still ranked): AUC = (2 + 0.5) / 4, AP = 1/2 * 1 + 1/2 * 2/4.
    orders = ring["orders"]
    assert (orders.truth, orders.predicted, orders.universe, orders.precision, orders.recall) == (2, 2, 4, 0.5, 0.5)
    assert orders.auc == pytest.approx(0.625) and orders.ap == pytest.approx(0.75)
    parties = ring["parties"]  # 9 subjects + 2 shops; U1 S1 .9, M2 .4; U2 unnamed with 7 honest
    assert (parties.universe, parties.precision, parties.recall) == (11, pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert parties.auc == pytest.approx(19.5 / 24)
    roles = parties.roles or {}
    assert (roles["worker"].precision, roles["worker"].recall, roles["worker"].universe) == (0.5, 1.0, 9)
    assert (roles["worker+hijacked"].precision, roles["worker+hijacked"].recall) == (0.5, 0.5)
    reviews = report.kinds["malicious_review"].classes["reviews"]
    assert (reviews.universe, reviews.precision, reviews.recall) == (5, 0.5, 1.0)
    pay = report.kinds["payment_fraud"].classes["orders"]
    assert (pay.universe, pay.recall, pay.precision) == (4, 0.0, None)  # the store's 3 orders + O404


def test_a_findings_file_replaces_the_stored_findings(sample_app, truth_file, tmp_path):
    store_findings(sample_app)
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"findings": [finding("fake_order_ring", 0.7, orders=["O1", "O3"]).as_dict()]}))
    report = evaluate(sample_app, truth_file, path)
    assert report.findings == 1
    orders = report.kinds["fake_order_ring"].classes["orders"]
    assert (orders.precision, orders.recall, orders.auc, orders.ap) == (1.0, 1.0, 1.0, 1.0)
    assert report.kinds["malicious_review"].classes["reviews"].predicted == 0


def test_bad_files_are_invalid_input_naming_file_and_field(app, tmp_path, truth_file):
    with pytest.raises(InvalidInput, match=r"truth file .*missing\.json: cannot read"):
        evaluate(app, tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InvalidInput, match=r"truth file .*broken\.json: not JSON"):
        evaluate(app, broken)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**TRUTH, "kinds": {"empty_parcel": [{"orders": [{"id": "O1"}]}]}}))
    with pytest.raises(InvalidInput, match=r"bad.json: kinds.empty_parcel\[0\].orders\[0\].source"):
        evaluate(app, bad)
    with pytest.raises(InvalidInput, match=r"findings file .*truth.json: findings: expected a list"):
        evaluate(app, truth_file, truth_file)
