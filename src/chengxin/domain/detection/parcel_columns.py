"""Empty parcels over a whole store as arrays: the screen that picks the orders worth reading as objects.

A store of ten million orders cannot hold a Python object per waybill and scan (about a kilobyte each). The
service streams the waybills through a `Builder`, which keeps a row of small numbers per waybill (its order's
number, shop, carrier, courier, products, unit weight, the tells its scans show, whether it was delivered),
and `screen` does with arrays what `empty_parcel.detect` does to every waybill: learns the typical weights,
adds `light`, scores, picks each order's best waybill, counts each party's parcels and picks the orders
whose best waybill is flagged. Only those orders' waybills are then read as objects and judged by
`empty_parcel.judge` with the typical weights and counts from here, which gives the findings reading every
waybill as an object gives (tests/unit/test_parcel_columns.py holds the two to it).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from chengxin.domain.detection.empty_parcel import LEVELS, Rules, Scan, Totals, Typical, _score, scan_tells
from chengxin.domain.events import Ref

# The order in which the detector adds its tells: a score multiplies their weights in this order.
ORDER = ("signed_far", "no_transit", "too_fast", "delivered_at_origin", "shared_tracking", "light")
BIT = {name: 1 << i for i, name in enumerate(ORDER)}
NONE = -1  # no party, no product
EXACT = 2**53  # floats hold every whole number below this; heavier declared weights are compared as ints


class Builder:
    """The waybills as rows of numbers. Add them with the rows of one order together, in shipment order (an
    order's tied waybills count by the first)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.order, self.shop, self.carrier, self.courier = array("q"), array("i"), array("i"), array("i")
        self.weight, self.unit = array("d"), array("d")  # declared grams; grams per unit of a lone product
        self.tells, self.delivered = array("B"), array("B")
        self.item_end, self.item_product = array("q"), array("i")  # each row's products: item_product[..end)
        self.parties: dict[Ref, int] = {}
        self.products: dict[Ref, int] = {}
        self.huge: dict[int, int] = {}  # row -> a declared weight of EXACT grams or more, as given

    def add(self, order: int, shop: Ref, carrier: Ref | None, courier: Ref | None,
            items: Sequence[tuple[Ref, int]], ship_to: str, weight_g: int | None, scans: Sequence[Scan],
            shared_tracking: bool) -> None:
        tells, delivered = scan_tells(scans, ship_to, self.rules)
        mask = sum(BIT[name] for name in tells) | (BIT["shared_tracking"] if shared_tracking else 0)
        self.order.append(order)
        self.shop.append(self._party(shop))
        self.carrier.append(self._party(carrier))
        self.courier.append(self._party(courier))
        if weight_g is not None and weight_g >= EXACT:
            self.huge[len(self.order) - 1] = weight_g
        self.weight.append(np.nan if weight_g is None else weight_g)
        lone = weight_g is not None and len(items) == 1 and items[0][1] > 0
        self.unit.append(weight_g / items[0][1] if lone and weight_g is not None else np.nan)
        self.tells.append(mask)
        self.delivered.append(delivered)
        for product, _ in items:
            self.item_product.append(self.products.setdefault(product, len(self.products)))
        self.item_end.append(len(self.item_product))

    def _party(self, ref: Ref | None) -> int:
        return NONE if ref is None else self.parties.setdefault(ref, len(self.parties))

    def __len__(self) -> int:
        return len(self.order)


@dataclass(frozen=True, slots=True)
class Screen:
    """What the screen found: the typical weights, the numbers of the orders whose best waybill is flagged,
    and each party's parcels per roll-up level."""

    typical: Typical
    flagged: npt.NDArray[np.int64]
    totals: Totals


def screen(b: Builder, categories: Mapping[Ref, str], rules: Rules) -> Screen:
    """Score every waybill as `empty_parcel.detect` would and pick the orders to judge."""
    tells = np.frombuffer(b.tells, dtype=np.uint8).copy() if len(b) else np.zeros(0, np.uint8)
    products = list(b.products)
    typical = _typical(b, products, categories, tells, rules)
    tells |= np.where(_light(b, products, typical, rules), BIT["light"], 0).astype(np.uint8)
    table = np.array([_score(dict.fromkeys(n for n in ORDER if m & BIT[n]), rules.weights)
                      for m in range(1 << len(ORDER))])
    score, order = table[tells], _array(b.order, np.int64)
    best = _best(order, score, _array(b.delivered, np.uint8))
    flagged = order[best][score[best] >= rules.flag_score]
    return Screen(typical, flagged, _totals(b, best))


def _array(a: array, dtype: type) -> npt.NDArray:  # type: ignore[type-arg]
    return np.frombuffer(a, dtype=dtype) if len(a) else np.zeros(0, dtype)


def _typical(b: Builder, products: list[Ref], categories: Mapping[Ref, str], tells: npt.NDArray[np.uint8],
             rules: Rules) -> Typical:
    """Typical unit weights from the clean waybills of a lone product, as `empty_parcel.Typical.learn`."""
    unit = _array(b.unit, np.float64)
    item_end = _array(b.item_end, np.int64)
    clean = (tells == 0) & ~np.isnan(unit)
    product = _array(b.item_product, np.int32)[item_end[clean] - 1]  # a lone product is the row's last item
    units = unit[clean]
    per_product = {products[p]: (w, n) for p, w, n in _groups(product, units, rules.light_quantile,
                                                               rules.light_min_samples)}
    cats = sorted({c for p in per_product if (c := categories.get(p)) is not None})
    code = {c: i for i, c in enumerate(cats)}
    cat = np.array([NONE if (c := categories.get(p)) is None else code.get(c, NONE) for p in products],
                   dtype=np.int64)[product]
    per_category = {cats[c]: (w, n) for c, w, n in _groups(cat[cat >= 0], units[cat >= 0],
                                                           rules.light_category_quantile, rules.light_min_samples)
                    if n >= rules.light_min_samples}
    return Typical(per_product, per_category, categories)


def _groups(key: npt.NDArray, values: npt.NDArray[np.float64], q: float,  # type: ignore[type-arg]
            min_samples: float) -> list[tuple[int, float, int]]:
    """(key, typical, samples) per key: the q-quantile of its values (`empty_parcel.quantile`), or with fewer
    than `min_samples` the largest."""
    if not len(key):
        return []
    order = np.lexsort((values, key))
    key, values = key[order], values[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    n = np.diff(np.r_[starts, len(key)])
    pos = q * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    quantiles = values[starts + lo] + (values[starts + hi] - values[starts + lo]) * (pos - lo)
    typical = np.where(n >= min_samples, quantiles, values[starts + n - 1])
    return [(int(k), float(w), int(c)) for k, w, c in zip(key[starts], typical, n, strict=True)]


def _light(b: Builder, products: list[Ref], typical: Typical, rules: Rules) -> npt.NDArray[np.bool_]:
    """Rows whose declared weight is below the ratio of the typical weight of their heaviest known item."""
    weight = _array(b.weight, np.float64)
    if not len(weight) or not products:
        return np.zeros(len(weight), bool)
    per_product = np.array([np.nan if (t := typical.of(p)) is None else t[0] for p in products])
    item_end = _array(b.item_end, np.int64)
    start = np.r_[0, item_end[:-1]]
    some = item_end > start
    expected = np.full(len(weight), np.nan)
    if some.any():
        values = per_product[_array(b.item_product, np.int32)]
        expected[some] = np.fmax.reduceat(values, start[some])
    with np.errstate(invalid="ignore"):
        light = np.asarray((expected > 0) & (weight < rules.light_ratio * expected))
    for row, grams in b.huge.items():  # as the object detector compares: an int against a float, exactly
        light[row] = bool(expected[row] > 0) and grams < rules.light_ratio * float(expected[row])
    return light


def _best(order: npt.NDArray[np.int64], score: npt.NDArray[np.float64],
          delivered: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Each order's best row: the highest score, delivered before not, then the first (rows of an order are
    together, in shipment order)."""
    if not len(order):
        return np.zeros(0, np.int64)
    key = np.rint(score * 10_000).astype(np.int64) * 2 + delivered
    starts = np.flatnonzero(np.r_[True, order[1:] != order[:-1]])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(order)]))
    top = np.flatnonzero(key == np.maximum.reduceat(key, starts)[group])
    return top[np.r_[True, group[top][1:] != group[top][:-1]]]


def _totals(b: Builder, best: npt.NDArray[np.int64]) -> Totals:
    """Each party's parcels over the orders' best rows: a shop's orders, a courier's and carrier's delivered."""
    parties = list(b.parties)
    delivered = _array(b.delivered, np.uint8)[best].astype(bool)
    picked = {"shop": _array(b.shop, np.int32)[best], "courier": _array(b.courier, np.int32)[best][delivered],
              "carrier": _array(b.carrier, np.int32)[best][delivered]}
    out: dict[str, dict[Ref, int]] = {}
    for level in LEVELS:
        ids = picked[level][picked[level] >= 0]
        counts = np.bincount(ids, minlength=len(parties)) if len(ids) else np.zeros(0, np.int64)
        out[level] = {parties[i]: int(counts[i]) for i in np.flatnonzero(counts)}
    return out
