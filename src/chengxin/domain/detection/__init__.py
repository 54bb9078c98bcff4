"""Detection of dishonest behaviour (issue 5): pure detectors over data the service gathers from the store.

Each detector is registered in `DETECTORS` under its name with the finding kind it produces and the input it
reads (`needs`: the service has one loader per input, so detectors sharing an input share its queries). A
detector returns `chengxin.domain.quality.Finding`s, the `chengxin detect --json` shape:
`{"kind", "score" (0..1), "parties", "orders", "products", "reviews": [{"source", "id"}], "evidence": {...}}`.
Thresholds and weights live in `vocab/detection.yaml`, checked by `load_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from chengxin.domain.detection import (
    empty_parcel,
    fake_traffic,
    malicious_review,
    not_as_described,
    payment_fraud,
    price_fraud,
    rings,
    templates,
)
from chengxin.domain.detection.checks import RuleError
from chengxin.domain.quality import KINDS, Finding
from chengxin.domain.vocabulary import VocabularyError

RULES_VERSION = 1


@dataclass(frozen=True, slots=True)
class DetectionRules:
    version: int
    empty_parcel: empty_parcel.Rules
    fake_order_ring: rings.Rules
    template_review: templates.Rules
    price_fraud: price_fraud.Rules
    fake_traffic: fake_traffic.Rules
    not_as_described: not_as_described.Rules
    malicious_review: malicious_review.Rules
    payment_fraud: payment_fraud.Rules


def load_rules(text: str, source: str = "<string>") -> DetectionRules:
    """Parse and check vocab/detection.yaml; an error names the file and the key."""
    doc = yaml.safe_load(text)
    need = {"version", "empty_parcel", "fake_order_ring", "template_review", "price_fraud", "fake_traffic",
            "not_as_described", "malicious_review", "payment_fraud"}
    if not isinstance(doc, dict) or set(doc) != need:
        raise VocabularyError(source, f"top level: expected exactly the keys {', '.join(sorted(need))}")
    if doc["version"] != RULES_VERSION:
        raise VocabularyError(source, f"version: expected {RULES_VERSION}, got {doc['version']!r}")
    try:
        return DetectionRules(RULES_VERSION, empty_parcel.parse_rules(doc["empty_parcel"]),
                              rings.parse_rules(doc["fake_order_ring"]), templates.parse_rules(doc["template_review"]),
                              price_fraud.parse_rules(doc["price_fraud"]),
                              fake_traffic.parse_rules(doc["fake_traffic"]),
                              not_as_described.parse_rules(doc["not_as_described"]),
                              malicious_review.parse_rules(doc["malicious_review"]),
                              payment_fraud.parse_rules(doc["payment_fraud"]))
    except RuleError as e:
        raise VocabularyError(source, str(e)) from e


@dataclass(frozen=True, slots=True)
class Detector:
    name: str
    kind: str  # the kind of every finding it returns (one of quality.KINDS)
    needs: str  # the input the service gathers for it
    run: Callable[[Any, DetectionRules], list[Finding]]


def _empty_parcel(data: Any, rules: DetectionRules) -> list[Finding]:
    return empty_parcel.detect(data, rules.empty_parcel)


def _fake_order_ring(data: Any, rules: DetectionRules) -> list[Finding]:
    return rings.detect(data, rules.fake_order_ring)


def _template_review(data: Any, rules: DetectionRules) -> list[Finding]:
    return templates.detect(data, rules.template_review)


def _price_fraud(data: Any, rules: DetectionRules) -> list[Finding]:
    return price_fraud.detect(data, rules.price_fraud)


def _fake_traffic(data: Any, rules: DetectionRules) -> list[Finding]:
    return fake_traffic.detect(data, rules.fake_traffic)


def _not_as_described(data: Any, rules: DetectionRules) -> list[Finding]:
    return not_as_described.detect(data, rules.not_as_described)


def _malicious_review(data: Any, rules: DetectionRules) -> list[Finding]:
    return malicious_review.detect(data, rules.malicious_review)


def _payment_fraud(data: Any, rules: DetectionRules) -> list[Finding]:
    return payment_fraud.detect(data, rules.payment_fraud)


DETECTORS: Mapping[str, Detector] = {
    d.name: d for d in (
        Detector("empty_parcel", empty_parcel.KIND, "waybills", _empty_parcel),
        Detector("fake_order_ring", rings.KIND, "orders", _fake_order_ring),
        Detector("template_review", templates.KIND, "reviews", _template_review),
        Detector("price_fraud", price_fraud.KIND, "prices", _price_fraud),
        Detector("fake_traffic", fake_traffic.KIND, "traffic", _fake_traffic),
        Detector("not_as_described", not_as_described.KIND, "shop_quality", _not_as_described),
        Detector("malicious_review", malicious_review.KIND, "conduct", _malicious_review),
        Detector("payment_fraud", payment_fraud.KIND, "conduct", _payment_fraud),
    )
}
assert all(d.kind in KINDS for d in DETECTORS.values())

__all__ = ["DETECTORS", "DetectionRules", "Detector", "Finding", "load_rules"]
