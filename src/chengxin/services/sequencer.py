"""Group commit for the API: one writer thread stores the batches of concurrent requests together.

Writes are serialised anyway (one credit-log sequencer), so a request that arrives while a commit is in
progress waits; the writer then takes everything that queued up and stores it in one transaction with one
fsync and one signed tree head (`ingest.commit_many`). A lone request is stored at once: no timer, no added
latency. A request is answered only after its transaction committed (durable acknowledgement).

Ratings and scores follow in a separate scorer process (`standing.follow`, started by `chengxin serve`):
scoring costs about as much CPU as ingesting, and in this process it would halve what the API can take.
What the scorer must redo is queued durably in each request's transaction.

One request's failure is its own: a group whose transaction fails is stored again one batch at a time, so
that only the batch at fault fails (a shop name too long for PostgreSQL's index failed every request grouped
with it: found by review). The writer thread outlives any error (it is logged, without the values), and
PostgreSQL's statistics are refreshed in a thread of their own, never on the commit path: one failed
ANALYZE ended the writer, and every later request of the process waited for ever (found by review).
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

from chengxin.adapters.db.engine import describe_error, refresh_statistics
from chengxin.bootstrap import Chengxin
from chengxin.services.ingest import IngestReport, PreparedBatch, commit_many

MAX_GROUP = 256  # batches per transaction: bounds the transaction's size and every waiter's latency
log = logging.getLogger("chengxin.sequencer")


@dataclass
class _Job:
    batch: PreparedBatch
    origin: str
    actor: str
    done: Future[IngestReport]


class Sequencer:
    """Owns the write path of one process's API; `submit` is thread-safe."""

    def __init__(self, app: Chengxin) -> None:
        self._app = app
        self._stored, self._next_analyze = 0, 1000
        self._analyzing: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="chengxin-sequencer", daemon=True)
        self._thread.start()

    def submit(self, batch: PreparedBatch, *, origin: str, actor: str) -> Future[IngestReport]:
        """Queue a prepared batch; the future resolves once it is committed (or raises what failed)."""
        job = _Job(batch, origin, actor, Future())
        self._jobs.put(job)
        return job.done

    def close(self) -> None:
        """Finish what is queued, then stop."""
        self._jobs.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (first := self._jobs.get()) is not None:
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)  # stop after this group
                    break
                group.append(nxt)
            try:
                self._commit(group)
            except Exception as exc:  # a bug here must not end the writer: every later request would wait
                log.error("ingest writer: %s", describe_error(exc))
                for job in group:
                    _resolve(job.done, exc)

    def _commit(self, group: list[_Job]) -> None:
        try:
            reports = commit_many(self._app, [(j.batch, j.origin, j.actor) for j in group])
        except Exception as exc:
            if len(group) > 1:  # stored again one at a time: only the request at fault fails
                log.warning("ingest: a group of %d requests failed (%s); storing each alone", len(group),
                            describe_error(exc))
                for job in group:
                    self._commit([job])
                return
            _resolve(group[0].done, exc)
            return
        for job, report in zip(group, reports, strict=True):
            _resolve(job.done, report)
        self._stored += sum(r.accepted for r in reports)
        if self._stored >= self._next_analyze:  # statistics keep up as the store grows (see ingest.ingest)
            self._next_analyze *= 2
            self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """ANALYZE in a thread of its own (one at a time): it may take seconds on a large store, or wait for a
        lock, and requests must not wait with it; a failure is logged and the next doubling tries again."""
        if self._analyzing is not None and self._analyzing.is_alive():
            return
        self._analyzing = threading.Thread(target=_analyze, args=(self._app.engine,), name="chengxin-analyze",
                                           daemon=True)
        self._analyzing.start()


def _analyze(engine: Any) -> None:
    try:
        refresh_statistics(engine)
    except Exception as exc:
        log.warning("statistics refresh (ANALYZE) failed: %s", describe_error(exc))


def _resolve(done: Future[IngestReport], outcome: IngestReport | BaseException) -> None:
    """Answer a request's future; one already answered or cancelled (its client gone) is left as it is."""
    try:
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)
    except InvalidStateError:
        pass
