"""Which references to another source's entities an API key of a source may submit (`vocabulary.foreign_refusal`
over the shipped vocabulary): the spec's own examples (a hotline's complaint about a platform's shop, a logistics
firm's scan of a platform's shipment) and a regulator's supervision pass; a platform changing or reporting on
another source's shop, order or sanction is refused, naming the field."""

from __future__ import annotations

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain.vocabulary import VocabularyError, foreign_refusal, load_event_types, source_kind

VOCAB = load_event_types(vocab_text("events-v1.yaml"), "events-v1.yaml")
P1, P2 = "urn:cx:platform:P1", "urn:cx:platform:P2"
L1, HOTLINE, REG = "urn:cx:logistics:L1", "urn:cx:hotline:12315", "urn:cx:regulator:310000"
PAY = "urn:cx:payment:PAY1"


def of(source: str, entity: str) -> dict[str, str]:
    return {"source": source, "id": entity}


REFUSED = [  # (submitter, type, data, the field named)
    (P1, "cx.sanction.lifted", {"sanction_id": of(REG, "X10"), "reason": "revoked"}, "sanction_id"),
    (P1, "cx.shop.closed", {"shop_id": of(P2, "S139"), "reason": "closed"}, "shop_id"),
    (P1, "cx.sanction.imposed", {"sanction_id": "X", "subject_id": of(P2, "M139"), "kind": "serious_dishonesty"},
     "subject_id"),
    (P1, "cx.order.placed", {"order_id": "O9", "shop_id": of(P2, "S1"), "buyer_id": "U1"}, "shop_id"),
    (P1, "cx.order.completed", {"order_id": of(P2, "O1")}, "order_id"),
    (P1, "cx.review.posted", {"review_id": "R9", "order_id": "O9", "author_id": "U1", "target_id": of(P2, "S1"),
                              "direction": "buyer_to_seller", "score": 1}, "target_id"),
    (P1, "cx.complaint.filed", {"complaint_id": "C9", "target_id": of(P2, "S1"), "category": "other"}, "target_id"),
    (P1, "cx.complaint.resolved", {"complaint_id": of(HOTLINE, "C1"), "outcome": "upheld",
                                   "resolved_by": "P1"}, "complaint_id"),
    (P1, "cx.shop.opened", {"shop_id": "S9", "operator_id": of(P2, "U1003")}, "operator_id"),
    (P1, "cx.commitment.published", {"commitment_id": "K9", "subject_id": of(P2, "M1")}, "subject_id"),
    (L1, "cx.sanction.imposed", {"sanction_id": "X", "subject_id": of(P1, "M1")}, "subject_id"),
    (HOTLINE, "cx.shipment.scanned", {"shipment_id": of(P1, "SH1"), "status": "in_transit"}, "shipment_id"),
    ("some-other-source", "cx.complaint.filed", {"complaint_id": "C9", "target_id": of(P1, "S1")}, "target_id"),
    # found by review: a "carrier" rating aimed at another platform's shop counted in that shop's ratings
    (P2, "cx.review.posted", {"review_id": "R9", "order_id": "O9", "author_id": "U1", "target_id": of(P1, "S1"),
                              "direction": "buyer_to_carrier", "score": 1}, "target_id"),
    (P1, "cx.shipment.created", {"shipment_id": "SH3", "order_id": "O1", "carrier_id": of(P2, "M1")}, "carrier_id"),
    (PAY, "cx.order.completed", {"order_id": of(P1, "O1")}, "order_id"),  # a payment institution pays, only
]
ALLOWED = [
    (L1, "cx.shipment.scanned", {"shipment_id": of(P1, "SH1"), "status": "in_transit"}),
    (L1, "cx.shipment.created", {"shipment_id": "SH2", "order_id": of(P1, "O1"), "carrier_id": "L1"}),
    (P1, "cx.shipment.created", {"shipment_id": "SH3", "order_id": "O1", "carrier_id": of(L1, "L1")}),
    (P1, "cx.review.posted", {"review_id": "R9", "order_id": "O9", "author_id": "U1", "target_id": of(L1, "L1"),
                              "direction": "buyer_to_carrier", "score": 2}),
    (HOTLINE, "cx.complaint.filed", {"complaint_id": "C9", "target_id": of(P1, "S1"), "order_id": of(P1, "O1")}),
    (REG, "cx.sanction.imposed", {"sanction_id": "X", "subject_id": of(P1, "M1")}),
    (REG, "cx.sanction.lifted", {"sanction_id": of("urn:cx:regulator:330000", "X1"), "reason": "revoked"}),
    (P1, "cx.shop.closed", {"shop_id": of(P1, "S1"), "reason": "own, written as an object"}),
    (P1, "cx.shop.closed", {"shop_id": "S1", "reason": "own"}),
    # the spec's reporters and targets, refused through the API (found by review): a payment institution
    # reporting a platform's order paid; a platform's complaint about a carrier
    (PAY, "cx.order.paid", {"order_id": of(P1, "O1"), "amount": 100, "method": "card"}),
    (P1, "cx.complaint.filed", {"complaint_id": "C9", "target_id": of(L1, "L1"), "category": "delivery"}),
]


@pytest.mark.parametrize(("source", "type_", "data", "field"), REFUSED)
def test_a_reference_to_another_sources_entity_is_refused_naming_the_field(source, type_, data, field) -> None:
    why = foreign_refusal(VOCAB.types[type_], data, source)
    assert why is not None and why.startswith(f"data.{field}:") and data[field]["source"] in why


def test_an_items_product_of_another_source_is_refused() -> None:
    data = {"order_id": "O9", "shop_id": "S1", "buyer_id": "U1", "items": [
        {"product_id": "G1", "quantity": 1, "unit_price": 1}, {"product_id": of(P1, "G7"), "quantity": 1,
                                                               "unit_price": 1}]}
    why = foreign_refusal(VOCAB.types["cx.order.placed"], data, P2)
    assert why is not None and why.startswith("data.items[1].product_id:")
    assert foreign_refusal(VOCAB.types["cx.order.placed"], data, P1) is None


@pytest.mark.parametrize(("source", "type_", "data"), ALLOWED)
def test_the_references_the_spec_means_pass(source, type_, data) -> None:
    assert foreign_refusal(VOCAB.types[type_], data, source) is None


def test_only_urn_sources_have_a_kind() -> None:
    assert [source_kind(s) for s in (P1, L1, HOTLINE, REG, "urn:cx:bank:B1", "P1", "urn:cx:platform")] == [
        "platform", "logistics", "hotline", "regulator", None, None, None]


@pytest.mark.parametrize(("spec", "reason"), [
    ("{kind: str, foreign: [platform]}", "only a ref"),
    ("{kind: ref, foreign: [bank]}", "foreign must be a list"),
    ("{kind: ref, foreign: platform}", "foreign must be a list"),
    ("{kind: ref, foreign: [platform], foreign_to: [bank]}", "foreign_to must be a list"),
    ("{kind: ref, foreign: [platform], foreign_when: {nope: [x]}}", "unknown field nope"),
])
def test_the_vocabulary_refuses_a_bad_foreign_rule(spec: str, reason: str) -> None:
    with pytest.raises(VocabularyError, match=reason):
        load_event_types(f"version: '1'\ntypes:\n  cx.x:\n    fields:\n      a: {spec}\n      b: {{kind: str}}\n")


def test_a_urns_scheme_and_namespace_are_read_in_any_case() -> None:
    """RFC 8141: `URN:CX:regulator:310000` is a regulator (its sanctions were refused; found by review); the
    kind itself is this namespace's, lower case."""
    assert source_kind("URN:CX:regulator:310000") == source_kind("urn:Cx:regulator:310000") == "regulator"
    assert source_kind("urn:cx:Regulator:310000") is None and source_kind("urn:cx:payment:PAY1") == "payment"


def test_foreign_to_by_kind_limits_that_kind_only() -> None:
    f = VOCAB.types["cx.complaint.filed"]  # foreign_to: {platform: [logistics]}
    assert foreign_refusal(f, {"target_id": of(P2, "S1")}, HOTLINE) is None
    assert foreign_refusal(f, {"target_id": of(L1, "L1")}, P1) is None
    why = foreign_refusal(f, {"target_id": of(P2, "S1")}, P1)
    assert why is not None and "platform naming logistics sources'" in why
    with pytest.raises(VocabularyError, match="foreign_to must be a list"):
        load_event_types("version: '1'\ntypes:\n  cx.x:\n    fields:\n      a: {kind: ref, foreign: [hotline], "
                         "foreign_to: {platform: [logistics]}}\n")
