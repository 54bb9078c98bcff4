"""Appeals and credit repair of dishonesty records (issue 6, item 6): filing and deciding them, the statutory
repair check, giving back the orders of an overturned fake-order record, and the regulator's work queue.

Who may act: an appeal is filed by a regulator (recording the party's objection) or by the platform that
reported the party; a repair application likewise. Decisions are a regulator's, or the platform's for a record
the platform itself decided (上海市社会信用条例 art. 36: the provider decides objections about its records). A
decision moves the record through `lifecycle.move`, which writes the transition and its credit-log record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, String, and_, cast, exists, func, literal, select, update

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain import commitments as C
from chengxin.domain import lifecycle as L
from chengxin.exc import Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services import credit_log, lifecycle, record_views
from chengxin.services.lifecycle import APPEAL, PENDING, REPAIR, Conflict, Ref
from chengxin.services.parties import NATURAL_PERSONS
from chengxin.services.viewer import PLATFORM, PUBLIC, REGULATOR, Viewer


def _need_key(viewer: Viewer) -> None:
    if viewer.role == PUBLIC:
        raise NotAuthenticated("appeals and repairs need a regulator's key or the reporting platform's key")


def _record(conn: Connection, record_id: int, viewer: Viewer) -> Any:
    row = conn.execute(select(lt.dishonesty_records).where(lt.dishonesty_records.c.id == record_id)).first()
    if row is None or not (_sees_full(conn, viewer, row) or _reports_party(conn, viewer, row)):
        raise NotFound(f"no dishonesty record {record_id} visible to you")
    return row


def _sees_full(conn: Connection, viewer: Viewer, row: Any) -> bool:
    """Whether the viewer sees the record whole: a regulator, the platform that reported its subject, and the
    platform that decided it."""
    return viewer.role == REGULATOR or viewer.owns(row.subject_source) or _is_decider(conn, viewer, row)


def _reports_party(conn: Connection, viewer: Viewer, row: Any) -> bool:
    """Whether a platform reports the record's party itself (another platform's record about the same business,
    by party key, puts the platform's own merchant on lists and under measures): it sees the record as its
    party file shows it (public, in its public view) and files an appeal or a repair for its merchant; it
    also follows a record it filed an application about. Not a natural person's: a platform must not learn
    what another platform knows of a person (docs/security.md). It was a 404 although the party file showed
    the record (found by review)."""
    if viewer.role != PLATFORM or not viewer.source:
        return False
    s, a = t.subjects.c, lt.record_applications.c
    reports = conn.execute(select(s.source, s.kind).where(s.party_key == row.party_key)).all()
    if viewer.source not in {r.source for r in reports} or {r.kind for r in reports} & NATURAL_PERSONS:
        return False
    return bool(record_views.record_view(row)["public"]) or conn.execute(select(a.id).where(
        a.record_id == row.id, a.filed_by == viewer.source)).first() is not None


def _view(conn: Connection, row: Any, viewer: Viewer) -> dict[str, Any]:
    """The record as this viewer may see it: whole, or (a platform reporting its party) its public view."""
    return record_views.record_view(row, public=not _sees_full(conn, viewer, row))


def decider(conn: Connection, row: Any) -> str:
    """Who decided a record, as access reads it: a sanction's record, the source that reported the sanction
    (the platform that imposed its own measure; an authority's regulator source, whose records regulators
    decide); a breach record, its act's record's decider; any other, `decided_by`. Not a sanction record's
    `decided_by`: records opened before 2026-11-28 hold the event's free-text `authority` there."""
    if row.origin == "breach":
        act = conn.execute(select(lt.dishonesty_records).where(
            lt.dishonesty_records.c.id == lifecycle.act_of_breach(row))).first()
        if act is not None:
            return decider(conn, act)
    return lifecycle.sanction_source(row) or str(row.decided_by)


def _is_decider(conn: Connection, viewer: Viewer, row: Any) -> bool:
    return viewer.role == PLATFORM and bool(viewer.source) and viewer.source == decider(conn, row)


def _may_decide(conn: Connection, viewer: Viewer, row: Any) -> None:
    if not (viewer.role == REGULATOR or _is_decider(conn, viewer, row)):
        raise Forbidden("only a regulator, or the platform that decided the record, decides on it")


def _decided_by_sql(source: str) -> Any:
    """SQL: the records `decider` names `source` as deciding (a breach: by its act's record)."""
    d, act = lt.dishonesty_records, lt.dishonesty_records.alias("act")

    def own(r: Any) -> Any:
        prefix = f"sanction{lifecycle.SEP}{source}{lifecycle.SEP}"
        return ((r.c.origin == "sanction") & (func.substr(r.c.record_key, 1, len(prefix)) == prefix)) | (
            r.c.origin.not_in(("sanction", "breach")) & (r.c.decided_by == source))

    key = literal(f"breach{lifecycle.SEP}") + cast(act.c.id, String) + literal(lifecycle.SEP)
    return own(d) | ((d.c.origin == "breach") & exists(select(act.c.id).where(
        own(act), func.substr(d.c.record_key, 1, func.length(key)) == key)))


def file_application(app: Chengxin, record_id: int, kind: str, viewer: Viewer, grounds: str,
                     conditions: dict[str, bool] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """File an appeal (the record moves to `appealed`) or a repair application (checked now, decided later)."""
    _need_key(viewer)
    grounds = (grounds or "").strip()
    if kind not in (APPEAL, REPAIR):
        raise InvalidInput("kind: expected appeal or repair")
    if not grounds:
        raise InvalidInput("grounds: say why; an application without grounds is not filed")
    at, stamp = lifecycle.now_and_stamp(now)
    with write_transaction(app.engine) as conn:
        row = _record(conn, record_id, viewer)
        a = lt.record_applications.c
        if conn.execute(select(a.id).where(a.record_id == record_id, a.kind == kind, a.status == PENDING)).first():
            raise Conflict(f"record {record_id} already has a pending {kind} application")
        rules = lifecycle.rules()
        due = (lifecycle.day_of(at) + timedelta(days=rules.appeal_days)).isoformat() if kind == APPEAL else None
        if kind == APPEAL:
            lifecycle.move(conn, app, row, "appeal", lifecycle.who(viewer), grounds, rules.appeal_basis, at)
        elif row.state != L.CONFIRMED:
            raise Conflict(f"record {record_id} is {row.state}; only a confirmed record can be repaired")
        app_id = int(conn.execute(lt.record_applications.insert().values(
            record_id=record_id, kind=kind, filed_by=lifecycle.who(viewer), filed_at=stamp, grounds=grounds,
            conditions=orjson.dumps(conditions or {}).decode(), status=PENDING, due_by=due)).inserted_primary_key[0])  # type: ignore[index]
    return application_view(app, app_id, viewer)


def decide_application(app: Chengxin, application_id: int, viewer: Viewer, decision: str, reason: str,
                       basis: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Decide an appeal (`uphold` the record or `overturn` it) or a repair (`grant` or `refuse`). A repair is
    granted only when the statutory check passes on the day (`domain.lifecycle.check_repair`)."""
    _need_key(viewer)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason: say why; a decision without a reason is not recorded")
    at, stamp = lifecycle.now_and_stamp(now)
    with write_transaction(app.engine) as conn:
        a = lt.record_applications
        appl = conn.execute(select(a).where(a.c.id == application_id)).first()
        # one answer whether it does not exist or is not the caller's: two told another platform how many
        # applications there are and which record each is about (found by review)
        hidden = NotFound(f"no application {application_id} visible to you")
        if appl is None:
            raise hidden
        try:
            row = _record(conn, appl.record_id, viewer)
        except NotFound:
            raise hidden from None
        _may_decide(conn, viewer, row)
        if appl.status != PENDING:
            raise Conflict(f"application {application_id} was already {appl.status}")
        status, check = _decide(conn, app, appl, row, decision, lifecycle.who(viewer), reason, basis, at)
        conn.execute(update(a).where(a.c.id == application_id).values(
            status=status, decided_by=lifecycle.who(viewer), decided_at=stamp, reason=reason, basis=basis,
            check=orjson.dumps(check).decode() if check else None))
    if status == "overturned" and row.origin == "review":
        _restore_orders(app, row, lifecycle.who(viewer), reason)
    return application_view(app, application_id, viewer)


def _decide(conn: Connection, app: Chengxin, appl: Any, row: Any, decision: str, by: str, reason: str,
            basis: str | None, at: datetime) -> tuple[str, dict[str, Any] | None]:
    allowed = {APPEAL: {"uphold": "upheld", "overturn": "overturned"}, REPAIR: {"grant": "granted",
                                                                              "refuse": "refused"}}[appl.kind]
    if decision not in allowed:
        raise InvalidInput(f"decision: a{'n' if appl.kind == APPEAL else ''} {appl.kind} is decided by "
                           f"{' or '.join(allowed)}")
    law = basis or (lifecycle.rules().appeal_basis if appl.kind == APPEAL else lifecycle.rules().repair.basis)
    if appl.kind == APPEAL:
        lifecycle.move(conn, app, row, decision, by, reason, law, at)
        return allowed[decision], None
    check = repair_check(conn, row, orjson.loads(appl.conditions), at)
    if decision == "grant":
        if not check.eligible:
            raise Conflict("repair cannot be granted: " + "; ".join(check.unmet))
        lifecycle.move(conn, app, row, "repair", by, reason, law, at)
    return allowed[decision], check.as_dict()


def repair_check(conn: Connection, row: Any, conditions: dict[str, bool], at: datetime) -> L.RepairCheck:
    """The statutory repair check for a record on the day `at`."""
    d = lt.dishonesty_records.c
    repeats = conn.execute(select(d.id).where(
        d.party_key == row.party_key, d.category == row.category, d.id != row.id, d.origin != "breach",
        d.confirmed_at > row.confirmed_at, d.state.not_in((L.DISMISSED, L.OVERTURNED)))).all()
    from chengxin.services import lists

    others = lists.lists_without(conn, row.party_key, row.id, at)
    return L.check_repair(lifecycle.rules(), state=row.state, severity=row.severity,
                          repair_on=date.fromisoformat(row.repair_from), today=lifecycle.day_of(at),
                          conditions=conditions, commitment=_repair_commitment(conn, row, at),
                          repeats=len(repeats), lists=others)


def _repair_commitment(conn: Connection, row: Any, at: datetime) -> bool:
    """Whether the record's party published a repair commitment (`repair.commitment_template`) on or after the
    day the record was confirmed (not one from before, which the act broke or another record's repair used)
    that is in force at `at`. It was a box the filer ticked, and a repair was granted with no commitment on
    file, so its promise could never be broken (found by review)."""
    c, s = t.commitments.c, t.subjects.c
    lifecycle.templates()  # the template is checked against vocab/commitments.yaml when loaded
    since = lifecycle.day_of(lifecycle.parse_time(row.confirmed_at))  # a day: event times may lack fractions
    for r in conn.execute(select(c.published_at, c.valid_until).select_from(t.commitments.join(t.subjects, and_(
            s.source == c.subject_source, s.subject_id == c.subject_id))).where(
            s.party_key == row.party_key, c.template == lifecycle.rules().repair.commitment_template)):
        held = C.Commitment(("", ""), "", lifecycle.parse_time(r.published_at), lifecycle.end_of_day(r.valid_until))
        if lifecycle.day_of(held.published) >= since and held.in_force(at):
            return True
    return False


def _restore_orders(app: Chengxin, row: Any, by: str, reason: str) -> None:
    """An overturned fake-order record gives back the points its orders' verdicts took."""
    from chengxin.adapters.db import review_tables as rt
    from chengxin.services import review, standing

    item = orjson.loads(row.details).get("review_item")
    with read_connection(app.engine) as conn:
        kind_row = conn.execute(select(rt.review_items.c.kind, rt.review_items.c.level).where(
            rt.review_items.c.id == item)).first()
        s = rt.review_subjects.c
        orders = [(r.source, r.entity_id) for r in conn.execute(select(s.source, s.entity_id).where(
            s.item_id == item, s.role == "order"))]
    if kind_row is None or not review.takes_orders(kind_row.kind, kind_row.level):
        return
    with write_transaction(app.engine) as conn:  # a confirmation interrupted before its verdicts is not finished
        i = rt.review_items.c  # after its record fell (`review.finish_pending` took the orders again: found by review)
        conn.execute(update(rt.review_items).where(i.id == item, i.verdicts_at.is_(None)).values(
            verdicts_at=credit_log.now_utc()))
    with read_connection(app.engine) as conn:  # only this party's orders: others of the item keep their verdict
        o, sh, s = t.orders.c, t.shops.c, t.subjects.c
        mine = {(r.source, r.order_id) for r in conn.execute(select(o.source, o.order_id).select_from(
            t.orders.join(t.shops, and_(sh.source == o.shop_source, sh.shop_id == o.shop_id)).join(
                t.subjects, and_(s.source == sh.operator_source, s.subject_id == sh.operator_id))).where(
            s.party_key == row.party_key, o.order_id.in_([oid for _, oid in orders] or [""])))}
        held = _held_elsewhere(conn, item, [x for x in orders if x in mine], row.party_key)
    for order in [x for x in orders if x in mine and x not in held]:
        try:
            standing.set_order_verdict(app, order, "genuine", by, reason, f"record {row.id} overturned on appeal")
        except (NotFound, Forbidden):  # gone; or a regulator's own verdict, which only a regulator changes
            continue


def finish_overturns(app: Chengxin) -> int:
    """Give back the orders of overturned records whose giving back did not finish: `decide_application`
    commits the overturn, then restores the orders in transactions of their own, and a failure in between
    left them fake for good (found by review). An order of the record's own party still fake from before the
    overturn is given back now (unless another record of the party holds it); one found fake again after the
    overturn is left alone. Returns the records looked at."""
    from chengxin.adapters.db import review_tables as rt
    from chengxin.adapters.db import standing_tables as st

    d, s, v, o, sh, sub = (lt.dishonesty_records.c, rt.review_subjects.c, st.order_verdicts.c, t.orders.c,
                           t.shops.c, t.subjects.c)
    key = literal(f"review{lifecycle.SEP}") + cast(s.item_id, String) + literal(lifecycle.SEP) + d.party_key
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(select(lt.dishonesty_records).where(d.id.in_(select(d.id).select_from(
            lt.dishonesty_records.join(rt.review_subjects, and_(s.role == "order", d.record_key == key)).join(
                st.order_verdicts, and_(v.order_source == s.source, v.order_id == s.entity_id)).join(
                t.orders, and_(o.source == s.source, o.order_id == s.entity_id)).join(
                t.shops, and_(sh.source == o.shop_source, sh.shop_id == o.shop_id)).join(
                t.subjects, and_(sub.source == sh.operator_source, sub.subject_id == sh.operator_id))).where(
            d.origin == "review", d.state == L.OVERTURNED, v.verdict == "fake", v.decided_at < d.ended_at,
            sub.party_key == d.party_key)))))
        tr = lt.record_transitions.c
        moves = {r.record_id: (r.by, r.reason) for r in conn.execute(select(tr.record_id, tr.by, tr.reason).where(
            tr.record_id.in_([r.id for r in rows] or [-1]), tr.action == "overturn"))}
    for row in rows:
        by, reason = moves.get(row.id, ("chengxin", "record overturned"))
        _restore_orders(app, row, by, reason)
    return len(rows)


def _held_elsewhere(conn: Connection, item: int, orders: list[Ref], party_key: str) -> set[Ref]:
    """Those of `orders` that another confirmed review item, whose record about the same party (the orders'
    shop's operator) is still in force, also found fake: overturning one record must not clear an order
    another one holds, nor may another party's record hold them (a ring's record of another shop kept them
    fake, or not, by the order of the overturns) (both found by review)."""
    from chengxin.adapters.db import review_tables as rt
    from chengxin.services import review

    s, i, d = rt.review_subjects.c, rt.review_items.c, lt.dishonesty_records.c
    rows = conn.execute(select(s.source, s.entity_id, s.item_id, i.kind, i.level).join(
        rt.review_items, i.id == s.item_id).where(
        s.role == "order", s.item_id != item, i.status == review.CONFIRMED,
        s.entity_id.in_([oid for _, oid in orders] or [""])))
    held: set[Ref] = set()
    for r in rows:
        if (r.source, r.entity_id) in orders and review.takes_orders(r.kind, r.level) and conn.execute(
                select(d.id).where(d.record_key == lifecycle.SEP.join(("review", str(r.item_id), party_key)),
                                   d.state.in_(sorted(L.IN_FORCE)))).first() is not None:
            held.add((r.source, r.entity_id))
    return held


def get_record(app: Chengxin, record_id: int, viewer: Viewer) -> dict[str, Any]:
    """A record with its transitions and applications (regulators; the reporting or deciding platform). A
    platform that reports the record's party under its own report sees the record's public view, its moves
    without their free-text reasons, and its own applications only."""
    _need_key(viewer)
    with read_connection(app.engine) as conn:
        row = _record(conn, record_id, viewer)
        full = _sees_full(conn, viewer, row)
        tr, ra = lt.record_transitions.c, lt.record_applications.c
        moves = [{"action": m.action, "from": m.from_state, "to": m.to_state, "at": m.at, "by": m.by,
                  "reason": m.reason, "basis": m.basis, "credit_record": m.credit_idx}
                 for m in conn.execute(select(lt.record_transitions).where(tr.record_id == record_id).order_by(tr.id))]
        q = select(lt.record_applications).where(ra.record_id == record_id).order_by(ra.id)
        apps = [_application(a) for a in conn.execute(q if full else q.where(ra.filed_by == viewer.source))]
        check = repair_check(conn, row, {c: True for c in lifecycle.rules().repair.requires}, datetime.now(UTC))
    if not full:
        moves = [{**{k: v for k, v in m.items() if k != "reason"}, "by": _public_by(m["by"])} for m in moves]
    return {**record_views.record_view(row, public=not full), "transitions": moves, "applications": apps,
            "repair_check_if_conditions_met": check.as_dict()}


def _public_by(by: str) -> str:
    """Who moved a record, as the public reads it: a regulator's key id is not shown."""
    return "regulator" if by.startswith("regulator:") else by


def _application(a: Any) -> dict[str, Any]:
    return {"id": a.id, "record": a.record_id, "kind": a.kind, "filed_by": a.filed_by, "filed_at": a.filed_at,
            "grounds": a.grounds, "conditions": orjson.loads(a.conditions), "status": a.status, "due_by": a.due_by,
            "decided_by": a.decided_by, "decided_at": a.decided_at, "reason": a.reason, "basis": a.basis,
            "check": orjson.loads(a.check) if a.check else None}


def application_view(app: Chengxin, application_id: int, viewer: Viewer) -> dict[str, Any]:
    with read_connection(app.engine) as conn:
        a = conn.execute(select(lt.record_applications).where(lt.record_applications.c.id == application_id)).one()
        row = _record(conn, a.record_id, viewer)
        shown = _view(conn, row, viewer)
    return {"application": _application(a), "record": shown}


def list_applications(app: Chengxin, viewer: Viewer, *, status: str | None = PENDING, limit: int = 100,
                      after: int | None = None) -> dict[str, Any]:
    """Appeals and repair applications in filing order (the regulator's work queue): a regulator sees all, a
    platform those about records of its entities, records it decided and those it filed. `next_after` pages
    on."""
    _need_key(viewer)
    a, d = lt.record_applications.c, lt.dishonesty_records.c
    q = select(lt.record_applications, d.subject_source, d.decided_by.label("record_decided_by")).join(
        lt.dishonesty_records, d.id == a.record_id).order_by(a.id).limit(limit + 1)
    if status:
        q = q.where(a.status == status)
    if after is not None:
        q = q.where(a.id > after)
    if viewer.role != REGULATOR:
        q = q.where((d.subject_source == (viewer.source or "")) | _decided_by_sql(viewer.source or "")
                    | (a.filed_by == (viewer.source or "")))
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(q))
    return {"applications": [_application(r) for r in rows[:limit]],
            "next_after": rows[limit - 1].id if len(rows) > limit else None}
