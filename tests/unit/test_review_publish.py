"""The review queue's suspicion of a finding: what two findings must share to be one item, and the copy that
migration 0016 keeps of it for items queued before."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from chengxin.domain.quality import Finding
from chengxin.services.review_publish import suspicion_of

P = "urn:cx:platform:P1"
VERSIONS = Path(__file__).resolve().parents[2] / "src/chengxin/adapters/db/migrations/versions"
MIGRATION = VERSIONS / "0016_review_suspicions.py"


def _migration():
    spec = importlib.util.spec_from_file_location("m0016", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def roll(*orders: str, level: str = "shop", parties=((P, "S1"),)) -> Finding:
    return Finding("empty_parcel", 0.9, {"parties": parties, "orders": tuple((P, o) for o in orders)},
                   {"level": level})


RING = Finding("fake_order_ring", 0.7, {"parties": ((P, "U1"), (P, "U2"), (P, "S2")), "orders": ((P, "O1"),)},
               {"shop_refs": [{"source": P, "id": "S2"}]})
FINDINGS = [roll("O1"), roll("O1", "O2"), roll("O1", level="order", parties=()),
            roll("O1", level="order_delivery", parties=((P, "C1"),)), RING,
            Finding("price_fraud", 0.8, {"parties": ((P, "S1"),), "products": ((P, "G1"),)}, {}),
            Finding("price_fraud", 0.8, {"parties": ((P, "S1"),), "products": ((P, "G2"),)}, {}),
            Finding("payment_fraud", 0.9, {"parties": ((P, "F1"),)}, {"payer_account": "pay-1"}),
            Finding("not_as_described", 0.7, {"parties": ((P, "S1"),), "products": ((P, "G1"),)}, {}),
            Finding("template_review", 0.6, {"parties": ((P, "A1"), (P, "A2")), "reviews": ((P, "R1"),)}, {})]


def test_a_growing_evidence_set_is_one_suspicion_and_each_product_its_own():
    s = [suspicion_of(f) for f in FINDINGS]
    assert s[0] == s[1]  # a roll-up that gained an order
    assert s[2] == s[3]  # one parcel, whoever a later run finds it is about
    assert s[5] != s[6]  # two products of one shop
    grown_ring = Finding("fake_order_ring", 0.8, {"parties": ((P, "U3"), *RING.refs("parties"))},
                         {"shop_refs": [{"source": P, "id": "S2"}]})
    assert suspicion_of(grown_ring) == s[4]  # a ring at the same shops that gained a buyer
    assert suspicion_of(Finding("payment_fraud", 0.9, {"parties": ((P, "F2"),)}, {"payer_account": "pay-1"})) \
        == s[7]
    # a shop's not-as-described finding names its products as evidence: one more is the same suspicion
    more = Finding("not_as_described", 0.7, {"parties": ((P, "S1"),), "products": ((P, "G1"), (P, "G2"))}, {})
    assert suspicion_of(more) == s[8]
    assert len(set(s)) == len(s) - 2


@pytest.mark.parametrize("finding", FINDINGS)
def test_the_migrations_copy_agrees(finding):
    assert _migration().suspicion(finding.kind, finding.subjects_dict(), dict(finding.evidence)) \
        == suspicion_of(finding)
