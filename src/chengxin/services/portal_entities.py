"""Light look-ups for the portal's pages about one entity: what a credit record is about (its name, as the public
may read it), the reporters of a shop or party id given without its source, and the reports of one legal entity.

Read-only, and as the anonymous public sees them: a natural person's name masked (`parties.identity_view`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.services import parties
from chengxin.services.viewer import ANONYMOUS

MAX_CANDIDATES = 20  # an id many reporters use: the page lists this many and asks for a search


def record_subject(cx: Chengxin, subject: dict[str, Any]) -> dict[str, Any] | None:
    """The shop or party a credit record is about, as {entity, source, id, name}; None for another kind of
    subject (a complaint, a sanction) or one no longer known. A person's name masked."""
    kind, source, subject_id = subject.get("kind"), subject.get("source"), subject.get("id")
    if kind not in ("shop", "subject", "party") or not isinstance(source, str) or not isinstance(subject_id, str):
        return None
    with read_connection(cx.engine) as conn:
        if kind == "shop":
            shop = conn.execute(select(t.shops.c.name).where(t.shops.c.source == source,
                                                            t.shops.c.shop_id == subject_id)).first()
            return None if shop is None else {"entity": "shop", "source": source, "id": subject_id, "name": shop.name}
        row = conn.execute(select(t.subjects).where(t.subjects.c.source == source,
                                                    t.subjects.c.subject_id == subject_id)).first()
    if row is None:
        return None
    return {"entity": "party", "source": source, "id": subject_id,
            "name": parties.identity_view(row, False)["name"]}


def candidates(cx: Chengxin, entity_id: str) -> list[dict[str, Any]]:
    """Shops and parties with this id, whoever reported them (a link without `source`): {entity, source, id,
    name}, shops first; at most MAX_CANDIDATES + 1 (one more: are there more?). A person's name masked."""
    with read_connection(cx.engine) as conn:
        shops = conn.execute(select(t.shops.c.source, t.shops.c.name).where(t.shops.c.shop_id == entity_id)
                             .order_by(t.shops.c.source).limit(MAX_CANDIDATES + 1)).all()
        subjects = conn.execute(select(t.subjects).where(t.subjects.c.subject_id == entity_id)
                                .order_by(t.subjects.c.source).limit(MAX_CANDIDATES + 1)).all()
    found = [{"entity": "shop", "source": s.source, "id": entity_id, "name": s.name} for s in shops]
    found += [{"entity": "party", "source": s.source, "id": entity_id,
               "name": parties.identity_view(s, False)["name"]} for s in subjects]
    return found[:MAX_CANDIDATES + 1]


def entity_reports(cx: Chengxin, view: dict[str, Any]) -> list[dict[str, Any]]:
    """Every report of the legal entity a business's view (a party, or a shop's operator) belongs to, as light
    summaries with each reporter's own verification mark (`parties.search_parties`): by its USCC, else the
    view's own report. Empty for a natural person (the public sees no one's reports of a person)."""
    if view.get("kind") in parties.NATURAL_PERSONS or view.get("unknown"):
        return []
    uscc = view.get("uscc")
    if uscc:
        found = parties.search_parties(cx, uscc, ANONYMOUS)
        if found:
            return found
    mark = view.get("identity") or {}
    return [{"source": view.get("source"), "id": view.get("id"), "name": view.get("name"), "kind": view.get("kind"),
             "uscc": uscc, "verified": bool(mark.get("verified")),
             "identity": {k: mark.get(k) for k in ("valid", "verified", "reason", "reason_zh")}}]
