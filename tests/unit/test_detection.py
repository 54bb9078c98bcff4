"""The pure empty-parcel detector on hand-made waybills: each tell, no false alarm on honest parcels, the
roll-ups per shop, courier and carrier, and the checked rules file."""

from __future__ import annotations

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain.detection import DETECTORS, load_rules
from chengxin.domain.detection.empty_parcel import Scan, Waybill, Waybills, detect, quantile, region_index
from chengxin.domain.quality import KINDS, parse_finding
from chengxin.domain.vocabulary import VocabularyError

P = "urn:cx:platform:P1"
L1 = "urn:cx:logistics:L1"
RULES = load_rules(vocab_text("detection.yaml"), "vocab/detection.yaml")
H = 3600.0
HANGZHOU, SHANGHAI, URUMQI = "330106", "310104", "650102"  # about 165 km, then 3,300 km apart
HONEST_TRAIL = (("picked_up", 0, HANGZHOU), ("in_transit", 3, "330000"), ("arrived", 9, "310000"),
                ("out_for_delivery", 11, SHANGHAI), ("delivered", 14, SHANGHAI))
_seq = iter(range(1, 10**6))


def waybill(order: str | None = None, *, shop: str = "S1", product: str = "G1", qty: int = 1,
            ship_to: str = SHANGHAI, weight: int | None = 650, trail=HONEST_TRAIL, courier: str | None = None,
            carrier: str = "LG1", tracking: str | None = None, start: float = 0.0) -> Waybill:
    n = next(_seq)
    order = order or f"O{n}"
    return Waybill((P, order), (P, shop), (((P, product), qty),), ship_to, (P, f"SH{n}"), (P, carrier),
                   (L1, courier) if courier else None, tracking or f"T{n:08d}", weight,
                   tuple(Scan(start + h * H, status, region) for status, h, region in trail))


def honest(n: int = 20, **kw) -> list[Waybill]:
    return [waybill(weight=600 + 10 * (i % 8), **kw) for i in range(n)]


def run(*waybills: Waybill, categories=None):
    return detect(Waybills(list(waybills), categories or {(P, "G1"): "food", (P, "G2"): "food"}), RULES.empty_parcel)


def order_findings(found):
    return {f.refs("orders")[0][1]: f for f in found if f.evidence["level"] == "order"}


def rollups(found, level):
    return {f.refs("parties")[0][1]: f for f in found if f.evidence["level"] == level}


def test_honest_parcels_raise_nothing():
    assert run(*honest(30), *honest(10, product="G2", ship_to=SHANGHAI, courier="C1")) == []


def test_light_parcel_against_the_products_typical_weight():
    found = order_findings(run(*honest(), waybill("E1", weight=30)))
    assert list(found) == ["E1"]
    f = found["E1"]
    assert f.kind == "empty_parcel" and f.score == 0.8
    light = f.evidence["tells"]["light"]
    assert light["weight_g"] == 30 and light["basis"] == "product" and 600 <= light["expected_g"] <= 680
    assert light["ratio"] == pytest.approx(30 / light["expected_g"], abs=1e-3)
    assert f.refs("parties") == () and f.refs("products") == ()  # only the order; parties come in roll-ups


def test_a_product_shipped_mostly_empty_still_has_its_real_weight_learnt():
    # Most waybills of G9 are empty and show another tell: they do not teach the detector that G9 weighs 20 g,
    # so a light parcel with no other tell is still caught.
    two_node = (("picked_up", 0, HANGZHOU), ("delivered", 4, SHANGHAI))
    bills = [waybill(product="G9", weight=20, trail=two_node) for _ in range(12)]
    bills += [waybill(product="G9", weight=900 + i) for i in range(3)] + [waybill("E1", product="G9", weight=25)]
    found = order_findings(run(*bills, categories={(P, "G9"): "food"}))
    assert "light" in found["E1"].evidence["tells"] and len(found) == 13


def test_heavier_goods_in_quantity_are_not_light():
    found = order_findings(run(*honest(), waybill("Q3", qty=3, weight=1900)))
    assert found == {}


def test_no_transit_scan_within_hours():
    trail = (("picked_up", 0, HANGZHOU), ("delivered", 3, SHANGHAI))
    f = order_findings(run(*honest(), waybill("E1", trail=trail)))["E1"]
    tells = f.evidence["tells"]
    assert set(tells) == {"no_transit", "too_fast"}  # 3 h against about 13 h for 165 km
    assert tells["no_transit"] == {"hours": 3.0, "scans": ["picked_up", "delivered"]}
    assert tells["too_fast"]["typical_hours"] > 12 and f.score == pytest.approx(1 - 0.2 * 0.4)


def test_a_slow_parcel_without_transit_scans_is_not_no_transit():
    trail = (("picked_up", 0, HANGZHOU), ("delivered", 30, SHANGHAI))  # a carrier that scans little
    assert order_findings(run(*honest(), waybill("E1", trail=trail))) == {}


def test_transit_faster_than_the_distance_allows():
    trail = (("picked_up", 0, SHANGHAI), ("in_transit", 2, "310000"), ("arrived", 6, "650000"),
             ("out_for_delivery", 8, URUMQI), ("delivered", 10, URUMQI))
    f = order_findings(run(*honest(), waybill("E1", ship_to=URUMQI, trail=trail)))["E1"]
    fast = f.evidence["tells"]["too_fast"]
    assert set(f.evidence["tells"]) == {"too_fast"} and f.score == 0.6
    assert fast["km"] > 3000 and fast["hours"] == 10.0 and fast["typical_hours"] > 40


def test_signed_far_from_the_ship_to_region():
    trail = (*HONEST_TRAIL[:-1], ("delivered", 14, URUMQI))
    f = order_findings(run(*honest(), waybill("E1", trail=trail)))["E1"]
    assert set(f.evidence["tells"]) == {"signed_far"}
    assert f.evidence["tells"]["signed_far"]["km"] > 3000 and f.score == 0.7


def test_delivered_at_origin_alone_is_below_the_flag():
    # Picked up and signed for in Hangzhou, ship-to Hangzhou's neighbour district: weak on its own.
    trail = (("picked_up", 0, HANGZHOU), ("in_transit", 3, "330000"), ("delivered", 20, HANGZHOU))
    assert order_findings(run(*honest(), waybill("E1", ship_to="330108", trail=trail))) == {}


def test_one_tracking_number_on_several_orders():
    found = order_findings(run(*honest(), waybill("E1", tracking="DUP1"), waybill("E2", tracking="DUP1")))
    assert set(found) == {"E1", "E2"}
    shared = found["E1"].evidence["tells"]["shared_tracking"]
    assert shared == {"tracking_no": "DUP1", "orders": 2, "others": [{"source": P, "id": "E2"}]}


def test_an_order_with_two_waybills_counts_once():
    found = order_findings(run(*honest(), waybill("E1", weight=20), waybill("E1", weight=650)))
    assert list(found) == ["E1"] and "light" in found["E1"].evidence["tells"]


def test_roll_up_per_courier_shop_and_not_the_honest_ones():
    fake = (("picked_up", 0, HANGZHOU), ("delivered", 3, HANGZHOU))  # "delivered" at the origin station
    bills = [*honest(40, courier="C1"), *honest(20, shop="S2", courier="C2")]
    bills += [waybill(f"F{i}", shop=f"S{3 + i % 4}", courier="C2", trail=fake) for i in range(12)]
    bills += [*honest(5, shop="S9"), *(waybill(f"E{i}", shop="S9", weight=20) for i in range(6))]
    found = run(*bills)
    assert len(order_findings(found)) == 18
    couriers, shops, carriers = rollups(found, "courier"), rollups(found, "shop"), rollups(found, "carrier")
    assert list(couriers) == ["C2"] and carriers == {}
    c2 = couriers["C2"]
    assert c2.refs("parties") == ((L1, "C2"),) and len(c2.refs("orders")) == 12
    assert c2.evidence["parcels"] == 32 and c2.evidence["flagged"] == 12
    assert c2.score == pytest.approx(12 / 32 / 0.5)
    assert c2.evidence["tells"]["no_transit"] == 12
    # The courier's fakes do not count against the shops it carried for; the shop shipping light parcels does.
    assert list(shops) == ["S9"]
    assert shops["S9"].evidence["flagged"] == 6 and shops["S9"].evidence["parcels"] == 11
    assert shops["S9"].score == pytest.approx(min(1, 6 / 11 / 0.3))


def test_a_carrier_is_named_when_no_courier_explains_its_fakes():
    fake = (("picked_up", 0, HANGZHOU), ("delivered", 3, HANGZHOU))
    bills = [*honest(40, carrier="LG2"), *(waybill(shop=f"S{i}", carrier="LG3", trail=fake) for i in range(25)),
             *honest(50, carrier="LG3")]
    found = run(*bills)
    assert list(rollups(found, "carrier")) == ["LG3"] and rollups(found, "shop") == {}


def test_findings_have_the_detect_json_shape():
    for f in run(*honest(), waybill("E1", weight=20)):
        d = f.as_dict()
        assert {"kind", "score", "parties", "orders", "products", "reviews", "evidence"} <= d.keys()
        assert parse_finding(d, "x") == f and 0 <= d["score"] <= 1


def test_registry_names_the_detector_and_its_kind():
    d = DETECTORS["empty_parcel"]
    assert d.kind == "empty_parcel" and d.kind in KINDS and d.needs == "waybills"
    assert d.run(Waybills([], {}), RULES) == []


def test_reference_geography_falls_back_to_the_province():
    assert region_index(SHANGHAI) is not None
    assert region_index("310999") == region_index("310000") == region_index("310101")
    assert region_index("990101") is None
    assert quantile([1, 2, 3, 4], 0.5) == 2.5 and quantile([7], 0.9) == 7


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  flag_score: 0.5", "  flag_score: 1.5", "empty_parcel.flag_score: 1.5 is outside"),
    ("    light: 0.8 ", "    heavy: 0.8 ", "empty_parcel.weights: expected exactly the keys"),
    ("    min_samples: 3 ", "    min_samples: 2.5 ", "empty_parcel.light.min_samples: expected a whole number"),
    ("version: 1", "version: 2", "version: expected 1"),
    ("  signed_far_km: 500", "  signed_far_km: far", "empty_parcel.signed_far_km: expected a number"),
])
def test_rules_are_checked_at_load(old, new, message):
    text = vocab_text("detection.yaml")
    assert old in text
    with pytest.raises(VocabularyError, match=message):
        load_rules(text.replace(old, new, 1), "detection.yaml")


def test_every_rule_is_documented():
    import yaml
    from tests.unit.test_docs import ROOT

    doc = (ROOT / "docs" / "detection.md").read_text(encoding="utf-8")
    section = yaml.safe_load(vocab_text("detection.yaml"))["empty_parcel"]
    keys = [f"{k}.{sub}" if isinstance(v, dict) else k for k, v in section.items()
            for sub in (v if isinstance(v, dict) else [None])]  # rollup.shop, weights.light, light.ratio, ...
    missing = [k for k in keys if f"| `{k}` |" not in doc]
    assert not missing
