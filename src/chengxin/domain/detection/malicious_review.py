"""Malicious reviews (恶意评价, 降信): extortion, serial negative reviewers and sabotage campaigns.

Pure: the service hands over the `Conduct` input (orders with buyer, shop, total, time and payer account; reviews
with author, order, score, time, text and the review they follow up; complaints with complainant, order, claim
and outcome; each subject's registration time), shared with `payment_fraud`. Three patterns:

1. **Extortion (差评师).** An *episode* is a buyer's negative original review (score at most `negative_max`) of
   a seller, followed within `extortion.max_days` by the same buyer's complaint on that order claiming at least
   `extortion.claim_ratio` times the order total; a withdrawn complaint and a glowing follow-up review
   (`follows` the negative one, score 4 or more) make it stronger. A reviewer with episodes at
   `extortion.min_shops` distinct shops is named.
2. **Serial negative reviewers.** Counted are *unexplained* negative reviews: on an order without a return or a
   complaint (an honest bad experience usually brings one; a reviewer negative by habit does not, and an
   honest heavy buyer's few bad orders no longer drown the signal). For each of a reviewer's original reviews at
   a shop, the shop's unexplained-negative rate among its *other* raters (never below `serial.min_base_rate`)
   is the chance of one; their sum λ is the expected count. A reviewer with at least `serial.min_negatives` at
   `serial.min_shops` distinct shops is named when the Poisson tail P(X ≥ k) ≤ `serial.alpha` and
   k / λ ≥ `serial.min_ratio`.
3. **Sabotage (降信).** At one shop, negative reviews by *young* accounts (registered at most
   `sabotage.young_days` before the order) that are *dedicated* to the shop (at least `sabotage.dedicated_share`
   of their orders there), in one burst (no gap over `sabotage.gap_days`), whose texts (at least
   `sabotage.min_chars` letters, not made only of stock clauses other reviewers write at
   `sabotage.stock_min_shops` shops) are near-copies of each other (character `shingle`-gram Jaccard at least
   `sabotage.similarity` with another author's). At least `sabotage.min_accounts` such accounts make a
   campaign: the accounts, their orders at the shop and the reviews are named; the victim shop is only in the
   evidence (it is harmed, not dishonest).

One finding per reviewer (extortion and serial together) and per campaign.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.detection.not_as_described import poisson_sf
from chengxin.domain.detection.templates import clauses, jaccard, normalise, shingles
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding

KIND = "malicious_review"
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Order:
    ref: Ref
    buyer: Ref
    shop: Ref
    total: int
    at: float
    payer: str | None = None


@dataclass(frozen=True, slots=True)
class Review:
    ref: Ref
    order: Ref | None
    author: Ref
    target: Ref | None
    score: int
    at: float
    text: str | None = None
    follows: Ref | None = None
    direction: str = "buyer_to_seller"


@dataclass(frozen=True, slots=True)
class Complaint:
    ref: Ref
    complainant: Ref | None
    target: Ref | None
    order: Ref | None
    category: str
    at: float
    amount_claimed: int | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Conduct:
    orders: Sequence[Order]
    reviews: Sequence[Review]
    complaints: Sequence[Complaint]
    registered: Mapping[Ref, float]  # subject -> registration time (epoch seconds)
    returned: AbstractSet[Ref] = frozenset()  # orders with a return request


@dataclass(frozen=True, slots=True)
class Rules:
    negative_max: int
    extortion: Mapping[str, float]
    serial: Mapping[str, float]
    sabotage: Mapping[str, float]


_SECTIONS: dict[str, dict[str, tuple[float, float, bool]]] = {
    "extortion": {"max_days": (0, 365, False), "claim_ratio": (1, 1000, False), "min_shops": (1, 10**6, True),
                  "full_shops": (1, 10**6, True)},
    "serial": {"min_negatives": (1, 10**6, True), "min_shops": (1, 10**6, True), "min_base_rate": (1e-9, 1, False),
               "alpha": (1e-300, 0.5, False), "min_ratio": (1, 1000, False), "full_log10": (1, 1000, False)},
    "sabotage": {"young_days": (0, 3650, False), "dedicated_share": (0, 1, False), "gap_days": (0, 365, False),
                 "min_chars": (0, 1000, True), "stock_min_shops": (1, 10**6, True), "shingle": (1, 20, True),
                 "similarity": (0, 1, False), "min_accounts": (2, 10**6, True),
                 "full_accounts": (1, 10**6, True)},
}


def parse_rules(doc: Any, where: str = "malicious_review") -> Rules:
    """Check the `malicious_review` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("negative_max", *_SECTIONS))
    sections = {}
    for name, spec in _SECTIONS.items():
        s = _keys(d[name], f"{where}.{name}", tuple(spec))
        sections[name] = {k: _number(s[k], f"{where}.{name}.{k}", lo, hi, integer=whole)
                          for k, (lo, hi, whole) in spec.items()}
    return Rules(int(_number(d["negative_max"], f"{where}.negative_max", 1, 4, integer=True)),
                 sections["extortion"], sections["serial"], sections["sabotage"])


def _ref(r: Ref | None) -> dict[str, str] | None:
    return {"source": r[0], "id": r[1]} if r else None


def _original(r: Review) -> bool:
    return r.direction == "buyer_to_seller" and r.follows is None and r.target is not None


def detect(data: Conduct, rules: Rules) -> list[Finding]:
    orders = {o.ref: o for o in data.orders}
    found = _reviewers(data, orders, rules) + _sabotage(data, orders, rules)
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("parties"), f.refs("orders")))
    return found


# --- extortion and serial negative reviewers ------------------------------------------------------------------
def _extortion(data: Conduct, orders: Mapping[Ref, Order], rules: Rules) -> dict[Ref, list[dict[str, Any]]]:
    ex = rules.extortion
    claims: dict[tuple[Ref, Ref], list[Complaint]] = defaultdict(list)
    for c in data.complaints:
        if c.complainant and c.order and c.amount_claimed:
            claims[(c.complainant, c.order)].append(c)
    followups: dict[Ref, list[Review]] = defaultdict(list)
    for r in data.reviews:
        if r.follows:
            followups[r.follows].append(r)
    episodes: dict[Ref, list[dict[str, Any]]] = defaultdict(list)
    for r in data.reviews:
        if not _original(r) or r.score > rules.negative_max or r.order is None or r.order not in orders:
            continue
        total = orders[r.order].total
        for c in claims.get((r.author, r.order), ()):
            if not (r.at - DAY <= c.at <= r.at + ex["max_days"] * DAY) or total <= 0:
                continue
            ratio = (c.amount_claimed or 0) / total
            if ratio < ex["claim_ratio"]:
                continue
            glowing = [f for f in followups.get(r.ref, ()) if f.author == r.author and f.score >= 4]
            episodes[r.author].append({
                "shop": r.target, "order": r.order, "review": r.ref, "complaint": c.ref, "claim_ratio": round(ratio, 1),
                "withdrawn": c.outcome == "withdrawn", "follow_up": glowing[0].ref if glowing else None})
            break
    return episodes


def _unexplained(r: Review, disputed: AbstractSet[Ref], rules: Rules) -> bool:
    """A negative review on an order that drew no return and no complaint: the order went as planned."""
    return r.score <= rules.negative_max and (r.order is None or r.order not in disputed)


def _serial(data: Conduct, rules: Rules) -> dict[Ref, dict[str, Any]]:
    s = rules.serial
    disputed = set(data.returned) | {c.order for c in data.complaints if c.order}
    originals = [r for r in data.reviews if _original(r)]
    neg_shop: dict[Ref, int] = defaultdict(int)
    tot_shop: dict[Ref, int] = defaultdict(int)
    mine: dict[tuple[Ref, Ref], list[int]] = defaultdict(lambda: [0, 0])  # (author, shop) -> [negatives, reviews]
    by_author: dict[Ref, list[Review]] = defaultdict(list)
    for r in originals:
        assert r.target is not None
        bad = int(_unexplained(r, disputed, rules))
        neg_shop[r.target] += bad
        tot_shop[r.target] += 1
        m = mine[(r.author, r.target)]
        m[0] += bad
        m[1] += 1
        by_author[r.author].append(r)
    out = {}
    for author, reviews in by_author.items():
        negatives = [r for r in reviews if _unexplained(r, disputed, rules)]
        if len(negatives) < s["min_negatives"]:
            continue
        lam, k, shops = 0.0, 0, set()
        for r in reviews:
            assert r.target is not None
            m = mine[(author, r.target)]
            rest_n, rest_k = tot_shop[r.target] - m[1], neg_shop[r.target] - m[0]
            if rest_n <= 0:
                continue  # no other rater to compare with
            lam += max(s["min_base_rate"], rest_k / rest_n)
            if _unexplained(r, disputed, rules):
                k += 1
                shops.add(r.target)
        if k < s["min_negatives"] or len(shops) < s["min_shops"] or lam <= 0:
            continue
        p = poisson_sf(k, lam)
        if p <= s["alpha"] and k / lam >= s["min_ratio"]:
            out[author] = {"reviews": len(reviews), "negatives": k, "shops": len(shops), "expected": round(lam, 2),
                           "ratio": round(k / lam, 1), "p_value": float(f"{p:.3g}"),
                           "negative_reviews": [r for r in negatives if r.target in shops]}
    return out


def _reviewers(data: Conduct, orders: Mapping[Ref, Order], rules: Rules) -> list[Finding]:
    ex = rules.extortion
    episodes = {a: e for a, e in _extortion(data, orders, rules).items()
                if len({x["shop"] for x in e}) >= ex["min_shops"]}
    serial = _serial(data, rules)
    found = []
    for author in sorted(set(episodes) | set(serial)):
        evidence: dict[str, Any] = {"pattern": [], "reviewer": _ref(author)}
        order_refs: set[Ref] = set()
        review_refs: set[Ref] = set()
        score = 0.0
        if author in episodes:
            e = episodes[author]
            shops = len({x["shop"] for x in e})
            withdrawn = sum(x["withdrawn"] for x in e) / len(e)
            follow = sum(x["follow_up"] is not None for x in e) / len(e)
            score = max(score, min(1.0, shops / ex["full_shops"]) * (0.6 + 0.2 * withdrawn + 0.2 * follow))
            order_refs |= {x["order"] for x in e}
            review_refs |= {x["review"] for x in e}
            evidence["pattern"].append("extortion")
            evidence["extortion"] = {
                "shops": shops, "episodes": len(e), "withdrawn_share": round(withdrawn, 3),
                "follow_up_share": round(follow, 3),
                "examples": [{k: (_ref(v) if isinstance(v, tuple) else v) for k, v in x.items()} for x in e[:5]]}
        if author in serial:
            s = serial[author]
            negs: list[Review] = s.pop("negative_reviews")
            log10p = -math.log10(s["p_value"]) if s["p_value"] > 0 else 300.0
            score = max(score, min(1.0, log10p / rules.serial["full_log10"]))
            order_refs |= {r.order for r in negs if r.order}
            review_refs |= {r.ref for r in negs}
            evidence["pattern"].append("serial_negative")
            evidence["serial_negative"] = s
        parts = [f"{evidence['extortion']['episodes']} negative reviews each followed by an inflated claim at "
                 f"{evidence['extortion']['shops']} shops"] if "extortion" in evidence else []
        if "serial_negative" in evidence:
            s = evidence["serial_negative"]
            parts.append(f"{s['negatives']} negative reviews without return or complaint at {s['shops']} shops, "
                         f"{s['ratio']}× what their other raters give (expected {s['expected']}, "
                         f"p = {s['p_value']:.2g})")
        evidence["why"] = "; ".join(parts)
        found.append(Finding(KIND, round(score, 4), {"parties": (author,), "orders": tuple(sorted(order_refs)),
                                                     "reviews": tuple(sorted(review_refs)), "products": ()}, evidence))
    return found


# --- sabotage -------------------------------------------------------------------------------------------------
def _sabotage(data: Conduct, orders: Mapping[Ref, Order], rules: Rules) -> list[Finding]:
    sb = rules.sabotage
    per_buyer: dict[Ref, dict[Ref, list[Ref]]] = defaultdict(lambda: defaultdict(list))  # buyer -> shop -> orders
    for o in data.orders:
        per_buyer[o.buyer][o.shop].append(o.ref)
    cands: dict[Ref, list[Review]] = defaultdict(list)
    for r in data.reviews:
        if not _original(r) or r.score > rules.negative_max or r.order is None or r.order not in orders \
                or not r.text:
            continue
        o = orders[r.order]
        reg = data.registered.get(r.author)
        if reg is None or o.at - reg > sb["young_days"] * DAY:
            continue
        mine = per_buyer[r.author]
        if len(mine[o.shop]) < sb["dedicated_share"] * sum(len(v) for v in mine.values()):
            continue
        cands[o.shop].append(r)
    stock = _stock_clauses(data, {r.ref for rs in cands.values() for r in rs}, int(sb["stock_min_shops"]))
    cands = {shop: [r for r in rs if len(normalise(r.text or "")) >= sb["min_chars"]
                    and not all(c in stock for c in clauses(r.text or ""))] for shop, rs in cands.items()}
    found = []
    for shop, reviews in sorted(cands.items()):
        reviews.sort(key=lambda r: (r.at, r.ref))
        bursts: list[list[Review]] = []
        for r in reviews:
            if bursts and r.at - bursts[-1][-1].at <= sb["gap_days"] * DAY:
                bursts[-1].append(r)
            else:
                bursts.append([r])
        for burst in bursts:
            f = _campaign(shop, burst, per_buyer, rules)
            if f:
                found.append(f)
    return found


def _stock_clauses(data: Conduct, candidates: AbstractSet[Ref], min_shops: int) -> set[str]:
    """Clauses written at `min_shops` or more distinct shops in reviews that are *not* sabotage candidates:
    ordinary wording many buyers use (质量差, 物流太慢), which young accounts may write too without copying."""
    shops: dict[str, set[Ref]] = defaultdict(set)
    for r in data.reviews:
        if r.text and r.target and r.ref not in candidates:
            for c in clauses(r.text):
                if len(shops[c]) < min_shops:
                    shops[c].add(r.target)
    return {c for c, s in shops.items() if len(s) >= min_shops}


def _campaign(shop: Ref, burst: Sequence[Review], per_buyer: Mapping[Ref, Mapping[Ref, list[Ref]]],
              rules: Rules) -> Finding | None:
    sb = rules.sabotage
    if len({r.author for r in burst}) < sb["min_accounts"]:
        return None
    k = int(sb["shingle"])
    sh = [shingles(normalise(r.text or ""), k) for r in burst]
    kept, sims = [], []
    for i, r in enumerate(burst):
        best = max((jaccard(sh[i], sh[j]) for j, q in enumerate(burst) if q.author != r.author), default=0.0)
        if best >= sb["similarity"]:
            kept.append(r)
            sims.append(best)
    accounts = sorted({r.author for r in kept})
    if len(accounts) < sb["min_accounts"]:
        return None
    order_refs = sorted({o for a in accounts for o in per_buyer[a][shop]})
    score = round(min(1.0, len(accounts) / sb["full_accounts"]) * min(sims), 4)
    days = (kept[-1].at - kept[0].at) / DAY
    evidence = {"pattern": ["sabotage"], "victim": _ref(shop), "accounts": len(accounts), "reviews": len(kept),
                "orders": len(order_refs), "days": round(days, 1), "min_similarity": round(min(sims), 3),
                "scores": sorted({r.score for r in kept}), "text": kept[0].text,
                "why": (f"{len(accounts)} young accounts ordering almost only at the shop left {len(kept)} "
                        f"near-identical negative reviews within {days:.0f} days")}
    return Finding(KIND, score, {"parties": tuple(accounts), "orders": tuple(order_refs),
                                 "reviews": tuple(sorted(r.ref for r in kept)), "products": ()}, evidence)


__all__ = ["KIND", "Complaint", "Conduct", "Order", "Review", "Rules", "detect", "parse_rules"]
