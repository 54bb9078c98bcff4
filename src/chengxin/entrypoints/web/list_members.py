"""The members of a public list as its portal page shows them: each party once, with every entry it has on the
list, and the number of parties (not of entries).

`list_views.members` pages the list by membership: a party on the list under two policies came twice, and
"共 10 个主体" counted entries (found by review). This reads the same table for the portal, paged by party
(newest entry first; `after`: parties whose newest entry has a smaller id), and describes each party with
`list_views.member_view`, as the public sees it (a natural person masked). Only public lists reach it (the
page refuses the others). It belongs in `services/list_views.py` beside `members`, where the API's `total`
could say the same; it lives here until then.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import func, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.services import list_views
from chengxin.services.viewer import ANONYMOUS

ENTRY = ("policy", "started_at", "review_at", "basis", "credit_record")


def by_party(cx: Chengxin, name: str, *, limit: int, after: int | None = None) -> dict[str, Any]:
    """`total` parties currently on the list; this page's `members`, each {party, shops, entries: [{policy,
    reason, basis, started_at, review_at, credit_record}], newest first}; `next_after`, the cursor of the next
    page (None on the last)."""
    m = lt.list_memberships.c
    current = (m.list == name, m.ended_at.is_(None))
    newest = func.max(m.id)
    q = select(m.party_key, newest.label("newest")).where(*current).group_by(m.party_key)
    if after is not None:
        q = q.having(newest < after)
    q = q.order_by(newest.desc(), m.party_key).limit(limit + 1)
    with read_connection(cx.engine) as conn:
        keys = list(conn.execute(q))
        total = conn.execute(select(func.count(func.distinct(m.party_key))).where(*current)).scalar_one()
        page = keys[:limit]
        entries: dict[str, list[Any]] = defaultdict(list)
        if page:
            for r in conn.execute(select(lt.list_memberships).where(
                    *current, m.party_key.in_([k.party_key for k in page])).order_by(m.id.desc())):
                entries[r.party_key].append(r)
        members = [_member(conn, entries[k.party_key]) for k in page if entries[k.party_key]]
    return {"total": total, "members": members, "next_after": page[-1].newest if len(keys) > limit else None}


def _member(conn: Any, rows: list[Any]) -> dict[str, Any]:
    first = list_views.member_view(conn, rows[0], ANONYMOUS)
    return {"party": first["party"], "shops": first["shops"],
            "entries": [{"reason": orjson.loads(r.reason), **{k: _entry(r, k) for k in ENTRY}} for r in rows]}


def _entry(r: Any, key: str) -> Any:
    return r.credit_idx if key == "credit_record" else getattr(r, key)
