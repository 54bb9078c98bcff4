"""Credit standing from ratings: points per rated entity, the ledger of what each rating counts, windows
(positive rate, DSR against the category), and order verdicts that take points back. This module holds the
rating rules, the queue of what is stale and its drain, and the verdicts; `services/standing_ledger.py`
writes the ledger and the standings, `services/standing_retractions.py` the credit records of points a
verdict takes back or gives back, and `services/standing_views.py` reads them.

How it stays current: ingestion marks what a batch makes stale in `scoring_queue` (a rating's pair; an
order whose payment, completion or verdict changed), in the batch's own transaction; `drain` recounts the
marked pairs afterwards (`standing_ledger.recount`: `domain.ratings.count_pair` over one pair's ratings, so
a recount is small) and updates the ledger and the standings. `standing_ledger.rebuild` recounts everything
(`chengxin score`).

What fails does not stop the rest: a chunk of marks whose transaction fails is settled again one mark at a
time, and a mark that fails alone waits, then is tried again, and after `PARK_AFTER` failures is set aside
(logged with its error, without personal data) while the others are settled. One mark whose order's figures
PostgreSQL could not index failed every drain, every `chengxin settle` and every restart of the scorer, which
died on the first error (found by review). A mark set aside for good is parked in the store
(`services/scoring_failures.py`: failures are counted there, and at `PARK_AFTER` the mark leaves the queue,
with its error, until `chengxin scoring release`), so a restart or another `chengxin settle` does not try it
again. Errors
that say the database is out of reach, or that the transaction lost a race, are not the mark's: they are
raised, and `follow` waits and tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, bindparam, cast, delete, exists, func, literal, select, union_all

from chengxin.adapters.db import bulk, direct, upsert
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import NotDurable, describe_error, read_connection, write_transaction
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import ratings as R
from chengxin.domain.projection import Fact
from chengxin.exc import Forbidden, InvalidInput, NotFound, Unavailable, from_foreign
from chengxin.services import credit_log, scoring_failures, trade

# `standing_ledger` and `scoring` import `rules` (and `standing_ledger` the types below) from this module, so
# this module imports them inside the functions that use them: at the top, each import would wait on the other

Ref = tuple[str, str]
Pair = tuple[Ref, Ref]  # (target, author)
log = logging.getLogger("chengxin.scorer")


@cache
def rules() -> R.RatingRules:
    return R.load_rating_rules(vocab_text("rating_rules.yaml"), "vocab/rating_rules.yaml")


# --- marking (inside the ingest transaction) ------------------------------------------------------------
# table -> (queue kind, columns naming what the fact touches): a pair of a rating; an order (its ratings,
# its shop's and buyer's parties); a party (subject or shop); an entity resolved to its party at drain time
_MARKS: dict[str, tuple[str, str, str]] = {
    "order_updates": ("order", "order_source", "order_id"), "orders": ("order", "source", "order_id"),
    "shipments": ("order", "order_source", "order_id"), "returns": ("order", "order_source", "order_id"),
    "return_resolutions": ("return", "source", "return_id"),
    "complaints": ("party", "target_source", "target_id"),
    "complaint_resolutions": ("complaint", "source", "complaint_id"),
    "sanctions": ("party", "subject_source", "subject_id"), "sanction_lifts": ("sanction", "source", "sanction_id"),
    "licences": ("party", "subject_source", "subject_id"), "commitments": ("party", "subject_source", "subject_id"),
    "subjects": ("party", "source", "subject_id"), "shops": ("party", "source", "shop_id"),
    "shop_closures": ("party", "source", "shop_id"),
}


def marks_of(facts: Iterable[Fact]) -> list[tuple[str, str, str, str, str]]:
    """The `scoring_queue` rows these facts call for (what they make stale), each once. No database: a bulk
    load's second process builds them; ingestion `queue`s them in the batch's own transaction."""
    rows: dict[tuple[str, str, str, str, str], None] = {}
    for f in facts:
        v = f.values
        if f.table == "reviews":
            if v["target_id"] is not None and v["author_id"] is not None:
                rows[("pair", v["target_source"], v["target_id"], v["author_source"], v["author_id"])] = None
        elif f.table == "shipment_scans":  # a signature delivers the parcel: its order's figures change
            if v.get("signed_by") is not None and v.get("shipment_id") is not None:
                rows[("shipment", v["shipment_source"], v["shipment_id"], "", "")] = None
        elif (how := _MARKS.get(f.table)) is not None and v.get(how[2]) is not None:
            rows[(how[0], v[how[1]], v[how[2]], "", "")] = None
    return list(rows)


def queue(conn: Connection, rows: list[tuple[str, str, str, str, str]]) -> None:
    assert bulk.columns("scoring_queue") == ("kind", "a_source", "a_id", "b_source", "b_id")
    bulk.insert_or_ignore_tuples(conn, "scoring_queue", rows)


# --- settling the queue (the recount itself: services/standing_ledger.py) ---------------------------------
REBUILD_BEYOND = 2_000  # a backlog this long (a bulk load) is settled faster by recounting everything
FIRST_CHUNK = 8  # marks in a budgeted drain's first transaction; later ones follow the time each mark took
FOLLOW_BUDGET_S = 0.005  # the scorer's transactions hold the write lock about this long...
FOLLOW_PAUSE_S = 0.02  # ...and let go this long while events are arriving (a fifth of the lock at most)...
# When no events arrived since its last transaction (catching up after a burst), it pauses as long as that
# transaction took: half a core at most, so that page and API reads keep the rest.


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
            backlog = _backlog(conn, most or 1, aside.skipped())
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
    except _BulkBacklog:
        rebuilt = standing_ledger.rebuild(app)
        return {"pairs": rebuilt["pairs"], "parties": scoring.rebuild(app)["parties"]}
    return done


class _BulkBacklog(Exception):
    """The first transaction of a drain found more marks than its `rebuild_beyond`: rolled back, for a rebuild."""


def _latest_event(conn: Connection) -> int | None:
    """The newest stored event's sequence number: a paced drain's sign that events are arriving."""
    latest: int | None = conn.execute(select(func.max(t.events.c.seq))).scalar()
    return latest


def _backlog(conn: Connection, most: int, skip: set[tuple[Any, ...]]) -> int:
    """How many marks are queued, up to `most`, not counting those set aside."""
    if not skip:
        return len(direct.rows(conn, _PEEK, {"n": most}))
    return len([m for m in direct.rows(conn, _TAKE, {"n": most + len(skip)}) if tuple(m) not in skip][:most])


def _settle_chunk(app: Chengxin, size: int, cause: str, done: dict[str, int], look: bool, aside: SetAside,
                  most: int | None = None) -> tuple[int, int | None, float]:
    """One chunk of the queue in its own write transaction (`_settle_marks`). Should it fail for something
    other than the database's state (`transient`), its marks are settled again one at a time, so that a mark
    that cannot be settled holds back no other: that one fails alone, and is set aside for a while, then for
    good (`SetAside`). Returns how many marks it took, the newest event's number when `look`, and how long it
    held the write lock. `most`: raise `_BulkBacklog` instead when this many marks or more are queued."""
    taken: list[Any] = []
    skip = aside.skipped()
    try:
        found = _settle_marks(app, size, cause, done, look, skip, None, taken, most)
    except _BulkBacklog:
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
    how many marks it took, pairs it recounted and parties whose score changed; raises `_BulkBacklog` when
    `most` marks or more are queued (nothing written yet)."""
    from chengxin.services import scoring, standing_ledger

    marks, failing = (only, True) if only is not None else _take(conn, size, skip or set(), most)
    if taken is not None:
        taken[:] = marks
    if not marks:
        return {"marks": 0, "pairs": 0, "parties": 0}
    orders = _orders_read(conn, marks)
    pairs = _pairs_of(marks, orders)
    standing_ledger.recount(conn, app, pairs)
    trade.refresh(conn, scoring.score_rules(), _orders_of(conn, marks))
    keys = scoring.party_keys(conn, _touched(conn, marks, pairs, orders))
    parties = scoring.rescore_in(conn, keys, cause)
    for m in marks:
        direct.execute(conn, _UNMARK, dict(zip(_QUEUE_KEY, m, strict=True)))
    if failing:  # some mark has failed before: those settled now forget it (services/scoring_failures.py)
        scoring_failures.settled(conn, marks)
    return {"marks": len(marks), "pairs": len(pairs), "parties": parties}


def _take(conn: Connection, size: int, skip: set[tuple[Any, ...]], most: int | None) -> tuple[list[Any], bool]:
    """The next `size` marks, not those set aside (they stay queued: as many more are taken, and left), and
    whether any mark's failures are counted (`scoring_failures`); `_BulkBacklog` when `most` or more are queued
    besides those. Whether the kept figures are built comes with them (`trade.built`, asked by the recount,
    the figures and the profiles), and so does the failures' flag: no statement of their own."""
    found = direct.rows(conn, _TAKE_NOTING, {"n": max(size, most or 0) + len(skip)})
    if found:
        trade.note_built(conn, bool(found[0][-2]))
    marks = [m for m in (_Mark(*r[:-2]) for r in found) if not skip or tuple(m) not in skip]
    if most is not None and len(marks) >= most:
        raise _BulkBacklog
    return marks[:size], bool(found and found[0][-1])


# --- what fails -------------------------------------------------------------------------------------------------
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


# The queue's statements, built once (`adapters/db/direct.py`: a lone event's step is ~20 small statements)
_QUEUE_KEY = ("kind", "a_source", "a_id", "b_source", "b_id")
_PEEK = select(st.scoring_queue.c.kind).limit(bindparam("n"))
_TAKE = select(*(st.scoring_queue.c[k] for k in _QUEUE_KEY)).limit(bindparam("n"))
_TAKE_NOTING = _TAKE.add_columns(cast(exists().where(st.trade_state.c.name == "trade"), Integer),  # integers:
                                  cast(select(literal(1)).select_from(st.scoring_failures).exists(), Integer))
# a boolean needs SQLAlchemy's processing on SQLite (adapters/db/direct.py)
_UNMARK = delete(st.scoring_queue).where(*(st.scoring_queue.c[k] == bindparam(k) for k in _QUEUE_KEY))


# The scorer rescores this many scores older than a day this often, four to a transaction (~1.4M a day, ~5 s
# of each minute at most: a day-old score is stale, not wrong)
AGE_SCORES_EVERY_S, AGE_SCORES_MOST = 60, 1000
FULL_LISTS_EVERY = timedelta(hours=6)  # the scorer re-evaluates every party's lists this often (a restart too,
# but only when the last full evaluation, by whichever process, is older than that: see lists.full_due)


def next_chunk(marks: int, took_s: float, budget_s: float, most: int) -> int:
    """How many marks fit in the budget, judged by the last transaction (at least 1, at most `most`)."""
    if took_s <= 0:
        return most
    return max(1, min(most, int(marks * budget_s / took_s)))


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


def _touched(conn: Connection, marks: Sequence[Any], pairs: list[Pair], orders: dict[Ref, OrderRefs]
             ) -> list[Ref]:
    """Shops and subjects whose party's score the marks may change (`orders`: what `_orders_read` found)."""
    refs: dict[Ref, None] = {}
    for target, author in pairs:
        refs[target] = refs[author] = None
    for m in marks:
        ref = (m.a_source, m.a_id)
        found = orders[ref].parties if m.kind == "order" and ref in orders else _RESOLVE[m.kind](conn, ref)
        for party in found:
            refs[party] = None
    return list(refs)


def _one(conn: Connection, table: Any, key: str, ref: Ref, *cols: str) -> list[Ref]:
    """The (source, id) pairs in `cols` of the row of `table` whose (source, key) is `ref`."""
    stmt = _ONE.get((table.name, key, cols))
    if stmt is None:
        stmt = _ONE[(table.name, key, cols)] = select(*(table.c[c] for c in cols)).where(
            table.c.source == bindparam("src"), table.c[key] == bindparam("key"))
    found = direct.rows(conn, stmt, {"src": ref[0], "key": ref[1]})
    return [(found[0][i], found[0][i + 1]) for i in range(0, len(cols), 2)] if found else []


_ONE: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _order_parties(conn: Connection, ref: Ref) -> list[Ref]:
    return _one(conn, t.orders, "order_id", ref, "shop_source", "shop_id", "buyer_source", "buyer_id")


def _shipment_order(conn: Connection, ref: Ref) -> list[Ref]:
    return _one(conn, t.shipments, "shipment_id", ref, "order_source", "order_id")


def _orders_of(conn: Connection, marks: Sequence[Any]) -> list[Ref]:
    """The orders whose trade figures the marks may change: their own, those of signed shipments, and those
    of resolved returns."""
    refs: dict[Ref, None] = {}
    for m in marks:
        if m.kind == "order":
            refs[(m.a_source, m.a_id)] = None
        elif m.kind == "shipment":
            refs.update(dict.fromkeys(_shipment_order(conn, (m.a_source, m.a_id))))
        elif m.kind == "return":  # its resolution: a rejected return no longer counts
            refs.update(dict.fromkeys(_one(conn, t.returns, "return_id", (m.a_source, m.a_id), "order_source",
                                           "order_id")))
    return list(refs)


def _return_parties(conn: Connection, ref: Ref) -> list[Ref]:
    orders = _one(conn, t.returns, "return_id", ref, "order_source", "order_id")
    return _order_parties(conn, orders[0]) if orders else []


_RESOLVE: dict[str, Any] = {
    "pair": lambda conn, ref: [],  # the pair's own refs are added from the recounted pairs
    "party": lambda conn, ref: [ref],
    "order": _order_parties,
    "return": _return_parties,
    "shipment": lambda conn, ref: [p for order in _shipment_order(conn, ref) for p in _order_parties(conn, order)],
    "complaint": lambda conn, ref: _one(conn, t.complaints, "complaint_id", ref, "target_source", "target_id"),
    "sanction": lambda conn, ref: _one(conn, t.sanctions, "sanction_id", ref, "subject_source", "subject_id"),
}


class OrderRefs(NamedTuple):
    """What an order mark names: the pairs of its ratings, and its shop and buyer (none: an unknown order)."""
    pairs: list[Pair]
    parties: list[Ref]


def _orders_read(conn: Connection, marks: Sequence[Any]) -> dict[Ref, OrderRefs]:
    """For each order mark, its ratings' pairs and its parties, in one statement per order (they were two,
    the parties read after the recount, which changes neither)."""
    found: dict[Ref, OrderRefs] = {}
    for m in marks:
        if m.kind == "order" and (ref := (m.a_source, m.a_id)) not in found:
            rows = direct.rows(conn, _ORDER_REFS, {"src": m.a_source, "oid": m.a_id})
            order = next((r for r in rows if r[0] == "order"), None)  # the order's key: one row at most
            found[ref] = OrderRefs([((r[1], r[2]), (r[3], r[4])) for r in rows if r[0] == "rating"],
                                   [(order[1], order[2]), (order[3], order[4])] if order else [])
    return found


def _pairs_of(marks: Sequence[Any], orders: dict[Ref, OrderRefs]) -> list[Pair]:
    """The pairs to recount: those marked, and those of the ratings of marked orders (`orders`: what
    `_orders_read` found)."""
    pairs = {((m.a_source, m.a_id), (m.b_source, m.b_id)): None for m in marks if m.kind == "pair"}
    for m in marks:
        if m.kind == "order":
            for target, author in orders[(m.a_source, m.a_id)].pairs:
                if target[1] is not None and author[1] is not None:
                    pairs[(target, author)] = None
    return list(pairs)


_R, _O = t.reviews.c, t.orders.c
_ORDER_REFS = union_all(
    select(literal("rating"), _R.target_source, _R.target_id, _R.author_source, _R.author_id).where(
        _R.order_source == bindparam("src"), _R.order_id == bindparam("oid")),
    select(literal("order"), _O.shop_source, _O.shop_id, _O.buyer_source, _O.buyer_id).where(
        _O.source == bindparam("src"), _O.order_id == bindparam("oid")))


# --- verdicts -----------------------------------------------------------------------------------------------
class _Mark(NamedTuple):
    kind: str
    a_source: str
    a_id: str
    b_source: str
    b_id: str


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
        marks = [_Mark("order", order[0], order[1], "", "")]
        orders = _orders_read(conn, marks)
        pairs = _pairs_of(marks, orders)
        standing_ledger.recount(conn, app, pairs)
        scoring.rescore_in(conn, scoring.party_keys(conn, _touched(conn, marks, pairs, orders)), "verdict")
        after = credit_log.latest_head(conn)
    added = (after.size if after else 0) - (before.size if before else 0)
    return {"order": {"source": order[0], "id": order[1]}, "verdict": verdict, "decided_at": now,
            "credit_records": added}
