"""The empty-parcel screen over arrays, then the picked orders judged as objects, must find exactly what reading
every waybill as an object finds: order findings with their evidence, roll-ups with their counts, and the
typical weights the live reader is given."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain.detection import load_rules
from chengxin.domain.detection.empty_parcel import Scan, Screened, Waybill, Waybills, detect, learn_typical
from chengxin.domain.detection.parcel_columns import Builder, screen

P, L = "urn:cx:platform:P1", "urn:cx:logistics:L1"
RULES = load_rules(vocab_text("detection.yaml"), "vocab/detection.yaml").empty_parcel
H = 3600.0
NEAR, FAR, OTHER = "330106", "650102", "310104"  # Hangzhou, Urumqi, Shanghai
UNIT = {"G1": 600, "G2": 250, "G3": 1200, "G4": 90, "G5": 400, "G6": 700}
CATEGORY = {"G1": "food", "G2": "food", "G3": "farm_input", "G4": "food", "G5": "drug"}  # G6 has none


def trail(rng: random.Random, start: float, ship_to: str) -> tuple[Scan, ...]:
    kind = rng.choice(["honest"] * 5 + ["no_transit", "too_fast", "far", "origin", "undelivered", "jumble"])
    if kind == "no_transit":
        steps = [("picked_up", 0, NEAR), ("delivered", rng.choice([2, 20]), ship_to)]
    elif kind == "too_fast":
        steps = [("picked_up", 0, NEAR), ("in_transit", 0.5, NEAR), ("delivered", 1, ship_to)]
    elif kind == "far":
        steps = [("picked_up", 0, NEAR), ("in_transit", 20, NEAR), ("delivered", 60, FAR if ship_to != FAR else NEAR)]
    elif kind == "origin":
        steps = [("picked_up", 0, NEAR), ("arrived", 30, NEAR), ("delivered", 60, NEAR)]
    elif kind == "undelivered":
        steps = [("picked_up", 0, NEAR), ("in_transit", 5, NEAR)]
    elif kind == "jumble":
        steps = [(rng.choice(["picked_up", "in_transit", "delivered", "exception"]), rng.randint(0, 80),
                  rng.choice([NEAR, FAR, OTHER])) for _ in range(rng.randint(0, 5))]
    else:
        steps = [("picked_up", 0, NEAR), ("in_transit", 10, NEAR), ("arrived", 40, ship_to),
                 ("out_for_delivery", 50, ship_to), ("delivered", 55, ship_to)]
    return tuple(Scan(start + h * H, s, r) for s, h, r in sorted(steps, key=lambda x: x[1]))


def market(seed: int, orders: int = 160) -> list[Waybill]:
    rng = random.Random(seed)
    out: list[Waybill] = []
    numbers: list[str] = []
    for n in range(orders):
        shop = f"S{rng.randint(1, 4)}"
        bad_courier = rng.random() < 0.2
        items = tuple(((P, g), rng.choice([1, 1, 1, 2, 0] if len(UNIT) else [1]))
                      for g in rng.sample(sorted(UNIT), rng.choice([1, 1, 1, 1, 2])))
        ship_to = rng.choice([NEAR, FAR, OTHER, "999999"])
        for k in range(rng.choice([1, 1, 1, 1, 2])):
            heavy = max(UNIT[p[1]] * max(q, 1) for p, q in items)
            weight = rng.choice([None, int(heavy * rng.uniform(0.9, 1.2)), int(heavy * rng.uniform(0.9, 1.2)),
                                 int(heavy * 0.1) if shop == "S4" else int(heavy)])
            tracking = rng.choice(numbers) if numbers and rng.random() < 0.06 else f"T{seed}-{n}-{k}"
            numbers.append(tracking)
            courier = (L, f"C{rng.randint(1, 3) if not bad_courier else 9}") if rng.random() < 0.8 else None
            carrier = (L, rng.choice(["LG1", "LG2"])) if rng.random() < 0.9 else None
            scans = trail(rng, n * 1000.0, ship_to)
            if bad_courier and scans:
                scans = (Scan(scans[0].at, "picked_up", NEAR), Scan(scans[0].at + H, "delivered", ship_to))
            out.append(Waybill((P, f"O{n:04d}"), (P, shop), items, ship_to, (P, f"SH{n:04d}-{rng.randint(0, 9)}{k}"),
                               carrier, courier, tracking, weight, scans))
    rng.shuffle(out)
    return out


def screened(waybills: list[Waybill], categories: dict) -> tuple[Screened, int]:
    """What the service does: rows of each order together in shipment order, the tracking numbers on several
    orders known; screen; then only the flagged orders' waybills, with the orders under their numbers."""
    by_tracking: dict[str, set] = defaultdict(set)
    for w in waybills:
        by_tracking[w.tracking_no].add(w.order)
    b, names = Builder(RULES), []
    for w in sorted(waybills, key=lambda w: (w.order, w.shipment)):
        if not names or names[-1] != w.order:
            names.append(w.order)
        b.add(len(names) - 1, w.shop, w.carrier, w.courier, w.items, w.ship_to, w.weight_g, w.scans,
              len(by_tracking[w.tracking_no]) > 1)
    s = screen(b, categories, RULES)
    picked = {names[i] for i in s.flagged}
    mine = [w for w in waybills if w.order in picked]
    others = {w.tracking_no: sorted(by_tracking[w.tracking_no]) for w in mine}
    return Screened(mine, s.typical, others, s.totals), len(picked)


def as_data(found) -> list:
    return [(f.kind, f.score, dict(f.subjects), f.evidence) for f in found]


@pytest.mark.parametrize("seed", range(40))
def test_the_screen_then_judging_finds_what_reading_every_waybill_finds(seed):
    waybills = market(seed)
    categories = {(P, g): c for g, c in CATEGORY.items()}
    everything = detect(Waybills(waybills, categories), RULES)
    data, picked = screened(waybills, categories)
    assert as_data(detect(data, RULES)) == as_data(everything)
    assert picked < len({w.order for w in waybills})  # it did screen some out
    assert learn_typical(data, RULES).as_state() == learn_typical(Waybills(waybills, categories), RULES).as_state()


def test_the_markets_have_every_kind_of_finding():
    """The comparison above means something only if the markets raise order findings and roll-ups."""
    levels: dict[str, int] = defaultdict(int)
    tells: set[str] = set()
    for seed in range(40):
        for f in detect(Waybills(market(seed), {(P, g): c for g, c in CATEGORY.items()}), RULES):
            levels[f.evidence["level"]] += 1
            tells |= set(f.evidence["tells"])
    assert {"order", "shop", "courier"} <= set(levels)
    assert tells == {"light", "no_transit", "too_fast", "signed_far", "delivered_at_origin", "shared_tracking"}


def test_an_empty_store_screens_to_nothing():
    s = screen(Builder(RULES), {}, RULES)
    assert len(s.flagged) == 0 and s.totals == {"shop": {}, "courier": {}, "carrier": {}}
    assert detect(Screened([], s.typical, {}, s.totals), RULES) == []
