"""A lone event's scoring step (`standing.drain` after a commit of one event), this checkout against another,
alternately in fresh processes on fresh copies of the same store: CPU and wall medians, and their ratios.

    .venv/bin/python bench/bench_scoring.py                  # once: builds bench/.cache/scoring-bench-1m/
    git worktree add /tmp/wt-old <commit>
    .venv/bin/python bench/profile_scoring_step.py --against /tmp/wt-old/src --rounds 3

When this checkout's schema is newer than the other's, give each its own store: a copy of the cache brought to
this schema and scored by this checkout (`chengxin score`), with `--store COPY --against-store` the cache.

Each run ingests new ratings one event per commit (order, payment, completion, review of one buyer at one shop
after another: `bench_scoring._rating_lines`) and times the drain after each; the first `--warm` shops are not
counted. Issue 4's target is a median of 1 ms per event. CPU time leaves out the commit's wait for the disk.
`--scorer` times the drain as the scorer process of `chengxin serve` runs it (`standing.follow`: budgeted, looking
at the queue in a read transaction before taking the write lock) instead of `standing.drain`'s defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, PYTHON, describe, log, machine

STORE = CACHE / "scoring-bench-1m"


def child(folder: Path, shops: int, warm: int, largest: bool = False, scorer: bool = False) -> dict[str, Any]:
    """One run in this process (the code on sys.path): the drain's medians after each lone event."""
    import bench_scoring as B
    from chengxin.adapters.db import tables as t
    from chengxin.adapters.db.engine import read_connection
    from chengxin.bootstrap import bootstrap
    from chengxin.services import ingest, standing, standing_follow
    from chengxin.settings import Settings

    cx = bootstrap(Settings(database_url=f"sqlite:///{folder / 'store.db'}", keys_file=folder / "keys.json"))
    with read_connection(cx.engine) as conn:
        buyer = conn.execute(t.subjects.select().where(t.subjects.c.kind == "person").limit(1)).one()
        if largest:  # the shops with the most orders: the step's cost where it grew with the shop
            from sqlalchemy import func, select

            top = conn.execute(select(t.orders.c.shop_id).where(t.orders.c.shop_source == buyer.source).group_by(
                t.orders.c.shop_id).order_by(func.count().desc()).limit(shops)).scalars().all()
            every = {s.shop_id: s for s in conn.execute(t.shops.select().where(t.shops.c.source == buyer.source))}
            targets = [every[i] for i in top if i in every]
        else:
            targets = [s for s in conn.execute(t.shops.select().limit(3 * shops)) if s.source == buyer.source][:shops]
        product = {r.shop_id: r.product_id for r in conn.execute(t.products.select())}
    cpu, wall = [], []
    for i, shop in enumerate(targets):
        for k, line in enumerate(B._rating_lines(i, shop, buyer, product.get(shop.shop_id, "G1"), "STEP")):
            ingest.commit(cx, ingest.prepare(cx, [("bench", k + 1, line)]), origin="bench", actor="bench")
            c0, w0 = time.process_time(), time.perf_counter()
            if scorer:  # as `standing.follow` calls it
                standing.drain(cx, chunk=200, rebuild_beyond=None, pause_s=standing_follow.FOLLOW_PAUSE_S,
                               budget_s=standing_follow.FOLLOW_BUDGET_S)
            else:
                standing.drain(cx)
            if i >= warm:
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
    import chengxin

    return {"code": str(Path(chengxin.__file__).parents[1]), "drains": len(cpu),
            "cpu_median_ms": round(statistics.median(cpu) * 1000, 3), "wall_max_ms": round(max(wall) * 1000, 3),
            "wall_median_ms": round(statistics.median(wall) * 1000, 3)}


def run(src: Path | None, shops: int, warm: int, store: Path = STORE, largest: bool = False,
        scorer: bool = False) -> dict[str, Any]:
    """A fresh copy of the store and a fresh process running `src` (None: this checkout)."""
    with tempfile.TemporaryDirectory(prefix="cx-step-") as tmp:
        folder = Path(tmp)
        for f in [*store.glob("store.db*"), store / "keys.json"]:
            shutil.copy(f, folder / f.name)
        env = {**os.environ, **({"PYTHONPATH": str(src)} if src else {})}
        out = subprocess.run([PYTHON, __file__, "--child", str(folder), "--shops", str(shops), "--warm", str(warm),
                              *(["--largest"] if largest else []), *(["--scorer"] if scorer else [])],
                             env=env, capture_output=True, text=True, check=True)
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, help="another checkout's src/ to run alternately")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shops", type=int, default=120, help="shops rated, four events each")
    ap.add_argument("--warm", type=int, default=20, help="shops not counted at the start")
    ap.add_argument("--store", type=Path, default=STORE, help="this checkout's store (default: bench_scoring's)")
    ap.add_argument("--against-store", type=Path, help="the other checkout's store, when its schema is older")
    ap.add_argument("--largest", action="store_true", help="rate the shops with the most orders instead")
    ap.add_argument("--scorer", action="store_true", help="time the drain as the scorer process runs it")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.shops, args.warm, args.largest, args.scorer)))
        return 0
    if not (args.store / "store.db").exists():
        print(f"no store at {args.store}: run bench/bench_scoring.py first", file=sys.stderr)
        return 2
    if args.against is not None and not (args.against / "chengxin" / "__init__.py").exists():
        print(f"--against {args.against}: not a checkout's src/ (no chengxin/__init__.py)", file=sys.stderr)
        return 2
    log(describe(machine()))
    for _ in range(args.rounds):
        mine = run(None, args.shops, args.warm, args.store, args.largest, args.scorer)
        log(json.dumps(mine))
        if args.against is not None:
            other = run(args.against, args.shops, args.warm, args.against_store or args.store, args.largest,
                        args.scorer)
            log(json.dumps(other))
            log(f"ratio (other / this): CPU ×{other['cpu_median_ms'] / mine['cpu_median_ms']:.2f}, "
                f"wall ×{other['wall_median_ms'] / mine['wall_median_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
