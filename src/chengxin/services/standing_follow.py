"""The scorer's loop (`follow`: the scorer process of `chengxin serve`, `chengxin score --follow`): drain the
scoring queue in short transactions, re-evaluate lists, age scores, read empty parcels live, and finish review
actions a crash left half done (`finish_interrupted`), each step on its own so that one failing stops no other.

Neighbours: `services/standing_drain.py` (`drain`), `services/standing.py` (the overview).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select

from chengxin.adapters.db import direct
from chengxin.adapters.db.engine import describe_error, read_connection
from chengxin.bootstrap import Chengxin
from chengxin.services.standing_drain import drain

log = logging.getLogger("chengxin.scorer")

FOLLOW_BUDGET_S = 0.005  # the scorer's transactions hold the write lock about this long...
FOLLOW_PAUSE_S = 0.02  # ...and let go this long while events are arriving (a fifth of the lock at most)...
# When no events arrived since its last transaction (catching up after a burst), it pauses as long as that
# transaction took: half a core at most, so that page and API reads keep the rest.

# The scorer rescores this many scores older than a day this often, four to a transaction (~1.4M a day, ~5 s
# of each minute at most: a day-old score is stale, not wrong)
AGE_SCORES_EVERY_S, AGE_SCORES_MOST = 60, 1000
FULL_LISTS_EVERY = timedelta(hours=6)  # the scorer re-evaluates every party's lists this often (a restart too,
# but only when the last full evaluation, by whichever process, is older than that: see lists.full_due)


def follow(app: Chengxin, stop: Any, *, idle_s: float = 1.0, chunk: int = 200, pause_s: float = FOLLOW_PAUSE_S,
           budget_s: float = FOLLOW_BUDGET_S) -> None:
    """Keep the standings current until `stop` (a threading or multiprocessing Event) is set: drain the
    queue in short transactions with a pause between them, then wait `idle_s` when it is empty. Never a full
    rebuild. The scorer process of `chengxin serve` and `chengxin score --follow`.

    Short, because the API's commits wait for the same write lock: with chunks of 200 marks a scorer
    transaction held it up to 243 ms, and the API's p99 at 1,000 events/s was 64-106 ms against 7.3 ms with
    no scorer (`bench/bench_api.py`). The pause lets waiting writers in (SQLite writers queue on a `flock`,
    which a loop that takes it straight back would win), and bounds the scorer's share of the lock while
    events arrive: scores then lag behind a burst and catch up after it.

    Each step runs on its own (`_Steps`): one that fails is logged and waits, longer each time it fails again,
    while the others go on; the scorer ended on its first error before (found by review)."""
    from chengxin.services import detect_live, lists, scoring

    steps, unfinished = _Steps(), _Unfinished()
    aged = 0.0  # when scores were last aged (monotonic seconds)
    while not stop.is_set():
        done = steps.run("scores", lambda: drain(app, chunk=chunk, rebuild_beyond=None, pause_s=pause_s,
                                                 budget_s=budget_s)) or {"pairs": 0, "parties": 0}
        steps.run("full lists", lambda: lists.full_due(app, FULL_LISTS_EVERY) and lists.evaluate(app))
        if time.monotonic() - aged > AGE_SCORES_EVERY_S:  # scores a day old, a batch at a time
            aged = time.monotonic()
            done["parties"] += steps.run("aged scores", lambda: scoring.rescore_stale(
                app, most=AGE_SCORES_MOST, chunk=4, pause_s=pause_s)) or 0
        flagged = steps.run("live detection", lambda: detect_live.drain(app))  # empty parcels within seconds
        moved = steps.run("lists", lambda: lists.drain(app)) or flagged  # grades that changed, sanctions: lists
        moved = steps.run("interrupted review actions", lambda: unfinished.finish(app)) or moved
        if not done["pairs"] and not done["parties"] and not moved:
            stop.wait(idle_s)


def finish_interrupted(app: Chengxin) -> dict[str, int]:
    """Finish what a crash left half done: confirmations before their order verdicts were recorded
    (`review.finish_pending`), overturns before their orders were given back (`appeals.finish_overturns`).
    Each was finished only by a later review action or sanction (found by review): `chengxin settle` calls
    this, and the scorer looks at every pass (`_Unfinished`)."""
    from chengxin.services import appeals, review

    return {"confirmations": review.finish_pending(app), "overturns": appeals.finish_overturns(app)}


FINISH_GRACE_S = 60.0  # the scorer finishes a review action this long after it was taken, at the earliest


class _Unfinished:
    """The scorer's look for interrupted review actions (`finish_interrupted`) at every pass: one statement
    built once when there is nothing to finish, 0.16 ms on an empty SQLite store and 0.5 ms on PostgreSQL
    (calling both finishers costs 0.4 + 1.6 ms and 0.9 + 2.7 ms). It asks for a confirmed item without its
    verdicts decided `FINISH_GRACE_S` ago or more (a younger one is likely still being finished by the process
    that decided it), and for the newest record transition: an overturn's orders are given back once a
    transition newer than those the last finishing saw has been seen for `FINISH_GRACE_S` (an overturned record
    stays overturned when finished, so the look starts where the last one ended; the first look of a process
    finds every earlier one)."""

    def __init__(self) -> None:
        self.transitions = -1  # the newest record transition the last finishing of overturns saw (-1: none yet)
        self.newer: tuple[int, float] | None = None  # a newer one, and when it was first seen (monotonic)

    def finish(self, app: Chengxin) -> int:
        from chengxin.services import appeals, review

        before = (datetime.now(UTC) - timedelta(seconds=FINISH_GRACE_S)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with read_connection(app.engine) as conn:
            pending, newest = direct.rows(conn, _look(), {"before": before})[0]
        done = review.finish_pending(app, decided_before=before) if pending else 0
        newest = -1 if newest is None else int(newest)
        if newest > self.transitions:
            if self.newer is None or self.newer[0] != newest:
                self.newer = (newest, time.monotonic())
            if time.monotonic() - self.newer[1] >= FINISH_GRACE_S:
                done += appeals.finish_overturns(app)
                self.transitions, self.newer = newest, None
        return done


@cache
def _look() -> Any:
    """`_Unfinished`'s one statement, built once: is a confirmation older than `before` without its verdicts;
    the newest record transition."""
    from chengxin.adapters.db import lists_tables as lt
    from chengxin.adapters.db import review_tables as rt
    from chengxin.services import review

    i = rt.review_items.c
    return select(select(i.id).where(i.status == review.CONFIRMED, i.verdicts_at.is_(None),
                                     i.decided_at < bindparam("before")).exists(),
                  select(func.max(lt.record_transitions.c.id)).scalar_subquery())


STEP_RETRY_FIRST_S, STEP_RETRY_MOST_S = 1.0, 60.0  # a failed scorer step waits this long, doubling up to this


class _Steps:
    """The scorer's steps, each on its own: a step that raises is logged (what failed, never the values) and
    skipped for a while, 1 s after its first failure and twice as long after each next one, 60 s at most;
    one that succeeds is tried at every pass again."""

    def __init__(self) -> None:
        self.failed: dict[str, tuple[int, float]] = {}  # step -> (failures in a row, not before)

    def run(self, name: str, step: Any) -> Any:
        times, until = self.failed.get(name, (0, 0.0))
        if times and time.monotonic() < until:
            return None
        try:
            result = step()
        except Exception as exc:
            wait = min(STEP_RETRY_MOST_S, STEP_RETRY_FIRST_S * 2 ** times)
            self.failed[name] = (times + 1, time.monotonic() + wait)
            log.error("scorer: %s failed (%s); tried again in %.0f s", name, describe_error(exc), wait)
            return None
        self.failed.pop(name, None)
        return result
