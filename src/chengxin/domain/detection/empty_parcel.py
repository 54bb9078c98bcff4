"""Empty parcels (空包裹代发) and fake deliveries: waybills without plausible movement.

Pure: the service hands over every shipped order's waybill (`Waybill`: the order's shop, goods and ship-to
region; the shipment's carrier, courier, tracking number, declared weight and scans in time order) and the
products' categories. Each waybill is read for *tells* (see `TELLS`), each with the figures behind it:

- `light`: the declared weight is below `ratio` x the typical weight of the heaviest item. A product's
  typical unit weight comes from the data: a quantile of weight / quantity over its *clean* single-product
  waybills (those without another tell, so a ring's empty parcels do not teach the detector that its goods
  weigh 30 g); with too few, a low quantile of its category's clean unit weights.
- `no_transit`: delivered with no transit scan at all (only pick-up, then the signature) within hours.
- `too_fast`: pick-up to delivery well under the typical transit time between the pick-up and ship-to
  regions (reference geography: `chengxin.simulate.geo`, county or else province coordinates).
- `signed_far`: signed for far from the ship-to region.
- `delivered_at_origin`: signed for in the pick-up region, not the ship-to region.
- `shared_tracking`: the tracking number is on several orders.

An order's score is 1 - prod(1 - weight) over its tells (the best-scoring of its waybills); from
`flag_score` the order is a finding of kind `empty_parcel` naming it, with the tells as evidence. Flagged
orders then roll up: per courier and per carrier (the courier-side tells: a courier marking parcels delivered
without moving them), and per shop (flagged orders not explained by a flagged courier or carrier), each a
finding naming the party, its flagged orders, and the counts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chengxin.domain.detection.checks import RuleError
from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding
from chengxin.simulate.geo import REGIONS, TRANSIT_H, km

KIND = "empty_parcel"
TELLS = ("light", "no_transit", "too_fast", "signed_far", "delivered_at_origin", "shared_tracking")
COURIER_TELLS = frozenset({"no_transit", "too_fast", "signed_far", "delivered_at_origin"})  # how it moved
SHOP_TELLS = frozenset({"light", "shared_tracking"})  # what was handed over
MOVES = frozenset({"in_transit", "arrived", "out_for_delivery", "exception"})
LEVELS = ("shop", "courier", "carrier")


# --- input ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Scan:
    at: float  # seconds since the epoch
    status: str  # picked_up, in_transit, arrived, out_for_delivery, exception, delivered
    region: str


# Scans at the same second are put in the order a parcel moves; an unknown status after the known ones.
STATUS_RANK = {"picked_up": 0, "in_transit": 1, "arrived": 2, "exception": 3, "out_for_delivery": 4,
               "delivered": 5}
UNKNOWN_RANK = 9

ScanRow = tuple[float, int, str, str]  # (at, rank, status, region): sorts as the scans happened


class Trail:
    """A shipment's scans as they stream in, in any order, keeping only what the detector reads of them: the
    first pick-up, the last delivery, the first move, and every scan for as long as no move is seen (a parcel
    that never moved lists its scans as `no_transit`'s evidence). A store's millions of scans fit this way;
    `scans()` gives the same reading as all of them would (tests/unit/test_empty_parcel_trail.py checks it)."""

    __slots__ = ("delivery", "move", "pickup", "rest")

    def __init__(self) -> None:
        self.pickup: ScanRow | None = None
        self.move: ScanRow | None = None
        self.delivery: ScanRow | None = None
        self.rest: list[ScanRow] | None = []  # None once a move is seen

    def add(self, at: float, status: str, region: str) -> None:
        row = (at, STATUS_RANK.get(status, UNKNOWN_RANK), status, region)
        if status == "picked_up":
            if self.pickup is None or row < self.pickup:
                self.pickup = row
        elif status == "delivered":
            if self.delivery is None or row > self.delivery:
                self.delivery = row
        elif status in MOVES:
            if self.move is None or row < self.move:
                self.move = row
            self.rest = None
            return
        if self.rest is not None:
            self.rest.append(row)

    def scans(self) -> tuple[Scan, ...]:
        rows = sorted(self.rest) if self.rest is not None else \
            sorted(r for r in (self.pickup, self.move, self.delivery) if r is not None)
        return tuple(Scan(at, status, region) for at, _, status, region in rows)


@dataclass(frozen=True, slots=True)
class Waybill:
    order: Ref
    shop: Ref
    items: tuple[tuple[Ref, int], ...]  # (product, quantity)
    ship_to: str
    shipment: Ref
    carrier: Ref | None
    courier: Ref | None
    tracking_no: str
    weight_g: int | None
    scans: tuple[Scan, ...] = ()  # in time order: all of them, or those a `Trail` keeps


@dataclass(frozen=True, slots=True)
class Waybills:
    """What the detector reads: every shipped order's waybills and the categories of their products."""

    waybills: Sequence[Waybill]
    categories: Mapping[Ref, str]


# --- rules ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rollup:
    min_flagged: int
    min_share: float
    full_share: float


@dataclass(frozen=True, slots=True)
class Rules:
    flag_score: float
    weights: Mapping[str, float]
    light_ratio: float
    light_quantile: float
    light_min_samples: int
    light_category_quantile: float
    no_transit_max_hours: float
    too_fast_share: float
    signed_far_km: float
    rollup: Mapping[str, Rollup]


def parse_rules(doc: Any, where: str = "empty_parcel") -> Rules:
    """Check the `empty_parcel` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("flag_score", "weights", "light", "no_transit_max_hours", "too_fast_share",
                           "signed_far_km", "rollup"))
    weights = _keys(d["weights"], f"{where}.weights", TELLS)
    light = _keys(d["light"], f"{where}.light", ("ratio", "quantile", "min_samples", "category_quantile"))
    rollups = _keys(d["rollup"], f"{where}.rollup", LEVELS)
    return Rules(
        flag_score=_number(d["flag_score"], f"{where}.flag_score", 0, 1),
        weights={t: _number(weights[t], f"{where}.weights.{t}", 0, 1) for t in TELLS},
        light_ratio=_number(light["ratio"], f"{where}.light.ratio", 0, 1),
        light_quantile=_number(light["quantile"], f"{where}.light.quantile", 0, 1),
        light_min_samples=int(_number(light["min_samples"], f"{where}.light.min_samples", 1, 10**6, integer=True)),
        light_category_quantile=_number(light["category_quantile"], f"{where}.light.category_quantile", 0, 1),
        no_transit_max_hours=_number(d["no_transit_max_hours"], f"{where}.no_transit_max_hours", 0, 24 * 30),
        too_fast_share=_number(d["too_fast_share"], f"{where}.too_fast_share", 0, 1),
        signed_far_km=_number(d["signed_far_km"], f"{where}.signed_far_km", 0, 20_000),
        rollup={level: _rollup(rollups[level], f"{where}.rollup.{level}") for level in LEVELS},
    )


def _rollup(doc: Any, where: str) -> Rollup:
    r = _keys(doc, where, ("min_flagged", "min_share", "full_share"))
    full = _number(r["full_share"], f"{where}.full_share", 0, 1)
    if full == 0:
        raise RuleError(f"{where}.full_share: must be above 0")
    return Rollup(int(_number(r["min_flagged"], f"{where}.min_flagged", 1, 10**9, integer=True)),
                  _number(r["min_share"], f"{where}.min_share", 0, 1), full)


# --- geography ------------------------------------------------------------------------------------------------
_COUNTY = {r.code: i for i, r in enumerate(REGIONS)}
_PROVINCE: dict[str, int] = {}
for _i, _r in enumerate(REGIONS):
    _PROVINCE.setdefault(_r.code[:2], _i)


def region_index(code: str) -> int | None:
    """The reference region of a 6-digit division code: the county itself, else the first known county of its
    province (a province-level code such as 310000 included); None outside the reference geography."""
    i = _COUNTY.get(code)
    return i if i is not None else _PROVINCE.get(code[:2])


# --- detection ----------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Read:
    """One waybill's tells (name -> figures) and score."""

    waybill: Waybill
    tells: dict[str, dict[str, Any]]
    delivered: bool
    score: float = 0.0


Totals = Mapping[str, Mapping[Ref, int]]  # per roll-up level: each party's parcels (the roll-ups' denominators)


@dataclass(frozen=True, slots=True)
class Screened:
    """The waybills of the orders a screen of the whole store picked (`parcel_columns.screen`) with what judging
    them needs from the rest: the typical weights, every order under each of their tracking numbers, and each
    party's parcels. The detector reads this as it reads `Waybills`, with the same findings."""

    waybills: Sequence[Waybill]
    typical: Typical
    others: Mapping[str, Sequence[Ref]]
    totals: Totals


def detect(data: Waybills | Screened, rules: Rules) -> list[Finding]:
    """Per-order findings (score, tells), then the shop, courier and carrier roll-ups."""
    if isinstance(data, Screened):
        return judge(data.waybills, data.typical, data.others, rules, totals=data.totals)
    reads, typical = _read_all(data, rules)
    return _judged(reads, typical, rules, totals=None)


def _read_all(data: Waybills, rules: Rules) -> tuple[list[_Read], Typical]:
    """Every waybill's tells but `light`, and the typical weights learnt from those without one."""
    reads = [_read(w, rules) for w in data.waybills]
    _shared_tracking(reads, _orders_by_tracking(data.waybills))
    return reads, Typical.learn((r for r in reads if not r.tells), data.categories, rules)


def judge(waybills: Sequence[Waybill], typical: Typical | None, others: Mapping[str, Iterable[Ref]], rules: Rules,
          *, totals: Totals | None = None, delivered_only: bool = False, rollups: bool = True) -> list[Finding]:
    """Findings for these waybills read with known typical weights (`light` is skipped without them) and
    `others`: the orders under each tracking number (for `shared_tracking`). The roll-ups count each party's
    parcels in `totals` (else in these waybills)."""
    reads = [_read(w, rules) for w in waybills]
    _shared_tracking(reads, others)
    return _judged(reads, typical, rules, totals=totals, delivered_only=delivered_only, rollups=rollups)


def _judged(reads: list[_Read], typical: Typical | None, rules: Rules, *, totals: Totals | None,
            delivered_only: bool = False, rollups: bool = True) -> list[Finding]:
    for r in reads:
        if typical is not None:
            _light(r, typical, rules)
        r.score = _score(r.tells, rules.weights)
    best = _best(reads)
    flagged = sorted((r for r in best if r.score >= rules.flag_score and (r.delivered or not delivered_only)),
                     key=lambda r: (-r.score, r.waybill.order))
    if not rollups:
        return [_order_finding(r) for r in flagged]
    ups, explained = _rollups(flagged, population(best) if totals is None else totals, rules)
    return [_order_finding(r, explained.get(r.waybill.order)) for r in flagged] + ups


def _best(reads: Iterable[_Read]) -> list[_Read]:
    """An order with several waybills counts by its most suspicious one: the highest score, delivered before
    not, then the lowest shipment reference (so that the choice does not depend on the order of reading)."""
    best: dict[Ref, _Read] = {}
    for r in reads:
        old = best.get(r.waybill.order)
        if old is None or _better(r, old):
            best[r.waybill.order] = r
    return list(best.values())


def _better(r: _Read, old: _Read) -> bool:
    if (r.score, r.delivered) != (old.score, old.delivered):
        return (r.score, r.delivered) > (old.score, old.delivered)
    return r.waybill.shipment < old.waybill.shipment


def learn_typical(data: Waybills | Screened, rules: Rules) -> Typical:
    """The typical unit weights the full run learns (from the waybills without another tell), for the live
    reader to use until the next full run."""
    return data.typical if isinstance(data, Screened) else _read_all(data, rules)[1]


def read_live(waybills: Sequence[Waybill], typical: Typical | None, others: Mapping[str, Sequence[Ref]],
              rules: Rules) -> list[Finding]:
    """Order findings for newly delivered waybills, as the full run would read them: the same tells, the
    typical weights of the last full run (`light` is skipped without one), and `others`: the orders already
    stored under each tracking number (for `shared_tracking`). No roll-ups: those need the whole population
    and come with the next full run."""
    return judge(waybills, typical, others, rules, delivered_only=True, rollups=False)


def scan_tells(scans: Sequence[Scan], ship_to: str, rules: Rules) -> tuple[dict[str, dict[str, Any]], bool]:
    """The tells a waybill's scans show (signed_far, no_transit, too_fast, delivered_at_origin, with their
    figures), and whether it was delivered."""
    tells: dict[str, dict[str, Any]] = {}
    delivery = next((s for s in reversed(scans) if s.status == "delivered"), None)
    if delivery is None:
        return tells, False
    dest, signed = region_index(ship_to), region_index(delivery.region)
    if dest is not None and signed is not None and delivery.region != ship_to:
        distance = km(REGIONS[signed], REGIONS[dest])
        if distance > rules.signed_far_km:
            tells["signed_far"] = {"km": round(distance), "signed_region": delivery.region,
                                   "ship_to_region": ship_to}
    pickup = next((s for s in scans if s.status == "picked_up"), None)
    if pickup is None:
        return tells, True
    hours = (delivery.at - pickup.at) / 3600
    if hours <= rules.no_transit_max_hours and not any(s.status in MOVES for s in scans):
        tells["no_transit"] = {"hours": round(hours, 1), "scans": [s.status for s in scans]}
    origin = region_index(pickup.region)
    if origin is not None and dest is not None:
        typical = TRANSIT_H[origin][dest]
        if hours < rules.too_fast_share * typical:
            tells["too_fast"] = {"hours": round(hours, 1), "typical_hours": round(typical, 1),
                                 "km": round(km(REGIONS[origin], REGIONS[dest])),
                                 "from_region": pickup.region, "ship_to_region": ship_to}
    if delivery.region == pickup.region and delivery.region != ship_to:
        tells["delivered_at_origin"] = {"region": delivery.region, "ship_to_region": ship_to}
    return tells, True


def _read(w: Waybill, rules: Rules) -> _Read:
    return _Read(w, *scan_tells(w.scans, w.ship_to, rules))


def _orders_by_tracking(waybills: Iterable[Waybill]) -> dict[str, set[Ref]]:
    orders: dict[str, set[Ref]] = defaultdict(set)
    for w in waybills:
        orders[w.tracking_no].add(w.order)
    return orders


def _shared_tracking(reads: Sequence[_Read], others: Mapping[str, Iterable[Ref]], shown: int = 10) -> None:
    for r in reads:
        on = {r.waybill.order, *others.get(r.waybill.tracking_no, ())}
        if len(on) > 1:
            rest = sorted(on - {r.waybill.order})
            r.tells["shared_tracking"] = {"tracking_no": r.waybill.tracking_no, "orders": len(on),
                                          "others": [_ref(o) for o in rest[:shown]]}


class Typical:
    """Typical unit weights learnt from clean waybills: per product, and per category as a fallback."""

    def __init__(self, product: dict[Ref, tuple[float, int]], category: dict[str, tuple[float, int]],
                 categories: Mapping[Ref, str]) -> None:
        self.product, self.category, self.categories = product, category, categories

    @classmethod
    def learn(cls, clean: Iterable[_Read], categories: Mapping[Ref, str], rules: Rules) -> Typical:
        per_product: dict[Ref, list[float]] = defaultdict(list)
        for r in clean:
            w = r.waybill
            if w.weight_g is not None and len(w.items) == 1 and w.items[0][1] > 0:
                product, quantity = w.items[0]
                per_product[product].append(w.weight_g / quantity)
        per_category: dict[str, list[float]] = defaultdict(list)
        for product, units in per_product.items():
            if (cat := categories.get(product)) is not None:
                per_category[cat].extend(units)
        # Few samples: the heaviest (a light one among them must not set the standard); many: the quantile.
        return cls({p: (quantile(u, rules.light_quantile) if len(u) >= rules.light_min_samples else max(u), len(u))
                    for p, u in per_product.items()},
                   {c: (quantile(u, rules.light_category_quantile), len(u)) for c, u in per_category.items()
                    if len(u) >= rules.light_min_samples},
                   categories)

    def as_state(self) -> dict[str, Any]:
        """JSON-ready: what a later live read needs (the categories come from the store then)."""
        return {"product": [[p[0], p[1], w, n] for p, (w, n) in sorted(self.product.items())],
                "category": {c: [w, n] for c, (w, n) in sorted(self.category.items())}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], categories: Mapping[Ref, str]) -> Typical:
        return cls({(str(s), str(i)): (float(w), int(n)) for s, i, w, n in state["product"]},
                   {str(c): (float(w), int(n)) for c, (w, n) in state["category"].items()}, categories)

    def of(self, product: Ref) -> tuple[float, str, int] | None:
        """(typical unit weight in grams, basis `product` or `category`, samples), or None if unknown."""
        if (p := self.product.get(product)) is not None:
            return p[0], "product", p[1]
        cat = self.categories.get(product)
        if cat is not None and (c := self.category.get(cat)) is not None:
            return c[0], "category", c[1]
        return None


def _light(r: _Read, typical: Typical, rules: Rules) -> None:
    w = r.waybill
    if w.weight_g is None:
        return
    known = [(t, product) for product, _ in w.items if (t := typical.of(product)) is not None]
    if not known:
        return
    (expected, basis, samples), product = max(known, key=lambda x: x[0][0])
    if expected > 0 and w.weight_g < rules.light_ratio * expected:
        r.tells["light"] = {"weight_g": w.weight_g, "expected_g": round(expected), "ratio":
                            round(w.weight_g / expected, 3), "basis": basis, "samples": samples,
                            "product": _ref(product)}


def _score(tells: Mapping[str, Any], weights: Mapping[str, float]) -> float:
    miss = 1.0
    for name in tells:
        miss *= 1 - weights[name]
    return round(1 - miss, 4)


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


# --- findings -------------------------------------------------------------------------------------------------
def _ref(r: Ref | None) -> dict[str, str] | None:
    return None if r is None else {"source": r[0], "id": r[1]}


def _order_finding(r: _Read, explained_by: tuple[str, Ref] | None = None) -> Finding:
    """One flagged order: about its shop (no party named: the review queue files it against the order's shop),
    or, when a courier's or carrier's roll-up explains it and no tell is the shop's, about that courier or
    carrier (level `order_delivery`: the trade was real; the shop was not to blame, found by review)."""
    w = r.waybill
    evidence = {"level": "order", "shipment": _ref(w.shipment), "tracking_no": w.tracking_no, "shop": _ref(w.shop),
                "carrier": _ref(w.carrier), "courier": _ref(w.courier),
                "tells": {name: r.tells[name] for name in TELLS if name in r.tells}}
    if explained_by is None:
        return _finding(r.score, evidence, orders=(w.order,))
    level, party = explained_by
    return _finding(r.score, {**evidence, "level": "order_delivery", "explained_by": level},
                    orders=(w.order,), parties=(party,))


def _finding(score: float, evidence: dict[str, Any], *, orders: tuple[Ref, ...], parties: tuple[Ref, ...] = ()
             ) -> Finding:
    return Finding(KIND, score, {"parties": parties, "orders": orders, "reviews": (), "products": ()}, evidence)


def population(best: Iterable[_Read]) -> dict[str, dict[Ref, int]]:
    """Each party's parcels, counted over every order's best waybill: a shop's orders; a courier's and a
    carrier's delivered ones."""
    out: dict[str, dict[Ref, int]] = {level: defaultdict(int) for level in LEVELS}
    for r in best:
        w = r.waybill
        out["shop"][w.shop] += 1
        if r.delivered and w.courier is not None:
            out["courier"][w.courier] += 1
        if r.delivered and w.carrier is not None:
            out["carrier"][w.carrier] += 1
    return out


def _rollups(flagged: Sequence[_Read], totals: Totals, rules: Rules
             ) -> tuple[list[Finding], dict[Ref, tuple[str, Ref]]]:
    """The courier, carrier and shop roll-ups, and the flagged orders a courier's or carrier's roll-up explains
    (with no tell of the shop's), each with the level and party that explains it."""
    moved = [r for r in flagged if COURIER_TELLS & r.tells.keys()]
    out: list[Finding] = []
    # Couriers, then carriers for what no flagged courier explains: parcels marked delivered without moving.
    couriers = _parties("courier", totals["courier"], moved, lambda r: r.waybill.courier, rules.rollup["courier"])
    out += couriers.values()
    rest = [r for r in moved if r.waybill.courier not in couriers]
    carriers = _parties("carrier", totals["carrier"], rest, lambda r: r.waybill.carrier, rules.rollup["carrier"])
    out += carriers.values()

    explained: dict[Ref, tuple[str, Ref]] = {}  # the carrier's doing, not the shop's
    for r in flagged:
        w = r.waybill
        if SHOP_TELLS & r.tells.keys():
            continue
        if w.courier is not None and w.courier in couriers:
            explained[w.order] = ("courier", w.courier)
        elif w.carrier is not None and w.carrier in carriers:
            explained[w.order] = ("carrier", w.carrier)
    out += _parties("shop", totals["shop"], [r for r in flagged if r.waybill.order not in explained],
                    lambda r: r.waybill.shop, rules.rollup["shop"]).values()
    return out, explained


def _parties(level: str, total: Mapping[Ref, int], flagged: Sequence[_Read], key: Any,
             rule: Rollup) -> dict[Ref, Finding]:
    """Findings for the parties (`key` of a read) whose flagged reads pass the roll-up rule; `total`: each
    party's parcels."""
    hits: dict[Ref, list[_Read]] = defaultdict(list)
    for r in flagged:
        if (k := key(r)) is not None:
            hits[k].append(r)
    out: dict[Ref, Finding] = {}
    for party in sorted(hits):
        found, parcels = hits[party], max(total.get(party, 0), len(hits[party]))
        share = len(found) / parcels
        if len(found) < rule.min_flagged or share < rule.min_share:
            continue
        tells: dict[str, int] = defaultdict(int)
        for r in found:
            for name in r.tells:
                tells[name] += 1
        evidence = {"level": level, "parcels": parcels, "flagged": len(found), "share": round(share, 4),
                    "tells": {t: tells[t] for t in TELLS if t in tells},
                    "rule": {"min_flagged": rule.min_flagged, "min_share": rule.min_share}}
        orders = tuple(sorted(r.waybill.order for r in found))
        out[party] = _finding(round(min(1.0, share / rule.full_share), 4), evidence, orders=orders, parties=(party,))
    return out
