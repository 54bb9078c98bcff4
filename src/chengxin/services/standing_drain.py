"""Settling the scoring queue: `drain` takes marks in chunks, each chunk one transaction that recounts the
marked pairs (`standing_ledger.recount`), refreshes the orders' trade figures, rescores the parties touched and
deletes the marks; a backlog too long (a bulk load) is settled by a full rebuild instead. A chunk that fails is
settled again mark by mark, and a mark that fails alone is set aside (`services/standing_aside.py`).

Neighbours: `services/standing_queue.py` (the marks), `services/standing_touched.py` (what they name),
`services/standing_follow.py` (the scorer's loop around `drain`), `services/standing.py` (the overview).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, func, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import NotDurable, describe_error, read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import scoring_failures, trade
from chengxin.services.standing_aside import SetAside, set_aside, transient
from chengxin.services.standing_queue import BulkBacklog, queued, take, unmark
from chengxin.services.standing_touched import orders_of, orders_read, pairs_of, touched

# `scoring` and `standing_ledger` import `services/standing.py`, which imports this module: they are imported
# inside the functions that use them (at the top, each import would wait on the other)

log = logging.getLogger("chengxin.scorer")
REBUILD_BEYOND = 2_000  # a backlog this long (a bulk load) is settled faster by recounting everything
FIRST_CHUNK = 8  # marks in a budgeted drain's first transaction; later ones follow the time each mark took


def drain(app: Chengxin, *, chunk: int = 2000, cause: str = "events",
          rebuild_beyond: int | None = REBUILD_BEYOND, pause_s: float = 0.0,
          budget_s: float | None = None) -> dict[str, int]:
    """Settle the queue: recount the ratings of marked pairs and orders, rescore the parties they touch.
    Chunked, each chunk one transaction (marks deleted with the work they asked for). A backlog longer than
    `rebuild_beyond` (a bulk load) is settled by a full rebuild instead, which costs less than so many
    incremental steps; None never rebuilds (a server's scorer must not stall requests for a rebuild).
    With `budget_s`, chunks (at most `chunk` marks) are sized so that a transaction holds the write lock about
    that long: a request waits at most that long for the scorer."""
    from chengxin.services import scoring, standing_ledger

    aside, look = set_aside(app), budget_s is not None
    most = None if rebuild_beyond is None else rebuild_beyond + 1  # marks that make a bulk backlog
    backlog, seen = 1, None
    if look:  # the scorer polls a queue that is mostly empty: it looks before taking the write lock
        with read_connection(app.engine) as conn:
            backlog = queued(conn, most or 1, aside.skipped())
            seen = _latest_event(conn)
    # any other drain settles what its caller has just queued: the first transaction counts the backlog itself
    # (a read transaction before it was a tenth of a lone event's step)
    done = {"pairs": 0, "parties": 0}
    size = chunk if budget_s is None else min(chunk, FIRST_CHUNK)
    try:
        while backlog:
            marks, latest, took = _settle_chunk(app, size, cause, done, look, aside, most)
            most = None  # only the first transaction looks for a bulk backlog
            backlog = marks == size  # a full chunk: there may be more
            if budget_s is not None:
                size = next_chunk(marks, took, budget_s, chunk)
            busy, seen = latest != seen, latest  # events stored since the last look
            if backlog and pause_s:
                time.sleep(pause_s if busy or budget_s is None else min(took, pause_s))  # the lock is free
    except BulkBacklog:
        rebuilt = standing_ledger.rebuild(app)
        return {"pairs": rebuilt["pairs"], "parties": scoring.rebuild(app)["parties"]}
    return done


def _latest_event(conn: Connection) -> int | None:
    """The newest stored event's sequence number: a paced drain's sign that events are arriving."""
    latest: int | None = conn.execute(select(func.max(t.events.c.seq))).scalar()
    return latest


def _settle_chunk(app: Chengxin, size: int, cause: str, done: dict[str, int], look: bool, aside: SetAside,
                  most: int | None = None) -> tuple[int, int | None, float]:
    """One chunk of the queue in its own write transaction (`_settle_marks`). Should it fail for something
    other than the database's state (`transient`), its marks are settled again one at a time, so that a mark
    that cannot be settled holds back no other: that one fails alone, and is set aside for a while, then for
    good (`SetAside`). Returns how many marks it took, the newest event's number when `look`, and how long it
    held the write lock. `most`: raise `BulkBacklog` instead when this many marks or more are queued."""
    taken: list[Any] = []
    skip = aside.skipped()
    try:
        found = _settle_marks(app, size, cause, done, look, skip, None, taken, most)
    except BulkBacklog:
        raise
    except Exception as exc:
        if not taken or transient(exc):
            raise
        if len(taken) == 1:
            aside.failed(app, taken[0], exc)
            return 1, None, 0.0
        log.warning("scorer: a transaction of %d marks failed (%s); settling them one at a time", len(taken),
                    describe_error(exc))
        began, latest = time.perf_counter(), None
        for mark in taken:
            try:
                _, latest, _ = _settle_marks(app, 1, cause, done, look, skip, [mark], [])
            except Exception as one:
                if transient(one):
                    raise
                aside.failed(app, mark, one)
        return len(taken), latest, time.perf_counter() - began
    if aside.failures:
        aside.settled(taken)
    return found


def _settle_marks(app: Chengxin, size: int, cause: str, done: dict[str, int], look: bool,
                  skip: set[tuple[Any, ...]], only: list[Any] | None, taken: list[Any], most: int | None = None
                  ) -> tuple[int, int | None, float]:
    """`size` marks of the queue, not those in `skip` (or the marks `only`), in one write transaction, which
    does not wait for the disk: it writes only derived data and deletes the marks that asked for it, so a
    commit lost to a power cut is redone from them (`engine.write_transaction`). Should the chunk append to
    the credit log after all, it is redone in a durable transaction. `taken` receives the marks taken."""
    for durable in (False, True):
        try:
            with write_transaction(app.engine, durable=durable) as conn:
                began = time.perf_counter()  # the lock is ours from here to the end of the commit
                latest = _latest_event(conn) if look else None
                counts = _settle(conn, app, size, cause, skip, only, taken, most)
        except NotDurable:
            continue
        done["pairs"] += counts["pairs"]
        done["parties"] += counts["parties"]
        return counts["marks"], latest, time.perf_counter() - began
    raise AssertionError("a durable transaction cannot be refused as not durable")


def _settle(conn: Connection, app: Chengxin, size: int, cause: str, skip: set[tuple[Any, ...]] | None = None,
            only: list[Any] | None = None, taken: list[Any] | None = None, most: int | None = None
            ) -> dict[str, int]:
    """One chunk of the queue in the caller's transaction: recount, rescore, delete the marks. Returns
    how many marks it took, pairs it recounted and parties whose score changed; raises `BulkBacklog` when
    `most` marks or more are queued (nothing written yet)."""
    from chengxin.services import scoring, standing_ledger

    marks, failing = (only, True) if only is not None else take(conn, size, skip or set(), most)
    if taken is not None:
        taken[:] = marks
    if not marks:
        return {"marks": 0, "pairs": 0, "parties": 0}
    orders = orders_read(conn, marks)
    pairs = pairs_of(marks, orders)
    standing_ledger.recount(conn, app, pairs)
    trade.refresh(conn, scoring.score_rules(), orders_of(conn, marks))
    keys = scoring.party_keys(conn, touched(conn, marks, pairs, orders))
    parties = scoring.rescore_in(conn, keys, cause)
    unmark(conn, marks)
    if failing:  # some mark has failed before: those settled now forget it (services/scoring_failures.py)
        scoring_failures.settled(conn, marks)
    return {"marks": len(marks), "pairs": len(pairs), "parties": parties}


def next_chunk(marks: int, took_s: float, budget_s: float, most: int) -> int:
    """How many marks fit in the budget, judged by the last transaction (at least 1, at most `most`)."""
    if took_s <= 0:
        return most
    return max(1, min(most, int(marks * budget_s / took_s)))
