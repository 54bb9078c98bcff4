"""The DSR step of gathering a party's facts: each shop's detailed seller ratings over the window against its
category's average, and which average that is (the published one, or the live one when it has moved).

Neighbours: `services/profile_gather.py` (`Gather`, `Facts`), `services/profile_facts.py` (the other steps),
`services/profile_few.py` (the window's first day read with the other steps); `services/scoring.py` publishes
the averages found moved (`Facts.moved`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, select

from chengxin.adapters.db import standing_tables as st
from chengxin.domain import ratings as R
from chengxin.services import rating_sums
from chengxin.services.profile_gather import Facts, Gather, Ref, statement


def add_dsr(g: Gather, facts: Facts, rr: R.RatingRules, found: Iterable[Any] | None = None) -> None:
    """Each shop's DSR over the window against its category's average, weighted by its DSR ratings. Scoring
    some parties reads the window's first, partial day rating by rating and the kept days after it
    (`rating_sums.kept_days`); a full recompute reads every rating of the window (from the start of its first
    day, when `keep`, to write the kept days anew). `found`: the first day's ratings already read (`collect_few`)."""
    L = st.rating_ledger
    since = R.window_start(g.now, rr.dsr_window_days)
    first = since[:10]
    (q,) = statement("dsr", g.dialect, False, lambda: (select(L.c.target_source, L.c.target_id, L.c.at, L.c.dims)
                                                         .where(*DSR_WINDOW),))
    sums: dict[Ref, list[int]] = {}
    kept = g.kept
    until = (date.fromisoformat(first) + timedelta(days=1)).isoformat() if kept else "9999"
    rows = g.stream(q, L.c.target_source, L.c.target_id, g.shop_party,
                    {"since": first if g.keep else since, "until": until}) if found is None else found
    days = rating_sums.dsr_days_of(_window(rows, since, sums))
    if g.keep:
        rating_sums.rebuild_days(g.conn, days)
    if kept:
        days_after = g.days if g.days is not None else rating_sums.kept_days(g.conn, list(g.shop_party), first)
        for shop, (n, points) in days_after.items():
            acc = sums.setdefault(shop, [0, 0])
            acc[0] += n
            acc[1] += points
    _dsr_gaps(g, facts, rr, since, sums)


def _dsr_basis(g: Gather, facts: Facts, rr: R.RatingRules, since: str, categories: list[str]
               ) -> dict[str, dict[str, Any]]:
    """The average each category's shops are compared with: its published one (`category_dsr`), while the
    average over every shop of the category is within `dsr_category_step` of it on each dimension (or was read
    before it); else that average, noted in `facts.moved` to be published (`scoring.publish_categories`), its
    shops rescored. A shop's gap followed the average only when the shop itself was rescored, or a day later:
    its page compared its DSR with a stale average (found by review). A full recompute follows the same rule,
    so that it gives the scores that scoring each party alone gives."""
    from chengxin.services.standing_views import live_category_dsr, published_dsr

    step = float(g.rules.params["trade"]["dsr_category_step"])
    published = published_dsr(g.conn, categories)
    basis: dict[str, dict[str, Any]] = {}
    for category in categories:
        live, at = live_category_dsr(g.conn, category, since, fresh_below=fresh_below(step))
        kept = published.get(category)
        if kept is not None and (kept[1] >= at or within(kept[0], live, rr.dsr_dimensions, step)):
            basis[category] = kept[0]
        else:
            basis[category] = live
            facts.moved[category] = (live, at, kept is not None)
    return basis


def fresh_below(step: float) -> int:
    """Categories of fewer DSR ratings than this are read anew at each look: one rating (1 star in a category
    of 5) may move their average by more than `step`, and reading them costs little."""
    return math.ceil(4 / step)


def within(a: dict[str, Any], b: dict[str, Any], dimensions: Iterable[str], step: float) -> bool:
    """Whether two category averages are within `step` of each other on every dimension."""
    for d in dimensions:
        x, y = a.get(d), b.get(d)
        if (x is None) != (y is None) or (x is not None and abs(x - y) > step + 1e-9):
            return False
    return True


DSR_WINDOW = (st.rating_ledger.c.dsr.is_(True), st.rating_ledger.c.at >= bindparam("since"),
               st.rating_ledger.c.at < bindparam("until"), st.rating_ledger.c.direction == "buyer_to_seller")


def _window(rows: Iterable[Any], since: str, sums: dict[Ref, list[int]]) -> Iterator[Any]:
    """Pass the rows on, adding those at or after `since` to `sums` (per shop: [ratings, points])."""
    for row in rows:
        if row[2] >= since:
            acc = sums.setdefault((row[0], row[1]), [0, 0])
            acc[0] += 1
            acc[1] += rating_sums.dsr_points(row[3])
        yield row


def _dsr_gaps(g: Gather, facts: Facts, rr: R.RatingRules, since: str, sums: dict[Ref, list[int]]) -> None:
    categories = {(s.source, s.shop_id): (orjson.loads(s.categories) or [None])[0] for s in g.shops}
    basis = _dsr_basis(g, facts, rr, since, sorted({c for shop, (n, _) in sums.items()
                                                     if n and (c := categories.get(shop))}))
    k = len(rr.dsr_dimensions)  # every DSR rating has each dimension
    for shop, (n, points) in sums.items():
        category = categories.get(shop)
        avg = basis.get(category) if category and n else None
        dims = [avg[d] for d in rr.dsr_dimensions] if avg and avg["count"] else []
        if dims and (i := g.shop_party.get(shop)) is not None:
            facts.add(i, dsr_gap_sum=(points / k / n - sum(dims) / len(dims)) * n, dsr_n=n)
