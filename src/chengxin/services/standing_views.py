"""Reading the credit standing of a shop or subject: points, level, positive rate, DSR against the
category average, and the ledger of what each rating counts and why (`services/standing_ledger.py` keeps them)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, func, select

from chengxin.adapters.db import direct
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.db.query import pair_in
from chengxin.bootstrap import Chengxin
from chengxin.domain import ratings as R
from chengxin.services.standing import rules

Ref = tuple[str, str]


def points_of(conn: Connection, targets: list[Ref]) -> int:
    """The credit points of these rated entities together (a merchant's shops, a person's reports)."""
    if not targets:
        return 0
    s = st.standings
    total = conn.execute(select(func.coalesce(func.sum(s.c.points), 0)).where(
        pair_in(s.c.target_source, s.c.target_id, targets))).scalar_one()
    return int(total)


# Kinds that mutual ratings give no credit points (hearts, diamonds) unless they run a shop: points pass between
# buyer and seller only (vocab/rating_rules.yaml); a carrier's ratings count in its score but earn no level.
# A logistics firm's page showed "暂无等级 积满 4 分为 1红心" (public review finding 9).
NO_POINTS_KINDS = frozenset({"logistics", "courier", "platform", "service_agency"})


def earns_points(kind: str, shops: list[Ref]) -> bool:
    """Whether a party has credit points and a level to show: a seller (it runs shops) or a buyer's kind."""
    return bool(shops) or kind not in NO_POINTS_KINDS


def standing_view(conn: Connection, target: Ref, *, category: str | None = None,
                  as_of: datetime | None = None) -> dict[str, Any]:
    """Points, level, positive rate and DSR (with the category's average) of a rated shop or subject."""
    rr = rules()
    row = conn.execute(select(st.standings.c.points, st.standings.c.ratings).where(
        st.standings.c.target_source == target[0], st.standings.c.target_id == target[1])).first()
    points = int(row.points) if row else 0
    level = R.level_for(points, rr)
    return {"points": points, "level": level.as_dict() if level else None,
            **rates_of(conn, [target], category=category, as_of=as_of)}


def rates_of(conn: Connection, targets: list[Ref], *, category: str | None = None,
             as_of: datetime | None = None) -> dict[str, Any]:
    """The positive rate and DSR of these rated entities together (a shop; a merchant's shops; a person's
    reports), DSR against the category's average when a `category` is given: the published one, which scores
    compare with too (`category_average`)."""
    rr, L = rules(), st.rating_ledger
    as_of = as_of or datetime.now(UTC)
    mine = pair_in(L.c.target_source, L.c.target_id, targets) if len(targets) != 1 else and_(
        L.c.target_source == targets[0][0], L.c.target_id == targets[0][1])  # one: the index's own equality
    since_pr = R.window_start(as_of, rr.positive_window_days)
    scores: list[int] = list(conn.execute(select(L.c.score).where(
        mine, L.c.eligible.is_(True), L.c.at >= since_pr)).scalars()) if targets else []
    since_dsr = R.window_start(as_of, rr.dsr_window_days)
    dims: list[str] = list(conn.execute(select(L.c.dims).where(
        mine, L.c.dsr.is_(True), L.c.at >= since_dsr)).scalars()) if targets else []
    dsr = R.dsr_means((_dims(d) for d in dims), rr.dsr_dimensions)
    view: dict[str, Any] = {"positive_rate": {**R.positive_rate(scores), "window_days": rr.positive_window_days},
                            "dsr": {**dsr, "window_days": rr.dsr_window_days}}
    if category:
        view["dsr"]["category"] = category
        view["dsr"]["category_average"] = category_average(conn, category, since_dsr)
        view["dsr"].update(dsr_comparison(dsr["count"]))
    return view


def dsr_comparison(count: int) -> dict[str, Any]:
    """Whether a DSR of `count` ratings is compared with its category's average (`compared`), by the score's
    own rule (`trade.dsr_min_ratings`, `domain.scoring.dsr_comparable`), and, when not, why in zh and en
    (`note`): "22.0% above the category" was shown on one rating (found by a public review)."""
    from chengxin.domain.scoring import dsr_comparable
    from chengxin.services.scoring import score_rules

    trade_rules = score_rules().params["trade"]
    least = int(trade_rules["dsr_min_ratings"])
    if dsr_comparable(count, trade_rules):
        return {"compared": True, "min_ratings": least}
    return {"compared": False, "min_ratings": least,
            "note": {"zh": f"评分仅{count}条，少于{least}条，不与同类比较（仅供参考）",
                     "en": f"only {count} rating(s), fewer than {least}: not compared with the category"}}


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


_CATEGORY_CACHE: dict[tuple[str, str, str], tuple[float, dict[str, Any], str]] = {}


def category_dsr(conn: Connection, category: str, since: str) -> dict[str, Any]:
    """Mean DSR of all shops whose first category is `category`, over the window (cached ten minutes:
    a category's average moves slowly, and it spans every shop of the category)."""
    return live_category_dsr(conn, category, since)[0]


def live_category_dsr(conn: Connection, category: str, since: str, *, fresh_below: int = 0
                      ) -> tuple[dict[str, Any], str]:
    """`category_dsr`, and when it was read (UTC text). An average of fewer than `fresh_below` ratings is read
    anew each time: one rating may move it by more than a step, and reading it costs little."""
    key = (str(conn.engine.url), category, since[:13])
    hit = _CATEGORY_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < 600 and hit[1]["count"] >= fresh_below:
        return hit[1], hit[2]
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    L, s = st.rating_ledger, t.shops
    q = select(L.c.dims).select_from(L.join(s, and_(s.c.source == L.c.target_source, s.c.shop_id == L.c.target_id))
                                     ).where(L.c.dsr.is_(True), L.c.at >= since, _of_category(category))
    means = R.dsr_means((_dims(d) for d in conn.execute(q).scalars()), rules().dsr_dimensions)
    _CATEGORY_CACHE[key] = (time.monotonic(), means, at)
    return means, at


def _of_category(category: str) -> Any:
    """A shop whose first category is `category`."""
    return t.shops.c.categories.startswith(f'["{category}"', autoescape=True)


def shops_of_category(conn: Connection, category: str) -> list[Ref]:
    """The shops whose first category is `category` (read whole: only when its published average moves)."""
    s = t.shops.c
    return [(r[0], r[1]) for r in conn.execute(select(s.source, s.shop_id).where(_of_category(category)))]


def published_dsr(conn: Connection, categories: list[str]) -> dict[str, tuple[dict[str, Any], str]]:
    """The published averages of these categories (`category_average`), each with when it was read."""
    found = {}
    for category in categories:  # a few: the categories of the shops being scored
        for _, average, at in direct.rows(conn, _PUBLISHED, {"c": category}):
            found[category] = (orjson.loads(average), at)
    return found


_PUBLISHED = select(st.category_dsr.c.category, st.category_dsr.c.average, st.category_dsr.c.computed_at).where(
    st.category_dsr.c.category == bindparam("c"))  # built once, run on the driver's cursor (a scoring step's)


def category_average(conn: Connection, category: str, since: str) -> dict[str, Any]:
    """The DSR average of a category as shop pages show it and scores compare shops with: the published one
    (`as_of`: when it was read from the ratings), which follows the average over every shop of the category
    within a step (`services/profile_dsr.py`, docs/scoring.md); before its first publication, that average, `as_of`
    when it was read (the shop page says the date: a reader could not tell how old the average was)."""
    found = published_dsr(conn, [category]).get(category) or live_category_dsr(conn, category, since)
    return {**found[0], "as_of": found[1]}


def ledger_view(app: Chengxin, target: Ref, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ratings of a target with what each counts and why (zh and en)."""
    L = st.rating_ledger
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(L).where(L.c.target_source == target[0], L.c.target_id == target[1])
                            .order_by(L.c.at.desc()).limit(limit))
        return [{"review": {"source": x.source, "id": x.review_id}, "score": x.score, "at": x.at,
                 "points": x.points, "why": R.explain(x.reason, rules())} for x in rows]
