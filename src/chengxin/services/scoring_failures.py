"""Scoring marks that fail, counted in the store, and parked there for an operator.

A mark of `scoring_queue` that fails alone (`standing_aside.SetAside`) has its failure counted in `scoring_failures`,
with its last error, in a transaction of its own. At `standing_aside.PARK_AFTER` failures the same transaction parks
it: the mark leaves the queue, so neither the scorer, a restart nor another `chengxin settle` tries it again,
and `chengxin scoring parked`, `chengxin settle` and `/v1/health` show it. Once its cause is fixed (a new
release, a corrected event), `chengxin scoring release` puts it back in the queue with its count cleared. A mark
that settles loses its row (`standing_drain._settle`); so do all of them when a full rebuild succeeds.

Counted in memory before, a one-shot `chengxin settle` never got past one failure (the mark then waits), every
restart started again from none, and nothing showed an operator the mark was there (found by review).

A mark queued again by new events while it is parked is tried again (new data may settle it), and parked again
at the next failure. Events that arrive between a mark's last failure and its parking re-queue nothing (the mark
is still queued), so that one is parked with them: release it to settle them.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select

from chengxin.adapters.db import bulk
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services.credit_log import now_utc

log = logging.getLogger("chengxin.scorer")
KEY = ("kind", "a_source", "a_id", "b_source", "b_id")  # the queue's key, and this table's
ERROR_CHARS = 500  # an error is kept this long at most (engine.describe_error holds no parameters)
F = st.scoring_failures


def _is(table: Any, mark: tuple[Any, ...]) -> Any:
    return and_(*(table.c[k] == v for k, v in zip(KEY, mark, strict=True)))


def record(app: Chengxin, mark: tuple[Any, ...], error: str, park_after: int) -> tuple[int, bool] | None:
    """Count a failure of `mark` alone: (its failures so far, whether it is now parked); None when the store
    refused (the caller counts in memory meanwhile). At `park_after` failures the mark leaves the queue."""
    try:
        with write_transaction(app.engine) as conn:
            before = conn.execute(select(F.c.failures).where(_is(F, mark))).scalar() or 0
            times, parked = before + 1, before + 1 >= park_after
            conn.execute(delete(F).where(_is(F, mark)))
            conn.execute(F.insert().values(**dict(zip(KEY, mark, strict=True)), failures=times,
                                           error=error[:ERROR_CHARS], failed_at=now_utc(), parked=parked))
            if parked:
                conn.execute(delete(st.scoring_queue).where(_is(st.scoring_queue, mark)))
    except Exception as exc:  # the store is out of reach or busy: counted in memory, tried again later
        log.error("scorer: could not count a failure of a %s mark of %s (%s)", mark[0], mark[1],
                  type(exc).__name__)
        return None
    return times, parked


def settled(conn: Connection, marks: list[Any]) -> None:
    """Forget the failures of marks that have settled (in the transaction that settled them)."""
    for mark in marks:
        conn.execute(delete(F).where(_is(F, tuple(mark))))


def forget_all(conn: Connection) -> None:
    """A full rebuild settled everything: no mark is failing or parked any more."""
    conn.execute(delete(F))


def count(conn: Connection) -> int:
    """How many marks are parked."""
    return int(conn.execute(select(func.count()).select_from(F).where(F.c.parked)).scalar_one())


def parked(app: Chengxin, *, kind: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
    """The parked marks, oldest first (of one kind, or naming an entity of one source)."""
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(*(F.c[k] for k in (*KEY, "failures", "error", "failed_at"))).where(
            F.c.parked, *_filters(kind, source)).order_by(F.c.failed_at, *(F.c[k] for k in KEY))).all()
    return [dict(r._mapping) for r in rows]


def release(app: Chengxin, *, kind: str | None = None, source: str | None = None) -> int:
    """Put parked marks back in the queue, their count cleared (all, or of one kind, or of one source); how
    many. The next drain (the scorer, `chengxin settle`) settles them, or parks them again."""
    with write_transaction(app.engine) as conn:
        rows = conn.execute(select(*(F.c[k] for k in KEY)).where(F.c.parked, *_filters(kind, source))).all()
        bulk.insert_or_ignore_tuples(conn, "scoring_queue", [tuple(r) for r in rows])
        for r in rows:
            conn.execute(delete(F).where(_is(F, tuple(r))))
    return len(rows)


def _filters(kind: str | None, source: str | None) -> list[Any]:
    return [*([F.c.kind == kind] if kind else []), *([or_(F.c.a_source == source, F.c.b_source == source)]
                                                      if source else [])]

