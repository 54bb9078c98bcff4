"""The complaints sentence of a party's score, counting only the filings the viewer may see.

A score counts every complaint filed against the party (`services/profile_facts.py`), and its complaints
dimension says how many ("2 complaints, 1 upheld ..."). But a filing is an allegation, not public until it is
resolved (`credit_file.PUBLIC_KINDS`: the outcome is public, the filing is not): the public read "2 complaints"
on a page that showed one (found by users). So the sentence a viewer reads counts the filings it may see: a
regulator every one; anyone else those resolved, and a platform viewing its own report of the party also those it
filed or that name a report of its own. The score, the upheld count and the rate stay as computed: they count outcomes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, true

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import pair_in
from chengxin.domain.scoring import restate_complaints
from chengxin.services.credit_file import Ref
from chengxin.services.viewer import ANONYMOUS, PLATFORM, REGULATOR, Viewer

PART = 200  # targets per statement


def restate(conn: Connection, view: dict[str, Any], party_key: str, viewer: Viewer, *, full: bool) -> None:
    """`view`'s complaints dimension (`credit.dimensions`), counting the filings against the party with
    `party_key` that `viewer` may see; `full`: the view is of the viewer's own report (a platform's view of
    another's report of the party is the public's, filings counted alike). Nothing to do for a regulator, or
    where no score is shown."""
    credit = view.get("credit")
    if viewer.role == REGULATOR or not credit:
        return
    dims = credit.get("dimensions") or []
    at = next((i for i, d in enumerate(dims) if d["dimension"] == "complaints"), None)
    if at is None:
        return
    seen = visible_filings(conn, _targets(conn, party_key), viewer if full else ANONYMOUS)
    view["credit"] = {**credit, "dimensions": [*dims[:at], restate_complaints(dims[at], seen), *dims[at + 1:]]}


def _targets(conn: Connection, party_key: str) -> list[Ref]:
    """What a complaint against the party names, as its score counts them: its reports and their shops."""
    s, sh = t.subjects.c, t.shops.c
    refs = [(r.source, r.subject_id) for r in conn.execute(select(s.source, s.subject_id).where(
        s.party_key == party_key))]
    shops = [(r.source, r.shop_id) for r in conn.execute(select(sh.source, sh.shop_id).select_from(
        t.shops.join(t.subjects, and_(s.source == sh.operator_source, s.subject_id == sh.operator_id))).where(
        s.party_key == party_key))]
    return list(dict.fromkeys(refs + shops))


def visible_filings(conn: Connection, targets: list[Ref], viewer: Viewer) -> int:
    """How many complaints against `targets` the viewer may see: resolved ones (their outcome is public), and
    for a platform also those it filed or that name a report of its own; for a regulator, all."""
    c, res = t.complaints.c, t.complaint_resolutions.c
    resolved = select(res.complaint_id).where(res.source == c.source, res.complaint_id == c.complaint_id).exists()
    shown: Any = resolved
    if viewer.role == REGULATOR:
        shown = true()
    elif viewer.role == PLATFORM and viewer.source:
        shown = or_(resolved, c.source == viewer.source, c.target_source == viewer.source)
    total = 0
    for i in range(0, len(targets), PART):
        total += conn.execute(select(func.count()).select_from(t.complaints).where(
            pair_in(c.target_source, c.target_id, targets[i:i + PART]), shown)).scalar_one()
    return total
