"""Shared plumbing of the bench scripts: machine description, child processes with peak RSS, throwaway
PostgreSQL databases, free ports, percentiles, result files. Standard library plus psycopg (a project
dependency) only; every script runs with the project's venv (`.venv/bin/python bench/...`)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
CACHE = BENCH / ".cache"
VENV_BIN = Path(sys.executable).parent if (Path(sys.executable).parent / "chengxin").exists() else ROOT / ".venv" / "bin"  # noqa: E501
CHENGXIN = str(VENV_BIN / "chengxin")
PYTHON = str(VENV_BIN / "python")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


# --- the machine --------------------------------------------------------------------------------------
def machine(pg_url: str | None = PG_ADMIN_URL) -> dict[str, Any]:
    """CPU model, cores, RAM, load, Python, SQLite and PostgreSQL versions."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kib = int(line.split()[1])
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(ram_kib / 1024 / 1024, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgresql": None,
    }
    if pg_url:
        try:
            with pg_admin(pg_url) as conn:
                info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as e:
            info["postgresql"] = f"unavailable ({type(e).__name__})"
    return info


def code_version() -> dict[str, Any]:
    """The commit measured, and whether src/ had uncommitted changes (others edit it concurrently)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "src_dirty": bool(git("status", "--porcelain", "--", "src"))}


def describe(m: dict[str, Any]) -> str:
    return (f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}, "
            f"SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}, load average at start {m['load_avg']}")


# --- PostgreSQL ---------------------------------------------------------------------------------------
def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def pg_admin(url: str = PG_ADMIN_URL) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5) as conn:
        yield conn


@contextmanager
def pg_database(url: str = PG_ADMIN_URL, keep: bool = False) -> Iterator[str]:
    """A fresh `cx_bench_<random>` database; its SQLAlchemy URL. Dropped afterwards unless `keep`."""
    name = f"cx_bench_{secrets.token_hex(4)}"
    with pg_admin(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        if not keep:
            drop_pg_database(name, url)


def drop_pg_database(name: str, url: str = PG_ADMIN_URL) -> None:
    with pg_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_database_size(db_url: str) -> int:
    import psycopg

    with psycopg.connect(_libpq(db_url), connect_timeout=5) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


# --- child processes ----------------------------------------------------------------------------------
@dataclass
class ChildRun:
    argv: list[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    stdout: str
    stderr: str
    tree_peak_rss_mib: float = 0.0  # largest sum of RSS over the child and its descendants, sampled every 0.5 s

    def json(self) -> Any:
        return json.loads(self.stdout)

    def summary(self) -> dict[str, Any]:
        return {"argv": self.argv, "returncode": self.returncode, "wall_s": round(self.wall_s, 3),
                "user_s": round(self.user_s, 2), "sys_s": round(self.sys_s, 2),
                "peak_rss_mib": round(self.peak_rss_mib, 1), "tree_peak_rss_mib": round(self.tree_peak_rss_mib, 1)}


def run_child(argv: Sequence[str], env: dict[str, str], *, cwd: str | Path | None = None,
              timeout: float = 1800) -> ChildRun:
    """Run a command to completion; wall time, CPU time and peak RSS of *that* child (wait4's rusage,
    so several runs in one bench process do not mix up their peaks), and the peak of its process tree's RSS
    (a second process of its own, e.g. `chengxin ingest`'s, sampled)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        deadline = started + timeout
        tree_peak, next_sample = 0.0, started
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() >= next_sample:
                tree_peak, next_sample = max(tree_peak, tree_rss_mib(proc.pid)), next_sample + 0.5
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(list(argv), proc.returncode, wall, usage.ru_utime, usage.ru_stime,
                        usage.ru_maxrss / 1024, out.read().decode(errors="replace"),
                        err.read().decode(errors="replace"), max(tree_peak, usage.ru_maxrss / 1024))


def cx_env(database_url: str, keys_file: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHENGXIN_")}
    env.update(CHENGXIN_DATABASE_URL=database_url, CHENGXIN_KEYS_FILE=str(keys_file), CHENGXIN_ENV="demo")
    env.update(extra)
    return env


# --- servers ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: dict[str, str], port: int, log: Path, *, ready_timeout: float = 120,
          extra: Sequence[str] = ()) -> Iterator[subprocess.Popen]:
    """`chengxin serve` on 127.0.0.1:port (plus `extra` options) until the block ends (then SIGTERM, then
    SIGKILL)."""
    with open(log, "wb") as logf:
        proc = subprocess.Popen([CHENGXIN, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
                                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        try:
            deadline = time.monotonic() + ready_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"chengxin serve exited with {proc.returncode}; see {log}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chengxin serve not ready after {ready_timeout}s; see {log}")
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def proc_rss_mib(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a running process, in MiB."""
    cur = peak = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return cur, peak


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _tree(pid: int) -> list[int]:
    """The process and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))):
            children.setdefault(int(st[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(p := todo.pop())
        todo.extend(children.get(p, []))
    return found


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a running process and its live descendants (server workers) used so far."""
    return sum((int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK") for p in _tree(pid) if (st := _stat(p)))


def tree_rss_mib(pid: int) -> float:
    """Current RSS of a process and its live descendants, in MiB."""
    return sum(proc_rss_mib(p)[0] for p in _tree(pid))


# --- statistics and results ---------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def latency_summary(latencies_s: Sequence[float]) -> dict[str, Any]:
    v = sorted(latencies_s)
    ms = lambda x: round(x * 1000, 2)  # noqa: E731
    return {"count": len(v), "p50_ms": ms(percentile(v, 50)), "p95_ms": ms(percentile(v, 95)),
            "p99_ms": ms(percentile(v, 99)), "max_ms": ms(v[-1]) if v else None,
            "mean_ms": ms(sum(v) / len(v)) if v else None}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def events_file(n: int, seed: int = 1) -> Path:
    """The deterministic events-v1 file of n lines (generated once into bench/.cache/)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    gen = BENCH / "gen_events.py"
    digest = hashlib.sha256(gen.read_bytes())
    for part in (ROOT / "src" / "chengxin" / "demo" / "loadgen.py",):  # where the generator itself lives
        if part.exists():
            digest.update(part.read_bytes())
    version = digest.hexdigest()[:8]  # a changed generator means a new file
    path = CACHE / f"events-{n}-s{seed}-{version}.jsonl"
    if not path.exists():
        for old in CACHE.glob(f"events-{n}-s{seed}-*.jsonl"):
            old.unlink()
        tmp = path.with_suffix(".tmp")
        subprocess.run([PYTHON, str(gen), "--events", str(n), "--seed", str(seed),
                        "--out", str(tmp)], check=True)
        tmp.replace(path)
    return path


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
