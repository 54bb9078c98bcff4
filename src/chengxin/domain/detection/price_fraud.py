"""Price fraud (先涨后降, a fake discount): a product's list price raised shortly before a "discount" that leaves
the offer where it was, against the product's own price history.

Pure: the service hands over every product (shop, category) and its price points (time, list price, offer) in
time order. For each product, a **raise** is a price point whose list price rises by at least `min_raise`,
and by at least `min_raise` more than its offer does (list_i / list_{i-1} − price_i / price_{i-1} ≥ min_raise):
an ordinary repricing moves the offer and lets the crossed-out price follow it up, never jumps it alone, and a
festival discount lowers the offer under an unchanged list price. A **fake discount** is a
later point within `window_days` of the raise that shows a discount against the raised list price (1 − price /
list ≥ `min_claimed`, the list still at least the raised one × (1 − `tolerance`)) while the offer is at or above
the offer before the raise, give or take `tolerance` (price_k ≥ price_before × (1 − tolerance)). An honest
festival discount lowers the offer and keeps the list price: there is no raise before it, so no finding.

One finding per product (its newest raise-then-discount), naming the product and its shop. Score:
min(1, (claimed discount − real discount) / `full_gap`), the real discount being 1 − price_k / price_before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chengxin.domain.detection.checks import RuleError
from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding

KIND = "price_fraud"
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Point:
    at: float  # epoch seconds
    list_price: int
    price: int


@dataclass(frozen=True, slots=True)
class Product:
    product: Ref
    shop: Ref | None
    category: str
    points: Sequence[Point]  # in time order


@dataclass(frozen=True, slots=True)
class Prices:
    products: Sequence[Product]


@dataclass(frozen=True, slots=True)
class Rules:
    window_days: float
    min_raise: float
    min_claimed: float
    tolerance: float
    full_gap: float


def parse_rules(doc: Any, where: str = "price_fraud") -> Rules:
    """Check the `price_fraud` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("window_days", "min_raise", "min_claimed", "tolerance", "full_gap"))
    rules = Rules(window_days=_number(d["window_days"], f"{where}.window_days", 0.5, 365),
                  min_raise=_number(d["min_raise"], f"{where}.min_raise", 0.01, 10),
                  min_claimed=_number(d["min_claimed"], f"{where}.min_claimed", 0.01, 0.99),
                  tolerance=_number(d["tolerance"], f"{where}.tolerance", 0, 0.5),
                  full_gap=_number(d["full_gap"], f"{where}.full_gap", 0.01, 1))
    if rules.tolerance >= rules.min_claimed:
        raise RuleError(f"{where}.tolerance: must be below min_claimed")
    return rules


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _point(p: Point) -> dict[str, Any]:
    return {"at": _iso(p.at), "list_price": p.list_price, "price": p.price}


def _check(prod: Product, rules: Rules) -> Finding | None:
    """The product's newest fake discount: a later one, after an earlier one was decided, is a new act for the
    review queue (`domain/acts.py`)."""
    pts = prod.points
    for i in range(len(pts) - 1, 0, -1):
        before, raised = pts[i - 1], pts[i]
        if before.list_price <= 0 or before.price <= 0:
            continue
        list_raise = raised.list_price / before.list_price - 1
        if list_raise < rules.min_raise or list_raise - (raised.price / before.price - 1) < rules.min_raise:
            continue
        for k in range(i + 1, len(pts)):
            disc = pts[k]
            if disc.at - raised.at > rules.window_days * DAY:
                break
            if disc.list_price <= 0 or disc.list_price < raised.list_price * (1 - rules.tolerance):
                continue
            claimed = 1 - disc.price / disc.list_price
            real = 1 - disc.price / before.price
            if claimed < rules.min_claimed or disc.price < before.price * (1 - rules.tolerance):
                continue
            score = round(min(1.0, max(0.0, (claimed - real) / rules.full_gap)), 4)
            days = round((disc.at - raised.at) / DAY, 1)
            evidence = {
                "product": {"source": prod.product[0], "id": prod.product[1]}, "category": prod.category,
                "shop": {"source": prod.shop[0], "id": prod.shop[1]} if prod.shop else None,
                "before": _point(before), "raise": _point(raised), "discount": _point(disc),
                "list_raise": round(list_raise, 4),
                "claimed_discount": round(claimed, 4), "real_change": round(-real, 4), "days": days,
                "history": len(pts),
                "why": (f"list price raised from {before.list_price} to {raised.list_price} "
                        f"(offer {before.price} → {raised.price}), then {days} day(s) later a "
                        f"{claimed:.0%} 'discount' to {disc.price} against list {disc.list_price}: "
                        f"the offer is {disc.price / before.price - 1:+.0%} against before the raise"),
            }
            return Finding(KIND, score, {"parties": (prod.shop,) if prod.shop else (), "orders": (), "reviews": (),
                                         "products": (prod.product,)}, evidence)
    return None


def detect(data: Prices, rules: Rules) -> list[Finding]:
    found = [f for f in (_check(p, rules) for p in data.products) if f is not None]
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("products")))
    return found


__all__ = ["KIND", "Point", "Prices", "Product", "Rules", "detect", "parse_rules"]
