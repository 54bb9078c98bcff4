"""Where bulk ingestion spends its time, and what proposed changes would buy (measurement only).

    .venv/bin/python bench/profile_ingest.py stages [--lines 200000] [--file F]
    .venv/bin/python bench/profile_ingest.py handoff [--lines 200000] [--file F]
    .venv/bin/python bench/profile_ingest.py whatif --db sqlite|postgresql [--lines N] [--fix dedup,merkle]
                                                    [--cprofile 30]
    .venv/bin/python bench/profile_ingest.py plans [--rows 300000]
    .venv/bin/python bench/profile_ingest.py txn --db sqlite|postgresql [--sizes 1,4,16,64]

- `stages`: the pure-Python pipeline per line, stage by stage, no database (the CPU floor of the code as is).
- `handoff`: per line, what preparing costs and what handing a prepared batch from the second process of a
  bulk load (`services/ingest_apart.py`) back to the first costs, against pickling the objects.
- `whatif`: the real `ingest.ingest()` in-process on a fresh store, optionally with proposed fixes patched
  in at run time (src/ is not touched): `dedup` = `store.existing_hashes` asks `source = ? AND event_id IN
  (...)` per source instead of `(source, event_id) IN (VALUES ...)`; `merkle` = `credit_log._lookup` asks
  `level = ? AND idx IN (...)` per level; `analyze` = on PostgreSQL, `ANALYZE` each time the store
  grew by half (this machine's server runs with autovacuum off, so tables never get statistics).
  Prints events/s and, with `--cprofile N`, the top N functions.
- `txn`: events/s when each write transaction carries k events (k = 1 is one API request today): the
  fixed cost per transaction that grouping concurrent requests into one commit would share out.
- `plans`: query plans and timings of both forms on a synthetic events table, SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import events_file, log, pg_admin, pg_database


# --- proposed fixes, patched in at run time -------------------------------------------------------------
def fixed_existing_hashes(conn: Any, keys: Any) -> dict[tuple[str, str], str]:
    from sqlalchemy import select

    from chengxin.adapters.db import tables as t

    by_source: dict[str, list[str]] = defaultdict(list)
    for s, e in keys:
        by_source[s].append(e)
    found: dict[tuple[str, str], str] = {}
    ev = t.events.c
    for s, ids in by_source.items():
        for i in range(0, len(ids), 500):
            q = select(ev.source, ev.event_id, ev.content_hash).where(ev.source == s, ev.event_id.in_(ids[i:i + 500]))
            found.update({(a, b): h for a, b, h in conn.execute(q)})
    return found


def fixed_lookup(conn: Any, nodes: Any) -> dict[tuple[int, int], bytes]:
    from sqlalchemy import select

    from chengxin.adapters.db import tables as t
    from chengxin.exc import IntegrityFailure

    wanted = list(dict.fromkeys(nodes))
    by_level: dict[int, list[int]] = defaultdict(list)
    for lv, ix in wanted:
        by_level[lv].append(ix)
    found: dict[tuple[int, int], bytes] = {}
    mn = t.merkle_nodes.c
    for lv, idxs in by_level.items():
        for i in range(0, len(idxs), 500):
            q = select(mn.level, mn.idx, mn.hash).where(mn.level == lv, mn.idx.in_(idxs[i:i + 500]))
            found.update({(a, b): h for a, b, h in conn.execute(q)})
    missing = [n for n in wanted if n not in found]
    if missing:
        raise IntegrityFailure(f"merkle node {missing[0]} missing from storage")
    return found


def apply_fixes(fixes: set[str]) -> None:
    from chengxin.adapters.db import store
    from chengxin.services import credit_log, ingest

    if "dedup" in fixes:
        store.existing_hashes = fixed_existing_hashes
    if "merkle" in fixes:
        credit_log._lookup = fixed_lookup
    if "analyze" in fixes:  # PostgreSQL with autovacuum off (as on this machine) never gets statistics
        original, grown = ingest.ingest_batch, {"since": 0, "base": 0}

        def ingest_batch(app: Any, batch: Any, **kw: Any) -> Any:
            report = original(app, batch, **kw)
            if app.engine.dialect.name == "postgresql":
                grown["since"] += report.accepted
                if grown["since"] >= max(20_000, grown["base"] // 2):  # each time the store grew by half
                    with app.engine.begin() as conn:
                        conn.exec_driver_sql("ANALYZE")
                    grown["base"] += grown["since"]
                    grown["since"] = 0
            return report

        ingest.ingest_batch = ingest_batch


# --- stages ---------------------------------------------------------------------------------------------
def stages(path: Path, limit: int) -> None:
    import orjson

    from chengxin.adapters import crypto
    from chengxin.bootstrap import bootstrap
    from chengxin.domain import merkle
    from chengxin.domain.credit import leaf_bytes, records_for
    from chengxin.domain.events import Event, canonical, parse_line
    from chengxin.domain.projection import Fact, project
    from chengxin.services.identity import protect_body, protect_subject
    from chengxin.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp}/x.db", keys_file=tmp / "k.json"))
    with open(path, "rb") as f:
        raws = [line.rstrip(b"\n") for line in itertools.islice(f, limit)]
    n = len(raws)
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - t0
        return out

    timed("orjson.loads only", lambda: [orjson.loads(r) for r in raws])
    events = timed("parse_line (JSON + validation + utc)", lambda: [parse_line(r, app.vocab) for r in raws])
    events = [e for e in events if isinstance(e, Event)]
    hashes = timed("content_hash (canonical JSON + HMAC)",
                   lambda: [crypto.content_hash(app.keys, canonical(e.envelope)) for e in events])
    today = datetime.now(UTC).date()
    facts = timed("project", lambda: [project(e) for e in events])

    def protect_all() -> list[list[Fact]]:
        return [[Fact(f.table, protect_subject(app.keys, dict(f.values), today=today), f.lww)
                 if f.table == "subjects" else f for f in fs] for fs in facts]

    facts = timed("protect_subject (identity checks, AES, HMAC)", protect_all)
    records = timed("records_for", lambda: [records_for(e, fs) for e, fs in zip(events, facts, strict=True)])
    timed("protect_body + orjson.dumps (events.body)",
          lambda: [orjson.dumps(protect_body(app.keys, dict(e.envelope))).decode() for e in events])
    flat = [(r, h) for rs, h in zip(records, hashes, strict=True) for r in rs]
    timed("leaf_bytes + leaf_hash (credit log)",
          lambda: [merkle.leaf_hash(leaf_bytes(i, r, h)) for i, (r, h) in enumerate(flat)])
    timed("credit record payload JSON",
          lambda: [orjson.dumps(dict(r.payload), option=orjson.OPT_SORT_KEYS).decode() for r, _ in flat])
    total = sum(v for k, v in timings.items() if k != "orjson.loads only")
    print(f"{n:,} lines ({len(events):,} valid), {sum(len(f) for f in facts):,} facts, {len(flat):,} credit records")
    print(f"{'stage':<48} {'total s':>8} {'µs/line':>8} {'share':>6}")
    for k, v in timings.items():
        share = "" if k == "orjson.loads only" else f"{100 * v / total:5.1f}%"
        print(f"{k:<48} {v:8.2f} {1e6 * v / n:8.1f} {share:>6}")
    print(f"{'pure-Python pipeline, no database':<48} {total:8.2f} {1e6 * total / n:8.1f}  "
          f"= at most {n / total:,.0f} lines/s on one core before any SQL")


# --- handoff --------------------------------------------------------------------------------------------
def handoff(path: Path, limit: int, rounds: int = 3) -> None:
    """What the second process of a bulk load costs per line: preparing (the work handed over), encoding the
    prepared batch in the child, decoding it in the parent; and the pickle of whole objects it replaced.
    Collector as in a load (frozen, youngest generation every 100,000 allocations); best of `rounds`."""
    import gc
    import pickle

    from chengxin.bootstrap import bootstrap
    from chengxin.services import ingest_apart
    from chengxin.services.ingest import read_lines
    from chengxin.services.prepare import PreparedBatch, assemble, prepare
    from chengxin.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp}/x.db", keys_file=tmp / "k.json"))
    with open(path, "rb") as f:
        lines = list(read_lines(str(path), itertools.islice(f, limit)))
    size = app.settings.batch_size
    chunks = [lines[i:i + size] for i in range(0, len(lines), size)]
    gc.freeze()
    gc.set_threshold(100_000, *gc.get_threshold()[1:])
    best: dict[str, float] = defaultdict(lambda: float("inf"))

    def timed(name: str, fn: Any, items: list[Any]) -> list[Any]:
        t0 = time.perf_counter()
        out = [fn(*x) for x in items]
        best[name] = min(best[name], time.perf_counter() - t0)
        return out

    for _ in range(rounds):
        batches = timed("child: prepare", lambda c: prepare(app, c), [(c,) for c in chunks])
        rowed = timed("child: assemble (rows, marks, log entries)",
                      lambda b: PreparedBatch(b.rejects, [], assemble(b.items)), [(b,) for b in batches])
        frames = timed("child: encode (rows, marshal)", ingest_apart._encode,
                       [(len(c), b) for c, b in zip(chunks, rowed, strict=True)])
        timed("parent: decode (marshal, rows as they are)", ingest_apart._decode, frames)
        blobs = timed("child: pickle of the objects (replaced)", lambda b: pickle.dumps(b, 5), [(b,) for b in batches])
        timed("parent: unpickle (replaced)", pickle.loads, [(b,) for b in blobs])
        del batches, rowed, frames, blobs  # each round starts from the same heap
    n = len(lines)
    print(f"{n:,} lines in batches of {size:,}, best of {rounds}")
    for name, v in best.items():
        print(f"  {name:<46} {1e6 * v / n:8.1f} µs/line")


# --- whatif ---------------------------------------------------------------------------------------------
def whatif(path: Path, db: str, limit: int, fixes: set[str], profile_top: int) -> None:
    from chengxin.bootstrap import bootstrap
    from chengxin.services import ingest
    from chengxin.settings import Settings

    apply_fixes(fixes)
    tmp = Path(tempfile.mkdtemp())

    def run(url: str) -> None:
        app = bootstrap(Settings(database_url=url, keys_file=tmp / "k.json"))
        app.engine  # noqa: B018 - migrate before timing
        with open(path, "rb") as f:
            lines = ingest.read_lines(str(path), itertools.islice(f, limit))
            prof = cProfile.Profile() if profile_top else None
            done, t0, last = 0, time.perf_counter(), time.perf_counter()

            def progress(k: int) -> None:
                nonlocal done, last
                done += k
                if done % 100_000 < k:
                    now = time.perf_counter()
                    log(f"{done:,} lines, {done / (now - t0):,.0f}/s overall, "
                        f"{min(100_000, done) / (now - last):,.0f}/s last 100k")
                    last = now

            if prof:
                prof.enable()
            report = ingest.ingest(app, lines, origin=str(path), on_batch=progress)
            if prof:
                prof.disable()
            wall = time.perf_counter() - t0
        n = report.accepted + report.duplicates + report.conflicts + report.rejected
        print(f"{db} fixes={sorted(fixes) or 'none'}: {n:,} lines in {wall:.1f}s = {n / wall:,.0f} lines/s "
              f"(accepted {report.accepted:,}, rejected {report.rejected})" + (" [under cProfile]" if prof else ""))
        if prof:
            st = pstats.Stats(prof)
            st.sort_stats("tottime").print_stats(profile_top)
            st.sort_stats("cumulative").print_stats(profile_top)

    if db == "sqlite":
        run(f"sqlite:///{tmp}/x.db")
    else:
        with pg_database() as url:
            run(url)


# --- txn: fixed cost of a write transaction (what group commit would save) -------------------------------
def txn(path: Path, db: str, sizes: list[int], events_per_size: int, skip: int) -> None:
    from chengxin.bootstrap import bootstrap
    from chengxin.services import ingest
    from chengxin.settings import Settings

    tmp = Path(tempfile.mkdtemp())

    def run(url: str) -> None:
        app = bootstrap(Settings(database_url=url, keys_file=tmp / "k.json"))
        with open(path, "rb") as f:
            lines = list(ingest.read_lines(str(path), itertools.islice(f, skip + events_per_size * len(sizes))))
        setup, rest = lines[:skip], lines[skip:]
        for i in range(0, len(setup), 5000):  # the population the later events refer to, in big batches
            ingest.ingest_batch(app, setup[i:i + 5000], origin="setup", actor="bench")
        print(f"{db}: transactions of k events each, {events_per_size:,} events per k (store already holds "
              f"{skip:,} events)")
        print(f"{'k':>5} {'events/s':>10} {'ms/transaction':>15} {'ms/event':>9}")
        for j, k in enumerate(sizes):
            chunk = rest[j * events_per_size:(j + 1) * events_per_size]
            t0 = time.perf_counter()
            for i in range(0, len(chunk), k):
                ingest.ingest_batch(app, chunk[i:i + k], origin="txn", actor="bench")
            wall = time.perf_counter() - t0
            print(f"{k:>5} {len(chunk) / wall:>10,.0f} {1000 * wall / -(-len(chunk) // k):>15.2f} "
                  f"{1000 * wall / len(chunk):>9.3f}")

    if db == "sqlite":
        run(f"sqlite:///{tmp}/x.db")
    else:
        with pg_database() as url:
            run(url)


# --- plans ----------------------------------------------------------------------------------------------
def plans(rows: int) -> None:
    keys = [("urn:cx:platform:P1", f"e-{i}") for i in range(rows // 3, rows // 3 + 400)]
    ids = [k[1] for k in keys]
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE events(seq INTEGER PRIMARY KEY, source TEXT NOT NULL, event_id TEXT NOT NULL, "
              "content_hash TEXT, UNIQUE(source, event_id))")
    c.executemany("INSERT INTO events(source, event_id, content_hash) VALUES (?,?,?)",
                  (("urn:cx:platform:P1", f"e-{i}", "h") for i in range(rows)))
    forms = {
        "(source, event_id) IN (VALUES ...)  [today]":
            (f"SELECT source, event_id, content_hash FROM events WHERE (source, event_id) IN "
             f"(VALUES {','.join('(?,?)' for _ in keys)})", [x for k in keys for x in k]),
        "source = ? AND event_id IN (...)  [proposed]":
            (f"SELECT source, event_id, content_hash FROM events WHERE source = ? AND event_id IN "
             f"({','.join('?' * len(ids))})", ["urn:cx:platform:P1", *ids]),
    }
    print(f"SQLite {sqlite3.sqlite_version}, {rows:,} events, 400 keys per query:")
    for name, (sql, params) in forms.items():
        plan = "; ".join(r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql, params))
        t0 = time.perf_counter()
        for _ in range(5):
            c.execute(sql, params).fetchall()
        print(f"  {name:<46} {1000 * (time.perf_counter() - t0) / 5:8.2f} ms   plan: {plan}")
    with pg_database() as url, pg_admin(url) as pc:
        pc.execute("CREATE TABLE events(seq BIGSERIAL PRIMARY KEY, source VARCHAR NOT NULL, event_id VARCHAR NOT NULL,"
                   " content_hash VARCHAR, UNIQUE(source, event_id))")
        pc.execute("INSERT INTO events(source, event_id, content_hash) SELECT 'urn:cx:platform:P1', 'e-' || g, 'h' "
                   "FROM generate_series(0, %s) g", [rows - 1])
        pc.execute("ANALYZE events")
        pg_forms = {
            "(source, event_id) IN ((..),(..))  [today]":
                (f"SELECT source, event_id, content_hash FROM events WHERE (source, event_id) IN "
                 f"({','.join('(%s,%s)' for _ in keys)})", [x for k in keys for x in k]),
            "source = %s AND event_id IN (...)  [proposed]":
                (f"SELECT source, event_id, content_hash FROM events WHERE source = %s AND event_id IN "
                 f"({','.join(['%s'] * len(ids))})", ["urn:cx:platform:P1", *ids]),
        }
        print(f"PostgreSQL {pc.execute('SHOW server_version').fetchone()[0]}, same table and keys:")
        for name, (sql, params) in pg_forms.items():
            out = [r[0] for r in pc.execute("EXPLAIN (ANALYZE, SUMMARY) " + sql, params)]
            plan_ms = next((x for x in out if x.startswith("Planning Time")), "")
            exec_ms = next((x for x in out if x.startswith("Execution Time")), "")
            t0 = time.perf_counter()
            for _ in range(5):
                pc.execute(sql, params).fetchall()
            print(f"  {name:<46} {1000 * (time.perf_counter() - t0) / 5:8.2f} ms   {plan_ms}, {exec_ms}; "
                  f"top node: {out[0].split('  (')[0]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("stages", "handoff", "whatif", "plans", "txn"))
    ap.add_argument("--sizes", default="1,4,16,64", help="txn: events per transaction")
    ap.add_argument("--per-size", type=int, default=2000, help="txn: events per size")
    ap.add_argument("--skip", type=int, default=30000, help="txn: setup lines ingested first")
    ap.add_argument("--file", type=Path)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--fix", default="", help="comma list: dedup, merkle, analyze")
    ap.add_argument("--cprofile", type=int, default=0, help="print the top N functions (cProfile)")
    ap.add_argument("--rows", type=int, default=300_000)
    args = ap.parse_args(argv)
    os.environ.pop("CHENGXIN_DATABASE_URL", None)
    path = args.file or events_file(1_000_000)
    if args.what == "stages":
        stages(path, args.lines)
    elif args.what == "handoff":
        handoff(path, args.lines)
    elif args.what == "whatif":
        whatif(path, args.db, args.lines, {f for f in args.fix.split(",") if f}, args.cprofile)
    elif args.what == "txn":
        txn(path, args.db, [int(k) for k in args.sizes.split(",")], args.per_size, args.skip)
    else:
        plans(args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
