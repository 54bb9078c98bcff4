"""Credit scores of parties: gather each party's profile from the store, score it (`domain.scoring`), keep
the score, its explanation and every change in history.

A party is one legal identity: all reports with the same `party_key` (a merchant's reports by several
platforms and by the regulator count together). A merchant's trade is that of the shops its reports operate.
`rescore(app, keys)` scores some parties (after ingestion or a verdict); `rebuild(app)` refits rater
reliability over the whole rating graph and scores everyone (`chengxin score`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, and_, delete, select

from chengxin.adapters.db import bulk, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.adapters.db.query import pair_in
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import ratings as R
from chengxin.domain import reliability as REL
from chengxin.domain import scoring as S
from chengxin.services import credit_log
from chengxin.services.standing import rules as rating_rules

Ref = tuple[str, str]
QUALITY_RETURNS = ("quality", "not_as_described", "damaged", "counterfeit")
FAIRNESS_WEIGHT_EXPONENT = 3  # as the reliability model weighs ratings (domain/reliability.py, k = 3)


@cache
def score_rules() -> S.ScoreRules:
    return S.load_score_rules(vocab_text("credit_score.yaml"), "vocab/credit_score.yaml")


def _now() -> datetime:
    return datetime.now(UTC)


def _days(since: str | None, now: datetime) -> float:
    if not since:
        return 0.0
    return max(0.0, (now - datetime.fromisoformat(since[:19]).replace(tzinfo=UTC)).total_seconds() / 86400)


class Gather:
    """The facts of a set of parties, read with a few queries each over the parties' entities."""

    def __init__(self, conn: Connection, keys: Iterable[str] | None, now: datetime) -> None:
        self.conn, self.now, self.scoped = conn, now, keys is not None
        self.fairness: dict[Ref, float] | None = None  # None: each rater's stored fairness
        self.plain = False  # True: no reliability or lockstep weighting
        s, sh = t.subjects, t.shops
        q = select(s.c.source, s.c.subject_id, s.c.party_key, s.c.kind, s.c.identity_valid, s.c.verified_at,
                   s.c.registered_at)
        if keys is not None:
            q = q.where(s.c.party_key.in_(list(keys)))
        self.subjects = list(conn.execute(q))
        self.party_of: dict[Ref, str] = {(r.source, r.subject_id): r.party_key for r in self.subjects}
        self.shop_party: dict[Ref, str] = {}
        self.shops = [r for r in self.rows(select(sh), sh.c.operator_source, sh.c.operator_id, self.party_of)
                      if (r.operator_source, r.operator_id) in self.party_of]
        self.shop_party = {(r.source, r.shop_id): self.party_of[(r.operator_source, r.operator_id)]
                           for r in self.shops}

    def owner(self, ref: Ref) -> str | None:
        """The party a shop or subject belongs to (None: not in this gathering)."""
        return self.shop_party.get(ref) or self.party_of.get(ref)

    def rows(self, stmt: Any, source_col: Any, id_col: Any, refs: Iterable[Ref] | None = None) -> Iterable[Any]:
        """Rows of `stmt`, limited to these refs (default: the parties' shops and subject reports) when
        scoring some parties, in chunks (SQLite limits an expression's depth); all rows when scoring all."""
        if not self.scoped:
            yield from self.conn.execute(stmt)
            return
        refs = list(refs if refs is not None else [*self.shop_party, *self.party_of])
        for i in range(0, len(refs), 200):
            yield from self.conn.execute(stmt.where(pair_in(source_col, id_col, refs[i:i + 200])))


def profiles(conn: Connection, keys: Iterable[str] | None, now: datetime,
             fairness: dict[Ref, float] | None, *, plain: bool = False) -> dict[str, S.Profile]:
    """Profiles of these parties (all when `keys` is None). Ratings and orders are weighted by `fairness`,
    or by the stored fairness of their authors when it is None, and lockstep orders count little; `plain`
    weighs every rating and order the same (for comparison)."""
    g = Gather(conn, keys, now)
    g.fairness, g.plain = fairness, plain
    base: dict[str, dict[str, Any]] = {}
    for r in sorted(g.subjects, key=lambda r: r.registered_at):
        b = base.setdefault(r.party_key, {"kind": r.kind, "identity_valid": True, "verified": False,
                                          "first": r.registered_at, "persons": []})
        b["identity_valid"] &= bool(r.identity_valid)
        b["verified"] |= r.verified_at is not None
        if r.kind in ("person", "courier"):
            b["persons"].append((r.source, r.subject_id))
    for shop in g.shops:
        b = base[g.shop_party[(shop.source, shop.shop_id)]]
        b["first"] = min(b["first"], shop.opened_at)
    facts: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    _orders(g, facts)
    _ratings(g, facts, fairness)
    _complaints(g, facts)
    _sanctions(g, facts)
    _commitments(g, facts)
    _licence_gaps(g, facts)
    _dsr(g, facts)
    return {key: _profile(b, facts[key], now) for key, b in base.items()}


def _profile(b: dict[str, Any], f: dict[str, Any], now: datetime) -> S.Profile:
    n_rated = int(f["ratings"])
    return S.Profile(
        kind=b["kind"], identity_valid=b["identity_valid"], verified=b["verified"],
        licence_gaps=int(f["licence_gaps"]), days_known=_days(b["first"], now), orders=int(f["orders"]),
        ratings=n_rated, ratings_weight=f["wtotal"], rating_mean=f["wsum"] / f["wtotal"] if f["wtotal"] else None,
        rating_mean_raw=f["sum"] / n_rated if n_rated else None,
        dsr_gap=f["dsr_gap_sum"] / f["dsr_n"] if f["dsr_n"] else None, returns=f["returns"],
        delivered=f["delivered"], shipped=f["shipped"], shipped_on_time=f["on_time"],
        complaints=int(f["complaints"]), complaints_upheld=f["upheld"],
        sanctions=tuple(f.get("sanction_list") or ()), retracted=int(f["retracted"]),
        commitments=int(f["commitments"]))


def _orders(g: Gather, facts: dict[str, dict[str, Any]]) -> None:
    """Orders, deliveries, on-time shipment and quality returns of each merchant's shops; a buyer's orders."""
    o, sh, sc, u, ret = t.orders, t.shipments, t.shipment_scans, t.order_updates, t.returns
    shops = list(g.shop_party)
    for col_s, col_i, refs in ((o.c.shop_source, o.c.shop_id, shops), (o.c.buyer_source, o.c.buyer_id, g.party_of)):
        for a, b in g.rows(select(col_s, col_i), col_s, col_i, refs):
            if (key := g.owner((a, b))) is not None:
                facts[key]["orders"] += 1
    hours, F = score_rules().params["trade"]["on_time_hours"], st.rater_fairness
    weight = (lambda row: 1.0) if g.plain else _order_weight(g.fairness)
    paid = select(u.c.at).where(u.c.order_source == o.c.source, u.c.order_id == o.c.order_id,
                                u.c.kind == "paid").limit(1).scalar_subquery()
    by_buyer = and_(F.c.author_source == o.c.buyer_source, F.c.author_id == o.c.buyer_id)
    LK = st.lockstep_orders
    flagged = and_(LK.c.order_source == o.c.source, LK.c.order_id == o.c.order_id)
    shipped_q = select(sh.c.source, sh.c.shipment_id, sh.c.created_at, paid.label("paid_at"), o.c.shop_source,
                       o.c.shop_id, o.c.buyer_source, o.c.buyer_id, F.c.fairness, LK.c.order_id.label("lockstep")
                       ).join(o, and_(o.c.source == sh.c.order_source, o.c.order_id == sh.c.order_id)).outerjoin(
        F, by_buyer).outerjoin(LK, flagged)
    ships: dict[Ref, tuple[str, float]] = {}
    for row in g.rows(shipped_q, o.c.shop_source, o.c.shop_id, shops):
        key = g.owner((row.shop_source, row.shop_id))
        if key is None:
            continue
        w = weight(row)
        ships[(row.source, row.shipment_id)] = (key, w)
        facts[key]["shipped"] += w
        if row.paid_at and _hours_between(row.paid_at, row.created_at) <= hours:
            facts[key]["on_time"] += w
    delivered = select(sc.c.shipment_source, sc.c.shipment_id).join(sh, and_(
        sh.c.source == sc.c.shipment_source, sh.c.shipment_id == sc.c.shipment_id)).join(o, and_(
            o.c.source == sh.c.order_source, o.c.order_id == sh.c.order_id)).where(sc.c.signed_by.is_not(None))
    for s_src, s_id in g.rows(delivered, o.c.shop_source, o.c.shop_id, shops):
        if (hit := ships.get((s_src, s_id))) is not None:
            facts[hit[0]]["delivered"] += hit[1]
    returned = select(o.c.shop_source, o.c.shop_id, o.c.buyer_source, o.c.buyer_id, F.c.fairness,
                      LK.c.order_id.label("lockstep")).join(ret, and_(
        ret.c.order_source == o.c.source, ret.c.order_id == o.c.order_id)).outerjoin(F, by_buyer).outerjoin(
        LK, flagged).where(ret.c.reason.in_(QUALITY_RETURNS))
    for row in g.rows(returned, o.c.shop_source, o.c.shop_id, shops):
        if (key := g.owner((row.shop_source, row.shop_id))) is not None:
            facts[key]["returns"] += weight(row)


def _order_weight(fairness: dict[Ref, float] | None) -> Any:
    """How much an order counts in a shop's trade figures: (its buyer's fairness / the default) cubed, at
    most 1, so an ordinary buyer's order counts 1 and an unreliable buyer's less; times `lockstep_weight` if
    it was placed in a lockstep burst at the shop."""
    rules = score_rules()
    default, k, lockstep_weight = rules.reliability.fairness_default, FAIRNESS_WEIGHT_EXPONENT, \
        rules.params["trade"]["lockstep_weight"]

    def weight(row: Any) -> float:
        f = fairness.get((row.buyer_source, row.buyer_id)) if fairness is not None else row.fairness
        w = min(1.0, ((f if f is not None else default) / default) ** k)
        return float(w * (lockstep_weight if row.lockstep is not None else 1.0))

    return weight


def _hours_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b[:19]) - datetime.fromisoformat(a[:19])).total_seconds() / 3600


def _ratings(g: Gather, facts: dict[str, dict[str, Any]], fairness: dict[Ref, float] | None) -> None:
    """Received ratings that count (eligible), weighted by their authors' fairness; retracted ones."""
    L, F, default = st.rating_ledger, st.rater_fairness, score_rules().reliability.fairness_default
    r, LK = t.reviews, st.lockstep_orders
    lockstep_weight = score_rules().params["trade"]["lockstep_weight"]
    q = select(L.c.target_source, L.c.target_id, L.c.author_source, L.c.author_id, L.c.score, L.c.eligible,
               L.c.reason, L.c.direction, F.c.fairness, LK.c.order_id.label("lockstep")).outerjoin(F, and_(
                   F.c.author_source == L.c.author_source, F.c.author_id == L.c.author_id)).join(
        r, and_(r.c.source == L.c.source, r.c.review_id == L.c.review_id)).outerjoin(
        LK, and_(LK.c.order_source == r.c.order_source, LK.c.order_id == r.c.order_id))
    for row in g.rows(q, L.c.target_source, L.c.target_id):
        key = g.owner((row.target_source, row.target_id))
        if key is None:
            continue
        f = facts[key]
        if row.reason == R.RETRACTED:
            f["retracted"] += 1
        if row.eligible or row.direction == "buyer_to_carrier":  # carrier ratings carry no points but count
            fair = fairness.get((row.author_source, row.author_id), default) if fairness is not None else \
                (row.fairness if row.fairness is not None else default)
            # as for orders: relative to an ordinary rater, at most 1, and little for a lockstep order's rating
            w = 1.0 if g.plain else min(1.0, (fair / default) ** FAIRNESS_WEIGHT_EXPONENT) * (
                lockstep_weight if row.lockstep is not None else 1.0)
            f["ratings"] += 1
            f["sum"] += row.score
            f["wsum"] += w * row.score
            f["wtotal"] += w


def _complaints(g: Gather, facts: dict[str, dict[str, Any]]) -> None:
    c, res = t.complaints, t.complaint_resolutions
    q = select(c.c.target_source, c.c.target_id, res.c.outcome).outerjoin(
        res, and_(res.c.source == c.c.source, res.c.complaint_id == c.c.complaint_id))
    for row in g.rows(q, c.c.target_source, c.c.target_id):
        if (key := g.owner((row.target_source, row.target_id))) is not None:
            facts[key]["complaints"] += 1
            facts[key]["upheld"] += {"upheld": 1.0, "partly_upheld": 0.5}.get(row.outcome, 0.0)


def _sanctions(g: Gather, facts: dict[str, dict[str, Any]]) -> None:
    s, lift = t.sanctions, t.sanction_lifts
    q = select(s.c.subject_source, s.c.subject_id, s.c.kind, s.c.imposed_at, lift.c.reason).outerjoin(
        lift, and_(lift.c.source == s.c.source, lift.c.sanction_id == s.c.sanction_id))
    for row in g.rows(q, s.c.subject_source, s.c.subject_id, g.party_of):
        if (key := g.party_of.get((row.subject_source, row.subject_id))) is not None:
            facts[key].setdefault("sanction_list", []).append(
                S.Sanction(row.kind, _days(row.imposed_at, g.now), row.reason))


def _commitments(g: Gather, facts: dict[str, dict[str, Any]]) -> None:
    c, today = t.commitments, g.now.date().isoformat()
    for row in g.rows(select(c.c.subject_source, c.c.subject_id, c.c.valid_until), c.c.subject_source,
                      c.c.subject_id, g.party_of):
        key = g.party_of.get((row.subject_source, row.subject_id))
        if key is not None and (row.valid_until is None or row.valid_until[:10] >= today):
            facts[key]["commitments"] += 1


def _dsr(g: Gather, facts: dict[str, dict[str, Any]]) -> None:
    """Each shop's DSR over the window against its category's average, weighted by DSR ratings per party."""
    from chengxin.services.standing import category_dsr

    L, rr = st.rating_ledger, rating_rules()
    since = R.window_start(g.now, rr.dsr_window_days)
    sums: dict[Ref, list[float]] = {}
    q = select(L.c.target_source, L.c.target_id, L.c.dims).where(L.c.dsr.is_(True), L.c.at >= since,
                                                                  L.c.direction == "buyer_to_seller")
    for row in g.rows(q, L.c.target_source, L.c.target_id, g.shop_party):
        acc = sums.setdefault((row.target_source, row.target_id), [0.0, 0])
        values = [int(x) for x in row.dims.split(",")]
        acc[0] += sum(values) / len(values)
        acc[1] += 1
    categories = {(s.source, s.shop_id): (orjson.loads(s.categories) or [None])[0] for s in g.shops}
    for shop, (total, n) in sums.items():
        category = categories.get(shop)
        avg = category_dsr(g.conn, category, since) if category else None
        dims = [avg[d] for d in rr.dsr_dimensions] if avg and avg["count"] else []
        if dims and (key := g.shop_party.get(shop)) is not None:
            facts[key]["dsr_gap_sum"] += (total / n - sum(dims) / len(dims)) * n
            facts[key]["dsr_n"] += n


def _licence_gaps(g: Gather, facts: dict[str, dict[str, Any]]) -> None:
    from chengxin.services.parties import licence_gaps, licence_rows

    reports: dict[str, list[Ref]] = defaultdict(list)
    for (src, sid), key in g.party_of.items():
        reports[key].append((src, sid))
    for shop in g.shops:
        key = g.shop_party[(shop.source, shop.shop_id)]
        rows = licence_rows(g.conn, reports[key])
        # one missing licence counts once, whichever rules (every shop's, a category's) ask for it
        missing = {kind for gap in licence_gaps(orjson.loads(shop.categories), rows) for kind in gap["needed"]}
        facts[key]["licence_gaps"] += len(missing)


# --- fairness ----------------------------------------------------------------------------------------------
def fit_fairness(conn: Connection) -> dict[Ref, float]:
    """Fit rater reliability over every counted buyer rating of a shop (at the time its order was placed:
    lockstep shows in orders); store and return each author's fairness."""
    L, r, o = st.rating_ledger, t.reviews, t.orders
    q = select(L.c.author_source, L.c.author_id, L.c.target_source, L.c.target_id, L.c.score, L.c.at,
               o.c.placed_at).join(r, and_(r.c.source == L.c.source, r.c.review_id == L.c.review_id)).outerjoin(
        o, and_(o.c.source == r.c.order_source, o.c.order_id == r.c.order_id)).where(
        L.c.eligible.is_(True), L.c.direction == "buyer_to_seller")
    rows = list(conn.execute(q))
    if not rows:
        return {}
    authors = {a: i for i, a in enumerate(dict.fromkeys((x.author_source, x.author_id) for x in rows))}
    targets = {x: i for i, x in enumerate(dict.fromkeys((y.target_source, y.target_id) for y in rows))}
    fit = REL.fit(np.array([authors[(x.author_source, x.author_id)] for x in rows]),
                  np.array([targets[(x.target_source, x.target_id)] for x in rows]),
                  np.array([(x.score - 3) / 2 for x in rows], dtype=float),
                  np.array([_epoch(x.placed_at or x.at) for x in rows]),
                  len(authors), len(targets), score_rules().reliability)
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
    rows = list(conn.execute(select(o.c.source, o.c.order_id, o.c.shop_source, o.c.shop_id, o.c.placed_at)))
    conn.execute(delete(st.lockstep_orders))
    if not rows:
        return 0
    shops = {s: i for i, s in enumerate(dict.fromkeys((x.shop_source, x.shop_id) for x in rows))}
    flags = REL.lockstep(np.array([shops[(x.shop_source, x.shop_id)] for x in rows]),
                         np.array([_epoch(x.placed_at) for x in rows]), p.sync_seconds, p.sync_min, p.sync_factor)
    now = credit_log.now_utc()
    bulk.insert_rows(conn, "lockstep_orders", [
        {"order_source": x.source, "order_id": x.order_id, "shop_source": x.shop_source, "shop_id": x.shop_id,
         "computed_at": now} for x, flag in zip(rows, flags, strict=True) if flag])
    return int(flags.sum())


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at[:19]).replace(tzinfo=UTC).timestamp()


def stored_fairness(conn: Connection) -> dict[Ref, float]:
    f = st.rater_fairness
    return {(r.author_source, r.author_id): r.fairness for r in conn.execute(
        select(f.c.author_source, f.c.author_id, f.c.fairness))}


# --- scoring and history -------------------------------------------------------------------------------------
def save_scores(conn: Connection, profiles_by_key: dict[str, S.Profile], cause: str,
                grades: dict[str, int] | None = None, *, chunk: int = 5000) -> int:
    """Score the profiles; store scores; append history where score or grade changed. Returns changes;
    counts the grades into `grades` when given. Works in chunks, so memory holds one chunk's explanations
    (a full rebuild scores every party)."""
    keys, changed = list(profiles_by_key), 0
    for i in range(0, len(keys), chunk):
        changed += _save_chunk(conn, {k: profiles_by_key[k] for k in keys[i:i + chunk]}, cause, grades)
    return changed


def _save_chunk(conn: Connection, profs: dict[str, S.Profile], cause: str, grades: dict[str, int] | None) -> int:
    rules, now, cs = score_rules(), credit_log.now_utc(), st.credit_scores
    old = {r.party_key: r for r in conn.execute(select(cs.c.party_key, cs.c.score, cs.c.grade).where(
        cs.c.party_key.in_(list(profs))))}
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
    details = {r.party_key: r.detail for r in conn.execute(select(cs.c.party_key, cs.c.detail).where(
        cs.c.party_key.in_([k for k, before, _, _ in moved if before is not None])))} if moved else {}
    history = [{"party_key": key, "at": now, "score": result.score, "grade": result.grade,
                "previous_score": before.score if before else None,
                "previous_grade": before.grade if before else None, "cause": cause,
                "reasons": orjson.dumps(_why_moved(details.get(key), detail)).decode()}
               for key, before, result, detail in moved]
    upsert.insert_or_update(conn, cs, rows)
    if history:
        conn.execute(st.score_history.insert(), history)
    return len(history)


def _why_moved(before: str | None, detail: dict[str, Any]) -> dict[str, Any]:
    """The reason codes now, and each dimension's change in points since the previous score (`before`:
    the previous detail JSON)."""
    now_points = {d["dimension"]: d["points"] for d in detail["dimensions"]}
    was = {d["dimension"]: d["points"] for d in orjson.loads(before)["dimensions"]} if before else {}
    moved = {k: v - was.get(k, 0) for k, v in now_points.items() if v != was.get(k)}
    return {"codes": [r["code"] for r in detail["reasons"]], "dimension_changes": moved}


def party_keys(conn: Connection, refs: list[Ref]) -> list[str]:
    """The parties of these shops and subject reports."""
    s, sh = t.subjects, t.shops
    keys: dict[str, None] = {}
    for i in range(0, len(refs), 200):
        part = refs[i:i + 200]
        for (k,) in conn.execute(select(s.c.party_key).where(pair_in(s.c.source, s.c.subject_id, part))):
            keys[k] = None
        q = select(s.c.party_key).join(sh, and_(sh.c.operator_source == s.c.source,
                                                 sh.c.operator_id == s.c.subject_id)).where(
            pair_in(sh.c.source, sh.c.shop_id, part))
        for (k,) in conn.execute(q):
            keys[k] = None
    return list(keys)


def rescore_in(conn: Connection, keys: list[str], cause: str = "events") -> int:
    """Rescore these parties in the caller's transaction (rater fairness as last fitted)."""
    if not keys:
        return 0
    changed = 0
    for i in range(0, len(keys), 100):
        changed += save_scores(conn, profiles(conn, keys[i:i + 100], _now(), None), cause)
    return changed


def rebuild(app: Chengxin) -> dict[str, Any]:
    """Refit rater fairness and score every party (`chengxin score`)."""
    with write_transaction(app.engine) as conn:
        lockstep = find_lockstep_orders(conn)
        fairness = fit_fairness(conn)
        profs = profiles(conn, None, _now(), fairness)
        grades: dict[str, int] = {}
        changed = save_scores(conn, profs, "rebuild", grades)
    return {"parties": len(profs), "raters": len(fairness), "lockstep_orders": lockstep, "changed": changed,
            "grades": dict(sorted(grades.items()))}


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
