"""Rater reliability (REV2-style fairness with behavioural priors) on Bitcoin OTC, scored without the leak.

    .venv/bin/python bench/bench_reliability.py
    .venv/bin/python bench/bench_reliability.py --folds 5 --synthetic-edges 2000000

Data: ../shared/data/bitcoin-trust (otc_network.csv: rater,ratee,rating -10..10,unix_time; otc_gt.csv:
node,+1 benign/-1 fraudulent). Positive class = fraudulent (-1). A node's score is 1 - its fairness F(u).

The labels were derived from the ratings nodes *received*, so anything computed from a labelled node's
in-edges gives its label away (mean received rating: AUC about 0.997). Protocol (docs/reliability.md):

- **masked (the headline)**: every rating whose ratee is a labelled node is removed before anything is
  computed: fairness, goodness, the priors and coverage all come from the remaining graph. No labelled
  node's received ratings are seen, so neither its own label nor its neighbours' labels leak through
  goodness. Every labelled node is scored only from ratings it gave to unlabelled nodes.
- **k-fold (beside it)**: the labelled nodes are split in k folds (fixed seed); for each fold the in-edges
  of that fold's nodes only are removed, the model refitted, and that fold's nodes scored. This is the
  deployment-like setting (the accounts being judged have their received ratings hidden, all others not),
  and lets goodness use the other folds' received ratings.
- A labelled node with no rating left (no out-edges in the fitted graph) gets the cold-start fairness
  (a constant: the default and the neutral prior), so such nodes tie; AUC counts ties as half. The figures
  on covered nodes only are given too.

Parameters are the module's a-priori defaults (no tuning on labels); an ablation (each prior component off,
no prior, no smoothing, k = 1) is printed for information, not used to
choose anything. Speed: edge-updates/s = iterations x edges / wall time of `fit` (sorting and priors
included), on OTC and on a synthetic power-law graph at a fixed number of iterations.
Result: bench/results/reliability.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, code_version, describe, log, machine, now_iso, write_result
from chengxin.domain import reliability as rl
from chengxin.domain.quality import average_precision, roc_auc

DATA = ROOT.parent / "shared" / "data" / "bitcoin-trust"
TARGET = {"auc": 0.85, "edge_updates_per_s": 10_000_000}


@dataclasses.dataclass
class Otc:
    rater: np.ndarray  # node index
    ratee: np.ndarray
    score: np.ndarray  # rating / 10, in [-1, 1]
    time: np.ndarray
    ids: np.ndarray  # node index -> OTC node id
    labelled: np.ndarray  # node indices of the labelled nodes
    fraud: np.ndarray  # bool per labelled node (positive class)

    @property
    def n(self) -> int:
        return len(self.ids)


def load(folder: Path) -> Otc:
    net = np.loadtxt(folder / "otc_network.csv", delimiter=",", dtype=np.float64, ndmin=2)
    gt = np.loadtxt(folder / "otc_gt.csv", delimiter=",", dtype=np.int64, ndmin=2)
    src, dst = net[:, 0].astype(np.int64), net[:, 1].astype(np.int64)
    ids = np.unique(np.concatenate([src, dst, gt[:, 0]]))
    return Otc(np.searchsorted(ids, src), np.searchsorted(ids, dst), net[:, 2] / 10.0, net[:, 3], ids,
               np.searchsorted(ids, gt[:, 0]), gt[:, 1] == -1)


def metrics(scores: np.ndarray, fraud: np.ndarray) -> dict[str, float | None]:
    s, y = [float(x) for x in scores], [bool(x) for x in fraud]
    auc, ap = roc_auc(s, y), average_precision(s, y)
    return {"auc": None if auc is None else round(auc, 4), "ap": None if ap is None else round(ap, 4),
            "n": len(y), "positives": int(sum(y))}


def fit_masked(d: Otc, masked_nodes: np.ndarray, params: rl.ReliabilityParams) -> tuple[rl.Reliability, np.ndarray]:
    """Fit on the graph without any rating received by `masked_nodes`; the fit and the kept-edge mask."""
    keep = ~np.isin(d.ratee, masked_nodes)
    return rl.fit(d.rater[keep], d.ratee[keep], d.score[keep], d.time[keep], d.n, d.n, params), keep


def masked_protocol(d: Otc, params: rl.ReliabilityParams) -> dict[str, Any]:
    model, keep = fit_masked(d, d.labelled, params)
    score = 1.0 - model.fairness[d.labelled]
    covered = model.n_ratings[d.labelled] > 0
    cold = float(1.0 - model.fairness[d.labelled][~covered][0]) if (~covered).any() else None
    return {"all": metrics(score, d.fraud), "covered_only": metrics(score[covered], d.fraud[covered]),
            "coverage": round(float(covered.mean()), 4), "uncovered": int((~covered).sum()),
            "uncovered_fraud_share": round(float(d.fraud[~covered].mean()), 4) if (~covered).any() else None,
            "uncovered_score": cold, "edges_kept": int(keep.sum()), "iterations": model.iterations,
            "converged": model.converged, "_model": model}


def kfold_protocol(d: Otc, params: rl.ReliabilityParams, k: int, seed: int) -> dict[str, Any]:
    fold = np.random.default_rng(seed).permutation(len(d.labelled)) % k
    score = np.zeros(len(d.labelled))
    covered = np.zeros(len(d.labelled), bool)
    for f in range(k):
        test = fold == f
        model, _ = fit_masked(d, d.labelled[test], params)
        score[test] = 1.0 - model.fairness[d.labelled[test]]
        covered[test] = model.n_ratings[d.labelled[test]] > 0
    return {"folds": k, "seed": seed, "all": metrics(score, d.fraud),
            "covered_only": metrics(score[covered], d.fraud[covered]), "coverage": round(float(covered.mean()), 4)}


def baselines(d: Otc) -> dict[str, Any]:
    n_in = np.bincount(d.ratee, minlength=d.n)
    mean_received = np.bincount(d.ratee, d.score, d.n) / np.maximum(n_in, 1)
    keep = ~np.isin(d.ratee, d.labelled)
    n_out = np.bincount(d.rater[keep], minlength=d.n)
    mean_given = np.bincount(d.rater[keep], d.score[keep], d.n) / np.maximum(n_out, 1)
    return {
        "LEAKY_mean_rating_received": metrics(-mean_received[d.labelled], d.fraud),
        "mean_rating_given_masked": metrics(-mean_given[d.labelled], d.fraud),
        "fewer_ratings_given_masked": metrics(-n_out[d.labelled].astype(float), d.fraud),
        "coverage_full_graph": round(float((np.bincount(d.rater, minlength=d.n)[d.labelled] > 0).mean()), 4),
    }


def ablation(d: Otc) -> dict[str, Any]:
    variants = {"no_extremity": {"weight_extremity": 0.0}, "no_burstiness": {"weight_burstiness": 0.0},
                "no_age": {"weight_age": 0.0}, "no_prior": {"alpha_prior": 0.0},
                "no_smoothing_no_prior": {"alpha_prior": 0.0, "alpha_cold": 0.0, "beta_cold": 0.0},
                "reliability_exponent_1": {"reliability_exponent": 1.0}}
    out = {}
    for name, change in variants.items():
        r = masked_protocol(d, rl.ReliabilityParams(**change))
        out[name] = {"auc": r["all"]["auc"], "ap": r["all"]["ap"], "covered_auc": r["covered_only"]["auc"],
                     "iterations": r["iterations"]}
    base = masked_protocol(d, rl.ReliabilityParams(tolerance=0.0, max_iterations=1))
    out["one_iteration"] = {"auc": base["all"]["auc"], "ap": base["all"]["ap"]}
    return out


def ring_injection(d: Otc, params: rl.ReliabilityParams, ring: int = 10, targets: int = 20,
                   seed: int = 7) -> dict[str, Any]:
    """Ten new accounts give +10 to twenty poorly rated users within an hour: how far does each target's
    goodness move, against its plain mean rating?"""
    n_in = np.bincount(d.ratee, minlength=d.n)
    mean = np.bincount(d.ratee, d.score, d.n) / np.maximum(n_in, 1)
    pool = np.flatnonzero((n_in >= 10) & (mean < -0.2))
    chosen = np.sort(np.random.default_rng(seed).choice(pool, size=min(targets, len(pool)), replace=False))
    t0 = float(d.time.max()) + 86_400
    new = d.n + np.repeat(np.arange(ring), len(chosen))
    r = np.concatenate([d.rater, new])
    t = np.concatenate([d.ratee, np.tile(chosen, ring)])
    w = np.concatenate([d.score, np.ones(len(new))])
    tm = np.concatenate([d.time, t0 + np.arange(len(new)) * 3600.0 / len(new)])
    before = rl.fit(d.rater, d.ratee, d.score, d.time, d.n, d.n, params)
    after = rl.fit(r, t, w, tm, d.n + ring, d.n, params)
    mean_after = np.bincount(t, w, d.n) / np.maximum(np.bincount(t, minlength=d.n), 1)
    return {"ring_accounts": ring, "targets": len(chosen), "ratings_added": len(new),
            "median_target_in_degree": float(np.median(n_in[chosen])),
            "mean_shift_goodness": round(float((after.goodness[chosen] - before.goodness[chosen]).mean()), 4),
            "mean_shift_plain_mean": round(float((mean_after[chosen] - mean[chosen]).mean()), 4),
            "ring_fairness_mean": round(float(after.fairness[d.n:].mean()), 4),
            "honest_fairness_median": round(float(np.median(before.fairness[np.bincount(d.rater, minlength=d.n)
                                                                              > 0])), 4)}


def speed(d: Otc, params: rl.ReliabilityParams, synthetic_edges: int, repeats: int) -> dict[str, Any]:
    def timed(*args: Any) -> tuple[float, rl.Reliability]:
        times, model = [], None
        for _ in range(repeats):
            started = time.perf_counter()
            model = rl.fit(*args)
            times.append(time.perf_counter() - started)
        assert model is not None
        return statistics.median(times), model

    otc_s, otc = timed(d.rater, d.ratee, d.score, d.time, d.n, d.n, params)
    out: dict[str, Any] = {"otc": {"edges": len(d.rater), "iterations": otc.iterations, "fit_s": round(otc_s, 4),
                                   "edge_updates_per_s": round(otc.iterations * len(d.rater) / otc_s)}}
    if synthetic_edges:
        rng = np.random.default_rng(1)
        e = synthetic_edges
        n_r, n_t = e // 10, e // 20
        r = rng.integers(0, n_r, e)
        t = (rng.zipf(1.8, e) - 1) % n_t
        w = rng.integers(-2, 3, e) / 2.0
        tm = rng.uniform(0, 3e7, e)
        fixed = dataclasses.replace(params, tolerance=0.0, max_iterations=40)
        syn_s, syn = timed(r, t, w, tm, n_r, n_t, fixed)
        out["synthetic"] = {"edges": e, "raters": n_r, "targets": n_t, "iterations": syn.iterations,
                            "fit_s": round(syn_s, 3), "edge_updates_per_s": round(syn.iterations * e / syn_s),
                            "graph": "uniform raters, Zipf(1.8) targets, 5-level scores, times over a year"}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synthetic-edges", type=int, default=2_000_000, help="0 to skip")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    m = machine(pg_url=None)
    log(describe(m))
    d = load(args.data)
    params = rl.ReliabilityParams()
    log(f"OTC: {d.n} nodes, {len(d.rater)} ratings, {len(d.labelled)} labelled ({int(d.fraud.sum())} fraudulent)")
    masked = masked_protocol(d, params)
    model = masked.pop("_model")
    kfold = kfold_protocol(d, params, args.folds, args.seed)
    base = baselines(d)
    abl = ablation(d)
    ring = ring_injection(d, params)
    fast = speed(d, params, args.synthetic_edges, args.repeats)
    worst = d.labelled[np.argsort(model.fairness[d.labelled])[:3]]
    examples = [{"node": int(d.ids[u]), "fraudulent": bool(d.fraud[list(d.labelled).index(u)]),
                 **model.explain(int(u)).as_dict()} for u in worst]

    print("\nBitcoin OTC, positive class = fraudulent (label -1), score = 1 - fairness")
    print(f"  masked protocol (in-edges of all {len(d.labelled)} labelled nodes removed):")
    print(f"    AUC {masked['all']['auc']:.4f}   AP {masked['all']['ap']:.4f}   coverage {masked['coverage']:.4f} "
          f"({masked['uncovered']} uncovered, {masked['uncovered_fraud_share']:.0%} of them fraudulent, "
          f"scored at the cold-start value)")
    print(f"    covered nodes only: AUC {masked['covered_only']['auc']:.4f}   AP {masked['covered_only']['ap']:.4f}")
    print(f"  {args.folds}-fold protocol (each fold's in-edges removed):  AUC {kfold['all']['auc']:.4f}   "
          f"AP {kfold['all']['ap']:.4f}   coverage {kfold['coverage']:.4f}")
    lk = base["LEAKY_mean_rating_received"]
    print(f"  LEAKY, not a result: mean rating received  AUC {lk['auc']:.4f}   AP {lk['ap']:.4f}")
    mg = base["mean_rating_given_masked"]
    print(f"  baseline, masked: mean rating given  AUC {mg['auc']:.4f}   AP {mg['ap']:.4f}")
    for name, v in abl.items():
        print(f"  ablation {name}: AUC {v['auc']}  AP {v['ap']}")
    print(f"  ring injection: goodness moved {ring['mean_shift_goodness']:+.3f} "
          f"vs plain mean {ring['mean_shift_plain_mean']:+.3f}")
    for name, s in fast.items():
        print(f"  speed {name}: {s['edges']} edges x {s['iterations']} iterations in {s['fit_s']} s = "
              f"{s['edge_updates_per_s'] / 1e6:.1f} M edge-updates/s")

    result = {"bench": "reliability", "date": now_iso(), "machine": m, "code": code_version(), "target": TARGET,
              "command": "python bench/bench_reliability.py" + (f" --folds {args.folds}" if args.folds != 5 else ""),
              "data": {"nodes": d.n, "ratings": len(d.rater), "labelled": len(d.labelled),
                       "fraudulent": int(d.fraud.sum())},
              "positive_class": "fraudulent (otc_gt label -1)", "score": "1 - fairness as a rater",
              "params": params.as_dict(), "masked": masked, "kfold": kfold, "baselines": base, "ablation": abl,
              "ring_injection": ring, "speed": fast, "examples": examples}
    log(f"wrote {write_result('reliability', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
