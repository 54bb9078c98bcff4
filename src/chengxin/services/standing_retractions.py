"""Points a verdict takes back from a rating, or gives back: the credit records `points_retracted` and
`points_restored` that a recount of the rating ledger (`services/standing_ledger.py`) appends when an order's
verdict (`standing.set_order_verdict`) changes what its ratings count."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Connection, select

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.domain import ratings as R
from chengxin.domain.credit import CreditRecord
from chengxin.domain.events import canonical
from chengxin.services import credit_log

Ref = tuple[str, str]
VERDICTS_SOURCE = "urn:cx:chengxin:verdicts"  # the `event` of a credit record that a verdict caused


def point_changes(conn: Connection, r: R.Rating, c: R.Counted, old: tuple[Any, ...] | None) -> list[
        tuple[CreditRecord, str]]:
    """A credit record when a verdict takes a rating's points back, or gives them back."""
    if old is None:
        return []
    old_points, old_reason = old[:2]
    # only points the rating gave its target are taken back (as `R.taken_back`): a rival's one-star rating of a
    # fake order left its victim a public record "its rating's 1 point(s) were taken back" (found by review).
    # A restoration gives back only what a retraction took (`_outstanding`), so an appeal writes none either
    taken = c.reason == R.RETRACTED and old_reason != R.RETRACTED and old_points > 0
    leaving = old_reason == R.RETRACTED and c.reason != R.RETRACTED
    order = _order_of(conn, r.review) if taken or leaving else None
    # Given back is what was taken back and not given back yet (by its own records): judged by the points the
    # rating would carry now, a retraction was left standing and a restoration could have none before it
    # (found by review)
    owed = -_outstanding(conn, r, order) if leaving and order is not None else 0
    if not (taken or owed):
        return []
    assert order is not None
    verdict = conn.execute(select(st.order_verdicts).where(
        st.order_verdicts.c.order_source == order[0], st.order_verdicts.c.order_id == order[1])).first()
    body = canonical({k: getattr(verdict, k) for k in ("order_source", "order_id", "verdict", "decided_by",
                                                       "decided_at", "reason", "basis")}) if verdict else b"{}"
    kind = "points_retracted" if taken else "points_restored"
    record = CreditRecord(
        kind, "shop" if r.direction == "buyer_to_seller" else "subject", r.target,
        (VERDICTS_SOURCE, f"{order[0]}|{order[1]}"), verdict.decided_at if verdict else credit_log.now_utc(),
        {"review": list(r.review), "order": list(order), "points": -old_points if taken else owed,
         "decided_by": verdict.decided_by if verdict else None, **({} if taken else {"counts_now": c.points})})
    return [(record, hashlib.sha256(body).hexdigest())]


def _outstanding(conn: Connection, r: R.Rating, order: Ref) -> int:
    """The points of this rating's retraction records not yet given back: their sum with its restorations."""
    cr = t.credit_records.c
    rows = conn.execute(select(cr.payload).where(
        cr.subject_source == r.target[0], cr.subject_id == r.target[1], cr.event_source == VERDICTS_SOURCE,
        cr.event_id == f"{order[0]}|{order[1]}", cr.kind.in_(("points_retracted", "points_restored"))))
    return sum(int(p["points"]) for (raw,) in rows if (p := orjson.loads(raw))["review"] == list(r.review))


def _order_of(conn: Connection, review: Ref) -> Ref:
    r = t.reviews
    row = conn.execute(select(r.c.order_source, r.c.order_id).where(
        r.c.source == review[0], r.c.review_id == review[1])).one()
    return row.order_source, row.order_id
