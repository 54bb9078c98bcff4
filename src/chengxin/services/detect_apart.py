"""`chengxin detect`'s second process: on a large store some detectors (those that read the waybills, the
largest input) gather and judge their input in a fresh interpreter while the first process runs the others.
Two cores, about half the wall time of the longest part (measured in docs/benchmarks.md, "All detectors at
bench-10m scale").

The child gets the database URL and the detectors' names on its stdin, opens its own engine and read
transaction, and sends back what `detect.run_detectors` returns, pickled, on its stdout (anything else it
prints goes to stderr). A fresh interpreter rather than multiprocessing: spawn would run the parent's main
script again. The two processes read two snapshots of the store; a run reads each input once, in one of them.
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chengxin.services.detect import Done


def possible(database_url: str) -> bool:
    """A second process can open the same store: not an in-memory SQLite database."""
    return not (database_url.startswith("sqlite") and (":memory:" in database_url or "mode=memory" in database_url
                                                      or database_url.rstrip("/") in ("sqlite:", "sqlite:/")))


class Apart:
    """The running child; `result()` waits for what it found."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        self.answered = False

    def result(self) -> Done:
        assert self.child.stdout is not None
        try:
            ok, value = pickle.load(self.child.stdout)
            self.answered = True
        except EOFError:
            raise RuntimeError(f"detect: the second process ended with {self.child.wait()} and no answer") \
                from None
        if not ok:
            raise RuntimeError(f"detect, second process: {value}")
        done: Done = value
        return done


@contextmanager
def beside(database_url: str, names: list[str]) -> Iterator[Apart | None]:
    """Run the detectors `names` in a second process for as long as the block lasts (None: none to run)."""
    if not names:
        yield None
        return
    child = subprocess.Popen([sys.executable, "-c", "from chengxin.services.detect_apart import _serve; _serve()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    apart = Apart(child)
    try:
        assert child.stdin is not None
        pickle.dump((database_url, names, os.getpid()), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        child.stdin.close()
        yield apart
    finally:
        if not apart.answered:
            child.kill()  # the block failed before the answer was read: nothing to wait for
        child.wait(timeout=60)
        if child.stdout:
            child.stdout.close()


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

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    url, names, parent = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    engine = make_engine(url, pool_size=1)
    try:
        reply: tuple[bool, Any] = (True, run_detectors(engine, [DETECTORS[n] for n in names]))
    except Exception as e:  # handed to the parent, which raises it
        reply = (False, f"{type(e).__name__}: {e}")
    finally:
        engine.dispose()
    pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
