"""Work in a child process: a fresh interpreter that talks pickle over its stdin and stdout.

Used by the DuckDB reader (`adapters/db/duck.py`) and `chengxin detect`'s second process
(`services/detect_apart.py`). A fresh interpreter rather than multiprocessing: spawn would run the parent's
main script again. The child answers `(True, value)` or `(False, "Error: message")`; the parent raises the
second as a RuntimeError naming the worker.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from typing import Any, BinaryIO


def spawn(module: str, function: str, *, own_group: bool = False) -> subprocess.Popen[bytes]:
    """Start `module.function()` in a fresh interpreter, its stdin and stdout piped to this process. `-P`:
    the working directory is not put on `sys.path`, so a file there cannot stand in for a module. `own_group`:
    the child gets a process group of its own, so Ctrl-C at a terminal reaches the parent only, which then
    ends the child (closing its stdin, or killing it)."""
    return subprocess.Popen([sys.executable, "-P", "-c", f"from {module} import {function}; {function}()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, process_group=0 if own_group else None)


def send(stream: BinaryIO, value: Any) -> None:
    pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def answer(child: subprocess.Popen[bytes], worker: str) -> Any:
    """The child's next answer; its error raised as a RuntimeError that names the worker. EOFError when the
    child ended without one."""
    assert child.stdout is not None
    ok, value = pickle.load(child.stdout)
    if not ok:
        raise RuntimeError(f"{worker}: {value}")
    return value


# --- in the child -------------------------------------------------------------------------------------------
def replies() -> BinaryIO:
    """The pipe to the parent; from now on anything else printed goes to stderr."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return out


def outcome(work: Any, *args: Any) -> tuple[bool, Any]:
    """`work(*args)` as an answer: (True, its value) or (False, its error named)."""
    try:
        return True, work(*args)
    except Exception as e:  # handed to the parent, which raises it
        return False, f"{type(e).__name__}: {e}"
