"""Group commit for the API: one writer thread stores the batches of concurrent requests together.

Writes are serialised anyway (one credit-log sequencer), so a request that arrives while a commit is in
progress waits; the writer then takes everything that queued up and stores it in one transaction with one
fsync and one signed tree head (`ingest.commit_many`). A lone request is stored at once: no timer, no added
latency. A request is answered only after its transaction committed (durable acknowledgement).

Ratings and scores follow in a separate scorer process (`standing.follow`, started by `chengxin serve`):
scoring costs about as much CPU as ingesting, and in this process it would halve what the API can take.
What the scorer must redo is queued durably in each request's transaction.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from chengxin.adapters.db.engine import refresh_statistics
from chengxin.bootstrap import Chengxin
from chengxin.services.ingest import IngestReport, PreparedBatch, commit_many

MAX_GROUP = 256  # batches per transaction: bounds the transaction's size and every waiter's latency


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
            self._commit(group)

    def _commit(self, group: list[_Job]) -> None:
        try:
            reports = commit_many(self._app, [(j.batch, j.origin, j.actor) for j in group])
        except Exception as exc:
            for job in group:
                job.done.set_exception(exc)
            return
        for job, report in zip(group, reports, strict=True):
            job.done.set_result(report)
        self._stored += sum(r.accepted for r in reports)
        if self._stored >= self._next_analyze:  # statistics keep up as the store grows (see ingest.ingest)
            self._next_analyze *= 2
            refresh_statistics(self._app.engine)
