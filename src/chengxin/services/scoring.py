"""Credit scores of parties: score each party's profile (`services/profiles.py`, `domain.scoring`), keep
the score, its explanation and every change in history.

`rescore_in(conn, keys)` scores some parties (after ingestion or a verdict); `rebuild(app)` flags lockstep
orders, refits rater reliability over the whole rating graph and scores everyone (`chengxin score`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, bindparam, delete, literal, select, union_all

from chengxin.adapters.db import bulk, direct, duck, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.query import bound_pair_in, pair_params
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import reliability as REL
from chengxin.domain import scoring as S
from chengxin.domain.ratings import window_start
from chengxin.services import columnar, credit_log, trade
from chengxin.services import profiles as P
from chengxin.services.profile_dsr import fresh_below, within
from chengxin.services.profile_gather import Previous
from chengxin.services.standing import rules as rating_rules

Ref = tuple[str, str]


@cache
def score_rules() -> S.ScoreRules:
    return S.load_score_rules(vocab_text("credit_score.yaml"), "vocab/credit_score.yaml")


def _now() -> datetime:
    return datetime.now(UTC)


def profiles(conn: Connection, keys: Iterable[str] | None, now: datetime, *, plain: bool = False
             ) -> dict[str, S.Profile]:
    """Profiles of these parties (everyone when `keys` is None), orders and ratings weighted by the stored
    rater fairness and lockstep flags; `plain` weighs every one 1."""
    return P.gather(conn, keys, now, score_rules(), rating_rules(), plain=plain)


def fit_fairness(conn: Connection, reader: duck.Reader | None = None) -> dict[Ref, float]:
    """Fit rater reliability over every counted buyer rating of a shop (at the time its order was placed:
    lockstep shows in orders); store and return each author's fairness. The ratings are read by DuckDB
    when a `reader` is given (it reads what is committed: the ledger is, by `standing_ledger.rebuild`), in the
    ledger's key order either way, so that the fit sums in the same order whoever reads."""
    L, r, o = st.rating_ledger, t.reviews, t.orders
    q = select(L.c.author_source, L.c.author_id, L.c.target_source, L.c.target_id, L.c.score, L.c.at,
               o.c.placed_at).join(r, and_(r.c.source == L.c.source, r.c.review_id == L.c.review_id)).outerjoin(
        o, and_(o.c.source == r.c.order_source, o.c.order_id == r.c.order_id)).where(
        L.c.eligible.is_(True), L.c.direction == "buyer_to_seller").order_by(L.c.source, L.c.review_id)
    rows = reader.rows(q) if reader is not None else columnar.rows(conn, q)
    if not rows:
        return {}
    authors: dict[Ref, int] = {}
    targets: dict[Ref, int] = {}
    fit = REL.fit(_codes(authors, ((r[0], r[1]) for r in rows), len(rows)),
                  _codes(targets, ((r[2], r[3]) for r in rows), len(rows)),
                  (np.fromiter((r[4] for r in rows), float, len(rows)) - 3) / 2,
                  _epochs([r[6] or r[5] for r in rows]), len(authors), len(targets), score_rules().reliability)
    now = credit_log.now_utc()
    conn.execute(delete(st.rater_fairness))
    out = {a: float(fit.fairness[i]) for a, i in authors.items()}
    bulk.insert_rows(conn, "rater_fairness", [
        {"author_source": a[0], "author_id": a[1], "fairness": out[a], "ratings": int(fit.n_ratings[i]),
         "computed_at": now, "explanation": orjson.dumps(fit.explain(i).as_dict(), default=float).decode()}
        for a, i in authors.items()])
    return out


def find_lockstep_orders(conn: Connection) -> int:
    """Flag every order placed in a lockstep burst at its shop (rewriting `lockstep_orders`); returns how many."""
    o, p = t.orders, score_rules().reliability
    rows = columnar.rows(conn, select(o.c.source, o.c.order_id, o.c.shop_source, o.c.shop_id, o.c.placed_at))
    conn.execute(delete(st.lockstep_orders))
    if not rows:
        return 0
    flags = REL.lockstep(_codes({}, ((r[2], r[3]) for r in rows), len(rows)), _epochs([r[4] for r in rows]),
                         p.sync_seconds, p.sync_min, p.sync_factor)
    now = credit_log.now_utc()
    bulk.insert_rows(conn, "lockstep_orders", [
        {"order_source": x[0], "order_id": x[1], "shop_source": x[2], "shop_id": x[3], "computed_at": now}
        for x, flag in zip(rows, flags, strict=True) if flag])
    return int(flags.sum())


def _codes(index: dict[Ref, int], refs: Iterable[Ref], n: int) -> NDArray[np.int64]:
    """Each reference's number in `index`, numbered by first appearance (`index` fills as it goes)."""
    return np.fromiter((index.setdefault(ref, len(index)) for ref in refs), np.int64, n)


def _epochs(at: list[str]) -> NDArray[np.float64]:
    """Whole seconds since 1970 of stored UTC times (`2026-05-19T16:00:00.000000Z`; fractions dropped)."""
    return np.array([a[:19] for a in at], "datetime64[s]").astype(np.int64).astype(np.float64)


# --- scoring and history -------------------------------------------------------------------------------------
def save_scores(conn: Connection, profiles_by_key: dict[str, S.Profile], cause: str,
                grades: dict[str, int] | None = None, *, chunk: int = 5000,
                previous: dict[str, Previous] | None = None) -> int:
    """Score the profiles; store scores; append history where score or grade changed. Returns changes;
    counts the grades into `grades` when given. Works in chunks, so memory holds one chunk's explanations
    (a full rebuild scores every party). `previous`: the stored scores, when read with the profiles."""
    keys, changed = list(profiles_by_key), 0
    for i in range(0, len(keys), chunk):
        changed += _save_chunk(conn, {k: profiles_by_key[k] for k in keys[i:i + chunk]}, cause, grades, previous)
    return changed


def _save_chunk(conn: Connection, profs: dict[str, S.Profile], cause: str, grades: dict[str, int] | None,
                previous: dict[str, Previous] | None) -> int:
    rules, now, cs = score_rules(), credit_log.now_utc(), st.credit_scores
    few = previous is not None or len(profs) <= DETAILS_AT_ONCE
    old: dict[str, Any] = {k: previous[k] for k in profs if k in previous} if previous is not None else {
        r.party_key: r for r in direct.rows_in(conn, _OLD_DETAILED if few else _OLD_SCORES, cs.c.party_key,
                                               list(profs))}
    rows, moved = [], []
    for key, profile in profs.items():
        result = S.score(profile, rules)
        if result is None:
            continue
        detail = result.as_dict(rules)
        if grades is not None:
            grades[result.grade] = grades.get(result.grade, 0) + 1
        rows.append({"party_key": key, "score_kind": result.kind, "score": result.score, "grade": result.grade,
                     "computed_at": now, "detail": orjson.dumps(detail).decode()})
        before = old.get(key)
        if before is None or before.score != result.score or before.grade != result.grade:
            moved.append((key, before, result, detail))
    was = [k for k, before, _, _ in moved if before is not None]
    details = {k: old[k].detail for k in was} if few else \
        {r.party_key: r.detail for r in direct.rows_in(conn, _OLD_DETAILS, cs.c.party_key, was)}
    history = [{"party_key": key, "at": now, "score": result.score, "grade": result.grade,
                "previous_score": before.score if before else None,
                "previous_grade": before.grade if before else None, "cause": cause,
                "reasons": orjson.dumps(_why_moved(details.get(key), detail)).decode()}
               for key, before, result, detail in moved]
    upsert.insert_or_update(conn, cs, rows)
    if history:
        _save_history(conn, history)
        from chengxin.services import list_queue  # a new grade may enter or leave a list (red: A; watch: D)

        list_queue.mark(conn, [key for key, before, result, _ in moved
                               if before is None or before.grade != result.grade])
    return len(history)


def _save_history(conn: Connection, history: list[dict[str, Any]]) -> None:
    """A few rows (one event's parties) one by one on the driver's cursor; more in one `executemany`."""
    if len(history) > 8:
        conn.execute(st.score_history.insert(), history)
        return
    for row in history:
        direct.execute(conn, _HISTORY, row)


_HISTORY = st.score_history.insert().values({c: bindparam(c) for c in (
    "party_key", "at", "score", "grade", "previous_score", "previous_grade", "cause", "reasons")})
_OLD_SCORES = select(st.credit_scores.c.party_key, st.credit_scores.c.score, st.credit_scores.c.grade)
_OLD_DETAILS = select(st.credit_scores.c.party_key, st.credit_scores.c.detail)
# A few parties (one event's) read their previous details with their scores, one statement instead of two;
# a full rebuild's chunks read only the details of the few whose score moved (a detail is ~2 KB).
DETAILS_AT_ONCE = 8
_OLD_DETAILED = _OLD_SCORES.add_columns(st.credit_scores.c.detail)



def _why_moved(before: str | None, detail: dict[str, Any]) -> dict[str, Any]:
    """The reason codes now, and each dimension's change in points since the previous score (`before`:
    the previous detail JSON)."""
    now_points = {d["dimension"]: d["points"] for d in detail["dimensions"]}
    was = {d["dimension"]: d["points"] for d in orjson.loads(before)["dimensions"]} if before else {}
    moved = {k: v - was.get(k, 0) for k, v in now_points.items() if v != was.get(k)}
    return {"codes": [r["code"] for r in detail["reasons"]], "dimension_changes": moved}


def party_keys(conn: Connection, refs: list[Ref]) -> list[str]:
    """The parties of these shops and subject reports: those of subject reports first, then those of shops
    (one statement for both, per chunk of `direct.CHUNK` references)."""
    refs = list(dict.fromkeys(refs))
    found: list[tuple[int, str]] = []
    for i in range(0, len(refs), direct.CHUNK):
        part = refs[i:i + direct.CHUNK]
        n = 1 << (len(part) - 1).bit_length()  # a few shapes (1, 2, 4 ... references), each built once
        part += [direct.NO_REF] * (n - len(part))
        found.extend(direct.rows(conn, _parties_of(n), pair_params("r", part)))
    found.sort(key=lambda row: row[0])  # stable: within each kind, the order read
    return list(dict.fromkeys(key for _, key in found))


@cache
def _parties_of(n: int) -> Any:
    """The party keys of `n` references as subject reports (0) and as shops (1), built once per shape."""
    s, sh = t.subjects.c, t.shops.c
    return union_all(
        select(literal(0), s.party_key).where(bound_pair_in(s.source, s.subject_id, "r", n)),
        select(literal(1), s.party_key).join_from(t.subjects, t.shops, and_(
            sh.operator_source == s.source, sh.operator_id == s.subject_id)).where(
            bound_pair_in(sh.source, sh.shop_id, "r", n)))


def rescore_in(conn: Connection, keys: list[str], cause: str = "events") -> int:
    """Rescore these parties in the caller's transaction (rater fairness as last fitted)."""
    if not keys:
        return 0
    changed = 0
    for i in range(0, len(keys), 100):
        facts = P.collect(conn, keys[i:i + 100], _now(), score_rules(), rating_rules())
        changed += save_scores(conn, facts.profiles(), cause, previous=facts.previous)
        publish_categories(conn, facts.moved)
    return changed


# --- the DSR averages shops are compared with ----------------------------------------------------------------
def publish_categories(conn: Connection, moved: dict[str, tuple[dict[str, Any], str, bool]], *,
                       queue: bool = True) -> int:
    """Publish these categories' DSR averages (`profile_gather.Facts.moved`: the average over every shop, when it was
    read, whether one was published before) and queue the shops of each category that had one, so that their
    scores compare them with the new one; returns how many shops were queued. Not `queue`: a full recompute,
    which has scored every shop against these."""
    from chengxin.services import standing_queue
    from chengxin.services.standing_views import published_dsr, shops_of_category

    if not moved:
        return 0
    newer = published_dsr(conn, list(moved))  # another process may have published a later reading: it stays
    moved = {c: m for c, m in moved.items() if c not in newer or newer[c][1] < m[1]}
    if not moved:
        return 0
    upsert.insert_or_update(conn, st.category_dsr, [
        {"category": c, "average": orjson.dumps(avg).decode(), "computed_at": at} for c, (avg, at, _) in moved.items()])
    if not queue:
        return 0
    shops = [shop for c, (_, _, before) in moved.items() if before for shop in shops_of_category(conn, c)]
    standing_queue.queue(conn, [("party", src, sid, "", "") for src, sid in shops])
    return len(shops)


def check_categories(app: Chengxin, now: datetime | None = None) -> int:
    """Compare every published category average with the average over every shop of the category now (read
    anew for a small category, else as cached: ten minutes at most), and publish those that moved beyond the
    step, their shops queued (`publish_categories`): a category whose shops no event rescores follows too.
    Reads outside the write lock; writes only when one moved. Returns how many shops were queued."""
    now = now or _now()
    rr, step = rating_rules(), float(score_rules().params["trade"]["dsr_category_step"])
    since = window_start(now, rr.dsr_window_days)
    from chengxin.services.standing_views import live_category_dsr

    c = st.category_dsr.c
    moved: dict[str, tuple[dict[str, Any], str, bool]] = {}
    with read_connection(app.engine) as conn:
        for category, average, at in conn.execute(select(c.category, c.average, c.computed_at)).all():
            live, read_at = live_category_dsr(conn, category, since, fresh_below=fresh_below(step))
            if read_at > at and not within(orjson.loads(average), live, rr.dsr_dimensions, step):
                moved[category] = (live, read_at, True)
    if not moved:
        return 0
    with write_transaction(app.engine) as conn:
        return publish_categories(conn, moved)


STALE_AFTER = timedelta(days=1)  # a score this old is computed again (`rescore_stale`, by the scorer process)


def rescore_stale(app: Chengxin, older_than: timedelta = STALE_AFTER, *, most: int = 2000, chunk: int = 100,
                  pause_s: float = 0.0, now: datetime | None = None) -> int:
    """Rescore the parties that have no score (at most `most`, looked for in a window of parties per call:
    `unscored`), then those whose score is older than `older_than` (oldest first, as many as `most` leaves),
    `chunk` to a transaction with `pause_s` between (the scorer's: short, so that requests get the write
    lock); returns how many were rescored. A score depends on the day as well as on events (a sanction
    fades, the DSR window moves, a commitment ends, a new party stops being new): without this, a party no
    event touched kept its score for ever, unlike a full recompute (found by review). A full rebuild
    interrupted after the ratings' recount, which clears the queue, left the parties it had not scored yet
    without a score for good (found by review): those are found here. First, each category's published DSR
    average is compared with the average now (`check_categories`)."""
    now = now or _now()
    check_categories(app, now)
    cutoff = (now - older_than).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    cs = st.credit_scores.c
    with read_connection(app.engine) as conn:
        keys = unscored(conn, app, most)
        if len(keys) < most:
            keys += list(conn.execute(select(cs.party_key).where(cs.computed_at < cutoff).order_by(cs.computed_at)
                                      .limit(most - len(keys))).scalars())
    for i in range(0, len(keys), chunk):
        with write_transaction(app.engine) as conn:
            facts = P.collect(conn, keys[i:i + chunk], now, score_rules(), rating_rules())
            found = facts.profiles()
            save_scores(conn, found, "time")
            publish_categories(conn, facts.moved)
            if gone := [k for k in keys[i:i + chunk] if k not in found]:  # a party no longer there (its key
                # changed): its score would stay the oldest and hold back every other (found by review)
                conn.execute(delete(st.credit_scores).where(cs.party_key.in_(gone)))
        if pause_s:
            time.sleep(pause_s)
    return len(keys)


UNSCORED_WINDOW = 20_000  # parties looked at per `unscored` call: two index range scans, ~50 ms on SQLite
_UNSCORED_AFTER: dict[str, str] = {}  # per store: the party key the last look stopped after


def unscored(conn: Connection, app: Chengxin, most: int) -> list[str]:
    """Up to `most` parties without a score, among the next `UNSCORED_WINDOW` party keys after where the
    previous call stopped (in this process; from the first key again after the last): every party is looked
    at within (parties / window) calls, and each call costs the same whatever the store's size."""
    store = app.engine.url.render_as_string(hide_password=True)
    after, s, cs = _UNSCORED_AFTER.get(store, ""), t.subjects.c, st.credit_scores.c
    window = list(conn.execute(select(s.party_key).where(s.party_key > after).distinct().order_by(s.party_key)
                               .limit(UNSCORED_WINDOW)).scalars())
    if not window:
        _UNSCORED_AFTER[store] = ""
        return []
    scored = set(conn.execute(select(cs.party_key).where(cs.party_key > after, cs.party_key <= window[-1]))
                 .scalars())
    missing = [k for k in window if k not in scored][:most]
    if len(missing) == most:
        _UNSCORED_AFTER[store] = missing[-1]
    else:
        _UNSCORED_AFTER[store] = "" if len(window) < UNSCORED_WINDOW else window[-1]
    return missing


def rebuild(app: Chengxin) -> dict[str, Any]:
    """Refit rater fairness and score every party (`chengxin score`)."""
    now, changed = _now(), 0
    grades: dict[str, int] = {}
    with duck.batch_reader(app.engine, app.settings.batch_engine == "duckdb") as reader:
        with write_transaction(app.engine) as conn:
            # new weights: the kept figures no longer match them until the second transaction rewrites them
            # (should it fail, scoring counts from orders and ledger until the next rebuild)
            conn.execute(delete(st.trade_state))
            trade.note_built(conn, False)
            lockstep = find_lockstep_orders(conn)
            fairness = fit_fairness(conn, reader)
        # Committed first: DuckDB reads the file, not this transaction. The second transaction holds the
        # write lock from the read to the last score saved, so the scores are those of one state of the store.
        with write_transaction(app.engine) as conn:
            facts = P.collect(conn, None, now, score_rules(), rating_rules(), reader=reader,  # each table
                              keep=True)  # once; the trade figures kept per order and shop written anew
            publish_categories(conn, facts.moved, queue=False)  # every shop compared with these
            for start in range(0, len(facts.keys), REBUILD_SLICE):
                changed += save_scores(conn, facts.profiles(start, start + REBUILD_SLICE), "rebuild", grades)
    return {"parties": len(facts.keys), "raters": len(fairness), "lockstep_orders": lockstep, "changed": changed,
            "grades": dict(sorted(grades.items()))}


# Parties turned into profiles and scored at once by a full rebuild: their profiles and explanations are what
# a rebuild holds besides the facts' columns.
REBUILD_SLICE = 5000


# --- reading ------------------------------------------------------------------------------------------------
def credit_view(conn: Connection, party_key: str, *, history: int = 10) -> dict[str, Any]:
    """A party's score, grade, reasons and dimensions, and how its grade moved (newest first).
    `score` and `grade` are None until the party has been scored."""
    row = conn.execute(select(st.credit_scores).where(st.credit_scores.c.party_key == party_key)).first()
    if row is None:
        return {"score": None, "grade": None, "reasons": [], "credit": None}
    detail = orjson.loads(row.detail)
    h = st.score_history
    moves = conn.execute(select(h).where(h.c.party_key == party_key).order_by(h.c.id.desc()).limit(history))
    return {"score": row.score, "grade": row.grade, "reasons": detail["reasons"], "credit": {
        **detail, "computed_at": row.computed_at,
        "history": [{"at": m.at, "score": m.score, "grade": m.grade, "previous_score": m.previous_score,
                     "previous_grade": m.previous_grade, "cause": m.cause, **orjson.loads(m.reasons)}
                    for m in moves]}}
