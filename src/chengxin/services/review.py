"""The review queue (issue 5, item 2): detection findings become suspected-dishonesty records, and a person
confirms or dismisses each. Nothing is punished on a machine score alone.

- `publish(app, run_id)`: each finding of the run (default: each detector's newest run) that names a party
  or an order becomes an open review item, and a `suspected` credit record is appended for every party it
  is about (the parties it names; for a finding naming only orders, the orders' shops). Suspected records
  are not public: regulators and the platform that reported the party see them. One item per suspicion
  (kind, level and subject): a later run's finding grows an open item, follows up a decided one with what is
  new, or is already queued (`services/review_publish.py`).
- `decide(app, item, "confirm" | "dismiss", viewer, reason, basis)`: a regulator, or the platform that
  reported every entity the item names, decides once, with a reason. Confirming appends a `confirmed` record
  per party (public for businesses, like a sanction: a person decided it and says why), and for a fake-order
  kind (`fake_order_ring`, or an `empty_parcel` the shop sent) records each named order as fake
  (`standing.set_order_verdict`), so its ratings stop counting and the points taken back become
  `points_retracted` records. Dismissing appends a `dismissed` record per party (not public).
- `list_items(app, viewer, status)`: a regulator sees every item, a platform the items about its entities
  (without other sources' references in the evidence). An open per-order item whose order the detector's
  newest full run no longer names says so (`stale`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, exists, select, update

from chengxin.adapters.db import findings as fd
from chengxin.adapters.db import review_tables as rt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.query import pair_in
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord
from chengxin.domain.events import canonical
from chengxin.exc import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services import credit_log, lifecycle, lists
from chengxin.services import review_publish as RP
from chengxin.services.standing_verdicts import REGULATOR_DECIDER
from chengxin.services.viewer import PLATFORM, PUBLIC, REGULATOR, Viewer

Ref = tuple[str, str]
REVIEW_SOURCE = "urn:cx:chengxin:review"  # the `event` of a credit record that the review queue wrote
OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"
STATUSES = (OPEN, CONFIRMED, DISMISSED)
DECISIONS = {"confirm": CONFIRMED, "dismiss": DISMISSED}
# Kinds whose confirmed orders were fake trades: their ratings stop counting and their points are taken back.
FAKE_ORDER_KINDS = frozenset({"fake_order_ring", "empty_parcel"})
# ... except an empty-parcel roll-up of a courier or carrier: real orders whose delivery the logistics side
# faked; the buyers' ratings of the shop stay.
NOT_THE_SHOPS = frozenset({"courier", "carrier", "order_delivery"})  # real trades whose parcels a carrier faked


class AlreadyDecided(Conflict):
    """A review item is decided once; a second decision is refused (HTTP 409, exit 65)."""


# --- publishing (services/review_publish.py) -------------------------------------------------------------------
summarise, evidence_sha256 = RP.summarise, RP.evidence_sha256


def decided_by(viewer: Viewer) -> str:
    """Who a decision is recorded as: a platform's source, or `regulator:<key id>`."""
    if viewer.role == PLATFORM and viewer.source:
        return viewer.source
    return f"{viewer.role}:{viewer.key_id}"


def publish(app: Chengxin, run_id: str | None = None) -> dict[str, Any]:
    """Queue the findings of a run (default: each detector's newest run) for review, one item per suspicion,
    and append a `suspected` record per party each is about, in one transaction (`review_publish`). Returns
    the counts: published (new items), grown (open items that gained parties or orders), already queued,
    about no one."""
    finish_pending(app)
    return RP.publish(app, credit_log.now_utc(), run_id)


# --- reading --------------------------------------------------------------------------------------------------
def list_items(app: Chengxin, viewer: Viewer, *, status: str | None = None, limit: int = 100,
               after: int | None = None, kind: str | None = None, level: str | None = None,
               min_score: float | None = None, party: tuple[str, str] | None = None) -> dict[str, Any]:
    """Review items in queue order (by id), at most `limit` with an id above `after`: a regulator's all, a
    platform's those about its own entities. `next_after` is the cursor of the next page (None on the last).
    Filters, for triage: a finding `kind`, a roll-up `level`, a `min_score`, and a `party` (source, id) the
    item names (a reviewer had to page past hundreds of single parcels to reach a ring: found by review)."""
    _need_key(viewer, "the review queue needs a platform or regulator API key")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: expected one of {', '.join(STATUSES)}")
    i = rt.review_items.c
    q = select(rt.review_items).order_by(i.id).limit(limit + 1)
    if status is not None:
        q = q.where(i.status == status)
    if after is not None:
        q = q.where(i.id > after)
    q = _filtered(q, kind, level, min_score, party)
    if viewer.role != REGULATOR:
        sub = rt.review_subjects.c
        q = q.where(exists().where(sub.item_id == i.id, sub.source == (viewer.source or "")))
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(q))
        page = rows[:limit]
        views = _views(conn, page, viewer)
    return {"items": views, "next_after": page[-1].id if len(rows) > limit else None}


def _filtered(q: Any, kind: str | None, level: str | None, min_score: float | None,
              party: tuple[str, str] | None) -> Any:
    i, sub = rt.review_items.c, rt.review_subjects.c
    if kind is not None:
        q = q.where(i.kind == kind)
    if level is not None:
        q = q.where(i.level == level)
    if min_score is not None:
        q = q.where(i.score >= min_score)
    if party is not None:
        q = q.where(exists().where(sub.item_id == i.id, sub.role == "party", sub.source == party[0],
                                   sub.entity_id == party[1]))
    return q


def get_item(app: Chengxin, item_id: int, viewer: Viewer) -> dict[str, Any]:
    """One review item with its evidence, if the viewer may see it."""
    _need_key(viewer, "the review queue needs a platform or regulator API key")
    with read_connection(app.engine) as conn:
        row = conn.execute(select(rt.review_items).where(rt.review_items.c.id == item_id)).first()
        if row is None or not _may_see(viewer, _sources(conn, item_id)):
            raise NotFound(f"no review item {item_id} visible to you")
        return _views(conn, [row], viewer)[0]


def _views(conn: Connection, rows: Sequence[Any], viewer: Viewer | None = None) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    subjects: dict[int, list[Any]] = {i: [] for i in ids}
    evidence: dict[int, Any] = {}
    found_at: dict[int, str] = {}
    for k in range(0, len(ids), 500):
        part = ids[k:k + 500]
        for s in conn.execute(select(rt.review_subjects).where(rt.review_subjects.c.item_id.in_(part))
                              .order_by(rt.review_subjects.c.source, rt.review_subjects.c.entity_id)):
            subjects[s.item_id].append(s)
        wanted = [r.finding_id for r in rows[k:k + 500]]
        for fid, ev, at in conn.execute(select(fd.findings.c.id, fd.findings.c.evidence, fd.findings.c.created_at)
                                        .where(fd.findings.c.id.in_(wanted))):
            evidence[fid] = orjson.loads(ev)
            found_at[fid] = at
    stale = _stale(conn, rows, subjects, found_at)
    return [_withheld(_view(r, subjects[r.id], evidence.get(r.finding_id), stale.get(r.id)), subjects[r.id], viewer)
            for r in rows]


def _stale(conn: Connection, rows: Sequence[Any], subjects: dict[int, list[Any]],
           found_at: dict[int, str]) -> dict[int, dict[str, Any]]:
    """Open per-order items whose order the detector's newest full run, run after their finding, no longer
    names: read live from a feed whose transit scans came after the delivery, a parcel is "no transit" until
    the full run reads its whole waybill (found by review). Computed when read, so a later run that finds the
    order again clears it; nothing is withdrawn from the log, and a person still decides."""
    out: dict[int, dict[str, Any]] = {}
    newest: dict[str, tuple[str, str] | None] = {}
    named: dict[tuple[str, str], frozenset[Ref]] = {}
    for r in rows:
        if r.status != OPEN or r.level not in ("order", *RP.ONE_ORDER) or r.finding_id not in found_at:
            continue
        if r.detector not in newest:
            newest[r.detector] = fd.newest_full_run(conn, r.detector)
        run = newest[r.detector]
        if run is None or run[0] == r.run_id or run[1] <= found_at[r.finding_id]:
            continue  # no full run since the finding: it has not read what the finding read
        if (run[0], r.kind) not in named:
            named[(run[0], r.kind)] = fd.orders_named(conn, run[0], r.kind)
        orders = [(s.source, s.entity_id) for s in subjects[r.id] if s.role == "order"]
        if orders and not any(o in named[(run[0], r.kind)] for o in orders):
            out[r.id] = {"not_found_by": run[0], "since": run[1],
                         "why": "the newest full run no longer finds this order; the finding may be stale"}
    return out


def _withheld(view: dict[str, Any], subjects: list[Any], viewer: Viewer | None) -> dict[str, Any]:
    """A platform sees an item about its own entities; when the item also names other sources' parties or
    orders (a carrier's courier, another platform's orders in a roll-up), it sees only its own of them, and
    neither their evidence, which names the others: a regulator reads the whole item and decides it. Of an
    item about its own entities only, it sees the evidence without the references to other sources' entities
    embedded in it (the other platforms' orders on a tracking number its shop shared: found by review)."""
    if viewer is None or viewer.role == REGULATOR:
        return view
    if all(viewer.owns(s.source) for s in subjects):
        return {**view, "evidence": _own_refs(view["evidence"], viewer)}
    others = [s for s in subjects if not viewer.owns(s.source)]
    return {**view, "parties": [p for p in view["parties"] if viewer.owns(p["source"])],
            "orders": [o for o in view["orders"] if viewer.owns(o["source"])],
            "products": [p for p in view["products"] if viewer.owns(p["source"])], "evidence": None,
            "withheld": {"parties": sum(s.role == "party" for s in others),
                         "orders": sum(s.role == "order" for s in others),
                         "why": "the item also names other sources' entities; a regulator reads it whole"}}


def _own_refs(evidence: Any, viewer: Viewer) -> Any:
    """The evidence without the references (`{"source", "id"}`) to other sources' entities; a field or list
    that held some says how many beside it, as `<field>_elsewhere`."""
    if isinstance(evidence, list):
        return [_own_refs(x, viewer) for x in evidence if not _foreign(x, viewer)]
    if not isinstance(evidence, dict):
        return evidence
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        if _foreign(value, viewer):
            out[key], out[f"{key}_elsewhere"] = None, 1
            continue
        out[key] = _own_refs(value, viewer)
        if isinstance(value, list) and (n := sum(_foreign(x, viewer) for x in value)):
            out[f"{key}_elsewhere"] = n
    return out


def _foreign(x: Any, viewer: Viewer) -> bool:
    return isinstance(x, dict) and isinstance(x.get("source"), str) and "id" in x and not viewer.owns(x["source"])


def _view(r: Any, subjects: list[Any], evidence: Any, stale: dict[str, Any] | None = None) -> dict[str, Any]:
    decision = None
    if r.status != OPEN:
        decision = {"decision": "confirm" if r.status == CONFIRMED else "dismiss", "decided_by": r.decided_by,
                    "decided_at": r.decided_at, "reason": r.reason, "basis": r.basis,
                    "verdicts_at": r.verdicts_at}
    return {"id": r.id, "kind": r.kind, "level": r.level, "score": r.score, "status": r.status,
            "published_at": r.published_at, "detector": r.detector, "run_id": r.run_id, "finding_id": r.finding_id,
            "parties": [{"source": s.source, "id": s.entity_id, "kind": s.subject_kind}
                        for s in subjects if s.role == "party"],
            "orders": [{"source": s.source, "id": s.entity_id} for s in subjects if s.role == "order"],
            "products": [{"source": s.source, "id": s.entity_id} for s in subjects if s.role == "product"],
            "follows": r.follows, "evidence_sha256": r.evidence_sha256, "summary": orjson.loads(r.summary),
            "evidence": evidence, "decision": decision, "stale": stale}


def _sources(conn: Connection, item_id: int) -> set[str]:
    c = rt.review_subjects.c
    return set(conn.execute(select(c.source).where(c.item_id == item_id).distinct()).scalars())


def _need_key(viewer: Viewer, why: str) -> None:
    if viewer.role == PUBLIC:
        raise NotAuthenticated(why)


def _may_see(viewer: Viewer, sources: set[str]) -> bool:
    return viewer.role == REGULATOR or any(viewer.owns(s) for s in sources)


def _may_decide(viewer: Viewer, sources: set[str]) -> bool:
    return viewer.role == REGULATOR or (bool(sources) and all(viewer.owns(s) for s in sources))


# --- deciding -------------------------------------------------------------------------------------------------
def decide(app: Chengxin, item_id: int, decision: str, viewer: Viewer, reason: str,
           basis: str | None = None) -> dict[str, Any]:
    """Confirm or dismiss a review item, once, with a reason (see the module). Returns the decided item, the
    credit records the decision added (its own and the points taken back), the orders recorded as fake, and
    the credit points and grade of the parties it is about, before and after."""
    _need_key(viewer, "a review decision needs a regulator's key or the reporting platform's key")
    if decision not in DECISIONS:
        raise InvalidInput("decision: expected confirm or dismiss")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason: say why; a decision without a reason is not recorded")
    basis = (basis.strip() or None) if basis else None
    finish_pending(app)
    by, now, status = decided_by(viewer), credit_log.now_utc(), DECISIONS[decision]
    with write_transaction(app.engine) as conn:
        row = conn.execute(select(rt.review_items).where(rt.review_items.c.id == item_id)).first()
        subjects = list(conn.execute(select(rt.review_subjects).where(rt.review_subjects.c.item_id == item_id)))
        sources = {s.source for s in subjects}
        if row is None or not _may_see(viewer, sources):
            raise NotFound(f"no review item {item_id} visible to you")
        if not _may_decide(viewer, sources):
            raise Forbidden("only a regulator, or the platform that reported every entity the item names, may "
                            "decide on it")
        if row.status != OPEN:
            raise AlreadyDecided(f"review item {item_id} was already {row.status} by {row.decided_by} at "
                                 f"{row.decided_at}; an item is decided once")
        parties = [((s.source, s.entity_id), s.subject_kind) for s in subjects if s.role == "party"]
        orders = [(s.source, s.entity_id) for s in subjects if s.role == "order"]
        fake = orders if status == CONFIRMED and takes_orders(row.kind, row.level) else []
        if fake and not by.startswith(REGULATOR_DECIDER):
            _not_held_genuine(conn, fake)
        conn.execute(update(rt.review_items).where(rt.review_items.c.id == item_id).values(
            status=status, decided_by=by, decided_at=now, reason=reason, basis=basis,
            verdicts_at=None if fake else now))
        before = _standing(conn, [ref for ref, _ in parties], viewer)
        records = _decision_records(row, status, parties, len(orders), by, now, reason, basis)
        head = credit_log.append(conn, app.keys, app.settings.log_origin, records)
        if status == CONFIRMED and head is not None:  # the dishonesty records, and any commitment breaches
            lifecycle.open_from_review(conn, app, row, parties, by, now, reason, basis, head.size - len(records))
    verdicts = _apply_verdicts(app, item_id, fake, by, reason, basis) if fake else {
        "orders": 0, "missing": 0, "held": 0, "credit_records": 0}
    listed = lists.evaluate(app, _party_keys(app, [ref for ref, _ in parties]))  # the lists this brings
    lists.drain(app)  # and whatever else is queued (not reported here: other parties are not the caller's)
    with read_connection(app.engine) as conn:
        after = _standing(conn, [ref for ref, _ in parties], viewer)
        item = _views(conn, [conn.execute(select(rt.review_items).where(rt.review_items.c.id == item_id)).one()],
                      viewer)[0]  # as the decider may see it: a platform, without other sources' references
    return {"item": item, "credit_records": len(records) + verdicts["credit_records"],
            "order_verdicts": verdicts["orders"], "orders_missing": verdicts["missing"],
            "orders_held_genuine": verdicts["held"],
            "lists": (listed or {}).get("moves", []),
            "standing": [{"source": r[0], "id": r[1], "kind": k, "before": b, "after": a}
                         for (r, k), b, a in zip(parties, before, after, strict=False)]}


def _party_keys(app: Chengxin, refs: list[Ref]) -> list[str]:
    from chengxin.services import scoring

    with read_connection(app.engine) as conn:
        return scoring.party_keys(conn, refs)


def takes_orders(kind: str, level: str | None) -> bool:
    """Whether confirming an item of this kind and level records its orders as fake."""
    return kind in FAKE_ORDER_KINDS and level not in NOT_THE_SHOPS


def _decision_records(row: Any, status: str, parties: list[tuple[Ref, str]], orders: int, by: str, at: str,
                      reason: str, basis: str | None) -> list[tuple[CreditRecord, str]]:
    payload = {**RP.finding_payload(row.id, row.kind, row.score, row.evidence_sha256, row.run_id, orders,
                                    orjson.loads(row.summary)),
               "decided_by": by, "reason": reason,
               # a confirmation's logged basis is the record's it opens (the category's statutes and the officer's)
               "basis": lifecycle.review_basis(row.kind, basis) if status == CONFIRMED else basis}
    event_hash = hashlib.sha256(canonical({**payload, "status": status, "decided_at": at})).hexdigest()
    return [(CreditRecord(status, kind, ref, (REVIEW_SOURCE, str(row.id)), at, payload), event_hash)
            for ref, kind in parties]


def _not_held_genuine(conn: Connection, orders: list[Ref]) -> None:
    """Refuse, before anything is written, a confirmation that would find fake an order a regulator found
    genuine: only a regulator changes a regulator's verdict (`standing_verdicts._may_decide`). Written first and
    refused after, it left the item confirmed with its verdicts pending, and every later review action
    retried them and failed (found by review)."""
    v = st.order_verdicts.c
    for i in range(0, len(orders), 200):  # a shop's roll-up may name thousands: SQLite bounds an OR's depth
        held = conn.execute(select(v.order_source, v.order_id, v.decided_by).where(
            v.verdict == "genuine", v.decided_by.startswith(REGULATOR_DECIDER),
            pair_in(v.order_source, v.order_id, orders[i:i + 200]))).first()
        if held is None:
            continue
        src, oid, by = held
        raise Conflict(f"order {oid!r} of {src!r} was found genuine by a regulator ({by}); only a regulator may "
                       f"confirm an item that finds it fake")


def _apply_verdicts(app: Chengxin, item_id: int, orders: Iterable[Ref], by: str, reason: str,
                    basis: str | None) -> dict[str, int]:
    """Record each order of a confirmed item as fake (its ratings recounted, points taken back), then mark the
    item's verdicts done. Verdicts are idempotent, so an interrupted run is simply repeated."""
    from chengxin.services import standing

    done = {"orders": 0, "missing": 0, "held": 0, "credit_records": 0}
    why = f"review item {item_id}" + (f"; {basis}" if basis else "")
    for order in orders:
        try:
            result = standing.set_order_verdict(app, order, "fake", by, reason, why)
        except NotFound:  # the finding named an order the store does not have
            done["missing"] += 1
            continue
        except Forbidden:  # a regulator found it genuine since the decision: the regulator's verdict stands
            done["held"] += 1
            continue
        done["orders"] += 1
        done["credit_records"] += int(result.get("credit_records", 0))
    with write_transaction(app.engine) as conn:
        conn.execute(update(rt.review_items).where(rt.review_items.c.id == item_id).values(
            verdicts_at=credit_log.now_utc()))
    return done


def finish_pending(app: Chengxin, decided_before: str | None = None) -> int:
    """Finish confirmations interrupted between the decision and its order verdicts (a crash, a lost
    connection): record the verdicts of confirmed fake-order items whose `verdicts_at` is still empty (with
    `decided_before`, only of items decided before then: the scorer leaves a young one to the process that
    decided it, which is likely still at it)."""
    i = rt.review_items.c
    younger = [i.decided_at < decided_before] if decided_before is not None else []
    with read_connection(app.engine) as conn:
        pending = list(conn.execute(select(rt.review_items).where(i.status == CONFIRMED, i.verdicts_at.is_(None),
                                                                   *younger)))
        work = []
        for row in pending:
            s = rt.review_subjects.c
            orders = [(x.source, x.entity_id) for x in conn.execute(
                select(s.source, s.entity_id).where(s.item_id == row.id, s.role == "order"))]
            work.append((row, orders))
    for row, orders in work:
        _apply_verdicts(app, row.id, orders, row.decided_by, row.reason, row.basis)
    return len(work)


def _score_shown(conn: Connection, party_key: str, viewer: Viewer) -> bool:
    """`parties.score_shown` of the party's reports."""
    from chengxin.services.parties import score_shown

    linked = conn.execute(select(t.subjects.c.kind, t.subjects.c.source).where(
        t.subjects.c.party_key == party_key)).all()
    return score_shown(linked, viewer)


def _standing(conn: Connection, refs: list[Ref], viewer: Viewer, most: int = 50) -> list[dict[str, Any]]:
    """Credit points of each rated entity and the score and grade of its party (the first `most`): not a
    person's score where the viewer sees only some of the person's linked accounts (`parties._withheld`)."""
    from chengxin.services import scoring

    out = []
    for ref in refs[:most]:
        s = st.standings.c
        points = conn.execute(select(s.points).where(s.target_source == ref[0], s.target_id == ref[1])).scalar()
        keys = scoring.party_keys(conn, [ref])
        score = conn.execute(select(st.credit_scores.c.score, st.credit_scores.c.grade).where(
            st.credit_scores.c.party_key == keys[0])).first() if keys and _score_shown(conn, keys[0], viewer) \
            else None
        out.append({"points": int(points or 0), "score": score.score if score else None,
                    "grade": score.grade if score else None})
    return out
