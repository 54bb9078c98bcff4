"""Worker processes that prepare ingestion batches while the main process stores the previous ones.

Storing is serial by design (one sequencer for the credit log), but parsing, validating, projecting and
encrypting are not: on a 2-core machine a worker doing those for batch n+1 while the main process commits
batch n nearly halves the wall time of a bulk import. Batches come back in input order.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from chengxin.settings import Settings

if TYPE_CHECKING:
    from chengxin.bootstrap import Chengxin
    from chengxin.services.ingest import Line, PreparedBatch

_APP: Chengxin | None = None


def _init(settings: Settings) -> None:
    global _APP
    from chengxin.bootstrap import bootstrap

    _die_with_parent()
    _APP = bootstrap(settings)  # keys and vocabulary only: a worker never opens the database


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when its parent dies (even by SIGKILL): a bulk import
    killed mid-way must not leave workers behind."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _prepare(batch: list[Line], own_source: str | None) -> PreparedBatch:
    from chengxin.services.ingest import prepare

    assert _APP is not None
    return prepare(_APP, batch, own_source)


def prepare_all(settings: Settings, batches: Iterable[tuple[int, list[Line]]], own_source: str | None,
                workers: int) -> Iterator[tuple[int, PreparedBatch]]:
    """Prepared batches in input order, at most `workers + 1` in flight (memory stays flat)."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(settings,)) as pool:
        pending: deque[tuple[int, Future[PreparedBatch]]] = deque()
        for n, batch in batches:
            pending.append((n, pool.submit(_prepare, batch, own_source)))
            if len(pending) > workers:
                n0, done = pending.popleft()
                yield n0, done.result()
        while pending:
            n0, done = pending.popleft()
            yield n0, done.result()
