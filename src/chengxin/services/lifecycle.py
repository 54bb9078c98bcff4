"""Dishonesty records and their lifecycle (issue 6, items 1, 2 and 6): opening them, their moves, expiry, and
commitment breaches. Appeals and credit repair are `appeals.py`; records as served, `record_views.py`.

A record opens when a person confirms a review item (`open_from_review`, called by `services/review.py` in
the decision's transaction), when an authority's sanction arrives (`sync`), or when a confirmed record breaks a
commitment the party published (a breach record, opened beside it). Each move is a `record_transitions` row
and a credit-log record (`record_<action>`), with who, when, why and the legal basis; the record's state is
the last move. After any change the party is queued for list re-evaluation (`services/list_queue.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, select, update

from chengxin import exc
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import acts
from chengxin.domain import commitments as C
from chengxin.domain import lifecycle as L
from chengxin.domain import lists as LS
from chengxin.domain.credit import CreditRecord
from chengxin.domain.events import canonical
from chengxin.services import credit_file, credit_log
from chengxin.services.viewer import PLATFORM, Viewer

Ref = tuple[str, str]
LIFECYCLE_SOURCE = "urn:cx:chengxin:lifecycle"  # the `event` of credit records this module writes
APPEAL, REPAIR = "appeal", "repair"
PENDING = "pending"


NO_ACT = (datetime.min.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))  # an act no evidence dates
Conflict = exc.Conflict  # the record's state or an earlier decision forbids this (HTTP 409, exit 65)


@cache
def rules() -> L.LifecycleRules:
    return L.load_rules(vocab_text("lifecycle.yaml"), "vocab/lifecycle.yaml")


@cache
def templates() -> C.Templates:
    found = C.load_templates(vocab_text("commitments.yaml"), "vocab/commitments.yaml", rules().categories)
    L.check_templates(rules(), {n: x.type for n, x in found.templates.items()}, "vocab/lifecycle.yaml",
                      "vocab/commitments.yaml")
    return found


CST = LS.CHINA  # record dates are China Standard Time days (the statutes' days)
SEP = "\x1f"  # joins the parts of a record key: sources are URNs full of ':'


def day_of(at: datetime) -> date:
    """The calendar day (China Standard Time) of an instant."""
    return LS.china_day(at)


def today() -> date:
    return day_of(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """A stored UTC time (`...Z`, `+00:00`, or a local offset) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def now_and_stamp(now: datetime | None) -> tuple[datetime, str]:
    at = now or datetime.now(UTC)
    return at, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def who(viewer: Viewer) -> str:
    """Who an act is recorded as: a platform's source, or `<role>:<key id>`."""
    return viewer.source if viewer.role == PLATFORM and viewer.source else f"{viewer.role}:{viewer.key_id}"


# --- opening records ------------------------------------------------------------------------------------------
def open_record(conn: Connection, app: Chengxin, *, key: str, origin: str, party_key: str, subject: tuple[str, Ref],
                category: str, severity: str, at: datetime, by: str, basis: str, details: dict[str, Any],
                sanction_kind: str | None = None, given_until: date | None = None, until_lifted: bool = False,
                credit_idx: int | None = None, act: tuple[datetime, datetime] | None = None) -> int | None:
    """Insert a confirmed record (None if `key` is already recorded) and queue its party for the lists. `act`:
    when the act itself happened, first and last (default: `at`), for the commitments it breaks; `NO_ACT`:
    the act has no time, and breaks none."""
    if conn.execute(select(lt.dishonesty_records.c.id).where(lt.dishonesty_records.c.record_key == key)).first():
        return None
    r, day = rules(), day_of(at)
    # a kind that lasts until lifted has no default end, but the authority's own date, when it gave one, holds
    last = None if until_lifted and given_until is None else L.disclose_until(r, severity, day, given_until)
    row = {"record_key": key, "origin": origin, "party_key": party_key, "subject_kind": subject[0],
           "subject_source": subject[1][0], "subject_id": subject[1][1], "category": category, "severity": severity,
           "sanction_kind": sanction_kind, "state": L.CONFIRMED, "confirmed_at": _stamp(at), "decided_by": by,
           "basis": basis, "disclose_until": last.isoformat() if last else None,
           "repair_from": L.repair_from(r, severity, day).isoformat(), "credit_idx": credit_idx,
           "details": orjson.dumps(details).decode()}
    record_id = int(conn.execute(lt.dishonesty_records.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]
    conn.execute(lt.record_transitions.insert().values(
        record_id=record_id, action="confirm", from_state=L.SUSPECTED, to_state=L.CONFIRMED, at=_stamp(at), by=by,
        reason=str(details.get("reason") or "confirmed"), basis=basis, credit_idx=credit_idx))
    from chengxin.services import list_queue

    list_queue.mark(conn, [party_key])
    if origin != "breach" and act is not NO_ACT:
        _breaches(conn, app, record_id, party_key, subject, category, severity, at, by, act or (at, at))
    _rescore(conn, subject[1])  # a record in force, or a broken commitment, counts in the score
    return record_id


def _rescore(conn: Connection, ref: Ref) -> None:
    from chengxin.services import standing_queue

    standing_queue.queue(conn, [("party", ref[0], ref[1], "", "")])


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def open_from_review(conn: Connection, app: Chengxin, item: Any, parties: list[tuple[Ref, str]], by: str,
                     at_text: str, reason: str, basis: str | None, first_idx: int) -> list[int]:
    """Records for the parties of a confirmed review item (called in the decision's transaction; the item's
    `confirmed` credit records start at log index `first_idx`, one per party in order)."""
    category = rules().category_of_finding(item.kind)
    if category is None:
        return []
    at, out = parse_time(at_text), []
    act = _act_of(conn, item)  # None: the act has no time, and breaks no commitment
    severity = rules().severity_of(category)
    seen: set[str] = set()
    overlapping = _order_sharing_items(conn, item.id)
    law = review_basis(item.kind, basis) or rules().categories[category].basis
    for n, (ref, kind) in enumerate(parties):
        party = party_key_of(conn, ref, kind)
        if party is None or party in seen:  # one act, one record per party: two shops of one operator in
            continue                        # one ring are one record (about the first shop named)
        seen.add(party)
        if _same_act_recorded(conn, party, category, overlapping):
            continue
        rid = open_record(conn, app, key=SEP.join(("review", str(item.id), party)), origin="review", party_key=party,
                          subject=(kind, ref), category=category, severity=severity, at=at, by=by, basis=law,
                          details={"review_item": item.id, "finding_kind": item.kind, "reason": reason},
                          credit_idx=first_idx + n, act=act or NO_ACT)
        if rid is not None:
            out.append(rid)
    return out


def review_basis(finding_kind: str, basis: str | None) -> str | None:
    """The legal basis of the record a confirmed finding of this kind opens: its category's statutes, then the
    officer's `basis`, each statute once (`domain.lifecycle.join_basis`). The decision's logged `confirmed`
    record carries the same (`review._decision_records`)."""
    category = rules().category_of_finding(finding_kind)
    return L.join_basis(rules().categories[category].basis if category else None, basis)


def _order_sharing_items(conn: Connection, item_id: int) -> dict[int, set[tuple[str, str]]]:
    """Other review items naming an order this one names (a shop's roll-up and the single parcels in it), each
    with the orders of this one it names; {-1: every order of this one}."""
    from chengxin.adapters.db import review_tables as rt

    mine, theirs = rt.review_subjects.alias("mine"), rt.review_subjects.alias("theirs")
    out: dict[int, set[tuple[str, str]]] = {-1: set()}
    for other, src, oid in conn.execute(select(theirs.c.item_id, mine.c.source, mine.c.entity_id).select_from(
            mine.outerjoin(theirs, and_(theirs.c.role == "order", theirs.c.source == mine.c.source,
                                        theirs.c.entity_id == mine.c.entity_id, theirs.c.item_id != mine.c.item_id))
    ).where(mine.c.item_id == item_id, mine.c.role == "order")):
        out[-1].add((src, oid))
        if other is not None:
            out.setdefault(other, set()).add((src, oid))
    return out


def _same_act_recorded(conn: Connection, party: str, category: str, items: dict[int, set[tuple[str, str]]]) -> bool:
    """Whether every order of this item is already in the party's records in force, of this category, from other
    items: the same act, confirmed again (a shop's roll-up, then its single parcels, made three serious records
    of one act and a repeat offender; found by review). An item with orders of its own is a wider act."""
    d, mine = lt.dishonesty_records.c, items[-1]
    keys = {SEP.join(("review", str(x), party)): x for x in items if x != -1}
    covered: set[tuple[str, str]] = set()
    chosen = sorted(keys)
    for i in range(0, len(chosen), 500):
        for key in conn.execute(select(d.record_key).where(d.record_key.in_(chosen[i:i + 500]),
                                                           d.category == category, d.state.in_(L.IN_FORCE))).scalars():
            covered |= items[keys[key]]
    return bool(mine) and mine <= covered


def _act_of(conn: Connection, item: Any) -> tuple[datetime, datetime] | None:
    """When the act of a review item happened, first and last: its orders' placing; else as its finding's
    evidence dates it (`domain/acts.py`: bursts of visits, a raise and its "discount"); else its reviews'
    posting. None when nothing dates it: with the confirmation's time instead, a commitment published after
    the act counted as broken by it (found by review)."""
    from chengxin.adapters.db import findings as fd
    from chengxin.adapters.db import review_tables as rt

    sub, o = rt.review_subjects.c, t.orders.c
    first, last = conn.execute(select(func.min(o.placed_at), func.max(o.placed_at)).select_from(
        t.orders.join(rt.review_subjects, and_(sub.source == o.source, sub.entity_id == o.order_id))).where(
        sub.item_id == item.id, sub.role == "order")).one()
    if first and last:
        return parse_time(first), parse_time(last)
    found = fd.finding_by_id(conn, item.finding_id)
    if found is None:
        return None
    return acts.act_window(found.finding.kind, found.finding.evidence) or _posted(conn, found.finding.refs("reviews"))


def _posted(conn: Connection, reviews: tuple[Ref, ...]) -> tuple[datetime, datetime] | None:
    from chengxin.adapters.db.query import pair_in

    r, times = t.reviews.c, list[str]()
    for i in range(0, len(reviews), 200):
        times += conn.execute(select(r.posted_at).where(pair_in(r.source, r.review_id, list(reviews[i:i + 200])))
                              ).scalars().all()
    return (parse_time(min(times)), parse_time(max(times))) if times else None


def party_key_of(conn: Connection, ref: Ref, kind: str = "subject") -> str | None:
    """The party (legal identity) of a subject report or of a shop's operator."""
    s, sh = t.subjects.c, t.shops.c
    if kind == "shop":
        found = conn.execute(select(s.party_key).select_from(t.shops.join(t.subjects, and_(
            s.source == sh.operator_source, s.subject_id == sh.operator_id))).where(
            sh.source == ref[0], sh.shop_id == ref[1])).scalar()
        if found is not None:
            return str(found)
    found = conn.execute(select(s.party_key).where(s.source == ref[0], s.subject_id == ref[1])).scalar()
    return str(found) if found is not None else None


def party_keys_of(conn: Connection, refs: Iterable[Ref]) -> list[str]:
    """The parties of these subject reports, one query per source (a bulk load's commitments: one query a
    batch where one a subject cost ~0.1 ms each); subjects not yet registered have none."""
    s = t.subjects.c
    by_source: dict[str, set[str]] = {}
    for source, subject_id in refs:
        by_source.setdefault(source, set()).add(subject_id)
    keys: set[str] = set()
    for source, ids in by_source.items():
        chosen = sorted(ids)
        for i in range(0, len(chosen), 500):  # bound the statement's parameters
            keys.update(conn.execute(select(s.party_key).where(
                s.source == source, s.subject_id.in_(chosen[i:i + 500]), s.party_key.is_not(None))).scalars())
    return sorted(keys)


def _breaches(conn: Connection, app: Chengxin, record_id: int, party_key: str, subject: tuple[str, Ref],
              category: str, severity: str, at: datetime, by: str, act: tuple[datetime, datetime]) -> None:
    """A breach record for each commitment in force whose template covers the category (SHSC art. 30(1)),
    at most as serious as the act (`severity`): a commitment cannot make a minor act a serious record (a
    platform's warning put a merchant on the black list through its commitment's black_list penalty, found
    by review; a black list rests on serious acts)."""
    c, s = t.commitments.c, t.subjects.c
    rows = conn.execute(select(c.source, c.commitment_id, c.template, c.published_at, c.valid_until,
                               c.clauses).select_from(
        t.commitments.join(t.subjects, and_(s.source == c.subject_source, s.subject_id == c.subject_id))).where(
        s.party_key == party_key)).all()
    held = [C.Commitment((r.source, r.commitment_id), r.template, parse_time(r.published_at),
                         end_of_day(r.valid_until)) for r in rows]
    own = {(r.source, r.commitment_id): orjson.loads(r.clauses) for r in rows}  # the text as published
    tpl = templates()
    found = C.breaches(tpl, held, category, *act)
    order = {s: i for i, s in enumerate(L.SEVERITIES)}
    # one act breaks at most one record's worth of promises: the strictest clause broken (a merchant holding
    # a standard and a repair commitment is not counted twice for one act)
    for commitment, number, clause in sorted(found, key=lambda f: -order[tpl.penalties[f[2].penalty].severity])[:1]:
        penalty = tpl.penalties[clause.penalty]
        weight = min(penalty.severity, severity, key=order.__getitem__)
        title = tpl.templates[commitment.template]
        # `clause` numbers the template's terms; `own_clause` the same words in the text as published (None: not
        # there word for word), so a citation is by the merchant's own number or says it is the template's
        details = {"breaks": {"commitment": list(commitment.key), "template": commitment.template,
                              "title": {"zh": title.zh, "en": title.en}, "clause": number + 1,
                              "own_clause": C.own_number(clause, own.get(commitment.key) or []),
                              "zh": clause.zh, "en": clause.en},
                   "penalty": {"name": penalty.name, "zh": penalty.zh, "en": penalty.en},
                   "record": record_id, "reason": f"record {record_id} ({category}) breaks clause {number + 1}"
                   + (f"; {weight} as the act is, not {penalty.severity}" if weight != penalty.severity else "")}
        payload = {"record": record_id, "category": category, **details}
        idx = append_record(conn, app, "commitment_breach", subject, payload, at)
        open_record(conn, app, key=SEP.join(("breach", str(record_id), *commitment.key)), origin="breach",
                    party_key=party_key, subject=subject, category=category, severity=weight, at=at,
                    by=by, basis=rules().breach_basis, details=details, credit_idx=idx)


def end_of_day(day: str | None) -> datetime | None:
    """The last instant of a day in China (a commitment's `valid_until`), as lists and the credit file read it."""
    if not day:
        return None
    return datetime.fromisoformat(day[:10]).replace(tzinfo=CST) + timedelta(days=1) - timedelta(microseconds=1)


def append_record(conn: Connection, app: Chengxin, kind: str, subject: tuple[str, Ref], payload: dict[str, Any],
                  at: datetime, source: str = LIFECYCLE_SOURCE, salt: dict[str, Any] | None = None) -> int:
    """Append one credit record that Chengxin itself states (`source`: the writing service; the event hash is
    a digest of the kind, `salt` and the payload); returns its log index."""
    digest = hashlib.sha256(canonical({"kind": kind, **(salt or {}), **payload})).hexdigest()
    record = CreditRecord(kind, subject[0], subject[1], (source, digest[:32]), _stamp(at), payload)
    head = credit_log.append(conn, app.keys, app.settings.log_origin, [(record, digest)])
    assert head is not None
    return head.size - 1


def sanction_source(row: Any) -> str | None:
    """The source that reported a sanction record's sanction (from its key: records opened before 2026-11-28
    stored the event's free-text `authority` as `decided_by`); None for a record of another origin."""
    return str(row.record_key).split(SEP)[1] if row.origin == "sanction" else None


def act_of_breach(row: Any) -> int:
    """The id of the record whose act broke a breach record's commitment."""
    return int(str(row.record_key).split(SEP)[1])


# --- sanctions from events ------------------------------------------------------------------------------------
def sync(app: Chengxin, now: datetime | None = None) -> dict[str, int]:
    """Open records for sanctions not yet recorded, apply their liftings, expire records whose disclosure
    ended. Idempotent; cheap when nothing is new (two indexed anti-joins)."""
    at, _ = now_and_stamp(now)
    done = {"opened": 0, "lifted": 0, "expired": 0}
    with write_transaction(app.engine) as conn:
        from chengxin.services import list_queue

        conn.execute(delete(lt.list_queue).where(lt.list_queue.c.party_key == list_queue.SYNC))  # under the lock:
        done["opened"] = _open_sanctions(conn, app)  # a sync asked after this commit runs again
        done["lifted"] = _apply_lifts(conn, app)
        done["expired"] = expire_due(conn, app, at)
    from chengxin.services import appeals  # appeals moves records through this module

    done["restored"] = appeals.finish_overturns(app)
    return done


def _open_sanctions(conn: Connection, app: Chengxin) -> int:
    s, d, cr, sub = t.sanctions.c, lt.dishonesty_records.c, t.credit_records.c, t.subjects.c
    # sanctions of known subjects without a record yet (one of an unknown subject waits for its subject)
    # decided by the source that reported it (a platform's own measure: that platform; an authority's: its
    # regulator source), never the free-text `authority`: a platform was locked out of its own measure's
    # appeals, and another platform named there could read and overturn it (found by review)
    new = list(conn.execute(select(t.sanctions, sub.party_key).join(t.subjects, and_(
        sub.source == s.subject_source, sub.subject_id == s.subject_id)).where(~select(d.id).where(
            d.record_key == (f"sanction{SEP}" + s.source + SEP + s.sanction_id)).exists())))
    opened = 0
    for row in new:
        party, rule = row.party_key, rules().sanctions.get(row.kind)
        if rule is None:
            continue
        category = row.category if row.category in rules().categories else "other"
        candidates = conn.execute(select(cr.idx, cr.kind, cr.event_source, cr.event_id).where(
            cr.kind == "sanction", cr.subject_kind == "subject", cr.subject_source == row.subject_source,
            cr.subject_id == row.subject_id, cr.event_source == row.source))
        idx = next((i for i, key in credit_file.sanction_keys_of_records(conn, candidates).items()
                    if key == (row.source, row.sanction_id)), None)
        given = date.fromisoformat(row.disclose_until[:10]) if row.disclose_until else None
        opened += open_record(
            conn, app, key=SEP.join(("sanction", row.source, row.sanction_id)), origin="sanction", party_key=party,
            subject=("subject", (row.subject_source, row.subject_id)), category=category,
            severity=rules().severity_of(category, row.kind), at=parse_time(row.imposed_at), by=row.source,
            basis=row.legal_basis or rule.basis, sanction_kind=row.kind, given_until=given,
            until_lifted=rule.until_lifted, credit_idx=idx,
            details={"sanction": [row.source, row.sanction_id], "decision_no": row.decision_no,
                     "authority": row.authority, "reason": f"{row.kind} {row.decision_no}"}) is not None
    return opened


_LIFT_ACTIONS = {"repaired": "repair", "revoked": "overturn", "expired": "expire"}


def _apply_lifts(conn: Connection, app: Chengxin) -> int:
    lift, d = t.sanction_lifts.c, lt.dishonesty_records
    rows = list(conn.execute(select(d, lift.reason, lift.at.label("lifted_at"), lift.source.label("lifted_by")).join(
        t.sanction_lifts, d.c.record_key == (f"sanction{SEP}" + lift.source + SEP + lift.sanction_id)).where(
        d.c.state.in_(sorted(L.IN_FORCE)))))
    for row in rows:
        action = _LIFT_ACTIONS[row.reason]
        if action == "repair" and row.state != L.CONFIRMED:
            action = "overturn"  # lifted while under appeal: the authority ended it
        move(conn, app, row, action, row.lifted_by, f"sanction lifted: {row.reason}",
              rules().sanctions[row.sanction_kind].basis if row.sanction_kind in rules().sanctions else None,
              parse_time(row.lifted_at))
    return len(rows)


def expire_due(conn: Connection, app: Chengxin, at: datetime) -> int:
    """Records in force whose last public day is before today expire (PPD art. 13)."""
    d = lt.dishonesty_records.c
    rows = list(conn.execute(select(lt.dishonesty_records).where(
        d.state.in_(sorted(L.IN_FORCE)), d.disclose_until.is_not(None), d.disclose_until < day_of(at).isoformat())))
    for row in rows:
        move(conn, app, row, "expire", "chengxin", f"disclosure period ended {row.disclose_until}",
              rules().severities[row.severity].basis, at)
    return len(rows)


def move(conn: Connection, app: Chengxin, row: Any, action: str, by: str, reason: str, basis: str | None,
          at: datetime, state: str | None = None) -> str:
    """Apply a lifecycle action to a record: state, transition row, credit record, list queue."""
    before = state or row.state
    try:
        after = L.next_state(before, action)
    except L.IllegalTransition as e:
        raise Conflict(f"record {row.id}: {e}") from e
    payload = {"record": row.id, "category": row.category, "from": before, "to": after, "by": by,
               "reason": reason, "basis": basis}
    idx = append_record(conn, app, f"record_{after}" if action != "uphold" else "record_upheld",
                  (row.subject_kind, (row.subject_source, row.subject_id)), payload, at)
    ended = _stamp(at) if after in L.ENDED else None
    conn.execute(update(lt.dishonesty_records).where(lt.dishonesty_records.c.id == row.id).values(
        state=after, ended_at=ended))
    conn.execute(lt.record_transitions.insert().values(
        record_id=row.id, action=action, from_state=before, to_state=after, at=_stamp(at), by=by, reason=reason,
        basis=basis, credit_idx=idx))
    from chengxin.services import list_queue

    list_queue.mark(conn, [row.party_key])
    _rescore(conn, (row.subject_source, row.subject_id))  # a record's weight in the score moves with it
    if after in L.ENDED:
        _end_dependants(conn, app, row, action, after, by, at)
    return after


_FOLLOW = {L.REPAIRED: "repair", L.OVERTURNED: "overturn", L.EXPIRED: "expire"}


def _end_dependants(conn: Connection, app: Chengxin, row: Any, action: str, after: str, by: str,
                    at: datetime) -> None:
    """A record that ends takes with it the breach records it opened (a breach stands or falls with its act)
    and closes its pending applications as moot (they can no longer be decided)."""
    a = lt.record_applications.c
    conn.execute(update(lt.record_applications).where(a.record_id == row.id, a.status == PENDING).values(
        status="moot", decided_by="chengxin", decided_at=_stamp(at), reason=f"the record was {after}"))
    if row.origin == "breach":
        return
    d = lt.dishonesty_records.c
    for breach in conn.execute(select(lt.dishonesty_records).where(
            d.record_key.startswith(SEP.join(("breach", str(row.id), ""))), d.state.in_(sorted(L.IN_FORCE)))).all():
        step = _FOLLOW[after] if breach.state == L.CONFIRMED or after != L.REPAIRED else "overturn"
        move(conn, app, breach, step, by, f"record {row.id} was {after}", rules().breach_basis, at)
