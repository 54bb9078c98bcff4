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
    # S9's six light parcels are about S9; the courier's twelve fakes about the courier, not the shops it
    # carried for (filed against those shops, a confirmation blacklisted them: found by review)
    assert sorted(order_findings(found)) == [f"E{i}" for i in range(6)]
    delivery = {f.refs("orders")[0][1]: f for f in found if f.evidence["level"] == "order_delivery"}
    assert sorted(delivery) == sorted(f"F{i}" for i in range(12))
    assert {(f.refs("parties"), f.evidence["explained_by"]) for f in delivery.values()} == {(((L1, "C2"),), "courier")}
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


# --- fake-order rings (domain/detection/rings.py) ---------------------------------------------------------------
import random  # noqa: E402

import numpy as np  # noqa: E402

from chengxin.domain.detection import rings, templates  # noqa: E402

DAY = 86400.0


def marketplace(seed: int = 3, *, camouflage: bool = True, hijacked: int = 3):
    """An honest background (popular and quiet shops, repeat customers) with one planted ring: 15 fresh workers
    and `hijacked` established buyers ordering at two quiet shops in 30-minute windows on 4 days, part on a
    shared device and payer; the workers also order at popular shops (camouflage)."""
    rnd = random.Random(seed)
    rows, n = [], iter(range(10**7))
    weights = [1 / (k + 1) for k in range(40)]  # shop popularity (Zipf)

    def order(buyer, shop, at, dev=None, payer=None):
        oid = f"O{next(n)}"
        rows.append(((P, oid), (P, buyer), (P, shop), at, dev or f"d-{buyer}", f"a-{buyer}", payer or f"p-{buyer}"))
        return (P, oid)

    for b in range(300):
        for _ in range(1 + int(rnd.paretovariate(1.5))):
            shop = rnd.choices(range(40), weights)[0]
            order(f"U{b}", f"S{shop}", rnd.uniform(0, 30 * DAY))
    workers = [f"W{i}" for i in range(15)]
    members = workers + [f"U{b}" for b in range(hijacked)]
    planted = []
    for day in (3, 8, 12, 20):
        start = day * DAY + 14 * 3600
        for m in members:
            for shop in ("S38", "S39"):
                if rnd.random() < 0.6:
                    shared = rnd.random() < 0.4
                    planted.append(order(m, shop, start + rnd.uniform(0, 1800), "ring-dev" if shared else None,
                                         "ring-pay" if shared else None))
    if camouflage:
        for w in workers:
            for _ in range(2):
                order(w, f"S{rnd.choices(range(5), weights[:5])[0]}", rnd.uniform(0, 30 * DAY))
    return rings.Orders.build(rows), set(members), set(planted)


def test_a_planted_ring_is_found_despite_camouflage_and_hijacked_accounts():
    data, members, planted = marketplace()
    found = rings.detect(data, RULES.fake_order_ring)
    assert len(found) == 1
    f = found[0]
    assert f.kind == "fake_order_ring" and 0 < f.score <= 1
    buyers = {i for _, i in f.refs("parties") if not i.startswith("S")}
    shops = {i for _, i in f.refs("parties") if i.startswith("S")}
    assert buyers == members and shops == {"S38", "S39"}
    assert set(f.refs("orders")) == planted
    e = f.evidence
    assert e["buyers"] == len(members) and e["shops"] == 2 and e["orders"] == len(planted)
    assert e["orders_at_shops"] > e["orders"]  # the hijacked accounts' own purchases there are not named
    assert e["lockstep_share"] > 0.9 and e["lockstep_days"] == 4 and e["density"] >= RULES.fake_order_ring.min_density
    assert {"id": "ring-dev", "buyers": e["shared"]["device"][0]["buyers"]} == e["shared"]["device"][0]
    assert e["shared"]["payer"][0]["id"] == "ring-pay" and "lockstep" in e["why"]
    assert parse_finding(f.as_dict(), "x") == f


def test_honest_trade_alone_raises_no_ring():
    data, _, _ = marketplace(camouflage=False)
    honest = rings.Orders.build([r for r in zip(data.orders, (data.buyers[i] for i in data.buyer),
                                                (data.shops[i] for i in data.shop), data.at,
                                                (data.identifiers[i] for i in data.device),
                                                (data.identifiers[i] for i in data.address),
                                                (data.identifiers[i] for i in data.payer), strict=True)
                                 if data.shops[data.shop[data.orders.index(r[0])]][1] not in ("S38", "S39")])
    assert rings.detect(honest, RULES.fake_order_ring) == []


def test_two_rings_are_two_findings():
    data, _, planted = marketplace(seed=5)
    rows = list(zip(data.orders, (data.buyers[i] for i in data.buyer), (data.shops[i] for i in data.shop),
                    data.at, (data.identifiers[i] for i in data.device), (data.identifiers[i] for i in data.address),
                    (data.identifiers[i] for i in data.payer), strict=True))
    second = [((P, f"R{k}"), (P, f"V{k % 10}"), (P, "S37"), d * DAY + 9 * 3600 + k * 60, None, None, None)
              for d in (2, 9, 16) for k in range(10)]
    found = rings.detect(rings.Orders.build(rows + second), RULES.fake_order_ring)
    assert len(found) == 2
    by_shops = {frozenset(i for _, i in f.refs("parties") if i.startswith("S")): f for f in found}
    assert set(by_shops) == {frozenset({"S38", "S39"}), frozenset({"S37"})}
    assert set(by_shops[frozenset({"S37"})].refs("orders")) == {o for o, *_ in second}
    first = set(by_shops[frozenset({"S38", "S39"})].refs("orders"))
    assert first <= planted and len(first) >= 0.95 * len(planted)


def test_peeling_finds_the_densest_block():
    # a complete 3 x 3 block of weight 1 per edge (density 9 / 6) and a sparse tail
    eb = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 4]
    es = [0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3]
    nb = 5
    eu, ev = np.array(eb, np.int64), np.array(es, np.int64) + nb
    block, density = rings.peel(nb + 4, eu, ev, np.ones(len(eu)), np.ones(len(eu), np.bool_))
    assert density == pytest.approx(1.5)
    assert np.flatnonzero(block).tolist() == [0, 1, 2, 5, 6, 7]
    alive = np.ones(len(eu), np.bool_)
    alive[:9] = False  # the block's edges removed: what is left is the tail
    block, density = rings.peel(nb + 4, eu, ev, np.ones(len(eu)), alive)
    assert density == pytest.approx(2 / 3) and np.flatnonzero(block).tolist() == [3, 4, 8]


def test_column_weight_is_fraudars():
    assert rings.column_weight(np.array([0.0, 95.0])) == pytest.approx([1 / np.log(5), 1 / np.log(100)])


def test_no_orders_no_rings():
    assert rings.detect(rings.Orders.build([]), RULES.fake_order_ring) == []
    assert DETECTORS["fake_order_ring"].needs == "orders" and DETECTORS["fake_order_ring"].kind in KINDS


# --- templated reviews (domain/detection/templates.py) ---------------------------------------------------------
STOCK = ("质量很好", "物流很快", "包装完好", "客服态度好", "性价比高", "会回购", "和描述一致", "家人很喜欢")
TEMPLATE = "宝贝收到了，质量非常好，物流超快，卖家服务态度一级棒，五星好评"


def review_set(seed: int = 1):
    rnd = random.Random(seed)
    reviews, n = [], iter(range(10**6))

    def add(author, text, score=5):
        rid = (P, f"R{next(n)}")
        reviews.append(templates.Review(rid, (P, author), text, score))
        return rid

    for b in range(400):  # ordinary wording: stock phrases recombined, many exact repeats across accounts
        add(f"U{b}", "，".join(dict.fromkeys(rnd.choice(STOCK) for _ in range(1 + rnd.randrange(3)))))
    planted = {add(f"W{k}", TEMPLATE + rnd.choice(("", "！", "。", "~", "👍"))) for k in range(8)}
    planted.add(add("W9", TEMPLATE.replace("一级棒", "一流棒")))  # one character changed: still a near-copy
    add("U1", "这家店的东西真的是我买过最好的一次了非常推荐")  # long, but one account
    add("U1", "这家店的东西真的是我买过最好的一次了非常推荐！")
    return templates.Reviews(reviews), planted


def test_a_template_copied_by_several_accounts_is_found_and_stock_phrases_are_not():
    data, planted = review_set()
    found = templates.detect(data, RULES.template_review)
    assert len(found) == 1
    f = found[0]
    assert f.kind == "template_review" and set(f.refs("reviews")) == planted
    assert {i for _, i in f.refs("parties")} == {f"W{k}" for k in (*range(8), 9)}
    e = f.evidence
    assert e["template"].startswith("宝贝收到了") and e["accounts"] == 9 and e["reviews"] == 9
    assert 0.7 <= e["similarity"] < 1 and e["stock_share"] < 0.5 and e["scores"] == {"5": 9}
    assert f.score == pytest.approx(min(1, 9 / RULES.template_review.full_accounts) * e["similarity"], abs=1e-4)


def test_normalising_and_clauses():
    assert templates.normalise("好评！ 👍 A1。") == "好评A1"
    assert templates.clauses("质量很好，物流很快！👍") == ["质量很好", "物流很快"]
    assert templates.jaccard(templates.shingles("abcd", 3), templates.shingles("abce", 3)) == pytest.approx(1 / 3)
    assert templates.detect(templates.Reviews([]), RULES.template_review) == []


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  min_density: 2.0", "  min_density: -1", "fake_order_ring.min_density: -1 is outside"),
    ("  weights: {edge: 1.0,", "  weights: {node: 1.0,", "fake_order_ring.weights: expected exactly the keys"),
    ("  bands: 16", "  bands: 15", "template_review.bands: must divide num_perm"),
    ("  min_accounts: 3", "  min_accounts: 2.5", "template_review.min_accounts: expected a whole number"),
])
def test_new_rules_are_checked_at_load(old, new, message):
    text = vocab_text("detection.yaml")
    assert old in text
    with pytest.raises(VocabularyError, match=message):
        load_rules(text.replace(old, new, 1), "detection.yaml")


@pytest.mark.parametrize("section", ["fake_order_ring", "template_review", "malicious_review", "payment_fraud"])
def test_new_rules_are_documented(section):
    import yaml
    from tests.unit.test_docs import ROOT

    doc = (ROOT / "docs" / "detection.md").read_text(encoding="utf-8")
    rules = yaml.safe_load(vocab_text("detection.yaml"))[section]
    keys = [f"{k}.{sub}" if isinstance(v, dict) else k for k, v in rules.items()
            for sub in (v if isinstance(v, dict) else [None])]
    missing = [k for k in keys if f"| `{k}` |" not in doc]
    assert not missing


# --- price fraud, fake traffic, not as described -----------------------------------------------------------------
from chengxin.domain.detection import fake_traffic, not_as_described, price_fraud  # noqa: E402

D = 86_400.0


def prices(*points: tuple[float, int, int]) -> price_fraud.Prices:
    return price_fraud.Prices([price_fraud.Product((P, "G7"), (P, "S3"), "food",
                                                   tuple(price_fraud.Point(d * D, lp, pr) for d, lp, pr in points))])


def test_price_raised_before_a_fake_discount_is_found():
    found = price_fraud.detect(prices((0, 1200, 1000), (10, 1900, 1000), (14, 1900, 1030), (30, 1900, 1030)),
                               RULES.price_fraud)
    assert len(found) == 1
    f = found[0]
    assert f.kind == "price_fraud" and f.refs("products") == ((P, "G7"),) and f.refs("parties") == ((P, "S3"),)
    e = f.evidence
    assert e["raise"]["list_price"] == 1900 and e["before"]["price"] == 1000 and e["discount"]["price"] == 1030
    assert e["days"] == 4.0 and e["claimed_discount"] == pytest.approx(1 - 1030 / 1900, abs=1e-4)
    assert 0 < f.score <= 1 and e["why"]


def test_honest_discounts_and_repricing_are_not_price_fraud():
    rules = RULES.price_fraud
    # a festival discount: the offer drops, the list price stays, then the offer is restored
    assert price_fraud.detect(prices((0, 1200, 1000), (10, 1200, 800), (15, 1200, 1000)), rules) == []
    # repricing upwards: the list price follows the offer, never jumps alone
    assert price_fraud.detect(prices((0, 1000, 1000), (5, 1150, 1150), (8, 1150, 1100)), rules) == []
    # a raise, then a real discount below the earlier offer
    assert price_fraud.detect(prices((0, 1200, 1000), (10, 1900, 1000), (14, 1900, 800)), rules) == []
    # a raise, and the "discount" comes long after the window
    assert price_fraud.detect(prices((0, 1200, 1000), (10, 1900, 1000), (40, 1900, 1000)), rules) == []


def traffic_reports(shop: str, days: range, visits: int, orders: int, product: str | None = None):
    return [fake_traffic.Report((P, shop), (P, product) if product else None, f"2026-10-{d:02d}", visits,
                                visits * 7 // 10, orders) for d in days]


def traffic_market(*extra: fake_traffic.Report) -> fake_traffic.Traffic:
    reports = [r for s in range(1, 9) for r in traffic_reports(f"S{s}", range(1, 6), 200 + 10 * s, 5 + s % 3)]
    cats: dict = {(P, f"S{s}"): "food" for s in range(1, 10)}
    return fake_traffic.Traffic(reports + list(extra), cats)


def test_bursts_of_bought_visits_are_found():
    burst = traffic_reports("S9", range(1, 4), 250, 6) + traffic_reports("S9", range(10, 14), 4000, 6) \
        + traffic_reports("S9", range(10, 14), 4000, 6, "G90")
    found = fake_traffic.detect(traffic_market(*burst), RULES.fake_traffic)
    assert len(found) == 1
    f = found[0]
    assert f.kind == "fake_traffic" and f.refs("parties") == ((P, "S9"),) and f.refs("products") == ((P, "G90"),)
    e = f.evidence
    assert e["days"] == 4 and e["bursts"] == [["2026-10-10", "2026-10-13"]] and e["median_excess"] > 10
    assert 0 < f.score <= 1


def test_a_busy_day_with_orders_is_not_fake_traffic():
    # a festival: five times the visits and five times the orders (conversion as usual); and one odd day
    busy = traffic_reports("S9", range(1, 4), 250, 6) + traffic_reports("S9", range(10, 14), 1250, 30) \
        + traffic_reports("S9", range(20, 21), 3000, 6)
    assert fake_traffic.detect(traffic_market(*busy), RULES.fake_traffic) == []


def quality_market(*extra: not_as_described.Shop) -> not_as_described.Shops:
    honest = [not_as_described.Shop((P, f"S{s}"), "clothing", 100, {"quality": 3, "no_reason": 2},
                                    {"not_as_described": 1 if s % 4 == 0 else 0}, ((P, f"G{s}"),))
              for s in range(1, 21)]
    return not_as_described.Shops(honest + list(extra))


def test_a_seller_far_above_its_category_is_found():
    bad = not_as_described.Shop((P, "S99"), "clothing", 80, {"not_as_described": 20, "quality": 1},
                                {"counterfeit": 6}, ((P, "G991"), (P, "G990")))
    found = not_as_described.detect(quality_market(bad), RULES.not_as_described)
    assert len(found) == 1
    f = found[0]
    assert f.refs("parties") == ((P, "S99"),) and f.refs("products") == ((P, "G990"), (P, "G991"))
    e = f.evidence
    assert e["events"] == 26 and e["orders"] == 80 and e["p_value"] < 1e-5 and e["ratio"] >= 3
    assert 0 < f.score <= 1


def test_few_orders_or_an_ordinary_rate_is_not_a_finding():
    rules = RULES.not_as_described
    small = not_as_described.Shop((P, "S98"), "clothing", 4, {"not_as_described": 2}, {}, ())  # too few orders
    unlucky = not_as_described.Shop((P, "S97"), "clothing", 300, {"not_as_described": 3}, {"counterfeit": 1}, ())
    assert not_as_described.detect(quality_market(small, unlucky), rules) == []


def test_poisson_tail():
    assert not_as_described.poisson_sf(0, 2.0) == 1.0
    assert not_as_described.poisson_sf(1, 2.0) == pytest.approx(1 - 2.718281828 ** -2)
    assert not_as_described.poisson_sf(3, 1.0) == pytest.approx(1 - 2.5 * 2.718281828 ** -1)
    assert not_as_described.poisson_sf(20, 0.4) < 1e-20


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  window_days: 14", "  window_days: 0", "price_fraud.window_days: 0 is outside"),
    ("  tolerance: 0.06", "  tolerance: 0.5", "price_fraud.tolerance: must be below min_claimed"),
    ("  min_history: 3", "  min_history: 2.5", "fake_traffic.min_history: expected a whole number"),
    ("  alpha: 0.00001", "  beta: 0.00001", "not_as_described: expected exactly the keys"),
])
def test_trading_rules_are_checked(old, new, message):
    text = vocab_text("detection.yaml")
    assert old in text
    with pytest.raises(VocabularyError, match=message):
        load_rules(text.replace(old, new))


# --- malicious reviews, payment fraud ----------------------------------------------------------------------------
from chengxin.domain.detection import malicious_review as mr  # noqa: E402
from chengxin.domain.detection import payment_fraud as pf  # noqa: E402

D = 86_400.0
_n = iter(range(1, 10**6))


class Market:
    """A hand-made conduct input: honest buyers rating shops, plus whatever a test plants."""

    def __init__(self, shops: int = 6, buyers: int = 30, registered: float = 0.0) -> None:
        self.orders: list[mr.Order] = []
        self.reviews: list[mr.Review] = []
        self.complaints: list[mr.Complaint] = []
        self.registered: dict = {}
        rng = random.Random(5)
        for b in range(buyers):
            self.registered[(P, f"U{b}")] = registered
            for _ in range(6):
                shop, at = rng.randrange(shops), 40 * D + rng.random() * 20 * D
                o = self.order(f"U{b}", f"S{shop}", at)
                self.review(o, 1 if rng.random() < 0.05 else 5, at + D, "质量很好，物流很快" + str(rng.random()))

    def order(self, buyer: str, shop: str, at: float, total: int = 1000, payer: str | None = None) -> mr.Order:
        o = mr.Order((P, f"O{next(_n)}"), (P, buyer), (P, shop), total, at, payer or f"pay-{buyer}")
        self.orders.append(o)
        return o

    def review(self, o: mr.Order, score: int, at: float, text: str, follows=None) -> mr.Review:
        r = mr.Review((P, f"R{next(_n)}"), o.ref, o.buyer, o.shop, score, at, text, follows)
        self.reviews.append(r)
        return r

    def complaint(self, o: mr.Order, at: float, *, by=None, claimed=None, outcome=None, category="other"):
        self.complaints.append(mr.Complaint((P, f"CP{next(_n)}"), by or o.buyer, o.shop, o.ref, category, at,
                                            claimed, outcome))

    def data(self, returned=frozenset()) -> mr.Conduct:
        return mr.Conduct(self.orders, self.reviews, self.complaints, self.registered, returned)


def malicious(m: Market, returned=frozenset()):
    return mr.detect(m.data(returned), RULES.malicious_review)


def test_honest_raters_raise_no_malicious_review():
    assert malicious(Market()) == []


def test_an_extortionist_across_shops_is_named_and_an_honest_claim_is_not():
    m = Market()
    m.registered[(P, "X")] = 0.0
    for k, shop in enumerate(("S1", "S2", "S3")):
        o = m.order("X", shop, 45 * D + k * D)
        r = m.review(o, 1, 46 * D + k * D, "东西有严重问题，差评，不给说法就一直投诉")
        m.complaint(o, 46.5 * D + k * D, claimed=5000, outcome="withdrawn", category="not_as_described")
        m.review(o, 5, 48 * D + k * D, "问题已解决，追加好评", follows=r.ref)
    # an honest buyer with one bad order: negative review and a claim for the price
    o = m.order("U1", "S4", 50 * D)
    m.review(o, 1, 51 * D, "质量太差")
    m.complaint(o, 51.5 * D, claimed=1000, category="quality")
    found = malicious(m)
    assert [f.refs("parties") for f in found] == [((P, "X"),)]
    f = found[0]
    assert f.evidence["pattern"] == ["extortion"] and f.evidence["extortion"]["shops"] == 3
    assert f.evidence["extortion"]["withdrawn_share"] == 1.0 and f.score == 0.75 and len(f.refs("reviews")) == 3


def test_a_serial_negative_reviewer_is_named_and_a_buyer_with_explained_bad_orders_is_not():
    m = Market()
    for who in ("N", "H"):
        m.registered[(P, who)] = 0.0
        for k in range(6):
            o = m.order(who, f"S{k}", 45 * D + k * D)
            m.review(o, 1, 46 * D + k * D, "质量差，不推荐")
    returned = frozenset(o.ref for o in m.orders if o.buyer == (P, "H"))  # H's bad orders came back: explained
    found = malicious(m, returned)
    assert [f.refs("parties") for f in found] == [((P, "N"),)]
    s = found[0].evidence["serial_negative"]
    assert s["negatives"] == 6 and s["shops"] == 6 and s["ratio"] >= 2 and 0 < found[0].score <= 1


def test_a_sabotage_campaign_names_the_accounts_not_the_victim():
    m = Market(registered=0.0)
    for k in range(8):
        who = f"W{k % 4}"
        m.registered[(P, who)] = 50 * D
        o = m.order(who, "S2", 52 * D + k * D, total=100)
        m.review(o, 1, 53 * D + k * D, "质量太差了，收到就是坏的，客服也不处理，大家千万别买" + "!" * (k % 3))
    # honest newcomers with their own one-star words at the same shop are no campaign
    for k in range(3):
        m.registered[(P, f"Y{k}")] = 50 * D
        o = m.order(f"Y{k}", "S3", 52 * D + k * D)
        m.review(o, 1, 53 * D + k * D, ("发货太慢了", "颜色和图片不一样", "用了一天就坏了")[k])
    found = malicious(m)
    assert len(found) == 1
    f = found[0]
    assert f.refs("parties") == tuple((P, f"W{k}") for k in range(4)) and len(f.refs("orders")) == 8
    assert f.evidence["victim"] == {"source": P, "id": "S2"} and (P, "S2") not in f.refs("parties")
    assert len(f.refs("reviews")) == 8 and f.score == round(4 / 6 * f.evidence["min_similarity"], 4)


def paid(m: Market):
    return pf.detect(m.data(), RULES.payment_fraud)


def test_a_stolen_payer_account_names_the_young_buyers_and_their_orders():
    m = Market()
    owner_order = m.order("U3", "S0", 41 * D, payer="pay-U3")
    for k in range(3):
        m.registered[(P, f"F{k}")] = 50 * D
        m.order(f"F{k}", f"S{k + 1}", 52 * D + k * D, total=8000, payer="pay-U3")
    found = paid(m)
    assert len(found) == 1 and found[0].refs("parties") == ((P, "F0"), (P, "F1"), (P, "F2"))
    assert len(found[0].refs("orders")) == 3 and owner_order.ref not in found[0].refs("orders")
    assert found[0].evidence["owner"] == {"source": P, "id": "U3"} and found[0].score == 0.6
    # the owner reports it: a stronger finding
    m.complaint(m.orders[-1], 56 * D, by=(P, "U3"))
    f = paid(m)[0]
    assert f.score == round(1 - 0.1 * (1 - 0.6), 4) and f.evidence["reports"]


def test_a_rings_shared_payer_account_and_honest_buyers_are_no_payment_fraud():
    m = Market()
    for k in range(4):  # young ring members sharing one account at the ring's shop, from the same days
        m.registered[(P, f"W{k}")] = 50 * D
        for d in range(3):
            m.order(f"W{k}", "S5", 52 * D + d * 5 * D + k * 3600, total=100, payer="pay-ring")
    assert paid(m) == []


def test_a_shops_or_a_housemates_complaint_is_no_theft_report():
    # A household shares one account; a shop's intimidation complaint, a housemate's complaint about the goods,
    # or one by the shop named neither spouse a payment fraudster (found by review).
    m = Market(registered=0.0)
    first = m.order("WIFE", "S1", 41 * D, payer="pay-home")
    second = m.order("HUSBAND", "S2", 52 * D, payer="pay-home")
    m.complaint(second, 53 * D, by=(P, "S2"), category="intimidation")
    m.complaint(second, 53 * D, by=(P, "WIFE"), category="not_as_described")
    m.complaint(first, 53 * D, by=(P, "S1"), category="other")
    assert paid(m) == []
    m.complaint(second, 54 * D, by=(P, "WIFE"), category="other")  # the owner: "not my payment"
    (f,) = paid(m)
    assert f.refs("parties") == ((P, "HUSBAND"),) and "(other)" in f.evidence["why"]


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  report_categories: [other]", "  report_categories: other", "payment_fraud.report_categories: expected"),
    ("  negative_max: 2", "  negative_max: 5", "malicious_review.negative_max: 5 is outside"),
    ("    similarity: 0.6 ", "    similarity: 1.6 ", "malicious_review.sabotage.similarity: 1.6 is outside"),
    ("  weights: {report: 0.9,", "  weights: {reported: 0.9,", "payment_fraud.weights: expected exactly the keys"),
    ("  min_buyers: 2 ", "  min_buyers: 2.5 ", "payment_fraud.min_buyers: expected a whole number"),
])
def test_conduct_rules_are_checked(old, new, message):
    text = vocab_text("detection.yaml")
    assert old in text
    with pytest.raises(VocabularyError, match=message):
        load_rules(text.replace(old, new, 1), "detection.yaml")


def test_a_second_detect_process_needs_a_store_it_can_open():
    from chengxin.services.detect_apart import possible

    assert possible("sqlite:////var/lib/chengxin/store.db") and possible("postgresql+psycopg://u@h/db")
    assert not possible("sqlite://") and not possible("sqlite:///:memory:")
    assert not possible("sqlite:///file:x?mode=memory&cache=shared&uri=true")
