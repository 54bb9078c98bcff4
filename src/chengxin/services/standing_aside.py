"""What fails while the scoring queue is settled: which errors are the database's state rather than the work's
(`transient`: raised, and `standing_follow.follow` waits and tries again), and the marks that failed alone, set
aside for a while, then for good (`SetAside`: counted in the store, `services/scoring_failures.py`, and parked
there at `PARK_AFTER` failures).

Neighbours: `services/standing_drain.py` settles a failed chunk again mark by mark and hands each failure here;
`services/standing.py` has the overview.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from chengxin.adapters.db.engine import describe_error
from chengxin.bootstrap import Chengxin
from chengxin.exc import Unavailable, from_foreign

log = logging.getLogger("chengxin.scorer")

PARK_AFTER = 3  # a mark that failed alone this many times is parked (services/scoring_failures.py)...
RETRY_FIRST_S = 2.0  # ...and before that waits this long (doubling) to be tried again...
RETRY_MOST_S = 600.0  # ...at most (while the store refuses to count its failures, it is never parked)
# SQLSTATE classes of a database out of reach or a transaction that lost a race: the work is not at fault
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_STATES = ("55P03",)  # lock not available


def transient(exc: BaseException) -> bool:
    """Whether an error is the database's state rather than the work's: a lost or refused connection, a
    deadlock or serialisation failure, a lock wait given up, an operator's cancel, a locked, full or failing
    SQLite file. Tried again as it was, such work may succeed."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and (state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES):
        return True
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR")):
        return True
    return isinstance(from_foreign(exc), Unavailable)


class SetAside:
    """Marks that failed alone, in this process, for one store: how often each failed, until when it waits
    (after `PARK_AFTER` failures: for good) and why. Settling a mark clears its record."""

    def __init__(self) -> None:
        self.failures: dict[tuple[Any, ...], tuple[int, float, str]] = {}  # mark -> (times, until, error)

    def skipped(self) -> set[tuple[Any, ...]]:
        if not self.failures:
            return set()
        now = time.monotonic()
        return {mark for mark, (_, until, _) in self.failures.items() if until > now}

    def parked(self) -> dict[tuple[Any, ...], str]:
        """The marks set aside for good, with their error."""
        return {mark: error for mark, (times, _, error) in self.failures.items() if times >= PARK_AFTER}

    def failed(self, app: Chengxin, mark: Any, exc: BaseException) -> None:
        """Count a failure of `mark` alone, in the store (`scoring_failures.record`: at the `PARK_AFTER`th it
        is parked there, out of the queue); meanwhile it waits here, longer each time, before it is tried
        again. Counted here alone while the store refuses."""
        from chengxin.services import scoring_failures

        key = tuple(mark)
        error = describe_error(exc)
        stored = scoring_failures.record(app, key, error, PARK_AFTER)
        times = stored[0] if stored else self.failures.get(key, (0, 0.0, ""))[0] + 1
        # the log names the mark's kind and source (no one's ids: the queue and scoring_failures have them)
        if stored and stored[1]:
            self.failures.pop(key, None)
            log.error("scorer: a %s mark of %s failed %d times and is parked (`chengxin scoring parked`): %s",
                      key[0], key[1], times, error)
            return
        wait = min(RETRY_MOST_S, RETRY_FIRST_S * 2 ** (times - 1))
        self.failures[key] = (times, time.monotonic() + wait, error)
        log.warning("scorer: a %s mark of %s failed (%s); tried again in %.0f s", key[0], key[1], error, wait)

    def settled(self, marks: Iterable[Any]) -> None:
        for mark in marks:
            self.failures.pop(tuple(mark), None)


_ASIDE: dict[str, SetAside] = {}


def set_aside(app: Chengxin) -> SetAside:
    """This process's marks set aside for `app`'s store."""
    key = app.engine.url.render_as_string(hide_password=True)
    if (aside := _ASIDE.get(key)) is None:
        aside = _ASIDE[key] = SetAside()
    return aside
