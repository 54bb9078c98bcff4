"""Rater reliability over a whole rating graph, in the spirit of REV2 (Kumar et al., WSDM 2018).

Every rater u has a **fairness** F(u) in [0, 1], every target p a **goodness** G(p) in [-1, 1] and every
rating (u, p) with score w in [-1, 1] a **reliability** R(u, p) in [0, 1]. They are defined by each other:

    G(p)    = (beta_cold * goodness_default + sum_{u in In(p)} R(u, p)^k * w(u, p))
              / (beta_cold + sum_{u in In(p)} R(u, p)^k),                      k = reliability_exponent
    R(u, p) = (gamma_fairness * F(u) + gamma_agreement * (1 - |w(u, p) - G(p)| / 2))
              / (gamma_fairness + gamma_agreement)
    F(u)    = (alpha_cold * fairness_default + alpha_prior * prior(u) + sum_{p in Out(u)} R(u, p))
              / (alpha_cold + alpha_prior + |Out(u)|)

and are computed by fixed-point iteration from F = 1, R = 1, in the order G, R, F, until the largest change
of any F or G is at most `tolerance`. `alpha_cold` and `beta_cold` are REV2's cold-start (Laplace) smoothing:
a rater with few ratings stays near the default instead of being judged on one rating. One deliberate
departure from REV2: G(p) is a mean *weighted* by R^k (REV2 sums R * w over |In(p)|), so an unreliable
rating counts for less instead of pulling the target toward neutral, and with k = 3 a ring of five new
accounts praising a target that ten honest raters pan moves it by a tenth of what the plain mean moves
(tests/unit/test_reliability.py). The beta_cold pseudo-ratings keep a target that only unreliable raters
rated near the default.

`alpha_prior` weighs the **behavioural prior** of a rater, a BIRDNEST-like summary of how it rates,
computed from its own ratings only (never from the ratings it receives), as the weighted mean of three
components, each in [0, 1] with 1 = looks honest:

- **extremity**: 1 - the share of its ratings at the ends of the scale (|w| >= `extreme_threshold`);
- **burstiness**: 1 - the share of the gaps between its consecutive ratings shorter than `burst_seconds`;
- **age**: the mean over its ratings of how old the rater was when it gave each (time since `first_seen`,
  by default its first rating), as a fraction of `mature_seconds`, capped at 1.

Each component is Laplace-smoothed toward its mean over the whole graph with `prior_pseudocount` pseudo-
observations, so one rating says little. Without times only extremity is used.

Raters and targets are separate index spaces (buyers rate shops); a caller whose raters are also targets
(Bitcoin OTC users) maps both. Pure and deterministic: the edges are put in a canonical order first, so any
permutation of the same ratings gives bit-identical results. Each iteration is a few passes over the edges
(`np.bincount`); `Reliability.explain(u)` gives the reasons behind one rater's fairness as plain data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

COMPONENTS = ("extremity", "burstiness", "age", "synchrony")
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class ReliabilityParams:
    """Parameters of the reliability model. Every default is fixed a priori (REV2's γ1 = γ2 = 1, α = β = 1
    pseudo-ratings), not fitted to any labels; docs/reliability.md gives the reasoning for each."""

    # α1: pseudo-ratings pulling a rater's fairness toward `fairness_default` (cold start).
    alpha_cold: float = 1.0
    # α2: pseudo-ratings of weight prior(u), the rater's behavioural prior, in its fairness.
    alpha_prior: float = 1.0
    # β1: pseudo-ratings pulling a target's goodness toward `goodness_default` (cold start).
    beta_cold: float = 1.0
    # γ1: weight of the rater's fairness in the reliability of each of its ratings.
    gamma_fairness: float = 1.0
    # γ2: weight of the rating's agreement with the target's goodness in its reliability.
    gamma_agreement: float = 1.0
    # k: a rating weighs reliability ** k in its target's goodness (1 = plain reliability-weighted mean;
    # higher makes unreliable ratings count for less).
    reliability_exponent: float = 3.0
    # Fairness of a rater nobody knows anything about (the middle of [0, 1]).
    fairness_default: float = 0.5
    # Goodness of a target with no ratings (neutral).
    goodness_default: float = 0.0
    # A rating with |score| at or above this (on [-1, 1]) is extreme: 5 or 1 stars on a 1..5 scale map to ±1.
    extreme_threshold: float = 0.9
    # Two consecutive ratings by one rater closer than this (seconds) are a burst.
    burst_seconds: float = 600.0
    # A rater this old (seconds since first seen) counts as fully established: 30 days.
    mature_seconds: float = 30 * _DAY
    # Pseudo-observations smoothing each prior component toward its graph-wide mean.
    prior_pseudocount: float = 2.0
    # Weight of the extremity component in prior(u), a weighted mean of the components (0 drops it).
    weight_extremity: float = 1.0
    # Weight of the burstiness component in prior(u).
    weight_burstiness: float = 1.0
    # Weight of the age component in prior(u).
    weight_age: float = 1.0
    # Weight of the synchrony component in prior(u): the share of a rater's ratings made in a burst of
    # ratings of the same target (lockstep: many raters at one target within minutes), 0 drops it.
    weight_synchrony: float = 1.0
    # Half-width of the window (seconds) in which ratings of one target count as one burst.
    sync_seconds: float = 1800.0
    # A rating is in a burst when its target got at least this many ratings in the window around it ...
    sync_min: int = 3
    # ... and at least this many times what the target's own average rate would put there.
    sync_factor: float = 5.0
    # Stop when no fairness or goodness changes by more than this in one iteration.
    tolerance: float = 1e-6
    # Stop after this many iterations even if not converged (`Reliability.converged` tells).
    max_iterations: int = 200

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number, not {value!r}")
        nonneg = ("alpha_cold", "alpha_prior", "beta_cold", "gamma_fairness", "gamma_agreement",
                  "prior_pseudocount", "reliability_exponent", "weight_extremity", "weight_burstiness",
                  "weight_age", "weight_synchrony", "sync_factor", "tolerance")
        for name in nonneg:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.gamma_fairness + self.gamma_agreement <= 0:
            raise ValueError("gamma_fairness + gamma_agreement must be > 0")
        if not 0 <= self.fairness_default <= 1:
            raise ValueError("fairness_default must be in [0, 1]")
        if not -1 <= self.goodness_default <= 1:
            raise ValueError("goodness_default must be in [-1, 1]")
        if not 0 < self.extreme_threshold <= 1:
            raise ValueError("extreme_threshold must be in (0, 1]")
        if self.burst_seconds <= 0 or self.mature_seconds <= 0 or self.sync_seconds <= 0:
            raise ValueError("burst_seconds, mature_seconds and sync_seconds must be > 0")
        if not isinstance(self.sync_min, int) or self.sync_min < 2:
            raise ValueError("sync_min must be an integer >= 2")
        if not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            raise ValueError("max_iterations must be an integer >= 1")

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RaterExplanation:
    """Why a rater has the fairness it has, as plain data (`as_dict()` for JSON)."""

    rater: int
    fairness: float
    n_ratings: int
    # Mean of |w - G(p)| / 2 over its ratings: 0 = always agrees with the targets' goodness, 1 = opposite.
    mean_disagreement: float | None
    # Mean reliability of its ratings.
    mean_reliability: float | None
    prior: float
    # Each component in [0, 1] (1 = looks honest), None when not computable (no times).
    components: dict[str, float | None]
    # The counts behind the components: extreme ratings, short gaps out of gaps, mean age fraction.
    evidence: dict[str, float | int | None]
    # Shares of the fairness made by the cold-start default, the prior and the rater's own ratings.
    weights: dict[str, float]
    # Short codes of what pulls the fairness down: few_ratings, disagrees_with_consensus, extreme_ratings,
    # bursty, young_account.
    tells: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"rater": self.rater, "fairness": self.fairness, "n_ratings": self.n_ratings,
                "mean_disagreement": self.mean_disagreement, "mean_reliability": self.mean_reliability,
                "prior": self.prior, "components": dict(self.components), "evidence": dict(self.evidence),
                "weights": dict(self.weights), "tells": list(self.tells)}


@dataclass(frozen=True, slots=True, eq=False)
class Reliability:
    """The fitted model. Arrays are indexed by rater, by target, or (reliability) by rating in the order the
    ratings were given to `fit`."""

    fairness: Floats
    goodness: Floats
    reliability: Floats
    prior: Floats
    # Prior components by name (COMPONENTS), each an array over raters; absent when not computable.
    components: dict[str, Floats]
    n_ratings: Ints
    n_received: Ints
    # Per rater: extreme ratings, gaps, short gaps, sum of age fractions, mean disagreement (NaN if none).
    n_extreme: Ints
    n_gaps: Ints
    n_short_gaps: Ints
    age_sum: Floats
    mean_disagreement: Floats
    iterations: int
    change: float
    converged: bool
    params: ReliabilityParams

    def explain(self, rater: int) -> RaterExplanation:
        """The reasons behind one rater's fairness."""
        if not 0 <= rater < len(self.fairness):
            raise IndexError(f"rater {rater} out of range 0..{len(self.fairness) - 1}")
        p, n = self.params, int(self.n_ratings[rater])
        denominator = p.alpha_cold + p.alpha_prior + n
        weights = ({"default": p.alpha_cold / denominator, "prior": p.alpha_prior / denominator,
                    "ratings": n / denominator} if denominator > 0 else
                   {"default": 0.0, "prior": 0.0, "ratings": 0.0})
        comps: dict[str, float | None] = {c: (float(self.components[c][rater]) if c in self.components else None)
                                          for c in COMPONENTS}
        has_times = "burstiness" in self.components
        disagreement = float(self.mean_disagreement[rater]) if n else None
        reliability_mean = (float(self.fairness[rater] * denominator - p.alpha_cold * p.fairness_default
                                  - p.alpha_prior * self.prior[rater]) / n) if n else None
        tells = []
        if n < max(p.alpha_cold + p.alpha_prior, 1.0):
            tells.append("few_ratings")
        if disagreement is not None and disagreement > 0.25:
            tells.append("disagrees_with_consensus")
        for name, code in (("extremity", "extreme_ratings"), ("burstiness", "bursty"), ("age", "young_account")):
            value = comps[name]
            if value is not None and value < 0.5:
                tells.append(code)
        evidence: dict[str, float | int | None] = {
            "extreme_ratings": int(self.n_extreme[rater]),
            "gaps": int(self.n_gaps[rater]) if has_times else None,
            "short_gaps": int(self.n_short_gaps[rater]) if has_times else None,
            "mean_age_fraction": (float(self.age_sum[rater]) / n if n else None) if has_times else None,
        }
        return RaterExplanation(rater, float(self.fairness[rater]), n, disagreement, reliability_mean,
                                float(self.prior[rater]), comps, evidence, weights, tuple(tells))


def fit(raters: NDArray[np.integer[Any]], targets: NDArray[np.integer[Any]], scores: NDArray[np.floating[Any]],
        times: NDArray[np.floating[Any]] | None, n_raters: int, n_targets: int,
        params: ReliabilityParams | None = None, *,
        first_seen: NDArray[np.floating[Any]] | None = None) -> Reliability:
    """Fit fairness, goodness and reliability over the ratings (raters[i] rated targets[i] with scores[i]
    in [-1, 1] at times[i], unix seconds, or no times). `first_seen`, optional, gives each rater's account
    creation time (default: its first rating); it must not be after any of its ratings' times."""
    p = params or ReliabilityParams()
    r, t, w, tm = _validated(raters, targets, scores, times, n_raters, n_targets)
    # Canonical order: by rater, then time, target, score. Every sum below runs in this order, so a
    # permutation of the input changes nothing, bit for bit; and per-rater runs are contiguous.
    order = np.lexsort((w, t, tm if tm is not None else np.zeros_like(w), r)) if len(r) else np.zeros(0, np.int64)
    r, t, w = r[order], t[order], w[order]
    tm = tm[order] if tm is not None else None

    n_out = np.bincount(r, minlength=n_raters).astype(np.int64)
    n_in = np.bincount(t, minlength=n_targets).astype(np.int64)
    prior_parts = _prior(r, t, w, tm, n_out, n_raters, p, first_seen)
    prior, components = prior_parts[0], prior_parts[1]

    fairness, goodness, reliability, iterations, change = _iterate(r, t, w, n_out, n_in, prior, p)
    disagreement = np.abs(w - goodness[t]) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_dis = _sum_by(r, disagreement, n_raters) / n_out
    out_rel = np.empty_like(reliability)
    out_rel[order] = reliability
    return Reliability(fairness, goodness, out_rel, prior, components, n_out, n_in,
                       prior_parts[2], prior_parts[3], prior_parts[4], prior_parts[5], mean_dis,
                       iterations, change, change <= p.tolerance, p)


def _validated(raters: NDArray[Any], targets: NDArray[Any], scores: NDArray[Any], times: NDArray[Any] | None,
               n_raters: int, n_targets: int) -> tuple[Ints, Ints, Floats, Floats | None]:
    if n_raters < 0 or n_targets < 0:
        raise ValueError("n_raters and n_targets must be >= 0")
    r = np.asarray(raters)
    t = np.asarray(targets)
    w = np.asarray(scores, dtype=np.float64)
    if r.ndim != 1 or t.ndim != 1 or w.ndim != 1 or not len(r) == len(t) == len(w):
        raise ValueError("raters, targets and scores must be 1-d arrays of one length")
    if len(r) and not (np.issubdtype(r.dtype, np.integer) and np.issubdtype(t.dtype, np.integer)):
        raise ValueError("raters and targets must be integer arrays")
    r = r.astype(np.int64, copy=False)
    t = t.astype(np.int64, copy=False)
    if len(r):
        if r.min() < 0 or r.max() >= n_raters:
            raise ValueError(f"rater index out of range 0..{n_raters - 1}")
        if t.min() < 0 or t.max() >= n_targets:
            raise ValueError(f"target index out of range 0..{n_targets - 1}")
        if not np.isfinite(w).all() or np.abs(w).max() > 1:
            raise ValueError("scores must be finite and in [-1, 1]")
    tm: Floats | None = None
    if times is not None:
        tm = np.asarray(times, dtype=np.float64)
        if tm.shape != w.shape:
            raise ValueError("times must have one entry per rating")
        if not np.isfinite(tm).all():
            raise ValueError("times must be finite")
    return r, t, w, tm


def _prior(r: Ints, t: Ints, w: Floats, tm: Floats | None, n_out: Ints, n_raters: int, p: ReliabilityParams,
           first_seen: NDArray[Any] | None) -> tuple[Floats, dict[str, Floats], Ints, Ints, Ints, Floats]:
    """prior(u) and its components from u's own ratings; r is sorted by rater, then time."""
    m = p.prior_pseudocount
    n = n_out.astype(np.float64)
    extreme = (np.abs(w) >= p.extreme_threshold).astype(np.float64)
    n_extreme = _sum_by(r, extreme, n_raters)
    comps: dict[str, Floats] = {"extremity": 1 - _smoothed(n_extreme, n, _share(extreme), m)}
    n_gaps = np.zeros(n_raters, np.int64)
    n_short = np.zeros(n_raters, np.int64)
    age_sum = np.zeros(n_raters, np.float64)
    if tm is not None:
        same = r[1:] == r[:-1]
        short = same & (np.diff(tm) < p.burst_seconds)
        n_gaps = np.bincount(r[1:][same], minlength=n_raters).astype(np.int64)
        n_short = np.bincount(r[1:][short], minlength=n_raters).astype(np.int64)
        comps["burstiness"] = 1 - _smoothed(n_short.astype(np.float64), n_gaps.astype(np.float64),
                                            n_short.sum() / n_gaps.sum() if n_gaps.sum() else 0.0, m)
        if first_seen is None:
            first = np.zeros(n_raters, np.float64)
            if len(r):
                starts = np.flatnonzero(np.r_[True, ~same])
                first[r[starts]] = tm[starts]
        else:
            first = np.asarray(first_seen, dtype=np.float64)
            if first.shape != (n_raters,) or not np.isfinite(first).all():
                raise ValueError("first_seen must give a finite time for every rater")
            if len(r) and (tm < first[r]).any():
                raise ValueError("a rating is earlier than its rater's first_seen")
        age = np.minimum((tm - first[r]) / p.mature_seconds, 1.0)
        age_sum = _sum_by(r, age, n_raters)
        comps["age"] = _smoothed(age_sum, n, _share(age), m)
        synced = _synchronised(t, tm, p)
        comps["synchrony"] = 1 - _smoothed(_sum_by(r, synced, n_raters), n, _share(synced), m)
    weights = {"extremity": p.weight_extremity, "burstiness": p.weight_burstiness, "age": p.weight_age,
               "synchrony": p.weight_synchrony}
    total = sum(weights[c] for c in comps)
    if total > 0:
        prior = sum((weights[c] * comps[c] for c in comps), np.zeros(n_raters)) / total
    else:
        prior = np.full(n_raters, p.fairness_default)
    return np.asarray(prior, np.float64), comps, n_extreme.astype(np.int64), n_gaps, n_short, age_sum


def _synchronised(t: Ints, tm: Floats, p: ReliabilityParams) -> Floats:
    return lockstep(t, tm, p.sync_seconds, p.sync_min, p.sync_factor).astype(np.float64)


def lockstep(groups: NDArray[np.integer[Any]], times: NDArray[np.floating[Any]], window: float, min_count: int,
             factor: float) -> NDArray[np.bool_]:
    """True for each event (a rating, an order) in a lockstep burst at its group (target, shop): at least
    `min_count` events of the group within ±`window` seconds, and `factor` times the group's share of all
    events in that window would give. The share is taken against everyone's activity in the same window,
    so a festival that lifts every shop at once is no burst; rings ordering at one shop within minutes are.
    Pure; O(n log n)."""
    g = np.asarray(groups, np.int64)
    tm = np.asarray(times, np.float64)
    if not len(g):
        return np.zeros(0, np.bool_)
    everyone = np.sort(tm)
    all_around = np.searchsorted(everyone, tm + window, "right") - np.searchsorted(everyone, tm - window, "left")
    order = np.lexsort((tm, g))
    gs, ts = g[order], tm[order] - tm.min()
    key = gs * (ts.max() + 4 * window + 1) + ts  # one sorted axis, groups far apart
    around = np.empty(len(g), np.float64)
    around[order] = (np.searchsorted(key, key + window, "right") - np.searchsorted(key, key - window, "left"))
    share = np.bincount(g)[g] / len(g)
    return np.asarray((around >= min_count) & (around >= factor * share * all_around), np.bool_)


def _sum_by(index: Ints, weights: Floats | None, n: int) -> Floats:
    """Sum of `weights` (or count) per index value: np.bincount, typed."""
    out: Floats = np.bincount(index, weights=weights, minlength=n).astype(np.float64, copy=False)
    return out


def _share(x: Floats) -> float:
    return float(x.mean()) if len(x) else 0.0


def _smoothed(count: Floats, n: Floats, mean: float, m: float) -> Floats:
    """(count + m * mean) / (n + m), and `mean` where there is nothing at all."""
    denominator = n + m
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(denominator > 0, (count + m * mean) / np.where(denominator > 0, denominator, 1), mean)
    return np.asarray(out, np.float64)


def _iterate(r: Ints, t: Ints, w: Floats, n_out: Ints, n_in: Ints, prior: Floats,
             p: ReliabilityParams) -> tuple[Floats, Floats, Floats, int, float]:
    n_raters, n_targets, n_edges = len(n_out), len(n_in), len(w)
    g_base = p.beta_cold * p.goodness_default
    f_den = p.alpha_cold + p.alpha_prior + n_out.astype(np.float64)
    f_base = p.alpha_cold * p.fairness_default + p.alpha_prior * prior
    f_empty = f_den == 0  # no ratings and no smoothing: nothing to average, the default stays
    f_den[f_empty] = 1.0
    f_inv = 1.0 / f_den
    gf = p.gamma_fairness / (p.gamma_fairness + p.gamma_agreement)
    ga = p.gamma_agreement / (p.gamma_fairness + p.gamma_agreement)
    half_ga, k = ga / 2, p.reliability_exponent
    fairness = np.ones(n_raters)
    goodness = np.full(n_targets, p.goodness_default)
    reliability = np.ones(n_edges)
    weight = reliability if k == 1 else np.ones(n_edges)
    buf = np.empty(n_edges)
    iterations, change = 0, math.inf
    while iterations < p.max_iterations:
        iterations += 1
        # G(p): the mean of its ratings weighted by reliability ** k, with beta_cold pseudo-ratings
        np.multiply(weight, w, out=buf)
        g_new = _sum_by(t, buf, n_targets)
        g_new += g_base
        g_den = _sum_by(t, weight, n_targets)
        g_den += p.beta_cold
        np.divide(g_new, g_den, out=g_new, where=g_den > 0)
        g_new[g_den <= 0] = p.goodness_default
        np.clip(g_new, -1.0, 1.0, out=g_new)
        # R(u, p) = gf * F(u) + ga * (1 - |w - G(p)| / 2)
        np.take(g_new, t, out=buf)
        np.subtract(w, buf, out=buf)
        np.abs(buf, out=buf)
        buf *= -half_ga
        buf += ga
        np.take(fairness, r, out=reliability)
        reliability *= gf
        reliability += buf
        if k != 1:
            np.power(reliability, k, out=weight)
        # F(u) from the reliabilities of the ratings it gave, its prior and the default
        f_new = _sum_by(r, reliability, n_raters)
        f_new += f_base
        f_new *= f_inv
        f_new[f_empty] = p.fairness_default
        change = max(float(np.abs(f_new - fairness).max(initial=0.0)),
                     float(np.abs(g_new - goodness).max(initial=0.0)))
        fairness, goodness = f_new, g_new
        if change <= p.tolerance:
            break
    return fairness, goodness, reliability, iterations, change
