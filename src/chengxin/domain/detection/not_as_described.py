"""Not as described / counterfeit sellers: shops whose not-as-described and counterfeit returns and complaints
per order are far above their category's.

Pure: the service hands over, per shop, its orders, its returns by reason and the complaints against it by
category, its main category (the most common among its products) and its products. Counted **events** are
returns with a reason in `reasons` plus complaints with a category in `reasons` (`not_as_described`,
`counterfeit`). The test, per shop with at least `min_orders` orders and `min_events` events:

- **Baseline.** The category's pooled rate of events per order *without the shop* (leave one out, so a bad
  seller does not raise its own bar), never below `min_base_rate`: p0 = max(min_base_rate, (K_cat − k) /
  (N_cat − n)). Bad sellers draw most of these events, so the baseline is trimmed: the test is repeated with
  the shops found so far left out of every baseline, until no new shop is found (at most 10 rounds).
- **Poisson tail.** Under the baseline the shop's events are about Poisson(λ = n · p0); the shop is named when
  P(X ≥ k) ≤ `alpha` and k / λ ≥ `min_ratio` (far above, not merely significantly above with many orders).

One finding per shop naming the shop and all its products. Score: min(1, −log10 p / `full_log10`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding

KIND = "not_as_described"
REASONS = ("not_as_described", "counterfeit")
_ROUNDS = 10


@dataclass(frozen=True, slots=True)
class Shop:
    shop: Ref
    category: str
    orders: int
    returns: Mapping[str, int] = field(default_factory=dict)  # reason -> returns (all reasons)
    complaints: Mapping[str, int] = field(default_factory=dict)  # category -> complaints (all categories)
    products: Sequence[Ref] = ()


@dataclass(frozen=True, slots=True)
class Shops:
    shops: Sequence[Shop]


@dataclass(frozen=True, slots=True)
class Rules:
    min_orders: int
    min_events: int
    min_base_rate: float
    alpha: float
    min_ratio: float
    full_log10: float


def parse_rules(doc: Any, where: str = "not_as_described") -> Rules:
    """Check the `not_as_described` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("min_orders", "min_events", "min_base_rate", "alpha", "min_ratio", "full_log10"))
    return Rules(min_orders=int(_number(d["min_orders"], f"{where}.min_orders", 1, 10**9, integer=True)),
                 min_events=int(_number(d["min_events"], f"{where}.min_events", 1, 10**9, integer=True)),
                 min_base_rate=_number(d["min_base_rate"], f"{where}.min_base_rate", 1e-9, 1),
                 alpha=_number(d["alpha"], f"{where}.alpha", 1e-300, 0.5),
                 min_ratio=_number(d["min_ratio"], f"{where}.min_ratio", 1, 1000),
                 full_log10=_number(d["full_log10"], f"{where}.full_log10", 1, 1000))


def poisson_sf(k: int, lam: float) -> float:
    """P(X ≥ k) for X ~ Poisson(lam), summed from k upwards in log space (exact enough for tiny tails)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k < lam:  # the head is small: 1 − P(X < k) is the better sum
        head, term = 0.0, math.exp(-lam)
        for j in range(k):
            head += term
            term *= lam / (j + 1)
        return max(0.0, min(1.0, 1.0 - head))
    log_term = k * math.log(lam) - lam - math.lgamma(k + 1)
    total, i = 0.0, k
    term = math.exp(log_term)
    while True:
        total += term
        i += 1
        term *= lam / i
        if term <= total * 1e-17 or i > k + 100_000:
            break
    return min(1.0, total)


def events(s: Shop) -> int:
    return sum(s.returns.get(r, 0) for r in REASONS) + sum(s.complaints.get(c, 0) for c in REASONS)


def _test(data: Shops, rules: Rules, excluded: set[Ref]) -> dict[Ref, tuple[float, float, float, int]]:
    """The shops far above their category's baseline, the baseline pooled over the category's other shops not
    in `excluded`: shop -> (p0, lambda, p, baseline orders)."""
    n_cat: dict[str, int] = defaultdict(int)
    k_cat: dict[str, int] = defaultdict(int)
    for s in data.shops:
        if s.shop not in excluded:
            n_cat[s.category] += s.orders
            k_cat[s.category] += events(s)
    out = {}
    for s in data.shops:
        k, n = events(s), s.orders
        if n < rules.min_orders or k < rules.min_events:
            continue
        own = 0 if s.shop in excluded else 1
        rest_n, rest_k = n_cat[s.category] - own * n, k_cat[s.category] - own * k
        p0 = max(rules.min_base_rate, rest_k / rest_n if rest_n > 0 else 0.0)
        lam = n * p0
        p = poisson_sf(k, lam)
        if p <= rules.alpha and k / lam >= rules.min_ratio:
            out[s.shop] = (p0, lam, p, rest_n)
    return out


def detect(data: Shops, rules: Rules) -> list[Finding]:
    excluded: set[Ref] = set()
    named = _test(data, rules, excluded)
    for _ in range(_ROUNDS):  # the baseline without the shops found so far, until no more are found
        if set(named) <= excluded:
            break
        excluded |= set(named)
        named = _test(data, rules, excluded)
    found = []
    for s in data.shops:
        if s.shop not in named:
            continue
        k, n = events(s), s.orders
        p0, lam, p, rest_n = named[s.shop]
        ratio = k / lam
        log10p = -math.log10(p) if p > 0 else 300.0
        score = round(min(1.0, log10p / rules.full_log10), 4)
        evidence = {
            "shop": {"source": s.shop[0], "id": s.shop[1]}, "category": s.category, "orders": n, "events": k,
            "returns": {r: s.returns.get(r, 0) for r in REASONS},
            "complaints": {c: s.complaints.get(c, 0) for c in REASONS},
            "rate": round(k / n, 4), "category_rate": round(p0, 5), "category_orders": rest_n,
            "expected": round(lam, 2), "ratio": round(ratio, 1), "p_value": float(f"{p:.3g}"),
            "test": "Poisson upper tail, category baseline without the shop",
            "why": (f"{k} not-as-described/counterfeit returns and complaints on {n} orders ({k / n:.1%}), "
                    f"{ratio:.1f}× the {s.category} baseline of {p0:.2%} (p = {p:.2g})"),
        }
        found.append(Finding(KIND, score, {"parties": (s.shop,), "orders": (), "reviews": (),
                                           "products": tuple(sorted(s.products))}, evidence))
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("parties")))
    return found


__all__ = ["KIND", "REASONS", "Rules", "Shop", "Shops", "detect", "events", "parse_rules", "poisson_sf"]
