"""Where a shop-page lookup spends its time, and what the proposed query change would buy (measurement only).

    .venv/bin/python bench/profile_lookup.py [--shops 200] [--fix pairs] [--plans]

Runs `parties.show()` (what `GET /v1/parties/{id}` and the portal's shop page call) in-process, as the
public, on the store bench/bench_lookup.py populated (bench/.cache/lookup-*), for shops drawn uniformly
and in proportion to their orders; prints the latency distribution. With `--fix pairs`, every two-column
`tuple_(a, b).in_(pairs)` in the read services is replaced at run time (src/ is not touched) by
`(a = ? AND b IN (...)) OR ...` grouped by the first column, a form SQLite answers from the composite
index instead of scanning the table. `--plans` prints SQLite's plan for both forms on `credit_records`.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, latency_summary


class _Pairs:
    """Stands in for `tuple_(a, b)`: `.in_(pairs)` renders per-first-column groups."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b

    def in_(self, pairs: Any) -> Any:
        from sqlalchemy import and_, false, or_

        groups: dict[Any, list[Any]] = defaultdict(list)
        for x, y in pairs:
            groups[x].append(y)
        if not groups:
            return false()
        return or_(*(and_(self.a == x, self.b.in_(ys)) for x, ys in groups.items()))


def apply_pairs_fix() -> list[str]:
    import sqlalchemy

    def tuple_(*cols: Any) -> Any:
        return _Pairs(*cols) if len(cols) == 2 else sqlalchemy.tuple_(*cols)

    patched = []
    for name in ("chengxin.services.parties", "chengxin.services.credit_file", "chengxin.services.records",
                 "chengxin.services.credit_log", "chengxin.adapters.db.store"):
        try:
            mod = __import__(name, fromlist=["_"])
        except ImportError:
            continue
        if hasattr(mod, "tuple_"):
            mod.tuple_ = tuple_
            patched.append(name)
    return patched


def store_dir() -> Path:
    found = sorted(CACHE.glob("lookup-sqlite-*/meta.json"))
    if not found:
        raise SystemExit("no populated store: run bench/bench_lookup.py first")
    return found[0].parent


def plans(db: Path) -> None:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    refs = c.execute("SELECT source, shop_id FROM shops LIMIT 1").fetchall()
    ops = c.execute("SELECT operator_source, operator_id FROM shops LIMIT 1").fetchall()
    pairs = refs + ops
    vals = ",".join("(?,?)" for _ in pairs)
    flat = [x for p in pairs for x in p]
    today = (f"SELECT count(*) FROM credit_records WHERE subject_kind IN ('subject','shop','party') AND "
             f"(subject_source, subject_id) IN (VALUES {vals})", flat)
    groups: dict[str, list[str]] = defaultdict(list)
    for s, i in pairs:
        groups[s].append(i)
    ors = " OR ".join(f"(subject_source = ? AND subject_id IN ({','.join('?' * len(ids))}))" for ids in groups.values())
    proposed = (f"SELECT count(*) FROM credit_records WHERE subject_kind IN ('subject','shop','party') AND ({ors})",
                [x for s, ids in groups.items() for x in (s, *ids)])
    for name, (sql, params) in (("today: (a, b) IN (VALUES ...)", today), ("proposed: a = ? AND b IN (...)", proposed)):
        plan = "; ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql, params))
        t0 = time.perf_counter()
        n = c.execute(sql, params).fetchone()[0]
        print(f"{name:<34} {1000 * (time.perf_counter() - t0):9.2f} ms  ({n} rows)  plan: {plan}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shops", type=int, default=200, help="lookups per draw")
    ap.add_argument("--fix", default="", help="pairs")
    ap.add_argument("--plans", action="store_true")
    ap.add_argument("--queries", type=int, default=0, help="print the N statements that took the most time")
    args = ap.parse_args(argv)
    where = store_dir()
    db = where / "store.db"
    if args.plans:
        plans(db)
        return 0
    for k in [k for k in os.environ if k.startswith("CHENGXIN_")]:
        os.environ.pop(k)
    from chengxin.bootstrap import bootstrap
    from chengxin.services import parties
    from chengxin.services.viewer import Viewer
    from chengxin.settings import Settings

    patched = apply_pairs_fix() if "pairs" in args.fix else []
    app = bootstrap(Settings(database_url=f"sqlite:///{db}", keys_file=where / "keys.json"))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
        shops = c.execute("SELECT source, shop_id FROM shops ORDER BY source, shop_id").fetchall()
        orders = {(s, i): k for s, i, k in c.execute(
            "SELECT shop_source, shop_id, count(*) FROM orders GROUP BY shop_source, shop_id")}
    rng = random.Random(9)
    draws = {"uniform": [rng.choice(shops) for _ in range(args.shops)],
             "popular": rng.choices(shops, weights=[orders.get(s, 0) + 1 for s in shops], k=args.shops)}
    print(f"parties.show() as the public on {db.name}; fix: {', '.join(patched) or 'none'}")
    stats: dict[str, list[float]] = defaultdict(list)
    captured: list[tuple[str, Any]] = []
    if args.queries:
        from sqlalchemy import event

        @event.listens_for(app.engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            conn.info["cx_t0"] = time.perf_counter()

        @event.listens_for(app.engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            conn.info.pop("cx_t0")
            captured.append((statement, params))
    for name, seq in draws.items():
        lat = []
        for source, shop_id in seq:
            captured.append(("-- lookup", None))
            t0 = time.perf_counter()
            parties.show(app, source, shop_id, Viewer(), limit=100)
            lat.append(time.perf_counter() - t0)
        s = latency_summary(lat)
        print(f"  {name:<8} {s['count']} lookups: p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, "
              f"max {s['max_ms']} ms, mean {s['mean_ms']} ms")
    if args.queries:
        # Replay the captured statements on plain sqlite3 connections, rows fetched: the SQL's own cost, with
        # one connection kept warm, a new connection per lookup (what pool churn does), and a new one with mmap.
        lookups_sql = [[]]  # type: list[list[tuple[str, Any]]]
        for statement, params in captured:
            if statement == "-- lookup":
                lookups_sql.append([])
            elif not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
                lookups_sql[-1].append((statement, params))
        lookups_sql = [x for x in lookups_sql if x]
        print("the same SQL replayed on sqlite3 (rows fetched), per lookup:")
        for mode in ("one warm connection", "new connection per lookup", "new connection, mmap_size=2 GiB",
                     "one warm connection, mmap_size=2 GiB"):
            warm = None
            times = []
            for stmts in lookups_sql:
                t0 = time.perf_counter()
                conn = warm or sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                if "mmap" in mode and conn is not warm:
                    conn.execute("PRAGMA mmap_size=2147483648")
                for statement, params in stmts:
                    conn.execute(statement, params).fetchall()
                if "warm" in mode:
                    warm = conn
                else:
                    conn.close()
                times.append(time.perf_counter() - t0)
            ls = latency_summary(times)
            print(f"  {mode:<38} p50 {ls['p50_ms']} ms, p99 {ls['p99_ms']} ms, mean {ls['mean_ms']} ms")
        raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        for statement, params in captured:
            if statement == "-- lookup" or statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK",
                                                                                   "PRAGMA")):
                continue
            t0 = time.perf_counter()
            raw.execute(statement, params).fetchall()
            stats[" ".join(statement.split())].append(time.perf_counter() - t0)
        total = sum(sum(v) for v in stats.values())
        lookups = 2 * args.shops
        print(f"statements replayed on sqlite3 with rows fetched: {total:.2f} s for {lookups} lookups "
              f"({1000 * total / lookups:.2f} ms of SQL per lookup):")
        for sql, times in sorted(stats.items(), key=lambda kv: -sum(kv[1]))[:args.queries]:
            per_call = 1000 * sum(times) / len(times)
            print(f"  {100 * sum(times) / total:5.1f}%  {len(times):5} calls  {per_call:8.2f} ms/call  {sql[:240]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
