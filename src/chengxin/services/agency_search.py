"""The public searches as a credit agency's key runs them (信用服务机构, docs/security.md "Credit agencies"):
shops (`GET /v1/shops`) and businesses by USCC or registered name (`GET /v1/parties?uscc=`, `?name=`), exactly
as the anonymous public gets them (never a natural person by name), and journaled (`access_journal`, action
`agency_search`). An agency is asked about a firm by its USCC or name, and its key could find none: it searched
without its key, where nothing is journaled (found by review).

The journal names the query's kind (`uscc`, `name`, `shop_url`, `shop_name`) and each party or shop the answer
names (one entry each, or one naming none), never the query's text: a name typed may be a person's, and a
"USCC" may hold a resident ID number (an individual business's).
"""

from __future__ import annotations

import re
from typing import Any

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.exc import Forbidden, NotFound
from chengxin.services import credit_log, parties, shop_search
from chengxin.services.access_journal import JOURNAL_SEP
from chengxin.services.viewer import AGENCY, ANONYMOUS, Viewer

ACTION = "agency_search"
_USCC = re.compile(r"[0-9A-Z]{2}[0-9]{6}[0-9A-Z]{10}")  # as `routes.shop_query` reads a query as a USCC


def shops(app: Chengxin, viewer: Viewer, query: str, *, limit: int, offset: int) -> dict[str, Any]:
    """The public shop search (`shop_search.search_page`), the query as `routes.shop_query` gives it."""
    _agency(viewer)
    page = shop_search.search_page(app, query, limit=limit, offset=offset)
    kind = "uscc" if _USCC.fullmatch(query) else "shop_url" if shop_search.url_parts(query) else "shop_name"
    _journal(app, viewer, f"shops by {kind}", [(s["source"], s["id"]) for s in page["shops"]], page["total"])
    return page


def parties_by_uscc(app: Chengxin, viewer: Viewer, uscc: str) -> list[dict[str, Any]]:
    """Every report of the business with this USCC, each as the public sees it (404 when none, journaled too)."""
    _agency(viewer)
    try:
        found = parties.find_by_uscc(app, uscc, ANONYMOUS)
    except NotFound:
        _journal(app, viewer, "parties by uscc", [], 0)
        raise
    _journal(app, viewer, "parties by uscc", [(p["source"], p["id"]) for p in found], len(found))
    return found


def parties_by_name(app: Chengxin, viewer: Viewer, name: str, *, limit: int, offset: int) -> dict[str, Any]:
    """Businesses whose registered name holds `name`, as the public finds them: never a natural person."""
    _agency(viewer)
    page = shop_search.search_parties_by_name(app, name, ANONYMOUS, limit=limit, offset=offset)
    _journal(app, viewer, "parties by name", [(p["source"], p["id"]) for p in page["parties"]], page["total"])
    return page


def _agency(viewer: Viewer) -> None:
    if viewer.role != AGENCY:
        raise Forbidden("this is the credit agencies' journaled search")


def _journal(app: Chengxin, viewer: Viewer, kind: str, found: list[tuple[str, str]], total: int) -> None:
    said = f"search: {kind}, {total} found"
    with write_transaction(app.engine) as conn:
        conn.execute(t.access_journal.insert(), [
            {"at": credit_log.now_utc(), "key_id": viewer.key_id or "?", "action": ACTION,
             "object": JOURNAL_SEP.join((source, entity, said))} for source, entity in found or [("", "")]])
