"""How long the public sees that a fake order's rating points were taken back (or given back).

A `points_retracted` record says "order O was found fake, its rating's points were taken back": a finding of
dishonesty about the rated shop, published like the record that found it, and no longer than that record
(市场监督管理行政处罚信息公示规定 第十三条: publication stops when the period ends; 上海市社会信用条例
第三十条: dishonesty information is not disclosed beyond its period). So such a record, and the
`points_restored` that answers it, leaves public view when:

- the order was found fake by confirmed review items, and none of their dishonesty records is still shown
  (repaired, expired, overturned, or past its disclosure date); or
- the order's verdict was set directly (the verdict API, with no review item), and the period of the
  `fake_order` category, counted from the day the record was written, has passed.

The points stay taken back (a hidden record does not change the standing); the log keeps every record.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import review_tables as rt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import pair_in
from chengxin.domain import lifecycle as L

Ref = tuple[str, str]
KINDS = ("points_retracted", "points_restored")
VERDICTS_SOURCE = "urn:cx:chengxin:verdicts"  # as services/standing_retractions.py writes them
FAKE_ORDER = "fake_order"  # the category of a directly decided fake order (vocab/lifecycle.yaml)


def hidden_point_changes(conn: Connection, refs: list[Ref], today: date) -> list[int]:
    """Log indexes of these entities' point retractions and restorations the public no longer sees."""
    cr = t.credit_records.c
    out: list[int] = []
    for i in range(0, len(refs), 200):
        rows = list(conn.execute(select(cr.idx, cr.event_id, cr.at).where(
            cr.kind.in_(KINDS), cr.event_source == VERDICTS_SOURCE,
            pair_in(cr.subject_source, cr.subject_id, refs[i:i + 200]))))
        shown = _orders_shown(conn, {_order(r.event_id) for r in rows}, today)
        out += [int(r.idx) for r in rows if not shown.get(_order(r.event_id), _direct_shown(r.at, today))]
    return out


def _order(event_id: str) -> Ref:
    source, _, order_id = event_id.partition("|")  # standing writes "<order source>|<order id>"
    return source, order_id


def _orders_shown(conn: Connection, orders: set[Ref], today: date) -> dict[Ref, bool]:
    """For each order that confirmed review items found fake: whether one of their records is still shown.
    Orders no confirmed item names are left out (their verdict was set directly)."""
    from chengxin.services import review
    from chengxin.services.lifecycle import SEP

    if not orders:
        return {}
    s, i, d = rt.review_subjects.c, rt.review_items.c, lt.dishonesty_records.c
    items: dict[int, set[Ref]] = {}
    for r in conn.execute(select(s.source, s.entity_id, i.id, i.kind, i.level).join(
            rt.review_items, i.id == s.item_id).where(
            s.role == "order", i.status == review.CONFIRMED, s.entity_id.in_(sorted({o for _, o in orders})))):
        if (r.source, r.entity_id) in orders and review.takes_orders(r.kind, r.level):
            items.setdefault(int(r.id), set()).add((r.source, r.entity_id))
    shown: dict[Ref, bool] = {}
    for item, named in items.items():
        visible = any(L.publicly_shown(rec.state, date.fromisoformat(rec.disclose_until) if rec.disclose_until
                                       else None, today)
                      for rec in conn.execute(select(d.state, d.disclose_until).where(
                          d.record_key.like(f"review{SEP}{item}{SEP}%"))))
        for order in named:
            shown[order] = shown.get(order, False) or visible
    return shown


def _direct_shown(at: str, today: date) -> bool:
    """A directly decided verdict's record: public through the fake-order category's period from its day."""
    from chengxin.services import lifecycle

    rules = lifecycle.rules()
    day = lifecycle.day_of(datetime.fromisoformat(at.replace("Z", "+00:00")))
    last = L.disclose_until(rules, rules.severity_of(FAKE_ORDER), day)
    return last is None or today <= last
