"""Scoring findings against a truth file: hand-computed cases and brute-force checks of AUC and AP."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chengxin.domain import quality as q
from chengxin.exc import InvalidInput

P = "urn:cx:platform:P1"


def ref(i: str, role: str | None = None) -> dict[str, str]:
    return {"source": P, "id": i, **({"role": role} if role else {})}


def truth(**kinds: list[dict]) -> q.Truth:
    return q.parse_truth({"format": q.TRUTH_FORMAT, "kinds": kinds})


def finding(kind: str, score: float | None = 1.0, **subjects: list[str]) -> q.Finding:
    return q.parse_finding({"kind": kind, "score": score, **{c: [ref(i) for i in ids] for c, ids in subjects.items()}},
                           "f")


def refs(*ids: str) -> set[tuple[str, str]]:
    return {(P, i) for i in ids}


# --- precision, recall, F1, AUC, AP by hand ---

def test_hand_computed_figures_with_a_tied_bottom():
    # Truth A B C; predicted A .9, D .7, B .5; C, E, F unnamed (tied lowest). Universe A..F.
    t = truth(empty_parcel=[{"orders": [ref("A"), ref("B"), ref("C")]}])
    found = [finding("empty_parcel", 0.9, orders=["A"]), finding("empty_parcel", 0.7, orders=["D"]),
             finding("empty_parcel", 0.5, orders=["B"])]
    report = q.evaluate(t, found, {"orders": refs(*"ABCDEF")})
    m = report.kinds["empty_parcel"].classes["orders"]
    assert (m.truth, m.predicted, m.true_positives, m.universe) == (3, 3, 2, 6)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3) and m.f1 == pytest.approx(2 / 3)
    # Pairs won: A beats D E F (3), B beats E F (2), C ties E F (2 x 1/2) -> 6 of 9.
    assert m.auc == pytest.approx(6 / 9)
    # Thresholds .9: P=1 R=1/3; .7: no new positive; .5: P=2/3; bottom: P=3/6 -> (1 + 2/3 + 1/2) / 3.
    assert m.ap == pytest.approx(13 / 18)
    assert report.universe == "database" and report.outside_universe["orders"] == 0


def test_known_values_match_scikit_learn_docs():
    # sklearn's documented examples: roc_auc_score -> 0.75, average_precision_score -> 0.8333...
    scores, labels = [0.1, 0.4, 0.35, 0.8], [False, False, True, True]
    assert q.roc_auc(scores, labels) == pytest.approx(0.75)
    assert q.average_precision(scores, labels) == pytest.approx(0.8333333333)


def test_tied_scores_are_one_threshold():
    scores, labels = [0.5, 0.5, 0.5, 0.1], [True, False, True, False]
    assert q.roc_auc(scores, labels) == pytest.approx(0.75)  # each positive: half a tie + one win
    assert q.average_precision(scores, labels) == pytest.approx(2 / 3)  # one step to recall 1 at precision 2/3


def test_undefined_figures_are_none_not_errors():
    assert q.roc_auc([0.3, 0.2], [True, True]) is None
    assert q.average_precision([0.3, 0.2], [False, False]) is None
    t = truth(price_fraud=[{"products": [ref("G1")]}])
    report = q.evaluate(t, [], {"products": refs("G1", "G2", "G3", "G4")})
    m = report.kinds["price_fraud"].classes["products"]
    assert (m.precision, m.recall, m.f1) == (None, 0.0, None)
    assert m.auc == 0.5 and m.ap == pytest.approx(1 / 4)  # everything tied: AP is the prevalence
    nothing = report.kinds["fake_traffic"].classes["products"]
    assert (nothing.precision, nothing.recall, nothing.f1, nothing.auc, nothing.ap) == (None, None, None, None, None)


def test_predictions_without_truth_have_zero_precision():
    report = q.evaluate(truth(), [finding("fake_traffic", 0.4, parties=["S1"])])
    m = report.kinds["fake_traffic"].classes["parties"]
    assert (m.precision, m.recall, m.f1, m.auc, m.ap) == (0.0, None, None, None, None)


def test_zero_precision_and_recall_give_zero_f1():
    t = truth(payment_fraud=[{"orders": [ref("O1")]}])
    m = q.evaluate(t, [finding("payment_fraud", orders=["O2"])]).kinds["payment_fraud"].classes["orders"]
    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)


def test_entity_score_is_the_highest_of_its_kind_and_kinds_stay_apart():
    t = truth(malicious_review=[{"reviews": [ref("R1")]}], template_review=[{"reviews": [ref("R2")]}])
    found = [finding("malicious_review", 0.2, reviews=["R1", "R3"]), finding("malicious_review", 0.9, reviews=["R1"]),
             finding("template_review", 0.8, reviews=["R1"])]
    report = q.evaluate(t, found, {"reviews": refs("R1", "R2", "R3", "R4")})
    mal = report.kinds["malicious_review"].classes["reviews"]
    assert (mal.precision, mal.recall, mal.auc, mal.ap) == (0.5, 1.0, 1.0, 1.0)  # R1 (.9) above R3 (.2)
    tpl = report.kinds["template_review"].classes["reviews"]
    assert (tpl.precision, tpl.recall) == (0.0, 0.0)  # R1 is not template truth
    overall = report.overall.classes["reviews"]
    assert (overall.truth, overall.predicted, overall.true_positives) == (2, 2, 1)  # any kind counts


def test_unscored_findings_give_no_ranking():
    t = truth(empty_parcel=[{"orders": [ref("O1")]}])
    report = q.evaluate(t, [finding("empty_parcel", None, orders=["O1"]), finding("empty_parcel", 0.3, orders=["O2"])])
    kind = report.kinds["empty_parcel"]
    assert kind.scored is False and kind.classes["orders"].auc is None and kind.classes["orders"].ap is None
    assert kind.classes["orders"].precision == 0.5


# --- universe ---

def test_without_a_universe_it_is_truth_and_findings_of_every_kind():
    t = truth(empty_parcel=[{"orders": [ref("O1"), ref("O2")]}], payment_fraud=[{"orders": [ref("O3")]}])
    report = q.evaluate(t, [finding("empty_parcel", 0.5, orders=["O1", "O9"])])
    assert report.universe == "truth+findings"
    m = report.kinds["empty_parcel"].classes["orders"]
    assert m.universe == 4  # O1 O2 O3 O9
    # Ranking: O1 (+) and O9 (-) tied at .5; O2 (+) and O3 (-) tied below. AUC = (1.5 + 0.5) / 4.
    assert m.auc == pytest.approx(0.5)


def test_entities_outside_the_universe_are_counted_and_still_scored():
    t = truth(empty_parcel=[{"orders": [ref("O1"), ref("GONE")]}])
    report = q.evaluate(t, [finding("empty_parcel", orders=["O1"])], {"orders": q.Universe(3, refs("O1"))})
    assert report.outside_universe["orders"] == 1
    assert report.kinds["empty_parcel"].classes["orders"].universe == 4


# --- roles ---

RING = [{"parties": [ref("W1", "worker"), ref("W2", "worker"), ref("H1", "hijacked"), ref("S1", "shop")],
         "orders": [ref("O1")]}]


def test_role_breakdown_leaves_other_roles_out():
    found = [finding("fake_order_ring", 0.9, parties=["W1", "H1", "S1"]),
             finding("fake_order_ring", 0.4, parties=["X"])]
    report = q.evaluate(truth(fake_order_ring=RING), found, {"parties": refs("W1", "W2", "H1", "S1", "X", *"ABCDE")})
    parties = report.kinds["fake_order_ring"].classes["parties"]
    assert (parties.precision, parties.recall) == (0.75, 0.75)
    roles = parties.roles or {}
    assert set(roles) == {"worker", "hijacked", "shop", "worker+hijacked"}
    worker = roles["worker"]  # H1 and S1 are left out: predictions W1 and X, truth W1 W2
    assert (worker.predicted, worker.precision, worker.recall, worker.universe) == (2, 0.5, 0.5, 8)
    assert (roles["hijacked"].precision, roles["hijacked"].recall) == (0.5, 1.0)
    buyers = roles["worker+hijacked"]  # S1 left out: predictions W1 H1 X, truth W1 W2 H1
    assert (buyers.precision, buyers.recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    # Buyers ranking: W1 H1 at .9, X at .4, W2 tied with the 5 honest unnamed: (2*6 + 0 + 2.5) / 18.
    assert buyers.auc == pytest.approx(14.5 / 18)


def test_roles_only_for_parties_and_json_ready():
    report = q.evaluate(truth(fake_order_ring=RING), [finding("fake_order_ring", 0.5, parties=["W1"], orders=["O1"])])
    out = report.as_dict()
    json.dumps(out, allow_nan=False)
    classes = out["kinds"]["fake_order_ring"]["classes"]
    assert "roles" in classes["parties"] and "roles" not in classes["orders"]
    assert out["format"] == q.REPORT_FORMAT and out["universe"] == "truth+findings" and out["findings"] == 1
    assert set(out["kinds"]) == set(q.KINDS) and "roles" not in out["all"]["classes"]["parties"]
    rows = [(k, c) for k, c, _ in report.rows()]
    assert ("fake_order_ring", "parties:worker") in rows and ("all", "orders") in rows
    assert ("empty_parcel", "orders") not in rows  # nothing planted, nothing found


# --- shape checks ---

@pytest.mark.parametrize(("doc", "names"), [
    ([], "truth file"),
    ({"format": "x", "kinds": {}}, "format"),
    ({"format": q.TRUTH_FORMAT}, "kinds"),
    ({"format": q.TRUTH_FORMAT, "kinds": {"fake": []}}, "kinds.fake"),
    ({"format": q.TRUTH_FORMAT, "kinds": {"empty_parcel": {}}}, "kinds.empty_parcel"),
    ({"format": q.TRUTH_FORMAT, "kinds": {"empty_parcel": [{"orders": {}}]}}, "kinds.empty_parcel[0].orders"),
    ({"format": q.TRUTH_FORMAT, "kinds": {"empty_parcel": [{"orders": [{"source": P}]}]}},
     "kinds.empty_parcel[0].orders[0].id"),
    ({"format": q.TRUTH_FORMAT, "kinds": {"empty_parcel": [{"parties": [{"source": P, "id": "U", "role": 3}]}]}},
     "kinds.empty_parcel[0].parties[0].role"),
])
def test_truth_shape_errors_name_the_field(doc, names):
    with pytest.raises(InvalidInput) as e:
        q.parse_truth(doc)
    assert e.value.detail.startswith(f"{names}:")


@pytest.mark.parametrize(("doc", "names"), [
    ({}, "findings"),
    ({"findings": [{"kind": "nope"}]}, "findings[0].kind"),
    ({"findings": [{"kind": "empty_parcel", "score": True}]}, "findings[0].score"),
    ({"findings": [{"kind": "empty_parcel", "score": math.nan}]}, "findings[0].score"),
    ({"findings": [{"kind": "empty_parcel", "score": 1, "evidence": []}]}, "findings[0].evidence"),
    ({"findings": [{"kind": "empty_parcel", "orders": ["O1"]}]}, "findings[0].orders[0]"),
])
def test_finding_shape_errors_name_the_field(doc, names):
    with pytest.raises(InvalidInput) as e:
        q.parse_findings(doc)
    assert e.value.detail.startswith(f"{names}:")


def test_finding_round_trips_through_its_dict():
    f = q.parse_finding({"kind": "price_fraud", "score": 0.7, "products": [ref("G1")], "evidence": {"k": 1}}, "f")
    assert q.parse_finding(f.as_dict(), "f") == f and f.as_dict()["reviews"] == []


# --- brute force ---

def brute_auc(scores: list[float], labels: list[bool]) -> float | None:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))


def brute_ap(scores: list[float], labels: list[bool]) -> float | None:
    # sklearn: AP = sum over thresholds t (descending) of (R(t) - R(previous t)) * P(t), predicting score >= t.
    total = sum(labels)
    if not total:
        return None
    ap, last_recall = 0.0, 0.0
    for t in sorted(set(scores), reverse=True):
        chosen = [y for s, y in zip(scores, labels, strict=True) if s >= t]
        recall = sum(chosen) / total
        ap += (recall - last_recall) * sum(chosen) / len(chosen)
        last_recall = recall
    return ap


scored_labels = st.lists(st.tuples(st.integers(0, 5).map(lambda i: i / 5), st.booleans()), min_size=1, max_size=30)


@given(scored_labels)
def test_auc_and_ap_match_brute_force(pairs):
    scores, labels = [s for s, _ in pairs], [y for _, y in pairs]
    for fast, slow in ((q.roc_auc, brute_auc), (q.average_precision, brute_ap)):
        got, want = fast(scores, labels), slow(scores, labels)
        assert (got is None and want is None) or got == pytest.approx(want)


@given(st.dictionaries(st.integers(0, 19), st.integers(0, 3).map(float), max_size=20),
       st.sets(st.integers(0, 19)), st.integers(0, 10))
def test_score_class_matches_the_materialised_universe(predicted, positives, extra):
    # Unnamed entities rank below every named one, tied: the same as giving them all -inf.
    universe = set(range(20)) | set(range(100, 100 + extra))
    scores = {(P, str(i)): s for i, s in predicted.items()}
    truth_refs = {(P, str(i)) for i in positives}
    m = q.score_class(truth_refs, scores, len(universe))
    full = [scores.get((P, str(i)), -math.inf) for i in universe]
    labels = [(P, str(i)) in truth_refs for i in universe]
    for got, want in ((m.auc, brute_auc(full, labels)), (m.ap, brute_ap(full, labels))):
        assert (got is None and want is None) or got == pytest.approx(want)
