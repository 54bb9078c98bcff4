"""The received ratings of each shop and subject, summed and kept as the ledger changes: how many count,
their scores, and the same weighted by their authors (fairness, lockstep), and how many were taken back.

Like the trade figures (`services/trade.py`, whose module docstring says why): the full recompute writes
every target's sums (`target_ratings`); a recount of a pair (`standing_ledger.recount`) adds the difference
between the pair's ledger rows before and after; scoring a party reads one row per shop or subject. A
rating's weight changes only at a full recompute. Weights are integer millionths, so that sums kept event
by event equal a full count exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Integer, and_, bindparam, case, cast, delete, func, select

from chengxin.adapters.db import bulk, direct, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.domain import ratings as R
from chengxin.domain import scoring as S
from chengxin.services import trade

Ref = tuple[str, str]
SUMS = ("ratings", "total", "wtotal", "wsum", "retracted")  # of `target_ratings`, after the target
_ZERO = [0, 0, 0, 0, 0]


def rows_stmt(rules: S.ScoreRules, plain: bool) -> Any:
    """Every ledger row's target, whether it counts (carrier ratings count though they give no points),
    score, author's weight and whether it was taken back; the caller narrows it by target or review."""
    L, r = st.rating_ledger, t.reviews
    w, joins = trade.weight(rules, plain, L.c.author_source, L.c.author_id, r.c.order_source, r.c.order_id)
    # as R.counts_for_target and R.taken_back, in SQL
    counts = case((L.c.eligible.is_(True), 1), (and_(L.c.direction == R.CARRIER, L.c.reason == R.NO_POINTS), 1),
                  else_=0)
    taken = and_(L.c.reason == R.RETRACTED, L.c.base > 0, L.c.direction != R.CARRIER)
    frm: Any = L.join(r, and_(r.c.source == L.c.source, r.c.review_id == L.c.review_id))
    for table, cond in joins:
        frm = frm.outerjoin(table, cond)
    return select(L.c.target_source, L.c.target_id, counts, L.c.score, w,
                  cast(taken, Integer), L.c.source, L.c.review_id).select_from(frm)


def contribution(counts: Any, score: Any, weight: Any, retracted: Any) -> list[int]:
    """One ledger row's part in its target's sums."""
    c, s, w = int(counts), int(score), round(float(weight) * trade.SCALE)
    return [c, c * s, c * w, c * w * s, int(retracted or 0)]


def by_target(rows: Iterable[Sequence[Any]]) -> dict[Ref, list[int]]:
    sums: dict[Ref, list[int]] = {}
    for row in rows:
        acc = sums.setdefault((row[0], row[1]), list(_ZERO))
        for i, v in enumerate(contribution(*row[2:6])):
            acc[i] += v
    return sums


def rebuild(conn: Connection, rows: Iterable[Sequence[Any]], chunk: int = 20_000) -> dict[Ref, list[int]]:
    """Rewrite every rating's part and every target's sums from `rows` (every ledger row's, `rows_stmt`), in
    the caller's transaction (the full recompute's, which then marks the kept figures built); returns them."""
    for table in (st.target_ratings, st.rating_parts):
        conn.execute(delete(table))
    sums: dict[Ref, list[int]] = {}
    parts: list[tuple[Any, ...]] = []
    for row in rows:
        part = contribution(*row[2:6])
        acc = sums.setdefault((row[0], row[1]), list(_ZERO))
        for i, v in enumerate(part):
            acc[i] += v
        parts.append((row[6], row[7], row[0], row[1], *part))
        if len(parts) >= chunk:
            bulk.insert_tuples(conn, "rating_parts", parts)
            parts.clear()
    bulk.insert_tuples(conn, "rating_parts", parts)
    bulk.insert_tuples(conn, "target_ratings", [(*target, *v) for target, v in sums.items()])
    return sums


def recounted(conn: Connection, rules: S.ScoreRules, before: Iterable[Ref], after: list[tuple[Any, ...]]) -> None:
    """A recount replaced the ledger rows of reviews `before` by `after` (target, review, counts, score,
    retracted): take back what each old row counted, as kept, add what each new one counts now, keep it."""
    p = st.rating_parts
    old = list(dict.fromkeys(before))
    kept_parts = {(r[0], r[1]): r for r in direct.in_refs(conn, _PARTS, p.c.source, p.c.review_id, old)}
    weights_now = weights(conn, rules, [a[1] for a in after])
    deltas: dict[Ref, list[int]] = {}
    for review in old:
        if (was := kept_parts.get(review)) is not None:
            acc = deltas.setdefault((was[2], was[3]), list(_ZERO))
            for i, v in enumerate(was[4:]):
                acc[i] -= v
            direct.execute(conn, _DROP_PART, {"src": review[0], "id": review[1]})
    rows = []
    for target, review, counts, score, taken in after:
        if review not in weights_now:  # a ledger row counts only with its review (the full count joins them)
            continue
        part = contribution(counts, score, weights_now[review], taken)
        acc = deltas.setdefault(target, list(_ZERO))
        for i, v in enumerate(part):
            acc[i] += v
        rows.append((*review, *target, *part))
    bulk.insert_tuples(conn, "rating_parts", rows)
    apply(conn, deltas)


def kept(conn: Connection, targets: list[Ref]) -> dict[Ref, list[int]]:
    """The kept sums of these targets (a target never rated has no row)."""
    k = st.target_ratings
    return {(r[0], r[1]): list(r[2:]) for r in direct.in_refs(conn, _KEPT, k.c.target_source, k.c.target_id, targets)}


def apply(conn: Connection, deltas: dict[Ref, list[int]]) -> None:
    """Add these differences to their targets' sums (a recount, in its transaction)."""
    deltas = {k: d for k, d in deltas.items() if any(d)}
    if not deltas:
        return
    now = kept(conn, list(deltas))
    upsert.insert_or_update(conn, st.target_ratings, [
        {"target_source": k[0], "target_id": k[1],
         **dict(zip(SUMS, (a + b for a, b in zip(now.get(k, _ZERO), d, strict=True)), strict=True))}
        for k, d in deltas.items()])


def weights(conn: Connection, rules: S.ScoreRules, reviews: list[Ref]) -> dict[Ref, float]:
    """The weight of each of these reviews' authors (fairness, and the lockstep flag of the review's order)."""
    r = t.reviews
    stmt = _WEIGHTS.get("w")
    if stmt is None:
        w, joins = trade.weight(rules, False, r.c.author_source, r.c.author_id, r.c.order_source, r.c.order_id)
        frm: Any = r
        for table, cond in joins:
            frm = frm.outerjoin(table, cond)
        stmt = _WEIGHTS["w"] = select(r.c.source, r.c.review_id, w).select_from(frm)
    return {(a, b): float(w) for a, b, w in direct.in_refs(conn, stmt, r.c.source, r.c.review_id, reviews)}


_PARTS = select(*(st.rating_parts.c[c] for c in ("source", "review_id", "target_source", "target_id", *SUMS)))
_DROP_PART = delete(st.rating_parts).where(st.rating_parts.c.source == bindparam("src"),
                                           st.rating_parts.c.review_id == bindparam("id"))
_KEPT = select(*(st.target_ratings.c[c] for c in ("target_source", "target_id", *SUMS)))
_WEIGHTS: dict[str, Any] = {}


# --- DSR by day ---------------------------------------------------------------------------------------------
# A shop's DSR is the mean over its ratings of the last 180 days: kept per day (`dsr_days`: DSR ratings and
# the sum of their dimensions' values), a window reads at most ~181 day rows and the ratings of its first,
# partial day, however many ratings the shop has.
def dsr_points(dims: str | None) -> int:
    """A DSR rating's dimensions summed (`"5,4,5"` -> 14)."""
    return sum(int(x) for x in dims.split(",")) if dims else 0


def dsr_days_of(rows: Iterable[Sequence[Any]]) -> dict[tuple[str, str, str], list[int]]:
    """(target source, id, day) -> [ratings, points] of rows (target source, id, at, dims)."""
    days: dict[tuple[str, str, str], list[int]] = {}
    for ts, ti, at, dims in rows:
        acc = days.setdefault((ts, ti, at[:10]), [0, 0])
        acc[0] += 1
        acc[1] += dsr_points(dims)
    return days


def rebuild_days(conn: Connection, days: dict[tuple[str, str, str], list[int]]) -> None:
    conn.execute(delete(st.dsr_days))
    bulk.insert_tuples(conn, "dsr_days", [(*k, *v) for k, v in days.items()])


def add_days(conn: Connection, deltas: dict[tuple[str, str, str], list[int]]) -> None:
    """Add these differences to the kept days (a recount, in its transaction)."""
    deltas = {k: d for k, d in deltas.items() if any(d)}
    rows = []
    for key, (n, points) in deltas.items():
        found = direct.rows(conn, _DAY, dict(zip(("ts", "ti", "day"), key, strict=True)))
        was = found[0] if found else (0, 0)
        rows.append({"target_source": key[0], "target_id": key[1], "day": key[2], "ratings": was[0] + n,
                     "points": was[1] + points})
    if rows:
        upsert.insert_or_update(conn, st.dsr_days, rows)


def kept_days(conn: Connection, shops: list[Ref], after: str) -> dict[Ref, list[int]]:
    """Per shop, the kept [ratings, points] of the days after `after` (a YYYY-MM-DD day)."""
    d = st.dsr_days
    sums: dict[Ref, list[int]] = {}
    for ts, ti, n, points in direct.in_refs(conn, _DAYS, d.c.target_source, d.c.target_id, shops,
                                            {"after": after}):
        acc = sums.setdefault((ts, ti), [0, 0])
        acc[0] += int(n or 0)
        acc[1] += int(points or 0)
    return sums


_DAY = select(st.dsr_days.c.ratings, st.dsr_days.c.points).where(
    st.dsr_days.c.target_source == bindparam("ts"), st.dsr_days.c.target_id == bindparam("ti"),
    st.dsr_days.c.day == bindparam("day"))
_DAYS = select(st.dsr_days.c.target_source, st.dsr_days.c.target_id, func.sum(st.dsr_days.c.ratings),
               func.sum(st.dsr_days.c.points)).where(st.dsr_days.c.day > bindparam("after")).group_by(
    st.dsr_days.c.target_source, st.dsr_days.c.target_id)
