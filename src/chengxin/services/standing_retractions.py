"""Points a verdict takes back from a rating, or gives back: the credit records `points_retracted` and
`points_restored`.

They follow from the events, not from when they arrived. A rating is taken back while its order is confirmed
fake and it would give its target points (`R.taken_back`): its worth, `base` points, is due back. Each recount
of a pair (`standing_ledger.recount`: a drain, or a verdict's own transaction) and the full recount
(`standing_ledger.rebuild`, `chengxin score`) compare what each rating's records have taken back and not given
back yet (`outstanding`) with what is due now, and append the difference: a retraction when more is due, a
restoration when less. Appending the difference makes it idempotent, so a verdict before the ratings arrive,
ratings that arrive before the scorer counted them, and a full rebuild all end with the same records (the
records depended on the ledger's earlier rows, and a verdict that found no earlier row, or a rebuild, wrote
none: found by review).

The record says what the rating was worth, not how far its target's points moved: under the monthly cap of a
buyer and seller (`domain/ratings.py`) a rating the cap held back may count in its place, and the shop's
points move by less, or not at all (docs/scoring.md). That depends on which other ratings of the month have
arrived, which a record written once could not follow; the rating's worth does not, so every path writes the
same record. `month` names the pair's natural month, whose ledger (`rating_ledger`) shows what counts now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, and_, select

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import pair_in
from chengxin.domain import ratings as R
from chengxin.domain.credit import CreditRecord
from chengxin.domain.events import canonical
from chengxin.services import credit_log

Ref = tuple[str, str]
VERDICTS_SOURCE = "urn:cx:chengxin:verdicts"  # the `event` of a credit record that a verdict caused
KINDS = ("points_retracted", "points_restored")


class Due(NamedTuple):
    """What a rating taken back owes: its order, the points due back (negative), what it counts now, its
    month, and the kind of the one it rates."""

    order: Ref
    points: int
    counts_now: int
    month: str
    subject_kind: str


def subject_kind(direction: str) -> str:
    return "shop" if direction == "buyer_to_seller" else "subject"


def due(direction: str, reason: str, base: int) -> int:
    """The points a rating's records should have taken back now: its worth while `R.taken_back`, else none."""
    return -base if R.taken_back(direction, reason, base) else 0


def recount_changes(conn: Connection, counted: Sequence[tuple[Ref, R.Rating, R.Counted]],
                    old: Iterable[tuple[Ref, Ref, str]]) -> list[tuple[CreditRecord, str]]:
    """The records that bring a recount's ratings' retractions to what is due (`counted`: each rating of the
    pairs recounted with its target and what it counts now; `old`: the (target, review, reason) of their ledger
    rows before). Only a rating taken back now, or one whose old row was, can owe a record: a recount with
    neither costs no statement. A review that moved to another pair of the recount is owed there (`_moved_from`
    recounts both), and given back by the target it left."""
    owed: dict[tuple[Ref, Ref], Due] = {}
    for target, r, c in counted:
        if r.order is not None and (points := due(r.direction, c.reason, c.base)):
            owed[(target, r.review)] = Due(r.order, points, c.points, c.month, subject_kind(r.direction))
    look = set(owed) | {(target, review) for target, review, reason in old if reason == R.RETRACTED}
    if not look:
        return []
    kept = _outstanding(conn, sorted({target for target, _ in look}), {review for _, review in look})
    return _changes(conn, owed, {k: v for k, v in kept.items() if (k[0], k[1]) in look},
                    {r.review: c.points for _, r, c in counted})


def all_changes(conn: Connection) -> list[tuple[CreditRecord, str]]:
    """The records that bring every rating's retractions to what its ledger row says is due (the full
    recount's, once the ledger is rewritten)."""
    L, r = st.rating_ledger.c, t.reviews.c
    owed: dict[tuple[Ref, Ref], Due] = {}
    counts: dict[Ref, int] = {}
    for row in conn.execute(select(L.target_source, L.target_id, L.source, L.review_id, L.direction, L.base,
                                   L.points, L.month, r.order_source, r.order_id).join(
            t.reviews, and_(r.source == L.source, r.review_id == L.review_id)).where(
            L.reason == R.RETRACTED, L.base > 0, L.direction != R.CARRIER)):
        if row.order_id is not None and (points := due(row.direction, R.RETRACTED, row.base)):
            owed[((row.target_source, row.target_id), (row.source, row.review_id))] = Due(
                (row.order_source, row.order_id), points, row.points, row.month, subject_kind(row.direction))
            counts[(row.source, row.review_id)] = row.points
    return _changes(conn, owed, _outstanding(conn, None, None), counts)


Outstanding = dict[tuple[Ref, Ref, Ref], tuple[int, str]]  # (target, review, order) -> (points, subject kind)


def _outstanding(conn: Connection, targets: list[Ref] | None, reviews: set[Ref] | None) -> Outstanding:
    """The points of the retraction records of these targets' ratings (all when None) not yet given back: each
    rating's records summed per order."""
    cr = t.credit_records.c
    q = select(cr.subject_source, cr.subject_id, cr.subject_kind, cr.event_id, cr.payload).where(
        cr.event_source == VERDICTS_SOURCE, cr.kind.in_(KINDS))
    if targets is not None:
        q = q.where(pair_in(cr.subject_source, cr.subject_id, targets))
    out: Outstanding = {}
    for ts, ti, kind, _, raw in conn.execute(q):
        p = orjson.loads(raw)
        review, order = (p["review"][0], p["review"][1]), (p["order"][0], p["order"][1])
        if reviews is not None and review not in reviews:
            continue
        was = out.get(((ts, ti), review, order), (0, kind))
        out[((ts, ti), review, order)] = (was[0] + int(p["points"]), kind)
    return out


def _changes(conn: Connection, owed: Mapping[tuple[Ref, Ref], Due], kept: Outstanding,
             counts_now: Mapping[Ref, int]) -> list[tuple[CreditRecord, str]]:
    """A record for each (target, review, order) whose outstanding points differ from those due: a
    retraction when more is due than taken back (`points`: the difference), a restoration when less (a
    restoration gives back what was taken, and says what the rating counts now)."""
    keys: dict[tuple[Ref, Ref, Ref], None] = dict.fromkeys(kept)
    keys.update({(target, review, d.order): None for (target, review), d in owed.items()})
    records: list[tuple[CreditRecord, str]] = []
    verdicts: dict[Ref, Any] = {}
    for target, review, order in sorted(keys):
        d = owed.get((target, review))
        should = d.points if d is not None and d.order == order else 0
        have, kind = kept.get((target, review, order), (0, d.subject_kind if d is not None else "shop"))
        if should == have:
            continue
        if order not in verdicts:
            verdicts[order] = conn.execute(select(st.order_verdicts).where(
                st.order_verdicts.c.order_source == order[0], st.order_verdicts.c.order_id == order[1])).first()
        verdict = verdicts[order]
        body = canonical({k: getattr(verdict, k) for k in ("order_source", "order_id", "verdict", "decided_by",
                                                           "decided_at", "reason", "basis")}) if verdict else b"{}"
        restored = abs(should) < abs(have)
        payload: dict[str, Any] = {"review": list(review), "order": list(order), "points": should - have,
                                   "decided_by": verdict.decided_by if verdict else None}
        if not restored and d is not None:
            payload["month"] = d.month  # the pair's natural month: what its ledger counts, in the rating's place
        if restored:
            payload["counts_now"] = counts_now.get(review, 0) if d is None or d.order != order else d.counts_now
        records.append((CreditRecord(
            "points_restored" if restored else "points_retracted", d.subject_kind if d is not None else kind,
            target, (VERDICTS_SOURCE, f"{order[0]}|{order[1]}"),
            verdict.decided_at if verdict else credit_log.now_utc(), payload), hashlib.sha256(body).hexdigest()))
    return records
