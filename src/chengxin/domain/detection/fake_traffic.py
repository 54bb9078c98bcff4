"""Fake traffic (刷流量): reported visits far out of line with the orders they brought, with the category's
conversion and with the shop's own usual level, in bursts.

Pure: the service hands over every traffic report (shop, product or none, day, visits, unique visitors,
orders) and each shop's and product's category. Steps:

1. **Category conversion.** Each shop's highest orders / visits over its reports with orders (bought visits
   only ever lower a shop's conversion, so its honest days set it), and per category (a shop's main category)
   the median over its shops: one vote per shop, so a few shops' bought visits cannot lower the baseline.
2. **Out of line.** A report's expected visits are (orders + 1) / conversion; it is **inflated** when its visits
   are at least `conversion_factor` × that (honest reports stay within about 1.7×, the conversion varying by
   ±30 % around the category's) and at least `min_visits`.
3. **Own level.** When the shop (or product) has at least `min_history` reports that are not inflated, an
   inflated report must also be `own_factor` × their median visits.
4. **Bursts.** A shop is named when it has inflated reports on at least `min_days` distinct days; consecutive
   days form a burst (evidence).

One finding per shop naming the shop and the products with inflated product-level reports. Score:
min(1, days / `full_days`) × min(1, median excess / `full_excess`), the excess being visits / expected.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding

KIND = "fake_traffic"


@dataclass(frozen=True, slots=True)
class Report:
    shop: Ref
    product: Ref | None
    day: str  # ISO date
    visits: int
    unique_visitors: int
    orders: int


@dataclass(frozen=True, slots=True)
class Traffic:
    reports: Sequence[Report]
    categories: Mapping[Ref, str]  # product -> category, and shop -> its main category


@dataclass(frozen=True, slots=True)
class Rules:
    conversion_factor: float
    min_visits: int
    own_factor: float
    min_history: int
    min_days: int
    full_days: int
    full_excess: float


def parse_rules(doc: Any, where: str = "fake_traffic") -> Rules:
    """Check the `fake_traffic` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("conversion_factor", "min_visits", "own_factor", "min_history", "min_days",
                           "full_days", "full_excess"))

    def whole(key: str, low: int, high: int) -> int:
        return int(_number(d[key], f"{where}.{key}", low, high, integer=True))

    return Rules(conversion_factor=_number(d["conversion_factor"], f"{where}.conversion_factor", 1, 1000),
                 min_visits=whole("min_visits", 0, 10**9),
                 own_factor=_number(d["own_factor"], f"{where}.own_factor", 1, 1000),
                 min_history=whole("min_history", 1, 10_000), min_days=whole("min_days", 1, 366),
                 full_days=whole("full_days", 1, 366),
                 full_excess=_number(d["full_excess"], f"{where}.full_excess", 1, 10_000))


def _category(data: Traffic, r: Report) -> str:
    return data.categories.get(r.shop, "?")


def _bursts(days: list[str]) -> list[list[str]]:
    """Runs of consecutive days: [[first, last], ...]."""
    runs: list[list[str]] = []
    last = None
    for d in sorted(set(days)):
        n = date.fromisoformat(d).toordinal()
        if last is not None and n == last + 1:
            runs[-1][1] = d
        else:
            runs.append([d, d])
        last = n
    return runs


def detect(data: Traffic, rules: Rules) -> list[Finding]:
    best: dict[Ref, float] = {}  # each shop's highest conversion: bought visits only ever lower it
    for r in data.reports:
        if r.orders > 0 and r.visits > 0:
            best[r.shop] = max(best.get(r.shop, 0.0), min(1.0, r.orders / r.visits))
    votes: dict[str, list[float]] = defaultdict(list)
    for shop, c in best.items():
        votes[data.categories.get(shop, "?")].append(c)
    overall = statistics.median(best.values()) if best else 0.05
    conversion = {cat: statistics.median(cs) for cat, cs in votes.items()}

    def expected(r: Report) -> float:
        return (r.orders + 1) / conversion.get(_category(data, r), overall)

    inflated: list[tuple[Report, float]] = []
    calm: dict[tuple[Ref, Ref | None], list[int]] = defaultdict(list)
    for r in data.reports:
        excess = r.visits / expected(r)
        if excess >= rules.conversion_factor and r.visits >= rules.min_visits:
            inflated.append((r, excess))
        else:
            calm[(r.shop, r.product)].append(r.visits)
    by_shop: dict[Ref, list[tuple[Report, float, float | None]]] = defaultdict(list)
    for r, excess in inflated:
        history = calm.get((r.shop, r.product), [])
        usual = float(statistics.median(history)) if len(history) >= rules.min_history else None
        if usual is not None and r.visits < rules.own_factor * max(usual, 1.0):
            continue
        by_shop[r.shop].append((r, excess, usual))
    found = []
    for shop, rows in by_shop.items():
        days = sorted({r.day for r, _, _ in rows})
        if len(days) < rules.min_days:
            continue
        products = sorted({r.product for r, _, _ in rows if r.product is not None})
        excesses = sorted(e for _, e, _ in rows)
        median_excess = statistics.median(excesses)
        score = round(min(1.0, len(days) / rules.full_days) * min(1.0, median_excess / rules.full_excess), 4)
        cat = data.categories.get(shop, "?")
        shown = sorted(rows, key=lambda x: (x[0].day, x[0].product or ("", "")))[:20]
        evidence = {
            "shop": {"source": shop[0], "id": shop[1]}, "category": cat,
            "category_conversion": round(conversion.get(cat, overall), 5),
            "days": len(days), "bursts": _bursts(days), "median_excess": round(median_excess, 2),
            "reports": [{"day": r.day, "product": {"source": r.product[0], "id": r.product[1]} if r.product else None,
                         "visits": r.visits, "unique_visitors": r.unique_visitors, "orders": r.orders,
                         "expected_visits": round(expected(r)), "excess": round(e, 2),
                         "usual_visits": None if u is None else round(u)} for r, e, u in shown],
            "why": (f"visits {median_excess:.1f}× what its orders and its category's conversion explain, "
                    f"on {len(days)} day(s) in {len(_bursts(days))} burst(s)"),
        }
        found.append(Finding(KIND, score, {"parties": (shop,), "orders": (), "reviews": (),
                                           "products": tuple(products)}, evidence))
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("parties")))
    return found


__all__ = ["KIND", "Report", "Rules", "Traffic", "detect", "parse_rules"]
