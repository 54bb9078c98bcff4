"""Dishonesty records as served (API, portal, credit files): one record's view, a party's records, and which
credit-log entries the public no longer sees (their records repaired, expired, overturned or past disclosure;
the entries and their proofs remain in the log).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.domain import lifecycle as L
from chengxin.services import lifecycle
from chengxin.services.lifecycle import Ref


def record_view(row: Any, on: date | None = None, *, public: bool = False) -> dict[str, Any]:
    """A record as served; `public`: without who decided (a key id) and the free-text details."""
    last = date.fromisoformat(row.disclose_until) if row.disclose_until else None
    cat = lifecycle.rules().categories.get(row.category)
    by = lifecycle.sanction_source(row) or row.decided_by  # a sanction's: who imposed it (`authority`: details)
    if public and (by.startswith("regulator:") or by == "chengxin"):
        by = "regulator" if by != "chengxin" else by
    view = {"id": row.id, "origin": row.origin, "category": row.category, "category_zh": cat.zh if cat else None,
            "category_en": cat.en if cat else None, "severity": row.severity, "state": row.state,
            "sanction_kind": row.sanction_kind,
            "subject": {"kind": row.subject_kind, "source": row.subject_source, "id": row.subject_id},
            "confirmed_at": row.confirmed_at, "decided_by": by, "basis": row.basis,
            "disclose_until": row.disclose_until, "repair_from": row.repair_from, "ended_at": row.ended_at,
            "public": L.publicly_shown(row.state, last, on or lifecycle.today()),
            "credit_record": row.credit_idx, "details": orjson.loads(row.details)}
    if public:
        details = view.pop("details")
        view["details"] = {k: details[k] for k in ("decision_no", "authority", "penalty", "breaks") if k in details}
    return view


def records_of(conn: Connection, party_key: str) -> list[Any]:
    d = lt.dishonesty_records.c
    return list(conn.execute(select(lt.dishonesty_records).where(d.party_key == party_key).order_by(d.id)))


def hidden_credit_records(conn: Connection, refs: list[Ref], today: date) -> list[int]:
    """Log indexes of records about these entities that the public no longer sees: repaired, expired or
    overturned records, and those whose disclosure ended (their log entries and proofs remain)."""
    d = lt.dishonesty_records.c
    out: list[int] = []
    for i in range(0, len(refs), 200):
        from chengxin.adapters.db.query import pair_in

        for r in conn.execute(select(d.credit_idx, d.state, d.disclose_until, d.origin).where(
                d.credit_idx.is_not(None), pair_in(d.subject_source, d.subject_id, refs[i:i + 200]))):
            if r.origin == "sanction" and r.state not in (L.REPAIRED, L.OVERTURNED):
                continue  # a sanction's own publication rules decide (domain/disclosure.py): a sanction
                # lifted as expired stays public, marked lifted, through its disclosure date
            last = date.fromisoformat(r.disclose_until) if r.disclose_until else None
            if not L.publicly_shown(r.state, last, today):
                out.append(int(r.credit_idx))
        out += _hidden_confirmations(conn, refs[i:i + 200], today)
    return out


def _hidden_confirmations(conn: Connection, refs: list[Ref], today: date) -> list[int]:
    """`confirmed` entries about these entities whose party's record the public no longer sees. A ring naming
    two shops of one operator writes a `confirmed` entry per shop but one record (about the first shop): an
    overturn or expiry hid only the first shop's entry (found by review)."""
    from chengxin.adapters.db.query import pair_in
    from chengxin.services.review import REVIEW_SOURCE

    cr, d = t.credit_records.c, lt.dishonesty_records.c
    out = []
    for r in conn.execute(select(cr.idx, cr.event_id, cr.subject_kind, cr.subject_source, cr.subject_id).where(
            cr.kind == "confirmed", cr.event_source == REVIEW_SOURCE, pair_in(cr.subject_source, cr.subject_id, refs))):
        party = lifecycle.party_key_of(conn, (r.subject_source, r.subject_id), r.subject_kind)
        rec = conn.execute(select(d.state, d.disclose_until).where(
            d.record_key == lifecycle.SEP.join(("review", r.event_id, party or "")))).first()
        last = date.fromisoformat(rec.disclose_until) if rec is not None and rec.disclose_until else None
        if rec is not None and not L.publicly_shown(rec.state, last, today):
            out.append(int(r.idx))
    return out
