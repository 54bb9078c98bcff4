"""Order verdicts: an order found fake (or genuine after all) by a review, a regulator or an appeal
(`set_order_verdict`); its ratings are recounted at once, in the verdict's durable transaction, and the points
taken back (or restored) become credit records (`services/standing_retractions.py`).

Neighbours: `services/standing_touched.py` (the pairs and parties an order names), `services/standing.py` (the
overview).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.exc import Forbidden, InvalidInput, NotFound
from chengxin.services import credit_log
from chengxin.services.standing_queue import Mark, Ref
from chengxin.services.standing_touched import orders_read, pairs_of, touched

# `scoring` and `standing_ledger` import `services/standing.py`, which imports this module: they are imported
# inside the functions that use them (at the top, each import would wait on the other)

REGULATOR_DECIDER = "regulator:"  # how a regulator's decisions are recorded (`review.decided_by`)


def _may_decide(conn: Connection, order: Ref, verdict: str, decided_by: str) -> bool:
    """Whether to write this verdict. A regulator's verdict is changed only by a regulator: the platform that
    reported the order set it back to genuine after the regulator had confirmed the ring, and got the points
    back (found by review). The same verdict from someone else keeps the regulator's row (the platform could
    otherwise make the verdict its own first, then change it)."""
    v = st.order_verdicts.c
    was = conn.execute(select(v.verdict, v.decided_by).where(v.order_source == order[0],
                                                             v.order_id == order[1])).first()
    if was is None or not was.decided_by.startswith(REGULATOR_DECIDER) or decided_by.startswith(REGULATOR_DECIDER):
        return True
    if was.verdict != verdict:
        raise Forbidden(f"order {order[1]!r} was found {was.verdict} by a regulator ({was.decided_by}); only a "
                        f"regulator, or an appeal, changes that")
    return False


def set_order_verdict(app: Chengxin, order: Ref, verdict: str, decided_by: str, reason: str,
                      basis: str | None = None) -> dict[str, Any]:
    """Record that an order is fake (or genuine after all); its ratings are recounted at once, and points
    taken back (or restored) become credit records. Nothing else is punished here."""
    if verdict not in ("fake", "genuine"):
        raise InvalidInput("verdict: expected fake or genuine")
    if not reason.strip():
        raise InvalidInput("reason: say why; a verdict without a reason is not recorded")
    now = credit_log.now_utc()
    with write_transaction(app.engine) as conn:
        o = t.orders
        if conn.execute(select(o.c.order_id).where(o.c.source == order[0], o.c.order_id == order[1])).first() is None:
            raise NotFound(f"no order {order[1]!r} reported by {order[0]!r}")
        if _may_decide(conn, order, verdict, decided_by):
            upsert.insert_or_update(conn, st.order_verdicts, [{
                "order_source": order[0], "order_id": order[1], "verdict": verdict, "decided_by": decided_by,
                "decided_at": now, "reason": reason.strip(), "basis": basis}])
        before = credit_log.latest_head(conn)
        from chengxin.services import scoring, standing_ledger

        # recounted in this durable transaction, not through the queue: the points taken back (or restored)
        # are credit records, and no drain of derived data (whose commits may be lost) may append them
        marks = [Mark("order", order[0], order[1], "", "")]
        orders = orders_read(conn, marks)
        pairs = pairs_of(marks, orders)
        standing_ledger.recount(conn, app, pairs)
        scoring.rescore_in(conn, scoring.party_keys(conn, touched(conn, marks, pairs, orders)), "verdict")
        after = credit_log.latest_head(conn)
    added = (after.size if after else 0) - (before.size if before else 0)
    return {"order": {"source": order[0], "id": order[1]}, "verdict": verdict, "decided_at": now,
            "credit_records": added}
