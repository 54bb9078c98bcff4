"""The rating ledger and the standings: what each rating counts and why (`domain/ratings.py`, by
`standing.rules`), and each rated entity's points and number of ratings summed from it. `recount` rewrites
the ledger of some buyer-seller pairs (a drain of the queue, `services/standing_drain.py`, or a verdict,
`services/standing_verdicts.py`), `rebuild` all of it (`chengxin score`). Points a verdict takes back or
gives back become credit records (`services/standing_retractions.py`); `services/standing_views.py` reads
the ledger and the standings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Integer, and_, bindparam, case, cast, delete, exists, func, literal, select

from chengxin.adapters.db import bulk, direct, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain import ratings as R
from chengxin.domain.events import as_ref
from chengxin.services import columnar, credit_log, rating_sums, standing_retractions, trade
from chengxin.services.standing import Pair, Ref, rules


def _ratings_query() -> Any:
    """Ratings with what the rules need of their orders: placed time, first item, paid, completed, fake, its
    parties, cancelled, and whether a shipment of the order names the one rated as its carrier (in this one
    statement: no statement more per recount)."""
    r, o, u, v, s, f = t.reviews, t.orders, t.order_updates, st.order_verdicts, t.shipments, t.reviews.alias("f")
    same_order = and_(u.c.order_source == r.c.order_source, u.c.order_id == r.c.order_id)
    return select(
        r.c.source, r.c.review_id, r.c.target_source, r.c.target_id, r.c.author_source, r.c.author_id,
        r.c.direction, r.c.score, r.c.posted_at, r.c.follows_id, r.c.dimensions, o.c.placed_at, o.c["items"],
        # as integers, not booleans: SQLite's booleans need SQLAlchemy's processing, and a pair's recount
        # then could not run on the driver's cursor (`adapters/db/direct.py`); `_rating` reads them as truth
        cast(exists().where(same_order, u.c.kind == "paid"), Integer).label("paid"),
        cast(exists().where(same_order, u.c.kind == "completed"), Integer).label("completed"),
        cast(exists().where(v.c.order_source == r.c.order_source, v.c.order_id == r.c.order_id,
                            v.c.verdict == "fake"), Integer).label("fake"),
        r.c.order_source,  # a bare product id in the order's items names a product of the order's source
        o.c.buyer_source, o.c.buyer_id, o.c.shop_source, o.c.shop_id,  # whom a rating of the order may name
        cast(exists().where(same_order, u.c.kind == "cancelled"), Integer).label("cancelled"),
        cast(exists().where(s.c.order_source == r.c.order_source, s.c.order_id == r.c.order_id,
                            s.c.carrier_source == r.c.target_source, s.c.carrier_id == r.c.target_id),
             Integer).label("carried"),
        r.c.order_id,
        # a follow-up: whether it follows its author's first rating of this order of the one rated (one of no
        # such rating entered DSR; found by review). Looked up for follow-ups only.
        case((r.c.follows_id.is_(None), 1), else_=cast(exists().where(
            f.c.source == r.c.follows_source, f.c.review_id == r.c.follows_id, f.c.follows_id.is_(None),
            f.c.author_source == r.c.author_source, f.c.author_id == r.c.author_id,
            f.c.target_source == r.c.target_source, f.c.target_id == r.c.target_id,
            f.c.order_source == r.c.order_source, f.c.order_id == r.c.order_id), Integer)).label("follows_first"),
    ).select_from(r.outerjoin(o, and_(o.c.source == r.c.order_source, o.c.order_id == r.c.order_id))).where(
        r.c.target_id.is_not(None), r.c.author_id.is_not(None))


_PAIR_Q = None


def _pair_rows(conn: Connection, pair: Pair) -> list[Any]:
    global _PAIR_Q
    r = t.reviews
    if _PAIR_Q is None:
        from sqlalchemy import bindparam

        _PAIR_Q = _ratings_query().where(
            r.c.target_source == bindparam("ts"), r.c.target_id == bindparam("ti"),
            r.c.author_source == bindparam("as_"), r.c.author_id == bindparam("ai"))
    (ts, ti), (as_, ai) = pair
    return direct.rows(conn, _PAIR_Q, {"ts": ts, "ti": ti, "as_": as_, "ai": ai})


def _dims(given: dict[str, int], names: tuple[str, ...]) -> tuple[int, ...] | None:
    """The DSR dimensions the rules name, in their order (None unless the review gives each)."""
    return tuple(given[d] for d in names) if all(d in given for d in names) else None


def _rating(row: Sequence[Any]) -> R.Rating:
    """A rating from a row of `_ratings_query` (a Row or a plain tuple)."""
    (source, review_id, ts, ti, as_, ai, direction, score, posted_at, follows_id, dimensions, placed_at, items,
     paid, completed, fake, order_source, b_src, b_id, s_src, s_id, cancelled, carried, order_id, follows_first) = row
    listed = orjson.loads(items) if items else None
    first = as_ref(order_source, listed[0]["product_id"]) if listed else None
    # one key whichever way the product is named (bare, or as a reference of the order's own source): they
    # counted as two items, and two ratings of one item within 14 days as two (found by review)
    item = f"{first[0]}|{first[1]}" if first else None
    dims = orjson.loads(dimensions) if dimensions else None
    return R.Rating(
        (source, review_id), (ts, ti), (as_, ai), direction, score, posted_at, order_at=placed_at, item=item,
        paid=bool(paid), completed=bool(completed), fake=bool(fake), follow_up=follows_id is not None,
        dims=_dims(dims, rules().dsr_dimensions) if dims else None,
        buyer=(b_src, b_id) if b_id is not None else None, shop=(s_src, s_id) if s_id is not None else None,
        cancelled=bool(cancelled), carried=bool(carried),
        order=(order_source, order_id) if order_id is not None else None,
        follows_first=bool(follows_first))


def recount(conn: Connection, app: Chengxin, pairs: Iterable[Pair]) -> None:
    """Recount these pairs: rewrite their ledger rows, record points taken back or restored, update the
    standings of their targets. Runs in the caller's write transaction."""
    targets: dict[Ref, None] = {}
    ledger: list[tuple[Any, ...]] = []
    before: list[tuple[Any, ...]] = []
    counted: list[tuple[Ref, R.Rating, R.Counted]] = []
    work = list(dict.fromkeys(pairs))
    for pair in work:  # grows while it runs: pairs that still count a review that has moved into this one
        rows = _pair_rows(conn, pair)
        work.extend(p for p in _moved_from(conn, pair, rows) if p not in work)
        ratings = [_rating(row) for row in rows]
        old = _old_ledger(conn, pair)
        _delete_pair(conn, pair)
        for rating, c in zip(sorted(ratings, key=_time_order), R.count_pair(ratings, rules()),
                             strict=True):
            ledger.append(_ledger_tuple(rating, c))
            counted.append((pair[0], rating, c))
        before.extend((*review, pair[0], *row) for review, row in old.items())
        targets[pair[0]] = None
    bulk.insert_tuples(conn, "rating_ledger", ledger)
    _update_standings(conn, list(targets), before, ledger)
    _keep_sums(conn, before, ledger)
    # what each rating's records took back, brought to what is due now (no statement unless a rating is taken
    # back now or was before); a drain that appends them is redone durable (`standing_drain._settle_marks`)
    records = standing_retractions.recount_changes(conn, counted, [(b[2], (b[0], b[1]), b[4]) for b in before])
    if records:
        credit_log.append(conn, app.keys, app.settings.log_origin, records)


def _moved_from(conn: Connection, pair: Pair, rows: Sequence[Any]) -> list[Pair]:
    """The other pairs whose ledger still counts one of these ratings: a review re-sent with another author or
    target. They are recounted too, so that the rating leaves them (and is not counted, nor keyed, twice)."""
    L = st.rating_ledger
    found = direct.in_refs(conn, _COUNTED_IN, L.c.source, L.c.review_id, [(r[0], r[1]) for r in rows])
    return [p for p in {((a, b), (c, d)) for a, b, c, d in found} if p != pair]


_COUNTED_IN = select(st.rating_ledger.c.target_source, st.rating_ledger.c.target_id, st.rating_ledger.c.author_source,
                     st.rating_ledger.c.author_id)


def _old_ledger(conn: Connection, pair: Pair) -> dict[Ref, tuple[Any, ...]]:
    """A pair's ledger rows before its recount: review -> (points, reason, score, eligible, direction, dsr, at,
    dims)."""
    return {(r[0], r[1]): tuple(r[2:]) for r in direct.rows(conn, _OLD_LEDGER, _pair_params(pair))}


def _keep_sums(conn: Connection, before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]) -> None:
    """Add the recount's difference to the kept rating sums of its targets (`services/rating_sums.py`):
    `before` as (review source, id, target, points, reason, score, eligible, direction, dsr, at, dims),
    `after` as ledger tuples; and their DSR ratings to the kept days. Nothing to do until a full
    recompute has built them."""
    from chengxin.services import scoring

    if not (before or after) or not trade.built(conn):
        return
    rating_sums.recounted(conn, scoring.score_rules(), [(b[0], b[1]) for b in before], [
        ((a[2], a[3]), (a[0], a[1]), R.counts_for_target(a[6], a[12], a[13]), a[7], R.taken_back(a[6], a[12], a[11]))
        for a in after])
    days: dict[tuple[str, str, str], list[int]] = {}
    for sign, target, dsr, direction, at, dims in (
            *((-1, b[2], b[8], b[7], b[9], b[10]) for b in before),
            *((1, (a[2], a[3]), a[14], a[6], a[8], a[15]) for a in after)):
        if dsr and direction == "buyer_to_seller":
            acc = days.setdefault((*target, at[:10]), [0, 0])
            acc[0] += sign
            acc[1] += sign * rating_sums.dsr_points(dims)
    rating_sums.add_days(conn, days)


def _pair_params(pair: Pair) -> dict[str, str]:
    (ts, ti), (as_, ai) = pair
    return {"ts": ts, "ti": ti, "as": as_, "ai": ai}


def _delete_pair(conn: Connection, pair: Pair) -> None:
    direct.execute(conn, _DELETE_PAIR, _pair_params(pair))


_PAIR_COND = (st.rating_ledger.c.target_source == bindparam("ts"), st.rating_ledger.c.target_id == bindparam("ti"),
              st.rating_ledger.c.author_source == bindparam("as"), st.rating_ledger.c.author_id == bindparam("ai"))
_OLD_LEDGER = select(st.rating_ledger.c.source, st.rating_ledger.c.review_id, st.rating_ledger.c.points,
                     st.rating_ledger.c.reason, st.rating_ledger.c.score,
                     cast(st.rating_ledger.c.eligible, Integer), st.rating_ledger.c.direction,
                     cast(st.rating_ledger.c.dsr, Integer), st.rating_ledger.c.at, st.rating_ledger.c.dims).where(
    *_PAIR_COND)
_DELETE_PAIR = delete(st.rating_ledger).where(*_PAIR_COND)


LEDGER_COLUMNS = ("source", "review_id", "target_source", "target_id", "author_source", "author_id", "direction",
                  "score", "at", "month", "points", "base", "reason", "eligible", "dsr", "dims")


def _ledger_tuple(r: R.Rating, c: R.Counted) -> tuple[Any, ...]:
    """A rating_ledger row, in LEDGER_COLUMNS order (the table's)."""
    return (*r.review, *r.target, *r.author, r.direction, r.score, r.at, c.month, c.points, c.base, c.reason,
            c.eligible, c.dsr, ",".join(map(str, r.dims)) if r.dims else None)



def _update_standings(conn: Connection, targets: list[Ref], before: list[tuple[Any, ...]],
                      after: list[tuple[Any, ...]]) -> None:
    """Add the recount's difference in points and ratings to its targets' standings: `before`, the old ledger
    rows of the pairs recounted (as `_keep_sums` takes them), `after` their new ledger tuples. (Summing a
    target's whole ledger instead grew with its ratings.)"""
    change = {target: [0, 0] for target in targets}
    for b in before:
        change[b[2]][0] -= b[3]
        change[b[2]][1] -= 1
    for a in after:
        change[(a[2], a[3])][0] += a[10]
        change[(a[2], a[3])][1] += 1
    s = st.standings
    was = {(r[0], r[1]): (r[2], r[3]) for r in direct.in_refs(conn, _STANDINGS, s.c.target_source, s.c.target_id,
                                                               targets)}
    now = credit_log.now_utc()
    upsert.insert_or_update(conn, s, [
        {"target_source": ts, "target_id": ti, "points": was.get((ts, ti), (0, 0))[0] + points,
         "ratings": was.get((ts, ti), (0, 0))[1] + n, "updated_at": now}
        for (ts, ti), (points, n) in change.items()])


_STANDINGS = select(st.standings.c.target_source, st.standings.c.target_id, st.standings.c.points,
                    st.standings.c.ratings)


def rebuild(app: Chengxin, *, chunk: int = 5000) -> dict[str, int]:
    """Recount every pair from the events (`chengxin score`): ledger and standings rewritten. Streams the
    ratings pair by pair and writes the ledger `chunk` rows at a time, so memory does not grow with them.
    (Read through DuckDB instead, bench-10m's 652,855 ratings took as long and its child peaked at 1.7 GB:
    the ORDER BY holds every rating.)"""
    assert bulk.columns("rating_ledger") == LEDGER_COLUMNS
    with write_transaction(app.engine) as conn:
        # the kept rating sums no longer match the ledger: counted from it until the full recompute that
        # follows builds them again (`services/rating_sums.py`)
        for table in (st.rating_ledger, st.standings, st.scoring_queue, st.trade_state, st.scoring_failures):
            conn.execute(delete(table))
        trade.note_built(conn, False)
        r, the_rules = t.reviews, rules()
        q = _ratings_query().order_by(r.c.target_source, r.c.target_id, r.c.author_source, r.c.author_id)
        ledger: list[tuple[Any, ...]] = []
        targets: set[Ref] = set()
        pairs = ratings = 0
        for (ts, ti, _, _), group in groupby(columnar.stream(conn, q), key=itemgetter(2, 3, 4, 5)):
            batch = sorted(map(_rating, group), key=_time_order)
            ledger.extend(map(_ledger_tuple, batch, R.count_pair(batch, the_rules)))
            targets.add((ts, ti))
            pairs += 1
            if len(ledger) >= chunk:
                ratings += len(ledger)
                bulk.insert_tuples(conn, "rating_ledger", ledger)
                ledger.clear()
        ratings += len(ledger)
        bulk.insert_tuples(conn, "rating_ledger", ledger)
        _rebuild_standings(conn)
        # the records of points taken back follow the ledger: those a verdict's recount could not write (the
        # ratings arrived after it, or were stored without a drain) are written here, and none twice
        records = standing_retractions.all_changes(conn)
        if records:
            credit_log.append(conn, app.keys, app.settings.log_origin, records)
    return {"pairs": pairs, "ratings": ratings, "targets": len(targets)}


def _time_order(r: R.Rating) -> tuple[str, Ref]:  # the order `count_pair` returns its counts in
    return r.at, r.review


def _rebuild_standings(conn: Connection) -> None:
    L, now = st.rating_ledger, credit_log.now_utc()
    conn.execute(st.standings.insert().from_select(
        ["target_source", "target_id", "points", "ratings", "updated_at"],
        select(L.c.target_source, L.c.target_id, func.sum(L.c.points), func.count(), literal(now))
        .group_by(L.c.target_source, L.c.target_id)))
