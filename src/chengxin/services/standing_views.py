"""Reading the credit standing of a shop or subject: points, level, positive rate, DSR against the
category average, and the ledger of what each rating counts and why (`services/standing_ledger.py` keeps them)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

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
    reports), DSR against the category's average when a `category` is given."""
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
        view["dsr"]["category_average"] = category_dsr(conn, category, since_dsr)
    return view


def _dims(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


_CATEGORY_CACHE: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}


def category_dsr(conn: Connection, category: str, since: str) -> dict[str, Any]:
    """Mean DSR of all shops whose first category is `category`, over the window (cached ten minutes:
    a category's average moves slowly, and it spans every shop of the category)."""
    key = (str(conn.engine.url), category, since[:13])
    hit = _CATEGORY_CACHE.get(key)
    if hit and time.monotonic() - hit[0] < 600:
        return hit[1]
    L, s = st.rating_ledger, t.shops
    q = select(L.c.dims).select_from(L.join(s, and_(s.c.source == L.c.target_source, s.c.shop_id == L.c.target_id))
                                     ).where(L.c.dsr.is_(True), L.c.at >= since,
                                             s.c.categories.startswith(f'["{category}"', autoescape=True))
    means = R.dsr_means((_dims(d) for d in conn.execute(q).scalars()), rules().dsr_dimensions)
    _CATEGORY_CACHE[key] = (time.monotonic(), means)
    return means


def ledger_view(app: Chengxin, target: Ref, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ratings of a target with what each counts and why (zh and en)."""
    L = st.rating_ledger
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(L).where(L.c.target_source == target[0], L.c.target_id == target[1])
                            .order_by(L.c.at.desc()).limit(limit))
        return [{"review": {"source": x.source, "id": x.review_id}, "score": x.score, "at": x.at,
                 "points": x.points, "why": R.explain(x.reason, rules())} for x in rows]
