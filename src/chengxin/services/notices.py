"""Risk notices (风险提示): the public dishonesty records in force of serious category, newest first, for the
portal's `/notices` page and its Atom feed, a page at a time (`page`: keyset cursors, record ids).

Public only: a record is shown while `record_views.record_view(row)["public"]` holds (in force, within its
disclosure period) and never when its party is a natural person (a shop's record is its operator's; PIPL
art. 25: a person's records are not published as notices).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
from sqlalchemy import Connection, and_, or_, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import lifecycle as L
from chengxin.domain.redact import redact
from chengxin.exc import InvalidInput
from chengxin.services import lifecycle, record_views
from chengxin.services.parties import NATURAL_PERSONS

SERIOUS = ("serious", "grave")
_BATCH = 200


def risk_notices(app: Chengxin, limit: int = 50) -> list[dict[str, Any]]:
    """Up to `limit` public serious records in force, newest confirmation first, each with its party and shop."""
    notices: list[dict[str, Any]] = page(app, limit)["notices"]
    return notices


def page(app: Chengxin, limit: int = 50, before: int | None = None, after: int | None = None) -> dict[str, Any]:
    """One page of notices, newest confirmation first: the newest `limit`, or those just older than the
    notice (record id) `before`, or just newer than `after` (keyset: a page stays the same while new notices
    arrive). `older` and `newer` are the cursors of the pages beside it (None: there is none): the `before`
    and the `after` of their links. A cursor is any serious record of a business, in force or no longer (a
    link to an older page keeps working after its notice was repaired); another id is InvalidInput."""
    if before is not None and after is not None:
        raise InvalidInput("before and after: one cursor at a time")
    today = lifecycle.today()
    with read_connection(app.engine) as conn:
        if after is not None:
            found = _collect(conn, _newer(conn, after, today), limit + 1, today)
            if len(found) <= limit:  # the newest notices: the first page, full
                return _first(conn, limit, today)
            shown = found[:limit][::-1]
            return {"notices": shown, "newer": shown[0]["record"],
                    "older": shown[-1]["record"] if _collect(conn, _older(conn, shown[-1]["record"], today), 1, today)
                    else None}
        if before is None:
            return _first(conn, limit, today)
        found = _collect(conn, _older(conn, before, today), limit + 1, today)
        shown = found[:limit]
        newest = shown[0]["record"] if shown else before
        newer = _collect(conn, _newer(conn, newest, today), 1, today)
        return {"notices": shown, "older": shown[-1]["record"] if len(found) > limit else None,
                "newer": newest if newer else None}


def _first(conn: Connection, limit: int, today: date) -> dict[str, Any]:
    found = _collect(conn, _listed(today).order_by(*_NEWEST_FIRST), limit + 1, today)
    return {"notices": found[:limit], "older": found[limit - 1]["record"] if len(found) > limit else None,
            "newer": None}


_d = lt.dishonesty_records.c
_NEWEST_FIRST = (_d.confirmed_at.desc(), _d.id.desc())


def _businesses() -> Any:
    """Serious records of businesses: natural persons never (a ring's buyers would otherwise be read and
    dropped one by one)."""
    s = t.subjects.c
    persons = select(s.party_key).where(s.party_key == _d.party_key, s.kind.in_(sorted(NATURAL_PERSONS)))
    return select(lt.dishonesty_records).where(_d.severity.in_(SERIOUS), ~persons.exists())


def _listed(today: date) -> Any:
    """The candidates of the notices: in force, within their disclosure period (`_notice` checks the rest).
    Acts only: a commitment breach is part of its act's notice (`_broken`), not one of its own, since it stands
    or falls with its act (one act appeared twice, as two serious findings: found by review). A page cursor
    may still name a breach record (`_anchor`): a link made before keeps its place."""
    return _businesses().where(_d.state.in_(sorted(L.IN_FORCE)), _d.origin != "breach",
                               or_(_d.disclose_until.is_(None), _d.disclose_until >= today.isoformat()))


def _anchor(conn: Connection, record: int) -> tuple[str, int]:
    row = conn.execute(_businesses().where(_d.id == record)).first()
    if row is None:
        raise InvalidInput("no such notice: a page cursor names a serious record of a business")
    return row.confirmed_at, row.id


def _older(conn: Connection, record: int, today: date) -> Any:
    at, rid = _anchor(conn, record)
    return _listed(today).where(or_(_d.confirmed_at < at, and_(_d.confirmed_at == at, _d.id < rid))).order_by(
        *_NEWEST_FIRST)


def _newer(conn: Connection, record: int, today: date) -> Any:
    at, rid = _anchor(conn, record)
    return _listed(today).where(or_(_d.confirmed_at > at, and_(_d.confirmed_at == at, _d.id > rid))).order_by(
        _d.confirmed_at, _d.id)


def _collect(conn: Connection, q: Any, n: int, today: date) -> list[dict[str, Any]]:
    """The first `n` notices of the candidates `q`, in its order (read `_BATCH` at a time)."""
    out: list[dict[str, Any]] = []
    offset = 0
    while len(out) < n:
        rows = list(conn.execute(q.limit(_BATCH).offset(offset)))
        for row in rows:
            notice = _notice(conn, row, today)
            if notice is not None:
                out.append(notice)
                if len(out) == n:
                    break
        if len(rows) < _BATCH:
            break
        offset += _BATCH
    return out


def _notice(conn: Connection, row: Any, today: Any) -> dict[str, Any] | None:
    view = record_views.record_view(row, today, public=True)
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
            "shop": {"source": shop.source, "id": shop.shop_id, "name": shop.name} if shop is not None else None,
            "breaches": _broken(conn, row, today)}


def _broken(conn: Connection, act: Any, today: date) -> list[dict[str, Any]]:
    """The commitments the act broke, as its public breach records say (the commitment, template and clause,
    with the clause's text in zh and en: the notices page says what was promised, not only its number)."""
    key = lifecycle.SEP.join(("breach", str(act.id), ""))
    rows = conn.execute(select(lt.dishonesty_records).where(
        _d.party_key == act.party_key, _d.origin == "breach", _d.state.in_(sorted(L.IN_FORCE)),
        _d.record_key.startswith(key, autoescape=True)).order_by(_d.id))
    out = []
    for r in rows:
        if not record_views.record_view(r, today, public=True)["public"]:
            continue
        breaks = orjson.loads(r.details).get("breaks", {})
        commitment = breaks.get("commitment") or [None, None]
        # the commitment by its title, not only its id ("K19" was its only name); the clause by the merchant's own
        # number when its text carries the clause (`own_clause`), else by the template's, said so (public review 5)
        out.append({"record": r.id, "commitment": {"source": commitment[0], "id": commitment[1],
                                                   "title": breaks.get("title") or _title(breaks.get("template"))},
                    "template": breaks.get("template"), "clause": breaks.get("clause"),
                    "own_clause": breaks.get("own_clause"),
                    "clause_zh": breaks.get("zh"), "clause_en": breaks.get("en"), "basis": redact(r.basis)})
    return out


def _title(template: str | None) -> dict[str, str] | None:
    """A template's title (zh, en), for breach records written before they carried it."""
    found = lifecycle.templates().templates.get(template or "")
    return {"zh": found.zh, "en": found.en} if found else None


def _subject(conn: Connection, source: str, subject_id: str) -> Any:
    return conn.execute(select(t.subjects).where(t.subjects.c.source == source,
                                                 t.subjects.c.subject_id == subject_id)).first()
