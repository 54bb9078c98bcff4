"""The marketplace simulator: determinism, valid events-v1, resolvable references, identifiers with
correct check digits, a truth file that points at real events, planted kinds at the requested rates,
and the realism the scoring and detection work relies on."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import datetime

import orjson
import pytest
from stdnum import ean
from stdnum.cn import ric, uscc
from tests.eventcheck import ALL_TYPES, ENUMS, SHAPES, entity_kinds

from chengxin.adapters.resources import event_vocabulary
from chengxin.domain.events import Rejected, parse_line
from chengxin.exc import InvalidInput
from chengxin.simulate import make_params, simulate
from chengxin.simulate.geo import REGIONS, km
from chengxin.simulate.params import load_presets
from chengxin.simulate.truth import CLASSES, KINDS

SMALL = {"days": 40, "shops": 60, "buyers": 600, "orders_per_day": 60, "platforms": 2, "rings": 3,
         "sabotage_campaigns": 2, "extortionists": 2, "serial_negative_reviewers": 2, "fake_delivery_couriers": 2,
         "couriers": 8, "fake_traffic_shops": 2, "price_fraud_products": 3, "bad_sellers": 2,
         "counterfeit_sellers": 2, "stolen_accounts": 2}


def run(tmp_path, name="a", **overrides):
    params = make_params(None, **{**SMALL, **overrides})
    out, truth = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.truth.json"
    summary = simulate(params, out, truth)
    return params, out, orjson.loads(truth.read_bytes()), summary


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    params, out, truth, summary = run(tmp_path_factory.mktemp("sim"))
    lines = out.read_bytes().splitlines()
    return params, lines, [orjson.loads(x) for x in lines], truth, summary


def by_type(events, typ):
    return [e for e in events if e["type"] == typ]


# -- determinism and validity ------------------------------------------------------------------
def test_same_seed_and_parameters_give_the_same_bytes(tmp_path):
    digest = [hashlib.sha256(run(tmp_path, n, days=10, seed=s)[1].read_bytes()).hexdigest()
              for n, s in (("a", 5), ("b", 5), ("c", 6))]
    assert digest[0] == digest[1] != digest[2]
    truths = [(tmp_path / f"{n}.truth.json").read_bytes() for n in ("a", "b")]
    assert truths[0] == truths[1]


def test_every_line_passes_the_projects_own_validator(market):
    vocab = event_vocabulary()
    rejected = [(n, r.reason) for n, line in enumerate(market[1], 1)
                if isinstance(r := parse_line(line, vocab), Rejected)]
    assert rejected == []


def test_every_type_appears_with_its_shape_and_enumerations(market):
    events = market[2]
    assert {e["type"] for e in events} == ALL_TYPES
    for e in events:
        required, optional = (set(s.split()) for s in SHAPES[e["type"]])
        assert required <= set(e["data"]) <= required | optional, e
        for (typ, field), allowed in ENUMS.items():
            if e["type"] == typ and field in e["data"]:
                assert e["data"][field] in allowed, e


def test_times_never_go_backwards_and_identities_are_unique(market):
    events = market[2]
    times = [datetime.fromisoformat(e["time"]) for e in events]
    assert times == sorted(times)
    keys = [(e["source"], e["id"]) for e in events]
    assert len(keys) == len(set(keys))


def test_every_reference_points_to_an_entity_written_before(market):
    entity_kinds(market[2])


def test_identifiers_pass_their_check_digits(market):
    numbers = Counter()
    for e in market[2]:
        d = e["data"]
        if e["type"] == "cx.subject.registered":
            if d["kind"] in ("person", "courier"):
                assert ric.is_valid(d["id_number"]), d
                numbers[d["id_number"]] += 1
            else:
                assert uscc.is_valid(d["uscc"]), d
        if e["type"] == "cx.product.listed" and "gtin" in d:
            assert ean.is_valid(d["gtin"]), d
            numbers[d["gtin"]] += 1
    assert numbers and max(numbers.values()) == 1  # one person, one number; one product, one GTIN


def test_summary_counts_what_was_written(market):
    _, lines, events, truth, summary = market
    assert summary["events"] == len(lines) == truth["events"]
    assert summary["event_types"] == dict(Counter(e["type"] for e in events))


# -- truth ---------------------------------------------------------------------------------------
def test_every_truth_entry_refers_to_events_that_exist(market):
    _, _, events, truth, _ = market
    kinds = entity_kinds(events)
    expected = {"parties": ("subject", "shop"), "orders": ("order",), "reviews": ("review",),
                "products": ("product",)}
    assert set(truth["kinds"]) == set(KINDS)
    for kind, groups in truth["kinds"].items():
        for g in groups:
            for cls in CLASSES:
                for ref in g[cls]:
                    found = kinds.get((ref["source"], ref["id"]))
                    assert found and found.split(":")[0] in expected[cls], (kind, g["group"], cls, ref)
    shops = {(s["source"], s["id"]) for s in truth["shops"]}
    assert shops == {k for k, v in kinds.items() if v == "shop"}


def test_each_planted_kind_appears_at_the_requested_rate(market):
    p, _, _, truth, _ = market
    groups = {k: Counter(g["scheme"] for g in v) for k, v in truth["kinds"].items()}
    assert groups["fake_order_ring"] == {"ring": p.rings}
    assert groups["empty_parcel"] == {"empty_parcel": p.rings, "fake_delivery": p.fake_delivery_couriers}
    assert groups["malicious_review"] == {"sabotage": p.sabotage_campaigns, "extortion": p.extortionists,
                                          "serial_negative": p.serial_negative_reviewers}
    assert groups["template_review"] == {"template": p.rings + p.sabotage_campaigns}
    assert groups["fake_traffic"] == {"fake_traffic": p.fake_traffic_shops}
    assert groups["price_fraud"] == {"raise_then_discount": p.price_fraud_products}
    assert groups["not_as_described"] == {"not_as_described": p.bad_sellers, "counterfeit": p.counterfeit_sellers}
    assert groups["payment_fraud"] == {"stolen_account": p.stolen_accounts}
    for kind, c in truth["counts"].items():
        assert c["groups"] == len(truth["kinds"][kind])


def test_no_scheme_is_planted_when_its_count_is_zero(tmp_path):
    zero = dict.fromkeys(("rings", "sabotage_campaigns", "extortionists", "serial_negative_reviewers",
                          "fake_delivery_couriers", "fake_traffic_shops", "price_fraud_products", "bad_sellers",
                          "counterfeit_sellers", "stolen_accounts"), 0)
    _, _, truth, _ = run(tmp_path, days=5, **zero)
    assert all(c["groups"] == 0 for c in truth["counts"].values())


# -- the planted schemes look like what they are -------------------------------------------------
def index(events):
    """(type -> (source, id) -> event) for the types that create orders, shipments and reviews."""
    field = {"cx.order.placed": "order_id", "cx.shipment.created": "shipment_id", "cx.review.posted": "review_id"}
    out = defaultdict(dict)
    for e in events:
        if e["type"] in field:
            out[e["type"]][(e["source"], e["data"][field[e["type"]]])] = e
    return out


def test_rings_order_in_lockstep_with_young_accounts_and_templated_five_stars(market):
    p, _, events, truth, _ = market
    idx = index(events)
    for ring in truth["kinds"]["fake_order_ring"]:
        roles = Counter(x["role"] for x in ring["parties"])
        assert p.ring_workers[0] <= roles["worker"] <= p.ring_workers[1]
        assert roles["hijacked"] == round(roles["worker"] * p.ring_hijacked_share)
        assert p.ring_target_shops[0] <= roles["shop"] <= p.ring_target_shops[1]
        placed = [idx["cx.order.placed"][(o["source"], o["id"])] for o in ring["orders"]]
        by_day = defaultdict(list)
        for e in placed:
            by_day[e["time"][:10]].append(datetime.fromisoformat(e["time"]))
        for times in by_day.values():
            assert (max(times) - min(times)).total_seconds() <= p.ring_lockstep_minutes * 60
        shops = {x["id"] for x in ring["parties"] if x["role"] == "shop"}
        assert {e["data"]["shop_id"] for e in placed} <= shops
        reviews = [idx["cx.review.posted"][(r["source"], r["id"])] for r in ring["reviews"]]
        assert reviews and all(r["data"]["score"] == 5 for r in reviews)


def test_every_empty_parcel_carries_a_tell(market):
    _, _, events, truth, _ = market
    order_of, scans, delivered = {}, defaultdict(list), {}
    for e in events:
        d, key = e["data"], e["source"]
        if e["type"] == "cx.shipment.created":
            order_of[(key, d["shipment_id"])] = (key, d["order_id"], d)
        elif e["type"] in ("cx.shipment.scanned", "cx.shipment.delivered"):
            ref = d["shipment_id"]
            sh = (ref["source"], ref["id"]) if isinstance(ref, dict) else (key, ref)
            (scans[sh].append(e) if e["type"] == "cx.shipment.scanned" else delivered.__setitem__(sh, e))
    placed = {(e["source"], e["data"]["order_id"]): e for e in by_type(events, "cx.order.placed")}
    trackings = Counter(d["tracking_no"] for _, _, d in order_of.values())
    shipments = {(s, o): (sh, d) for sh, (s, o, d) in order_of.items()}
    for group in truth["kinds"]["empty_parcel"]:
        for o in group["orders"]:
            sh, d = shipments[(o["source"], o["id"])]
            steps = scans[sh]
            done = delivered[sh]
            fast = (datetime.fromisoformat(done["time"]) - datetime.fromisoformat(steps[0]["time"])).total_seconds()
            ship_to = placed[(o["source"], o["id"])]["data"]["ship_to_region"]
            tells = {"light": d["weight_g"] <= 50, "no_transit": len(steps) == 1 and fast < 12 * 3600,
                     "far": done["data"]["region"] != ship_to, "reused": trackings[d["tracking_no"]] > 1}
            assert any(tells.values()), (group["group"], o, tells)


def test_honest_transit_follows_distance(market):
    _, _, events, _, _ = market
    region = {r.code: r for r in REGIONS}
    shop_region, buyer_to = {}, {}
    subject_region = {(e["source"], e["data"]["subject_id"]): e["data"]["region"]
                      for e in by_type(events, "cx.subject.registered")}
    for e in by_type(events, "cx.shop.opened"):
        shop_region[(e["source"], e["data"]["shop_id"])] = subject_region[(e["source"], e["data"]["operator_id"])]
    for e in by_type(events, "cx.order.placed"):
        buyer_to[(e["source"], e["data"]["order_id"])] = (shop_region[(e["source"], e["data"]["shop_id"])],
                                                          e["data"]["ship_to_region"])
    created = {(e["source"], e["data"]["shipment_id"]): (e["source"], e["data"]["order_id"], e["time"])
               for e in by_type(events, "cx.shipment.created")}
    near, far = [], []
    for e in by_type(events, "cx.shipment.delivered"):
        ref = e["data"]["shipment_id"]
        sh = (ref["source"], ref["id"]) if isinstance(ref, dict) else (e["source"], ref)
        src, oid, t0 = created[sh]
        a, b = buyer_to[(src, oid)]
        hours = (datetime.fromisoformat(e["time"]) - datetime.fromisoformat(t0)).total_seconds() / 3600
        (near if km(region[a], region[b]) < 300 else far if km(region[a], region[b]) > 1500 else []).append(hours)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    assert median(far) > median(near) + 24


# -- realism ---------------------------------------------------------------------------------------
def test_ratings_skew_positive_and_shops_are_heavy_tailed(market):
    events = market[2]
    scores = Counter(e["data"]["score"] for e in by_type(events, "cx.review.posted")
                     if e["data"]["direction"] == "buyer_to_seller")
    assert scores[5] / sum(scores.values()) > 0.6 and scores[5] > scores[4] > scores[2]
    per_shop = sorted(Counter((e["source"], e["data"]["shop_id"]) for e in by_type(events, "cx.order.placed"))
                      .values(), reverse=True)
    top = per_shop[: max(1, len(per_shop) // 10)]
    assert sum(top) / sum(per_shop) > 0.3  # the top tenth of shops take well over a tenth of orders


def test_hidden_quality_drives_returns(market):
    _, _, events, truth, _ = market
    quality = {(s["source"], s["id"]): s["quality"] for s in truth["shops"]}
    shop_of = {(e["source"], e["data"]["order_id"]): (e["source"], e["data"]["shop_id"])
               for e in by_type(events, "cx.order.placed")}
    orders, returns = Counter(), Counter()
    for shop in shop_of.values():
        orders[quality[shop] < 0.8] += 1
    for e in by_type(events, "cx.return.requested"):
        returns[quality[shop_of[(e["source"], e["data"]["order_id"])]] < 0.8] += 1
    assert returns[True] / orders[True] > 2 * returns[False] / orders[False]


def test_daily_rhythm_and_the_11_11_peak(tmp_path):
    _, out, _, _ = run(tmp_path, start="2026-11-01", days=20, orders_per_day=100, rings=0)
    placed = [orjson.loads(x) for x in out.read_bytes().splitlines() if b'"cx.order.placed"' in x]
    per_day = Counter(e["time"][:10] for e in placed)
    ordinary = sorted(per_day[d] for d in per_day if d >= "2026-11-13")
    assert per_day["2026-11-11"] > 3 * ordinary[len(ordinary) // 2]
    hours = Counter(int(e["time"][11:13]) for e in placed)
    assert hours[21] > 5 * hours[4]


# -- parameters ---------------------------------------------------------------------------------
def test_presets_load_and_bad_parameters_are_refused():
    presets = load_presets()
    assert {"demo", "bench-1m", "bench-10m"} <= set(presets)
    assert make_params("bench-1m").shops == presets["bench-1m"]["shops"]
    assert make_params("demo", days=3).days == 3
    for bad, message in (({"nope": 1}, "unknown simulator parameter 'nope'"),
                         ({"ring_workers": "9,3"}, "ring_workers"), ({"days": -1}, "days"),
                         ({"ring_shared_share": 1.5}, "ring_shared_share"), ({"ring_camouflage": "x"}, "camouflage"),
                         ({"start": "2026-13-01"}, "start"), ({"platform_prefix": "MM"}, "platform_prefix")):
        with pytest.raises(InvalidInput, match=message):
            make_params(None, **bad)
    with pytest.raises(InvalidInput, match="unknown preset"):
        make_params("huge")


def test_no_day_reports_more_visitors_than_visits(market):
    """A day of no visits reported one visitor (the floor of 1 came before the cap): a report contradicting
    itself, which the project's own checks would flag."""
    reports = [e["data"] for e in by_type(market[2], "cx.traffic.reported")]
    assert reports and any(d["visits"] == 0 for d in reports)  # the case occurs in this market
    assert all(d["unique_visitors"] <= d["visits"] for d in reports)
