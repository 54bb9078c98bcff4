"""Single-event durable API ingestion: `POST /v1/events` with one event per request against `chengxin serve`.

    .venv/bin/python bench/bench_api.py [--db sqlite,postgresql] [--requests 5000] [--concurrency 8]
                                        [--rate 1000] [--py-spy]

Per database: a fresh store (SQLite file in a temp dir / a `cx_bench_<random>` PostgreSQL database), a
platform key made with the real CLI (`chengxin keys create --role platform --source urn:cx:platform:B1`),
`chengxin serve` on a free loopback port, a small marketplace seeded through the API (merchants, shops,
products, buyers: the setup part of bench/gen_events.py, re-sourced to B1), then:

0. baseline: `GET /v1/health` (the HTTP stack plus one read), 2,000 requests, 8 in flight;
1. closed loops: `--requests` single-event requests (`cx.order.placed` / `cx.review.posted`, unique ids)
   with each of `--concurrency` in flight (default 8 and 64): the most the server sustains;
2. open loops at each `--rate` (default 1000/s, the target, and 500/s) for `--requests` requests:
   p50/p95/p99 latency from the scheduled send time.

Every answer must be 200 with `accepted == 1` (the event was committed: SQLite synchronous=FULL, PostgreSQL
default fsync). Target (issue): >= 1,000 events/s with p99 <= 20 ms. Writes bench/results/api.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    CHENGXIN,
    RESULTS,
    code_version,
    cx_env,
    describe,
    free_port,
    log,
    machine,
    now_iso,
    pg_database,
    proc_cpu_s,
    proc_rss_mib,
    run_child,
    serve,
    write_result,
)
from _load import closed_loop, open_loop, pyspy_start, top_frames
from gen_events import generate

SOURCE = "urn:cx:platform:B1"
TARGET_EPS, TARGET_P99_MS = 1000, 20.0
MEASURED_TYPES = ("cx.order.placed", "cx.review.posted")


def build_events(needed: int, seed: int = 7) -> tuple[list[bytes], list[bytes]]:
    """(seed lines, measured lines): P1's events from gen_events re-sourced to B1. Seed = everything P1
    reports before trade starts; measured = later order placements and reviews, one line each."""
    n = max(20_000, needed * 16)
    setup, measured, trading = [], [], False
    for ev in generate(n, seed=seed, platforms=1):
        if ev["source"] != "urn:cx:platform:P1":
            continue
        ev["source"] = SOURCE
        if ev["type"] == "cx.order.placed":
            trading = True
        if not trading:
            setup.append(orjson.dumps(ev))
        elif ev["type"] in MEASURED_TYPES:
            measured.append(orjson.dumps(ev))
            if len(measured) >= needed:
                break
    if len(measured) < needed:
        raise SystemExit(f"generator gave {len(measured)} measured events, {needed} needed")
    return setup, measured


def accepted_one(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}"
    try:
        rep = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "bad JSON"
    if rep.get("accepted") != 1:
        return "not accepted" if not rep.get("rejected") else "rejected: " + str(rep.get("rejects"))[:120]
    return None


def seed_store(port: int, secret: str, lines: list[bytes]) -> dict[str, int]:
    import http.client

    totals = {"accepted": 0, "rejected": 0, "duplicates": 0, "conflicts": 0}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        for i in range(0, len(lines), 2000):
            conn.request("POST", "/v1/events", body=b"\n".join(lines[i:i + 2000]),
                         headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"seeding failed: HTTP {resp.status} {body[:300]!r}")
            rep = orjson.loads(body)
            for k in totals:
                totals[k] += rep[k]
    finally:
        conn.close()
    return totals


def bench_db(db: str, url: str, tmp: Path, args: argparse.Namespace, setup: list[bytes],
             measured: list[bytes]) -> dict[str, Any]:
    env = cx_env(url, tmp / "keys.json", CHENGXIN_WORKERS=str(args.server_workers))
    kc = run_child([CHENGXIN, "keys", "create", "--role", "platform", "--source", SOURCE, "--label", "bench",
                    "--json"], env, timeout=120)
    if kc.returncode != 0:
        raise RuntimeError(f"keys create failed: {kc.stderr[-500:]}")
    secret = kc.json()["secret"]
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/x-ndjson"}
    port = free_port()
    out: dict[str, Any] = {"db": db, "port": port, "server_workers": args.server_workers,
                           "serve_args": args.serve_args}
    with serve(env, port, tmp / "serve.log", extra=args.serve_args.split()) as proc:
        t0 = time.perf_counter()
        out["seed"] = {**seed_store(port, secret, setup), "lines": len(setup),
                       "seconds": round(time.perf_counter() - t0, 2)}
        log(f"{db}: seeded {out['seed']}")

        def make(i: int) -> tuple[str, str, bytes, dict[str, str]]:
            return "POST", "/v1/events", measured[i], headers

        # Baseline: the HTTP stack plus one read (`GET /v1/health`), the floor under any request.
        base = closed_loop(port, lambda i: ("GET", "/v1/health", None, {}), 2000, concurrency=8,
                           max_seconds=60)
        out["baseline_health"] = {k: v for k, v in base.summary().items()
                                  if k in ("ok", "errors", "throughput_per_s", "latency")}
        log(f"{db} baseline GET /v1/health: {base.summary()['throughput_per_s']}/s")
        warm = min(args.warmup, len(measured) // 10)
        closed_loop(port, make, warm, concurrency=8, max_seconds=60, check=accepted_one)
        n = args.requests
        plan = [("closed", c) for c in args.concurrency] + [("open", r) for r in args.rate]
        phases: dict[str, Any] = {}
        for k, (kind, x) in enumerate(plan):
            name = f"closed-c{x}" if kind == "closed" else f"open-{x:g}"
            first = warm + k * n
            spy, spy_out = None, RESULTS / f"{args.out}-{db}-{name}.pyspy.txt"
            if args.py_spy:
                spy = pyspy_start(proc.pid, max(5, n / 1000), spy_out)
            cpu0 = proc_cpu_s(proc.pid)
            if kind == "closed":
                res = closed_loop(port, make, n, concurrency=int(x), max_seconds=args.max_seconds,
                                  check=accepted_one, first=first)
                extra: dict[str, Any] = {"concurrency": int(x)}
            else:
                res = open_loop(port, make, rate=x, seconds=n / x, workers=args.workers, check=accepted_one,
                                first=first, grace_s=args.max_seconds)
                extra = {"rate": x, "workers": args.workers}
            cpu = proc_cpu_s(proc.pid) - cpu0
            s = res.summary(**extra, server_cpu_s=round(cpu, 2),
                            server_cpu_ms_per_request=round(1000 * cpu / max(1, len(res.latencies)), 3))
            if spy is not None:
                spy.wait(timeout=n / 100 + 60)
                if spy_out.exists():
                    s["profile"] = {"file": str(spy_out.relative_to(RESULTS.parent.parent)),
                                    **top_frames(spy_out, 20)}
            phases[name] = s
            lat = s["latency"]
            log(f"{db} {name}: {s['ok']}/{s['planned']} ok, {s['errors']} errors, {s['throughput_per_s']}/s, "
                f"p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms, "
                f"server CPU {s['server_cpu_ms_per_request']} ms/request")
        out["server_rss_mib"] = round(proc_rss_mib(proc.pid)[1], 1)
    out["phases"] = phases
    closed = [p for p in phases.values() if "concurrency" in p]
    best = max(closed, key=lambda p: p["throughput_per_s"] or 0)
    at_target = phases.get(f"open-{TARGET_EPS:g}")
    out["best_closed"] = best
    out["pass"] = {
        "throughput": (best["throughput_per_s"] or 0) >= TARGET_EPS and best["errors"] == 0,
        "p99_at_target_rate": bool(at_target) and at_target["latency"]["p99_ms"] <= TARGET_P99_MS
        and at_target["errors"] == 0 and not at_target["stopped_by_time"] and at_target["ok"] == at_target["planned"],
    }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--requests", type=int, default=5000, help="requests per phase (default 5000)")
    ap.add_argument("--concurrency", type=lambda v: [int(x) for x in v.split(",")], default=[8, 64],
                    help="closed loops: requests in flight, comma list (default 8,64)")
    ap.add_argument("--rate", type=lambda v: [float(x) for x in v.split(",")], default=[float(TARGET_EPS), 500.0],
                    help="open loops: requests/s, comma list (default 1000,500)")
    ap.add_argument("--workers", type=int, default=64, help="open loop: client threads")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=120, help="time bound of each phase")
    ap.add_argument("--serve-args", default="", help="more `chengxin serve` options, e.g. '--no-scorer'")
    ap.add_argument("--server-workers", type=int, default=min(8, os.cpu_count() or 1),
                    help="server processes (`CHENGXIN_WORKERS`); default: the CPU cores (at most 8), as "
                         "`chengxin serve` has it")
    ap.add_argument("--py-spy", action="store_true", help="profile the server (py-spy) during each phase")
    ap.add_argument("--out", default="api")
    args = ap.parse_args(argv)

    m = machine()
    log(describe(m))
    setup, measured = build_events(args.warmup + (len(args.concurrency) + len(args.rate)) * args.requests)
    log(f"{len(setup)} seed lines, {len(measured)} single-event requests prepared")
    result: dict[str, Any] = {
        "bench": "api", "date": now_iso(), "machine": m, "code": code_version(),
        "command": "POST /v1/events, one cx.order.placed / cx.review.posted event per request, platform key",
        "target": {"events_per_s": TARGET_EPS, "p99_ms": TARGET_P99_MS}, "runs": []}
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        tmp = Path(tempfile.mkdtemp(prefix=f"cx-bench-api-{db}-"))
        try:
            if db == "sqlite":
                result["runs"].append(bench_db(db, f"sqlite:///{tmp / 'api.db'}", tmp, args, setup, measured))
            elif db == "postgresql":
                with pg_database() as url:
                    result["runs"].append(bench_db(db, url, tmp, args, setup, measured))
            else:
                raise SystemExit(f"unknown --db {db!r}")
        except (RuntimeError, subprocess.SubprocessError) as e:
            log(f"{db}: FAILED: {e}")
            serve_log = tmp / "serve.log"
            tail = serve_log.read_text(errors="replace")[-3000:] if serve_log.exists() else ""
            result["runs"].append({"db": db, "error": str(e).split("; see ")[0], "serve_log_tail": tail})
            if tail:
                log(f"{db}: serve log tail:\n{tail[-1500:]}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        write_result(args.out, result)
    path = write_result(args.out, result)
    for r in result["runs"]:
        if "error" in r:
            print(f"{r['db']:<10} FAILED: {r['error']}")
            continue
        for name, s in r["phases"].items():
            lat = s["latency"]
            print(f"{r['db']:<10} {name:<12} {s['ok']:>5}/{s['planned']} ok {s['errors']:>4} err "
                  f"{s['throughput_per_s']:>8}/s  p50 {lat['p50_ms']:>8} ms  p95 {lat['p95_ms']:>8} ms  "
                  f"p99 {lat['p99_ms']:>8} ms")
    print(json.dumps({r["db"]: r.get("pass") for r in result["runs"]}))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
