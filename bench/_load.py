"""Load drivers for the HTTP benches: loopback only, bounded in count and time, standard library only.

Threads with one keep-alive `http.client` connection each (httpx is not in the venv: it carries httpx2,
whose async client costs more CPU per request than http.client, and on a 2-core machine every client
cycle is taken from the server).

- `closed_loop`: `concurrency` workers send back to back: the most the server sustains at that concurrency.
- `open_loop`: requests scheduled at a fixed rate whatever the answers (no coordinated omission): latency
  counts from the *scheduled* start, so a server that falls behind shows its queueing delay.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import latency_summary

# Many client threads wait on the GIL: with CPython's default 5 ms switch interval a thread whose answer has
# arrived may wait milliseconds to read it, which the latency would wrongly charge to the server.
sys.setswitchinterval(float(os.environ.get("BENCH_SWITCH_INTERVAL", "0.0005")))

# i -> (method, path, body or None, headers)
RequestFn = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]
# (status, body) -> None if fine, else an error label
CheckFn = Callable[[int, bytes], str | None]


def ok_200(status: int, body: bytes) -> str | None:
    return None if status == 200 else f"HTTP {status}"


@dataclass
class LoadResult:
    mode: str
    planned: int
    sent: int = 0
    wall_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    late_starts: int = 0  # open loop: requests that started > 10 ms after their scheduled time
    stopped_by_time: bool = False

    def summary(self, **extra: Any) -> dict[str, Any]:
        ok = len(self.latencies)
        return {"mode": self.mode, "planned": self.planned, "sent": self.sent, "ok": ok,
                "errors": sum(self.errors.values()), "error_kinds": dict(self.errors),
                "error_examples": self.error_examples[:5], "wall_s": round(self.wall_s, 3),
                "throughput_per_s": round(ok / self.wall_s, 1) if self.wall_s else None,
                "late_starts": self.late_starts, "stopped_by_time": self.stopped_by_time,
                "latency": latency_summary(self.latencies), **extra}


class _Worker:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a keep-alive connection the server closed: retry once on a new one
                if attempt == 2:
                    raise
            except Exception:
                self.close()  # e.g. a timeout: the connection is mid-request, never reuse it
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _run(port: int, workers: int, body: Callable[[_Worker, LoadResult, threading.Lock], None],
         result: LoadResult) -> LoadResult:
    lock = threading.Lock()
    ws = [_Worker(port) for _ in range(workers)]
    threads = [threading.Thread(target=body, args=(w, result, lock), daemon=True) for w in ws]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.wall_s = time.perf_counter() - started
    for w in ws:
        w.close()
    return result


def _record(result: LoadResult, lock: threading.Lock, check: CheckFn, status: int | None, payload: bytes,
            exc: Exception | None, latency: float) -> None:
    problem = f"{type(exc).__name__}" if exc is not None else check(status or 0, payload)
    with lock:
        if problem is None:
            result.latencies.append(latency)
        else:
            result.errors[problem] += 1
            if len(result.error_examples) < 5:
                result.error_examples.append(f"{problem}: {payload[:200]!r}" if exc is None else repr(exc))


def closed_loop(port: int, make: RequestFn, count: int, *, concurrency: int, max_seconds: float,
                check: CheckFn = ok_200, first: int = 0) -> LoadResult:
    """`count` requests (indices first..first+count-1), `concurrency` at a time, back to back."""
    result = LoadResult("closed", count)
    nxt = iter(range(first, first + count))
    deadline = time.perf_counter() + max_seconds

    def body(w: _Worker, res: LoadResult, lock: threading.Lock) -> None:
        while True:
            with lock:
                i = next(nxt, None)
                if i is None:
                    return
                if time.perf_counter() > deadline:
                    res.stopped_by_time = True
                    return
                res.sent += 1
            method, path, data, headers = make(i)
            t0 = time.perf_counter()
            status, payload, exc = None, b"", None
            try:
                status, payload = w.send(method, path, data, headers)
            except Exception as e:
                exc = e
            _record(res, lock, check, status, payload, exc, time.perf_counter() - t0)

    return _run(port, concurrency, body, result)


def open_loop(port: int, make: RequestFn, *, rate: float, seconds: float, workers: int = 64,
              check: CheckFn = ok_200, first: int = 0, grace_s: float = 30) -> LoadResult:
    """rate * seconds requests, the i-th scheduled at start + i/rate; latency from the scheduled time.
    Stops scheduling at start + seconds + grace_s if the server falls far behind."""
    count = int(rate * seconds)
    result = LoadResult("open", count)
    nxt = iter(range(count))
    start = time.perf_counter() + 0.05
    deadline = start + seconds + grace_s

    def body(w: _Worker, res: LoadResult, lock: threading.Lock) -> None:
        while True:
            with lock:
                k = next(nxt, None)
                if k is None:
                    return
                if time.perf_counter() > deadline:
                    res.stopped_by_time = True
                    return
                res.sent += 1
            scheduled = start + k / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.010:
                with lock:
                    res.late_starts += 1
            method, path, data, headers = make(first + k)
            status, payload, exc = None, b"", None
            try:
                status, payload = w.send(method, path, data, headers)
            except Exception as e:
                exc = e
            _record(res, lock, check, status, payload, exc, time.perf_counter() - scheduled)

    return _run(port, workers, body, result)


# --- sampling profiler on the server ------------------------------------------------------------------
def pyspy_start(pid: int, seconds: float, out: Path) -> subprocess.Popen | None:
    """py-spy record (collapsed stacks, on-CPU samples only) of `pid`, if py-spy is installed."""
    exe = Path(os.environ.get("PY_SPY", "")) if os.environ.get("PY_SPY") else None
    for cand in ([exe] if exe else []) + [Path(__file__).resolve().parent.parent / ".venv/bin/py-spy"]:
        if cand and cand.exists():
            return subprocess.Popen([str(cand), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200",
                                     "--format", "raw", "-o", str(out), "--nonblocking", "--subprocesses"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return None


def top_frames(collapsed: Path, n: int = 25, only: str | None = None) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive share of samples per function (file:function, line numbers dropped)."""
    total, selfc, incl = 0, Counter(), Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, cnt = line.rpartition(" ")
        if not stack:
            continue
        c = int(cnt)
        frames = [_frame_name(f) for f in stack.split(";")]
        if only and not any(only in f for f in frames):
            continue
        total += c
        selfc[frames[-1]] += c
        for f in set(frames):
            incl[f] += c
    pct = lambda cnt: [(k, round(100 * v / total, 1)) for k, v in cnt.most_common(n)]  # noqa: E731
    return {"samples": [("total", total)], "self": pct(selfc), "inclusive": pct(incl)}


def _frame_name(frame: str) -> str:
    # py-spy: "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{where}:{name}"
