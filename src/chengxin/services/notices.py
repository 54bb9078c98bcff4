"""Risk notices (风险提示): the public dishonesty records in force of serious category, newest first, for the
portal's `/notices` page and its Atom feed.

Public only: a record is shown while `lifecycle.record_view(row)["public"]` holds (in force, within its
disclosure period) and never when its party is a natural person (a shop's record is its operator's; PIPL
art. 25: a person's records are not published as notices).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import lifecycle as L
from chengxin.domain.redact import redact
from chengxin.services import lifecycle
from chengxin.services.parties import NATURAL_PERSONS

SERIOUS = ("serious", "grave")
_BATCH = 200


def risk_notices(app: Chengxin, limit: int = 50) -> list[dict[str, Any]]:
    """Up to `limit` public serious records in force, newest confirmation first, each with its party and shop."""
    today = lifecycle.today()
    d, s = lt.dishonesty_records.c, t.subjects.c
    persons = select(s.party_key).where(s.party_key == d.party_key, s.kind.in_(sorted(NATURAL_PERSONS)))
    q = select(lt.dishonesty_records).where(
        d.state.in_(sorted(L.IN_FORCE)), d.severity.in_(SERIOUS),
        or_(d.disclose_until.is_(None), d.disclose_until >= today.isoformat()),
        ~persons.exists(),  # natural persons never (a ring's buyers would otherwise be read and dropped here)
    ).order_by(d.confirmed_at.desc(), d.id.desc())
    out: list[dict[str, Any]] = []
    offset = 0
    with read_connection(app.engine) as conn:
        while len(out) < limit:
            rows = list(conn.execute(q.limit(_BATCH).offset(offset)))
            for row in rows:
                notice = _notice(conn, row, today)
                if notice is not None:
                    out.append(notice)
                    if len(out) == limit:
                        break
            if len(rows) < _BATCH:
                break
            offset += _BATCH
    return out


def _notice(conn: Connection, row: Any, today: Any) -> dict[str, Any] | None:
    view = lifecycle.record_view(row, today, public=True)
    if not view["public"]:
        return None
    shop = None
    if row.subject_kind == "shop":
        shop = conn.execute(select(t.shops).where(t.shops.c.source == row.subject_source,
                                                  t.shops.c.shop_id == row.subject_id)).first()
        if shop is None:
            return None
        party = _subject(conn, shop.operator_source, shop.operator_id)
    else:
        party = _subject(conn, row.subject_source, row.subject_id)
    if party is None or party.kind in NATURAL_PERSONS:
        return None
    return {"record": row.id, "category": row.category, "category_zh": view["category_zh"],
            "category_en": view["category_en"], "severity": row.severity, "state": row.state,
            "basis": redact(row.basis), "decided_by": view["decided_by"], "confirmed_at": row.confirmed_at,
            "disclose_until": row.disclose_until,
            "party": {"source": party.source, "id": party.subject_id, "name": party.name, "kind": party.kind,
                      "uscc": party.uscc},
            "shop": {"source": shop.source, "id": shop.shop_id, "name": shop.name} if shop is not None else None}


def _subject(conn: Connection, source: str, subject_id: str) -> Any:
    return conn.execute(select(t.subjects).where(t.subjects.c.source == source,
                                                 t.subjects.c.subject_id == subject_id)).first()
