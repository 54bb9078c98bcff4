"""Public shop-page lookups on a store of 1,000,000 parties and ~100,000 shops, at a fixed rate.

    .venv/bin/python bench/bench_lookup.py [--rate 200] [--seconds 30] [--parties 1000000] [--shops 100000]
                                           [--rebuild] [--py-spy] [--backlog N]

Populate (once; cached in bench/.cache/lookup-*/, reused while the targets match, `--rebuild` to redo):
a bench/gen_events.py stream of `--base-events` (realistic trade: shops with orders, reviews, complaints,
sanctions) plus a bench/gen_parties.py file topping the store up to `--parties` subjects and `--shops`
shops, both ingested with the real CLI (`chengxin ingest base.jsonl extra.jsonl --json`): everything goes
through our parser, validator, projections and credit log; nothing is inserted behind its back.

Measure: `chengxin serve` on that store (SQLite), anonymous (public) requests, open loop (each request
scheduled at start + i/rate; latency counted from the scheduled time, so queueing shows), a few seconds of
warm-up excluded, then for `--seconds`:
- `api-uniform`: `GET /v1/parties/{shop_id}?source=...`, shops drawn uniformly from all shops;
- `api-popular`: the same for shops drawn in proportion to their orders (busy shops: long credit files);
- `portal-*`: the same draws on the portal's shop page when src/chengxin/entrypoints/web/routes.py
  defines one.
Target (issue): p99 <= 50 ms at 200 requests/s. Writes bench/results/lookup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BENCH,
    CACHE,
    CHENGXIN,
    PYTHON,
    RESULTS,
    code_version,
    cx_env,
    describe,
    events_file,
    free_port,
    log,
    machine,
    now_iso,
    proc_cpu_s,
    proc_rss_mib,
    run_child,
    serve,
    write_result,
)
from _load import closed_loop, ok_200, open_loop, pyspy_start, top_frames

TARGET_P99_MS, TARGET_RATE = 50.0, 200


def count_types(path: Path, types: tuple[str, ...]) -> dict[str, int]:
    needles = {t: f'"type":"{t}"'.encode() for t in types}
    counts = dict.fromkeys(types, 0)
    with open(path, "rb") as f:
        for line in f:
            for t, needle in needles.items():
                if needle in line:
                    counts[t] += 1
    return counts


def settled_store(db: Path, keys: Path) -> None:
    """A store as a running node has it: schema current, and a full list evaluation on record (the scorer
    of `chengxin serve` redoes it every 6 hours; on a store that never had one it would start one over 1M
    parties beside the requests being measured)."""
    env = cx_env(f"sqlite:///{db}", keys)
    run_child([CHENGXIN, "db", "upgrade"], env, timeout=600)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        done = c.execute("SELECT count(*) FROM job_runs WHERE job = 'lists.evaluate'").fetchone()[0]
    if not done:
        log("chengxin lists evaluate (once: the full evaluation a running node has on record)")
        run_child([CHENGXIN, "lists", "evaluate", "--json"], env, timeout=3600)


def populate(args: argparse.Namespace) -> tuple[Path, Path, dict[str, Any]]:
    """The cached store (db file, keys file, meta); built with the real CLI when missing."""
    where = CACHE / f"lookup-sqlite-{args.parties}p-{args.shops}s-{args.base_events}e"
    db, keys, meta_file = where / "store.db", where / "keys.json", where / "meta.json"
    if meta_file.exists() and db.exists() and not args.rebuild:
        meta = json.loads(meta_file.read_text())
        log(f"reusing populated store {db} (built {meta['built']}: {meta['counts']})")
        settled_store(db, keys)
        return db, keys, meta
    if where.exists():
        for p in where.iterdir():
            p.unlink()
    where.mkdir(parents=True, exist_ok=True)
    base = events_file(args.base_events)
    have = count_types(base, ("cx.subject.registered", "cx.shop.opened"))
    merchants = max(0, args.shops - have["cx.shop.opened"])
    subjects = max(merchants, args.parties - have["cx.subject.registered"])
    extra = where / "extra.jsonl"
    t0 = time.perf_counter()
    run_child([PYTHON, str(BENCH / "gen_parties.py"), "--merchants", str(merchants), "--subjects", str(subjects),
               "--out", str(extra)], cx_env("sqlite://", keys), timeout=600)
    gen_s = time.perf_counter() - t0
    lines = sum(1 for _ in open(base, "rb")) + sum(1 for _ in open(extra, "rb"))  # noqa: SIM115 - counted and closed at once
    log(f"populating {db}: {base.name} + {extra.name} ({lines:,} lines) through `chengxin ingest`")
    run = run_child([CHENGXIN, "ingest", str(base), str(extra), "--json"], cx_env(f"sqlite:///{db}", keys),
                    timeout=args.populate_timeout)
    if run.returncode != 0:
        raise SystemExit(f"populate failed ({run.returncode}): {run.stderr[-1500:]}")
    report = run.json()
    extra.unlink()
    settled_store(db, keys)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:  # read-only: counts for the report
        counts = {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("subjects", "shops", "credit_records", "orders", "reviews")}
    meta = {"built": now_iso(), "base_file": base.name, "extra": {"merchants": merchants, "subjects": subjects},
            "lines": lines, "generate_s": round(gen_s, 1), "ingest": run.summary(),
            "ingest_events_per_s": round(lines / run.wall_s),
            "report": {k: report[k] for k in ("accepted", "duplicates", "conflicts", "rejected", "tree_size")},
            "counts": counts, "store_mib": round(sum(p.stat().st_size for p in where.glob("store.db*")) / 2**20)}
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
    log(f"populated in {run.wall_s:.0f}s ({meta['ingest_events_per_s']:,} events/s): {counts}")
    return db, keys, meta


def shop_draws(db: Path, n: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """Shop (source, id) sequences: uniform over all shops, and in proportion to orders (+1)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        shops = c.execute("SELECT source, shop_id FROM shops ORDER BY source, shop_id").fetchall()
        orders = dict(((s, i), k) for s, i, k in c.execute(
            "SELECT shop_source, shop_id, count(*) FROM orders GROUP BY shop_source, shop_id"))
    rng = random.Random(seed)
    weights = [orders.get(s, 0) + 1 for s in shops]
    return {"uniform": [rng.choice(shops) for _ in range(n)],
            "popular": rng.choices(shops, weights=weights, k=n)}


def portal_shop_route() -> str | None:
    """The portal's shop-page path template (e.g. `/shops/{shop_id:path}`), if the portal has one."""
    try:
        from chengxin.entrypoints.web import routes as web
    except ImportError:
        return None
    router = getattr(web, "router", None)
    for r in getattr(router, "routes", ()):
        path = getattr(r, "path", "")
        if path.startswith("/shops/") and "{" in path and "GET" in (getattr(r, "methods", None) or ()):
            return str(path)
    return None


def portal_path(template: str, source: str, shop_id: str) -> str:
    out = template
    for part in template.split("{")[1:]:
        name = part.split("}", 1)[0]
        value = source if "source" in name else shop_id
        out = out.replace("{" + name + "}", quote(value, safe=":" if "source" in name else ""))
    return out + ("" if "{source" in template else f"?source={quote(source, safe=':')}")


def html_200(status: int, body: bytes) -> str | None:
    return None if status == 200 and b"<html" in body[:2000].lower() else f"HTTP {status}"


def queue_backlog(db: Path, keys: Path, n: int) -> int:
    """Queue n shops (random) for rescoring (what a burst of events leaves the scorer), through the
    project's own queue writer."""
    from chengxin.adapters.db.engine import write_transaction
    from chengxin.bootstrap import bootstrap
    from chengxin.services import standing_queue
    from chengxin.settings import Settings

    cx = bootstrap(Settings(database_url=f"sqlite:///{db}", keys_file=keys, env="demo"))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        shops = con.execute("SELECT source, shop_id FROM shops ORDER BY random() LIMIT ?", (n,)).fetchall()
    with write_transaction(cx.engine) as conn:
        standing_queue.queue(conn, [("party", src, sid, "", "") for src, sid in shops])
    cx.engine.dispose()
    return len(shops)


def backlog_left(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return int(con.execute("SELECT count(*) FROM scoring_queue").fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parties", type=int, default=1_000_000)
    ap.add_argument("--shops", type=int, default=100_000)
    ap.add_argument("--base-events", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=TARGET_RATE)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup-seconds", type=float, default=3)
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--phases", default="api-uniform,api-popular,portal-uniform,portal-popular")
    ap.add_argument("--capacity", action="store_true", help="also a closed loop (8 in flight) per phase")
    ap.add_argument("--rebuild", action="store_true", help="populate again even if cached")
    ap.add_argument("--populate-timeout", type=float, default=3600)
    ap.add_argument("--server-workers", type=int, default=min(8, os.cpu_count() or 1),
                    help="server processes (`CHENGXIN_WORKERS`); default: the CPU cores (at most 8), as "
                         "`chengxin serve` has it")
    ap.add_argument("--server-env", action="append", default=[], metavar="CHENGXIN_X=V",
                    help="extra environment for the server (repeatable), e.g. CHENGXIN_POOL_SIZE=48")
    ap.add_argument("--py-spy", action="store_true")
    ap.add_argument("--backlog", type=int, default=0, metavar="N",
                    help="queue N shops for rescoring before the phases, so the scorer works through "
                         "the lookups (it catches up on at most half a core)")
    ap.add_argument("--out", default="lookup")
    args = ap.parse_args(argv)

    m = machine()
    log(describe(m))
    db, keys, meta = populate(args)
    n_per_phase = int(args.rate * (args.seconds + args.warmup_seconds)) + (4000 if args.capacity else 0)
    draws = shop_draws(db, n_per_phase, seed=5)
    template = portal_shop_route()
    result: dict[str, Any] = {
        "bench": "lookup", "date": now_iso(), "machine": m, "code": code_version(), "store": {"db": "sqlite", **meta},
        "target": {"rate": TARGET_RATE, "p99_ms": TARGET_P99_MS},
        "portal_route": template, "phases": {}}
    port = free_port()
    result["server_workers"] = args.server_workers
    extra_env = dict(kv.split("=", 1) for kv in args.server_env)
    result["server_env"] = extra_env
    env = cx_env(f"sqlite:///{db}", keys, CHENGXIN_WORKERS=str(args.server_workers), **extra_env)
    with serve(env, port, RESULTS / f"{args.out}-serve.log.tmp") as proc:
        if args.backlog:
            result["backlog"] = {"queued": queue_backlog(db, keys, args.backlog)}
            log(f"queued {result['backlog']['queued']:,} parties for rescoring")
        for phase in [p.strip() for p in args.phases.split(",") if p.strip()]:
            if proc.poll() is not None:
                result["phases"][phase] = {"skipped": f"the server had exited ({proc.returncode})"}
                continue
            kind, draw = phase.split("-", 1)
            if kind == "portal" and template is None:
                result["phases"][phase] = {"skipped": "the portal has no shop page (web/routes.py)"}
                log(f"{phase}: skipped, no portal shop page")
                continue
            seq = draws[draw]
            if kind == "api":
                paths = [f"/v1/parties/{quote(i, safe='')}?source={quote(s, safe=':')}" for s, i in seq]
                check = ok_200
            else:
                paths = [portal_path(template, s, i) for s, i in seq]  # type: ignore[arg-type]
                check = html_200

            def make(i: int, paths: list[str] = paths) -> tuple[str, str, None, dict[str, str]]:
                return "GET", paths[i % len(paths)], None, {"Accept": "application/json, text/html"}

            warm = int(args.rate * args.warmup_seconds)
            open_loop(port, make, rate=args.rate, seconds=args.warmup_seconds, workers=args.workers, check=check)
            spy, spy_out = None, RESULTS / f"{args.out}-{phase}.pyspy.txt"
            if args.py_spy:
                spy = pyspy_start(proc.pid, args.seconds, spy_out)
            cpu0 = proc_cpu_s(proc.pid)
            res = open_loop(port, make, rate=args.rate, seconds=args.seconds, workers=args.workers, check=check,
                            first=warm, grace_s=60)
            cpu = proc_cpu_s(proc.pid) - cpu0
            s = res.summary(rate=args.rate, server_cpu_s=round(cpu, 2),
                            server_cpu_ms_per_ok_request=round(1000 * cpu / max(1, len(res.latencies)), 2))
            s["pass"] = (s["latency"]["p99_ms"] <= TARGET_P99_MS and s["errors"] == 0 and s["ok"] == s["planned"])
            if spy is not None:
                spy.wait(timeout=args.seconds + 60)
                if spy_out.exists():
                    s["profile"] = {"file": str(spy_out.relative_to(RESULTS.parent.parent)), **top_frames(spy_out, 20)}
            if args.capacity:
                cap = closed_loop(port, make, 4000, concurrency=8, max_seconds=60, check=check, first=warm + res.sent)
                s["capacity_closed_c8"] = {k: v for k, v in cap.summary().items() if k in ("ok", "errors",
                                                                                             "throughput_per_s",
                                                                                             "latency")}
            if proc.poll() is not None:
                log_file = RESULTS / f"{args.out}-serve.log.tmp"
                s["server_exited"] = {"code": proc.returncode, "log_tail": log_file.read_text()[-3000:]}
                log(f"{phase}: the server exited with {proc.returncode}; see {log_file}")
            if args.backlog:
                s["backlog_left"] = backlog_left(db)
            result["phases"][phase] = s
            write_result(args.out, result)  # after each phase: a later failure keeps the earlier figures
            lat = s["latency"]
            log(f"{phase}: {s['ok']}/{s['planned']} ok, {s['errors']} errors, p50 {lat['p50_ms']} ms, "
                f"p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms, "
                f"server CPU {s['server_cpu_ms_per_ok_request']} ms/ok request, late starts {s['late_starts']}"
                + (f", capacity {s['capacity_closed_c8']['throughput_per_s']}/s" if args.capacity else ""))
        result["server_rss_mib"] = round(proc_rss_mib(proc.pid)[1], 1)
    path = write_result(args.out, result)
    for name, s in result["phases"].items():
        if "skipped" in s:
            print(f"{name:<16} skipped: {s['skipped']}")
            continue
        lat = s["latency"]
        print(f"{name:<16} {s['ok']:>5}/{s['planned']} ok {s['errors']:>3} err  p50 {lat['p50_ms']:>7} ms  "
              f"p95 {lat['p95_ms']:>7} ms  p99 {lat['p99_ms']:>7} ms  {'PASS' if s['pass'] else 'FAIL'}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
