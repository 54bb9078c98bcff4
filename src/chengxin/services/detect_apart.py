"""`chengxin detect`'s second process: on a large store some detectors (those that read the waybills, the
largest input) gather and judge their input in a fresh interpreter while the first process runs the others.
Two cores, about half the wall time of the longest part (measured in docs/benchmarks.md, "All detectors at
bench-10m scale").

The child (`adapters/child.py`) gets the database URL and the detectors' names on its stdin, opens its own
engine and read transaction, and sends back what `detect.run_detectors` returns. The two processes read
two snapshots of the store; a run reads each input once, in one of them.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from chengxin.adapters import child

if TYPE_CHECKING:
    from chengxin.services.detect import Done


def possible(database_url: str) -> bool:
    """A second process can open the same store: not an in-memory SQLite database."""
    return not (database_url.startswith("sqlite") and (":memory:" in database_url or "mode=memory" in database_url
                                                      or database_url.rstrip("/") in ("sqlite:", "sqlite:/")))


class Apart:
    """The running child; `result()` waits for what it found."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.answered = False

    def result(self) -> Done:
        try:
            done: Done = child.answer(self.process, "detect, second process")
        except EOFError:
            raise RuntimeError(f"detect: the second process ended with {self.process.wait()} and no answer") \
                from None
        self.answered = True
        return done


@contextmanager
def beside(database_url: str, names: list[str]) -> Iterator[Apart | None]:
    """Run the detectors `names` in a second process for as long as the block lasts (None: none to run)."""
    if not names:
        yield None
        return
    process = child.spawn("chengxin.services.detect_apart", "_serve")
    apart = Apart(process)
    try:
        assert process.stdin is not None
        child.send(process.stdin, (database_url, names, os.getpid()))  # type: ignore[arg-type]
        process.stdin.close()
        yield apart
    finally:
        if not apart.answered:
            process.kill()  # the block failed before the answer was read: nothing to wait for
        process.wait(timeout=60)
        if process.stdout:
            process.stdout.close()


def _end_with(parent: int) -> None:
    """A killed parent runs no `finally`: the child then stops itself rather than read on for nobody."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _serve() -> None:
    """In the child: read the request, run the detectors, answer (ok, value)."""
    from chengxin.adapters.db.engine import make_engine
    from chengxin.domain.detection import DETECTORS
    from chengxin.services.detect import run_detectors

    out = child.replies()
    url, names, parent = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    engine = make_engine(url, pool_size=1)
    try:
        reply = child.outcome(run_detectors, engine, [DETECTORS[n] for n in names])
    finally:
        engine.dispose()
    child.send(out, reply)
