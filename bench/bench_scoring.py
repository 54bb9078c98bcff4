"""Credit scores against the simulator's hidden truth, and how fast they are computed.

    .venv/bin/python bench/bench_scoring.py                     # the bench-1m marketplace
    .venv/bin/python bench/bench_scoring.py --preset demo       # quick

1. Simulate the preset (events + truth, cached in bench/.cache/), ingest it into a fresh SQLite store with
   `chengxin ingest` (ingestion ends by scoring everything it touched), then run `chengxin score` (the full
   recompute: recount every rating, refit rater reliability, rescore every party), timed, with peak RSS.
2. Quality: Spearman correlation between each merchant's score (and its trade dimension) and its shop's
   hidden true quality, with rater-reliability weighting and without it (every rater weighs the same).
3. Rings: each shop boosted by a fake-order ring, ranked among honest shops of nearly the same true quality
   (±0.03): its percentile by score (0.5 = where its quality puts it; above = the ring bought standing),
   weighted and unweighted, beside its percentile by raw credit points. Passes when the mean percentile is
   within two standard errors of 0.5 (the spread of a shop that bought nothing).
4. Incremental: 300 single new ratings (order, payment, completion, review of an existing shop), each
   ingested alone as the API would; the time of the scoring step that follows each commit.
Result: bench/results/scoring.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, CHENGXIN, code_version, cx_env, describe, log, machine, now_iso, run_child, write_result
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import bootstrap
from chengxin.domain import scoring as S
from chengxin.services import ingest, scoring, standing, standing_views
from chengxin.settings import Settings


def spearman(x: list[float], y: list[float]) -> float:
    def rank(a: list[float]) -> np.ndarray:
        v = np.asarray(a, float)
        _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        return (np.bincount(inverse, weights=r) / counts)[inverse]  # average rank of ties
    return round(float(np.corrcoef(rank(x), rank(y))[0, 1]), 4)


def prepare(preset: str) -> tuple[Path, Path, dict[str, Any]]:
    folder = CACHE / f"scoring-{preset}"
    folder.mkdir(parents=True, exist_ok=True)
    events, truth, db = folder / "events.jsonl", folder / "truth.json", folder / "store.db"
    env = cx_env(f"sqlite:///{db}", folder / "keys.json")
    if not events.exists():
        log(f"simulate {preset}")
        run_child([CHENGXIN, "simulate", "--preset", preset, "--out", str(events), "--truth", str(truth)], env)
    for old in folder.glob("store.db*"):
        old.unlink()
    log("ingest into a fresh SQLite store (scores follow)")
    ing = run_child([CHENGXIN, "ingest", str(events), "--json"], env, timeout=7200)
    log("chengxin score (full recompute)")
    full = run_child([CHENGXIN, "score", "--json"], env, timeout=7200)
    figures = {"ingest": {**ing.summary(), "report": {k: ing.json()[k] for k in ("accepted", "rejected")}},
               "score": {**full.summary(), "result": full.json()}}
    return db, truth, figures


def merchants(cx: Any, truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per shop of the truth file: its true quality and its operator's party key."""
    quality = {(s["source"], s["id"]): s["quality"] for s in truth["shops"]}
    with read_connection(cx.engine) as conn:
        rows = conn.execute(t.shops.join(t.subjects, (t.subjects.c.source == t.shops.c.operator_source)
                                         & (t.subjects.c.subject_id == t.shops.c.operator_id)).select())
        return {r.party_key: {"shop": (r.source, r.shop_id), "quality": quality[(r.source, r.shop_id)]}
                for r in rows if (r.source, r.shop_id) in quality}


def quality(cx: Any, truth: dict[str, Any]) -> dict[str, Any]:
    shops = merchants(cx, truth)
    with read_connection(cx.engine) as conn:
        now = scoring._now()
        weighted = scoring.profiles(conn, list(shops), now)
        plain = scoring.profiles(conn, list(shops), now, plain=True)  # every rating and order weighs 1
        points = {key: standing_views.points_of(conn, [m["shop"]]) for key, m in shops.items()}
    rules = scoring.score_rules()
    out: dict[str, Any] = {"merchants": len(shops)}
    for name, profs in (("weighted", weighted), ("unweighted", plain)):
        scores = {k: S.score(p, rules) for k, p in profs.items()}
        keys = [k for k in shops if scores.get(k)]
        q = [shops[k]["quality"] for k in keys]
        trade = [next(d.value for d in scores[k].dimensions if d.name == "trade") for k in keys]
        busy = [k for k in keys if profs[k].orders >= 20]
        out[name] = {"spearman_score": spearman([scores[k].score for k in keys], q),
                     "spearman_trade": spearman(trade, q),
                     "spearman_score_20_orders": spearman([scores[k].score for k in busy],
                                                          [shops[k]["quality"] for k in busy]),
                     "merchants_20_orders": len(busy)}
        out[name]["rings"] = rings(shops, {k: s.score for k, s in scores.items() if s}, truth)
    out["points_rings"] = rings(shops, points, truth)
    return out


def rings(shops: dict[str, dict[str, Any]], value: dict[str, float], truth: dict[str, Any]) -> dict[str, Any]:
    """Mean percentile of ring-boosted shops among honest shops of nearly the same true quality."""
    planted = {(p["source"], p["id"]) for groups in truth["kinds"].values() for g in groups for p in g["parties"]}
    boosted = {(p["source"], p["id"]) for g in truth["kinds"]["fake_order_ring"] for p in g["parties"]
               if p["role"] == "shop"}
    honest = [k for k, m in shops.items() if m["shop"] not in planted and k in value]
    pct = []
    for k, m in shops.items():
        if m["shop"] not in boosted or k not in value:
            continue
        peers = [value[h] for h in honest if abs(shops[h]["quality"] - m["quality"]) <= 0.03]
        if peers:
            pct.append(sum(v < value[k] for v in peers) / len(peers) + 0.5 * sum(v == value[k] for v in peers)
                       / len(peers))
    return {"boosted_shops": len(pct), "mean_percentile": round(statistics.mean(pct), 3) if pct else None,
            # a shop that buys nothing sits at a uniform percentile: mean 0.5, standard error sqrt(1/12/n)
            "standard_error": round((1 / 12 / len(pct)) ** 0.5, 3) if pct else None}


def _rating_lines(i: int, shop: Any, buyer: Any, product: str, prefix: str) -> list[bytes]:
    """A new order of `buyer` at `shop`, paid, completed and rated: four events-v1 lines."""
    oid, src = f"{prefix}-O{i}", shop.source
    steps = (("cx.order.placed", {"order_id": oid, "shop_id": shop.shop_id, "buyer_id": buyer.subject_id,
                                  "items": [{"product_id": product, "quantity": 1, "unit_price": 990}],
                                  "total": 990, "ship_to_region": "310104"}),
             ("cx.order.paid", {"order_id": oid, "amount": 990, "method": "wallet"}),
             ("cx.order.completed", {"order_id": oid}),
             ("cx.review.posted", {"review_id": f"{prefix}-R{i}", "order_id": oid, "author_id": buyer.subject_id,
                                   "target_id": shop.shop_id, "direction": "buyer_to_seller", "score": 5}))
    return [json.dumps({"specversion": "1.0", "id": f"{prefix.lower()}-{i}-{k}", "source": src, "type": typ,
                        "time": f"2026-11-20T1{k}:00:00+08:00", "data": data}).encode()
            for k, (typ, data) in enumerate(steps)]


def incremental(cx: Any, n: int = 300, group: int = 20, tag: str = "BENCH") -> dict[str, Any]:
    """New ratings (order, payment, completion, review) ingested one event per commit, the scoring step
    after each commit timed; then the same in commits of `group` events, as the API's scorer thread sees
    them under load (one drain per group commit), timed per event."""
    with read_connection(cx.engine) as conn:
        buyer = conn.execute(t.subjects.select().where(t.subjects.c.kind == "person").limit(1)).one()
        shops = [s for s in conn.execute(t.shops.select().limit(n)) if s.source == buyer.source]
        product = {r.shop_id: r.product_id for r in conn.execute(t.products.select())}
    single, grouped = [], []
    for i, shop in enumerate(shops):
        for k, line in enumerate(_rating_lines(i, shop, buyer, product.get(shop.shop_id, "G1"), f"{tag}1")):
            ingest.commit(cx, ingest.prepare(cx, [("bench", k + 1, line)]), origin="bench", actor="bench")
            started = time.perf_counter()
            standing.drain(cx)
            single.append(time.perf_counter() - started)
    lines = [x for i, shop in enumerate(shops) for x in _rating_lines(i, shop, buyer, product.get(shop.shop_id, "G1"),
                                                                     f"{tag}G")]
    for j in range(0, len(lines), group):
        part = lines[j:j + group]
        ingest.commit(cx, ingest.prepare(cx, [("bench", k + 1, x) for k, x in enumerate(part)]), origin="bench",
                      actor="bench")
        started = time.perf_counter()
        standing.drain(cx)
        grouped.append((time.perf_counter() - started) / len(part))
    single.sort()
    return {"events": len(single), "median_ms": round(statistics.median(single) * 1000, 3),
            "p95_ms": round(single[int(len(single) * 0.95)] * 1000, 3), "max_ms": round(single[-1] * 1000, 3),
            "grouped": {"events_per_commit": group, "commits": len(grouped),
                        "median_ms_per_event": round(statistics.median(grouped) * 1000, 3)}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="bench-1m")
    args = ap.parse_args()
    m = machine()
    log(describe(m))
    db, truth_path, figures = prepare(args.preset)
    truth = json.loads(truth_path.read_text())
    cx = bootstrap(Settings(database_url=f"sqlite:///{db}", keys_file=db.parent / "keys.json"))
    log("quality against the hidden truth")
    result = {"bench": "scoring", "date": now_iso(), "machine": m, "code": code_version(), "preset": args.preset,
              "target": {"spearman": None, "ring_percentile_max": 0.5, "incremental_median_ms": 1.0},
              **figures, "quality": quality(cx, truth)}
    with read_connection(cx.engine) as conn:
        result["store"] = {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                           for name, table in (("orders", t.orders), ("reviews", t.reviews))}
    log("incremental scoring of single events")
    result["incremental"] = incremental(cx)
    log(json.dumps({k: result[k] for k in ("quality", "incremental", "store")}, indent=1))
    log(f"wrote {write_result('scoring' if args.preset == 'bench-1m' else f'scoring-{args.preset}', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
