"""Marks the scorer could not settle, parked in the store for an operator.

A mark of `scoring_queue` that fails alone `standing.PARK_AFTER` times (`standing.SetAside`) moves to
`scoring_parked`, with how often it failed and its last error, in one transaction: the scorer, a restart or
another `chengxin settle` no longer tries it again, and `chengxin scoring parked` and `/v1/health` show it is
there. Once its cause is fixed (a new release, a corrected event), `chengxin scoring release` puts it back in
the queue, and the next drain settles it. Should the same mark be queued again meanwhile (new events for that
order or pair), it is tried again: new data may settle it, and it is parked again after as many failures.
Kept only in this process's memory before: every restart tried every such mark again, and nothing showed it.
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
KEY = ("kind", "a_source", "a_id", "b_source", "b_id")  # the queue's key, and the parked table's
ERROR_CHARS = 500  # an error is kept this long at most (engine.describe_error holds no parameters)


def _is(table: Any, mark: tuple[Any, ...]) -> Any:
    return and_(*(table.c[k] == v for k, v in zip(KEY, mark, strict=True)))


def park(app: Chengxin, mark: tuple[Any, ...], failures: int, error: str) -> bool:
    """Move `mark` from the queue to `scoring_parked` (its failures added to any it had there); False when the
    store refused, and the caller keeps it aside in memory instead."""
    try:
        with write_transaction(app.engine) as conn:
            before = conn.execute(select(st.scoring_parked.c.failures).where(_is(st.scoring_parked, mark))).scalar()
            conn.execute(delete(st.scoring_parked).where(_is(st.scoring_parked, mark)))
            conn.execute(delete(st.scoring_queue).where(_is(st.scoring_queue, mark)))
            conn.execute(st.scoring_parked.insert().values(
                **dict(zip(KEY, mark, strict=True)), failures=(before or 0) + failures, error=error[:ERROR_CHARS],
                parked_at=now_utc()))
    except Exception as exc:  # the store is out of reach: the mark stays aside in memory, as before
        log.error("scorer: could not park a %s mark of %s (%s); set aside until this process restarts",
                  mark[0], mark[1], type(exc).__name__)
        return False
    log.error("scorer: a %s mark of %s failed %d times and is parked (`chengxin scoring parked`): %s",
              mark[0], mark[1], failures, error[:ERROR_CHARS])  # its kind and source: no one's ids in the log
    return True


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(st.scoring_parked)).scalar_one())


def parked(app: Chengxin, *, kind: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
    """The parked marks, oldest first (of one kind, or whose first entity is of one source)."""
    with read_connection(app.engine) as conn:
        rows = conn.execute(select(st.scoring_parked).where(*_filters(kind, source)).order_by(
            st.scoring_parked.c.parked_at, *(st.scoring_parked.c[k] for k in KEY))).all()
    return [dict(r._mapping) for r in rows]


def release(app: Chengxin, *, kind: str | None = None, source: str | None = None) -> int:
    """Put parked marks back in the queue (all of them, or of one kind, or of one source); how many. The next
    drain (the scorer, `chengxin settle`) settles them, or parks them again after as many failures."""
    with write_transaction(app.engine) as conn:
        rows = conn.execute(select(*(st.scoring_parked.c[k] for k in KEY)).where(*_filters(kind, source))).all()
        bulk.insert_or_ignore_tuples(conn, "scoring_queue", [tuple(r) for r in rows])
        for r in rows:
            conn.execute(delete(st.scoring_parked).where(_is(st.scoring_parked, tuple(r))))
    return len(rows)


def _filters(kind: str | None, source: str | None) -> list[Any]:
    c = st.scoring_parked.c
    return [*([c.kind == kind] if kind else []),
            *([or_(c.a_source == source, c.b_source == source)] if source else [])]
