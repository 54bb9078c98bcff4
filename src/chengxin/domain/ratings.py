"""Mutual ratings (R4): which ratings give credit points, how many and why; levels; positive rate; DSR.

The rules are data (`vocab/rating_rules.yaml`, checked by `load_rating_rules`). Points are a function of one
(target, author) pair's ratings only: the monthly cap and the same-item rule never look beyond the pair. So
a change (a new rating, an order completed, an order confirmed fake) is settled by recounting one pair, and
any order or split of the same events gives the same points.

Every rating gets a reason code saying what it counts and why (`REASONS`, in English and Chinese).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import yaml

from chengxin.domain.vocabulary import VocabularyError

Ref = tuple[str, str]  # (source, id)

# reason codes: what a rating counts toward credit points, and why
COUNTED = "counted"
MONTH_CAP = "pair_month_cap"
SAME_ITEM = "same_item_window"
FOLLOW_UP = "follow_up"
NOT_PAID = "order_not_paid"
NOT_COMPLETED = "order_not_completed"
NO_ORDER = "order_unknown"
RETRACTED = "retracted_fake_order"
NO_POINTS = "direction_without_points"
OTHER_PARTIES = "not_the_orders_parties"
CANCELLED = "order_cancelled"
DUPLICATE = "duplicate_order_rating"
BEFORE_ORDER = "posted_before_the_order"
UNFOLLOWED = "follows_no_first_rating"
REASONS: Mapping[str, tuple[str, str]] = {
    COUNTED: ("counted", "计分"),
    MONTH_CAP: ("beyond the ±{cap} points a buyer and seller may exchange in a natural month",
                "超出同一买卖双方每自然月±{cap}分的上限"),
    SAME_ITEM: ("the same item was already rated for an order placed within {days} days",
                "{days}天内同一商品已评价计分"),
    FOLLOW_UP: ("a follow-up review carries no points", "追评不计分"),
    NOT_PAID: ("the order is not paid", "订单未付款"),
    NOT_COMPLETED: ("the order is not completed", "交易未完成"),
    NO_ORDER: ("the order is not known", "订单不存在"),
    RETRACTED: ("the order was confirmed fake: its points are taken back", "订单被认定为虚假交易，计分撤回"),
    NO_POINTS: ("ratings in this direction carry no credit points", "该方向的评价不计信用积分"),
    OTHER_PARTIES: ("the author and the one rated are not this order's buyer and shop (or a carrier of its "
                    "shipments)", "评价人与被评价方不是该订单的买卖双方（或其运单的承运方）"),
    CANCELLED: ("the order was cancelled", "订单已取消"),
    DUPLICATE: ("its author already rated this order in this direction: only the first rating counts",
                "该评价人已就此订单作过同方向评价，仅首次评价计入"),
    BEFORE_ORDER: ("posted before the order was placed", "评价时间早于下单时间"),
    UNFOLLOWED: ("a follow-up of no first rating of this order by its author",
                 "追评所追的首次评价不存在或不属于该订单"),
}
# What stops a rating from counting toward anything (points, positive rate, DSR, a carrier's ratings): it is
# not a rating of a real, successful trade between these two.
NOT_A_TRADE = frozenset({NO_ORDER, OTHER_PARTIES, NOT_PAID, NOT_COMPLETED, CANCELLED, RETRACTED, BEFORE_ORDER,
                         UNFOLLOWED})
CARRIER = "buyer_to_carrier"
DIRECTIONS = ("buyer_to_seller", "seller_to_buyer", CARRIER)  # events-v1 `cx.review.posted` direction
CST = timedelta(hours=8)
DSR_DIMENSIONS = ("as_described", "service", "logistics")  # a review's `dimensions` (events-v1 `dims`)


@dataclass(frozen=True)
class Level:
    tier: str          # heart, diamond, crown, gold_crown
    rank: int          # 1..5 within the tier
    zh: str
    en: str
    minimum: int
    next_minimum: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "rank": self.rank, "label_zh": f"{self.rank}{self.zh}",
                "label_en": f"{self.rank} {self.en}{'s' if self.rank > 1 else ''}", "minimum": self.minimum,
                "next_minimum": self.next_minimum}


@dataclass(frozen=True)
class RatingRules:
    version: int
    effective_from: date
    by_score: Mapping[int, int]
    directions: tuple[str, ...]
    requires: tuple[str, ...]
    pair_month_cap: int
    same_item_days: int
    levels: tuple[Level, ...]        # ascending by minimum
    positive_window_days: int
    dsr_window_days: int
    dsr_dimensions: tuple[str, ...]
    dsr_pair_month_cap: int


@dataclass(frozen=True, slots=True)
class Rating:
    """One rating with what the rules need to know about its order. Times are fixed-width UTC text."""

    review: Ref
    target: Ref
    author: Ref
    direction: str
    score: int
    at: str
    order_at: str | None = None   # when the order was placed (None: order not known)
    item: str | None = None       # the order's first product
    paid: bool = False
    completed: bool = False
    fake: bool = False            # the order was confirmed fake
    follow_up: bool = False
    dims: tuple[int, ...] | None = None
    buyer: Ref | None = None      # the order's buyer and shop (None: not known)
    shop: Ref | None = None
    cancelled: bool = False
    carried: bool = False         # a shipment of the order names the one rated as its carrier
    order: Ref | None = None      # the order rated (None: not known)
    follows_first: bool = True    # a follow-up: the review it follows is its author's first rating of the order


@dataclass(frozen=True, slots=True)
class Counted:
    """What one rating counts. `eligible`: it enters the positive rate; `dsr`: its dimensions enter DSR."""

    review: Ref
    points: int
    base: int          # what its score is worth before the pair rules
    reason: str
    month: str         # natural month in China Standard Time, "YYYY-MM"
    eligible: bool
    dsr: bool


# --- rules file --------------------------------------------------------------------------------------
def load_rating_rules(text: str, source: str = "<string>") -> RatingRules:
    doc = yaml.safe_load(text)
    _keys(doc, ("version", "effective_from", "points", "levels", "positive_rate", "dsr"), "", source)
    pts, lv, pr, dsr = doc["points"], doc["levels"], doc["positive_rate"], doc["dsr"]
    _keys(pts, ("by_score", "directions", "requires", "pair_month_cap", "same_item_days"), "points", source)
    by_score = pts["by_score"]
    if not isinstance(by_score, dict) or set(by_score) != {1, 2, 3, 4, 5} or \
            not all(isinstance(v, int) for v in by_score.values()):
        raise VocabularyError(source, "points.by_score: give an integer for each score 1..5")
    _keys(lv, ("tiers",), "levels", source)
    _keys(pr, ("window_days",), "positive_rate", source)
    _keys(dsr, ("window_days", "dimensions", "pair_month_cap"), "dsr", source)
    if set(pts["requires"]) - {"paid", "completed"}:
        raise VocabularyError(source, "points.requires: only paid and completed are known")
    _check_points(pts, source)
    dims = dsr["dimensions"]
    if not isinstance(dims, list) or not dims or len(set(dims)) != len(dims) or not set(dims) <= set(DSR_DIMENSIONS):
        raise VocabularyError(source, f"dsr.dimensions: a list of distinct names among {', '.join(DSR_DIMENSIONS)}")
    return RatingRules(
        version=_int(doc["version"], "version", source), effective_from=_date(doc["effective_from"], source),
        by_score=dict(by_score), directions=tuple(pts["directions"]), requires=tuple(pts["requires"]),
        pair_month_cap=_int(pts["pair_month_cap"], "points.pair_month_cap", source),
        same_item_days=_int(pts["same_item_days"], "points.same_item_days", source),
        levels=_levels(lv["tiers"], source),
        positive_window_days=_int(pr["window_days"], "positive_rate.window_days", source),
        dsr_window_days=_int(dsr["window_days"], "dsr.window_days", source),
        dsr_dimensions=tuple(dsr["dimensions"]),
        dsr_pair_month_cap=_int(dsr["pair_month_cap"], "dsr.pair_month_cap", source))


def _check_points(pts: dict[str, Any], source: str) -> None:
    """What the points rules must say to mean anything: a misspelt direction loaded, and that direction's
    ratings then gave no points without a word; a score worth more than the month's cap, a cap of 0, or a
    better score worth less than a worse one also loaded (found by review)."""
    directions = pts["directions"]
    if not isinstance(directions, list) or len(set(directions)) != len(directions) \
            or not set(directions) <= set(DIRECTIONS):
        raise VocabularyError(source, f"points.directions: distinct directions among {', '.join(DIRECTIONS)}")
    cap = _int(pts["pair_month_cap"], "points.pair_month_cap", source)
    worth = [pts["by_score"][score] for score in (1, 2, 3, 4, 5)]
    if cap < 1 or any(abs(v) > cap for v in worth) or worth != sorted(worth):
        raise VocabularyError(source, "points.by_score: each score's points within ±pair_month_cap (at least 1), "
                                      "a better score never worth less than a worse one")


def _keys(obj: Any, keys: Sequence[str], where: str, source: str) -> None:
    if not isinstance(obj, dict) or set(obj) != set(keys):
        raise VocabularyError(source, f"{where or 'top level'}: expected exactly the keys {', '.join(keys)}")


def _int(value: Any, where: str, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise VocabularyError(source, f"{where}: expected a non-negative integer, got {value!r}")
    return value


def _date(value: Any, source: str) -> date:
    if isinstance(value, date):
        return value
    raise VocabularyError(source, f"effective_from: expected a date, got {value!r}")


def _levels(tiers: Any, source: str) -> tuple[Level, ...]:
    flat: list[tuple[str, int, str, str, int]] = []
    for i, t in enumerate(tiers or ()):
        _keys(t, ("tier", "zh", "en", "minimums"), f"levels.tiers[{i}]", source)
        for rank, minimum in enumerate(t["minimums"], 1):
            flat.append((t["tier"], rank, t["zh"], t["en"], _int(minimum, f"levels.tiers[{i}]", source)))
    mins = [f[4] for f in flat]
    if not flat or mins != sorted(set(mins)):
        raise VocabularyError(source, "levels: minimums must rise strictly from tier to tier")
    nexts = [*mins[1:], None]
    return tuple(Level(t, r, zh, en, m, n) for (t, r, zh, en, m), n in zip(flat, nexts, strict=True))


# --- points ----------------------------------------------------------------------------------------------
def natural_month(at: str) -> str:
    """The natural month of a UTC time in China Standard Time ("2026-01-31T16:00:00Z" is February)."""
    return _month_of_hour(at[:13])  # CST is UTC+8 whole hours: the hour decides the month


@lru_cache(maxsize=1 << 16)
def _month_of_hour(hour: str) -> str:
    return (datetime.fromisoformat(hour + ":00:00") + CST).strftime("%Y-%m")


def _days_between(a: str, b: str) -> float:
    return abs((datetime.fromisoformat(a[:19]) - datetime.fromisoformat(b[:19])).total_seconds()) / 86400


def _status(r: Rating, rules: RatingRules, repeated: bool = False) -> str:
    """Why a rating cannot count at all, or COUNTED if the pair rules decide. First whether it rates a
    successful trade between its author and the one it rates (else it counts toward nothing: not points, not
    the positive rate, not DSR), then what it may count toward. `repeated`: an earlier rating of the pair
    rates the same order in the same direction, and is not a follow-up either (`_repeats`)."""
    if r.order_at is None:
        return NO_ORDER
    if not _the_orders_parties(r):  # one order rated by strangers earned points without end (found by review)
        return OTHER_PARTIES
    if "paid" in rules.requires and not r.paid:
        return NOT_PAID
    if "completed" in rules.requires and not r.completed:
        return NOT_COMPLETED
    if r.at < r.order_at:  # no rating of that trade (fixed-width UTC text: compared as text; found by review)
        return BEFORE_ORDER
    if r.follow_up:
        return FOLLOW_UP if r.follows_first else UNFOLLOWED
    if repeated:  # before a retraction: a fake order's repeated ratings are not each taken back
        return DUPLICATE
    if r.fake:  # before a cancellation: cancelling an order found fake does not undo its retraction (review)
        return RETRACTED
    if r.cancelled:
        return CANCELLED
    if r.direction not in rules.directions:
        return NO_POINTS
    return COUNTED


def _the_orders_parties(r: Rating) -> bool:
    """Whether the author and the one rated are the order's, as events-v1 names them: for buyer_to_seller the
    buyer and the shop, for seller_to_buyer the shop and the buyer, for buyer_to_carrier the buyer and a
    carrier of one of the order's shipments (`carried`). Any carrier was accepted: a buyer rated a carrier that
    never carried the order, as often as they liked (found by review)."""
    if r.direction == CARRIER:
        return r.buyer is not None and r.buyer == r.author and r.carried
    author, target = {"buyer_to_seller": (r.buyer, r.shop), "seller_to_buyer": (r.shop, r.buyer)}.get(
        r.direction, (None, None))
    return author is not None and author == r.author and target == r.target


def counts_for_target(direction: str, reason: str, eligible: bool) -> bool:
    """Whether a counted rating enters its target's ratings (`rating_sums`): one eligible for the positive
    rate, or a carrier's rating of a real trade (carrier ratings give no points but count)."""
    return eligible or (direction == CARRIER and reason == NO_POINTS)


def taken_back(direction: str, reason: str, base: int) -> bool:
    """Whether a rating counts as taken back from its target for a confirmed fake order: one that gave it
    points. A negative rating on a fake order (a competitor's attack) is not the target's doing."""
    return reason == RETRACTED and base > 0 and direction != CARRIER


def _same_item_repeats(ratings: Sequence[Rating], rules: RatingRules) -> set[Ref]:
    """Ratings of an item whose order falls within `same_item_days` of the order that opened the item's
    current window (windows opened in order-time order): these count once, i.e. not again."""
    repeats: set[Ref] = set()
    anchors: dict[str, str] = {}
    for r in sorted(ratings, key=lambda r: (r.order_at or "", r.at, r.review)):
        if r.item is None or r.order_at is None:
            continue
        anchor = anchors.get(r.item)
        if anchor is not None and _days_between(anchor, r.order_at) < rules.same_item_days:
            repeats.add(r.review)
        else:
            anchors[r.item] = r.order_at
    return repeats


def _repeats(ordered: Sequence[Rating]) -> set[Ref]:
    """Ratings of an order that an earlier rating of the pair (by posted time, then review id) already rates in
    the same direction: a later rating that is not a follow-up, and a follow-up after the first. All of a pair's
    ratings of one order share its author, the one rated and the order's state, so the first is the first."""
    seen: set[tuple[Ref, str, bool]] = set()
    later: set[Ref] = set()
    for r in ordered:
        if r.order is None or (r.follow_up and not r.follows_first):  # no follow-up of the order's: takes no turn
            continue
        key = (r.order, r.direction, r.follow_up)
        if key in seen:
            later.add(r.review)
        seen.add(key)
    return later


def count_pair(ratings: Sequence[Rating], rules: RatingRules) -> list[Counted]:
    """What each rating of one (target, author) pair counts, in time order. One order is rated once per
    direction: ten five-star reviews of one order entered the positive rate, DSR and the rating sums ten times
    (found by review); later ones are `DUPLICATE` and count toward nothing, and only the first follow-up of an
    order enters DSR."""
    ordered = sorted(ratings, key=lambda r: (r.at, r.review))
    repeated = _repeats(ordered)
    status = {r.review: _status(r, rules, r.review in repeated) for r in ordered}
    repeats = _same_item_repeats([r for r in ordered if status[r.review] == COUNTED], rules)
    month_sum: dict[str, int] = {}
    dsr_used: dict[str, int] = {}
    out = []
    for r in ordered:
        month, base = natural_month(r.at), rules.by_score[r.score]
        reason, points = status[r.review], 0
        if reason == COUNTED and r.review in repeats:
            reason = SAME_ITEM
        elif reason == COUNTED:
            running = month_sum.get(month, 0)
            points = max(-rules.pair_month_cap, min(rules.pair_month_cap, running + base)) - running
            month_sum[month] = running + points
            reason = COUNTED if points == base else MONTH_CAP
        eligible = reason in (COUNTED, SAME_ITEM, MONTH_CAP)
        # a follow-up is FOLLOW_UP whatever its order became: its DSR asks the trade itself (a cancelled
        # order's follow-up entered DSR, found by review)
        dsr = bool(r.dims) and reason not in NOT_A_TRADE and r.review not in repeated and not r.fake \
            and not r.cancelled and dsr_used.get(month, 0) < rules.dsr_pair_month_cap
        if dsr:
            dsr_used[month] = dsr_used.get(month, 0) + 1
        out.append(Counted(r.review, points, base, reason, month, eligible, dsr))
    return out


def explain(reason: str, rules: RatingRules) -> dict[str, str]:
    en, zh = REASONS[reason]
    fill = {"cap": rules.pair_month_cap, "days": rules.same_item_days}
    return {"code": reason, "en": en.format(**fill), "zh": zh.format(**fill)}


def level_for(points: int, rules: RatingRules) -> Level | None:
    """The level the points reach (None below the first heart)."""
    reached = None
    for level in rules.levels:
        if points < level.minimum:
            break
        reached = level
    return reached


# --- windows: positive rate and DSR ------------------------------------------------------------------------
def window_start(as_of: datetime, days: int) -> str:
    """The fixed-width UTC text of as_of minus `days` (ratings at or after it are in the window)."""
    return (as_of - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def positive_rate(scores: Iterable[int]) -> dict[str, Any]:
    """Positive (4-5), neutral (3) and negative (1-2) counts of eligible ratings, and the positive rate:
    positives over all (a neutral rating lowers the rate, as on Taobao). None without ratings."""
    pos = neu = neg = 0
    for s in scores:
        if s >= 4:
            pos += 1
        elif s == 3:
            neu += 1
        else:
            neg += 1
    total = pos + neu + neg
    return {"positive": pos, "neutral": neu, "negative": neg,
            "rate": round(pos / total, 4) if total else None}


def dsr_means(rows: Iterable[Sequence[int]], dimensions: Sequence[str]) -> dict[str, Any]:
    """Mean of each DSR dimension over the rows (each row: the dimensions' 1-5 values, in order)."""
    sums, n = [0] * len(dimensions), 0
    for row in rows:
        n += 1
        for i, v in enumerate(row):
            sums[i] += v
    return {"count": n, **{d: (round(sums[i] / n, 3) if n else None) for i, d in enumerate(dimensions)}}
