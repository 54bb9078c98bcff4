"""Bulk ingestion, end to end: `chengxin ingest FILE --json` (the real CLI, a child process) on a generated
events-v1 file, into a fresh SQLite file and a fresh PostgreSQL database; then `chengxin audit verify --json`.

    .venv/bin/python bench/bench_ingest.py [--events 1000000] [--db sqlite,postgresql] [--file F]

Reports wall time (process start to exit: imports, migrations, parse, validate, store, project, credit log),
events/s, CPU time and peak RSS of the child (wait4 rusage), store size, and the audit's time.
Target (issue): >= 50,000 events/s on each database, peak RSS <= 1 GiB whatever the file size.
Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CHENGXIN,
    code_version,
    cx_env,
    describe,
    events_file,
    log,
    machine,
    now_iso,
    pg_database,
    pg_database_size,
    run_child,
    write_result,
)

TARGET_EPS = 50_000
TARGET_RSS_MIB = 1024


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def committed_events(url: str) -> int | None:
    """Events committed so far (read-only; None while the table does not exist yet)."""
    try:
        if url.startswith("sqlite"):
            with sqlite3.connect(f"file:{url.split(':///', 1)[1]}?mode=ro", uri=True, timeout=1) as c:
                return int(c.execute("SELECT count(*) FROM events").fetchone()[0])
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5) as c:
            return int(c.execute("SELECT count(*) FROM events").fetchone()[0])
    except Exception:  # not created yet, or locked for a moment
        return None


def pg_analyze(url: str) -> None:
    """What autovacuum would do: refresh the planner's statistics (this machine's server has it off)."""
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                             connect_timeout=5) as c:
            c.execute("ANALYZE")
    except Exception as e:  # before the migration there is nothing to analyse
        log(f"ANALYZE failed: {type(e).__name__}")


class Progress(threading.Thread):
    """Samples the committed event count every `every` seconds while the ingestion runs; on PostgreSQL
    with `analyze_every`, also runs ANALYZE that often (standing in for autovacuum)."""

    def __init__(self, url: str, every: float, analyze_every: float = 0) -> None:
        super().__init__(daemon=True)
        self.url, self.every, self.analyze_every, self.samples = url, every, analyze_every, []
        self.stop = threading.Event()
        self.t0 = time.perf_counter()
        self.analyzed = 0

    def run(self) -> None:
        tick = min(self.every, self.analyze_every) if self.analyze_every else self.every
        next_sample, next_analyze = self.every, self.analyze_every
        while not self.stop.wait(tick):
            now = time.perf_counter() - self.t0
            if self.analyze_every and now >= next_analyze:
                pg_analyze(self.url)
                self.analyzed += 1
                next_analyze += self.analyze_every
            if now >= next_sample:
                n = committed_events(self.url)
                if n is not None:
                    self.samples.append((round(now, 1), n))
                next_sample += self.every

    def finish(self) -> list[tuple[float, int]]:
        self.stop.set()
        self.join()
        return self.samples


def bench_one(db: str, url: str, keys: Path, path: Path, lines: int, timeout: float, audit: bool,
              size_of: Any, sample_every: float = 30, analyze_every: float = 0, defer: bool = False,
              processes: int = 2) -> dict[str, Any]:
    env = cx_env(url, keys, CHENGXIN_INGEST_PROCESSES=str(processes))
    log(f"{db}: chengxin ingest {path.name} ({lines:,} lines), {processes} process(es), time bound {timeout:.0f} s"
        + (f", ANALYZE every {analyze_every:g} s by the bench" if analyze_every else ""))
    progress = Progress(url, sample_every, analyze_every)
    progress.start()
    run = run_child([CHENGXIN, "ingest", str(path), "--json", *(["--defer"] if defer else [])], env, timeout=timeout)
    samples = progress.finish()
    out: dict[str, Any] = {"db": db, "processes": processes, "lines": lines, "ingest": run.summary(), "defer": defer,
                           "progress": [{"s": s, "events": n} for s, n in samples]}
    if analyze_every:
        out["bench_analyze"] = {"every_s": analyze_every, "times": progress.analyzed}
    if run.returncode != 0:
        done = committed_events(url) or 0
        timed_out = run.wall_s >= timeout
        out["error"] = ("stopped at the time bound" if timed_out else f"exit {run.returncode}") + \
            f" after {run.wall_s:.0f} s with {done:,} of {lines:,} events committed " \
            f"({done / run.wall_s:,.0f} events/s overall)" + \
            (f": {run.stderr[-1500:]}" if run.stderr.strip() and not timed_out else "")
        out["committed"] = done
        out["events_per_s_partial"] = round(done / run.wall_s)
        out["pass"] = {"throughput": False, "memory": run.peak_rss_mib <= TARGET_RSS_MIB}
        log(f"{db}: ingest FAILED: {out['error'][:300]}")
        return out
    report = run.json()
    out["report"] = {k: report[k] for k in ("accepted", "duplicates", "conflicts", "rejected", "tree_size")}
    out["events_per_s"] = round(lines / run.wall_s)
    out["cpu_s"] = round(run.user_s + run.sys_s, 1)
    out["store_mib"] = round(size_of() / 2**20, 1)
    log(f"{db}: {run.wall_s:.1f}s, {out['events_per_s']:,} events/s, peak RSS {run.peak_rss_mib:.0f} MiB "
        f"(process tree {run.tree_peak_rss_mib:.0f} MiB), cpu {out['cpu_s']} s, "
        f"accepted {report['accepted']:,}, rejected {report['rejected']}, tree size {report['tree_size']}")
    if defer:  # what the load implies, drawn afterwards: timed on its own
        st = run_child([CHENGXIN, "settle", "--json"], env, timeout=timeout)
        out["settle"] = {**st.summary(), **(st.json() if st.returncode == 0 else {"error": st.stderr[-500:]})}
        log(f"{db}: chengxin settle {st.wall_s:.1f}s, peak RSS {st.peak_rss_mib:.0f} MiB")
    if audit:
        log(f"{db}: chengxin audit verify")
        av = run_child([CHENGXIN, "audit", "verify", "--json"], env, timeout=timeout)
        out["audit"] = av.summary()
        if av.stdout.strip().startswith("{"):
            rep = av.json()
            out["audit"].update(ok=rep["ok"], records=rep["records"], tree_heads=rep["tree_heads"], nodes=rep["nodes"])
        log(f"{db}: audit {av.wall_s:.1f}s, ok={out['audit'].get('ok')}, peak RSS {av.peak_rss_mib:.0f} MiB")
    out["pass"] = {"throughput": out["events_per_s"] >= TARGET_EPS,
                   "memory": run.tree_peak_rss_mib <= TARGET_RSS_MIB}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="lines to generate (default 1,000,000)")
    ap.add_argument("--file", type=Path, help="ingest this events-v1 file instead of a generated one")
    ap.add_argument("--db", default="sqlite,postgresql", help="comma list: sqlite, postgresql")
    ap.add_argument("--no-audit", action="store_true", help="skip `chengxin audit verify`")
    ap.add_argument("--timeout", type=float, default=1800, help="time bound of each child process, seconds")
    ap.add_argument("--sample-every", type=float, default=30, help="seconds between progress samples")
    ap.add_argument("--pg-analyze-every", type=float, default=0,
                    help="PostgreSQL: run ANALYZE every S seconds during the ingestion, as autovacuum would "
                         "(this machine's server runs with autovacuum off); 0 = never (default)")
    ap.add_argument("--out", default="ingest", help="result name under bench/results/ (default ingest)")
    ap.add_argument("--processes", default="2",
                    help="comma list of CHENGXIN_INGEST_PROCESSES values, each run on a fresh store in turn "
                         "(e.g. 2,1,2,1 for a same-run comparison)")
    ap.add_argument("--defer", action="store_true",
                    help="`chengxin ingest --defer` (store and project only), then `chengxin settle`, timed apart")
    args = ap.parse_args(argv)

    path = args.file or events_file(args.events)
    lines = count_lines(path)
    m = machine()
    log(describe(m))
    result: dict[str, Any] = {"bench": "ingest", "date": now_iso(), "machine": m, "code": code_version(),
                              "file": str(path),
                              "lines": lines, "file_mib": round(path.stat().st_size / 2**20, 1),
                              "command": f"chengxin ingest {path.name} --json",
                              "target": {"events_per_s": TARGET_EPS, "peak_rss_mib": TARGET_RSS_MIB},
                              "runs": []}
    runs = [(d.strip(), int(p)) for d in args.db.split(",") if d.strip() for p in args.processes.split(",")]
    for db, processes in runs:
        tmp = Path(tempfile.mkdtemp(prefix=f"cx-bench-{db}-"))
        try:
            keys = tmp / "keys.json"
            if db == "sqlite":
                dbfile = tmp / "bench.db"
                size = lambda f=dbfile: sum(p.stat().st_size for p in f.parent.glob(f.name + "*"))  # noqa: E731
                result["runs"].append(bench_one(db, f"sqlite:///{dbfile}", keys, path, lines, args.timeout,
                                                not args.no_audit, size, args.sample_every, defer=args.defer,
                                                processes=processes))
            elif db == "postgresql":
                with pg_database() as url:
                    result["runs"].append(bench_one(db, url, keys, path, lines, args.timeout, not args.no_audit,
                                                    lambda u=url: pg_database_size(u), args.sample_every,
                                                    args.pg_analyze_every, defer=args.defer,
                                                    processes=processes))
            else:
                raise SystemExit(f"unknown --db {db!r}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        write_result(args.out, result)  # after each database, so a later failure keeps the earlier figures
    out = write_result(args.out, result)
    for r in result["runs"]:
        if "events_per_s" in r:
            print(f"{r['db']:<10} {r['processes']} proc {r['lines']:>9,} lines  {r['ingest']['wall_s']:>8.1f} s  "
                  f"{r['events_per_s']:>7,} events/s  peak RSS {r['ingest']['tree_peak_rss_mib']:>6.0f} MiB  "
                  f"audit {r.get('audit', {}).get('wall_s', float('nan')):.1f} s")
        else:
            print(f"{r['db']:<10} FAILED: {r.get('error', '')[:300]}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
