"""Rater reliability (REV2-style fairness, goodness, reliability): small graphs checked by hand, the fixed
point, determinism, edge cases and properties."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.domain import reliability as rl

DAY = 86_400.0


def fit(edges: list[tuple[int, int, float, float]], n_raters: int, n_targets: int,
        params: rl.ReliabilityParams | None = None, times: bool = True) -> rl.Reliability:
    a = np.array(edges, dtype=np.float64).reshape(-1, 4)
    return rl.fit(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3] if times else None,
                  n_raters, n_targets, params)


def honest_world(n_honest: int = 10) -> list[tuple[int, int, float, float]]:
    """Honest raters, established and unhurried, agree: targets 0, 5, 6 are bad (2 stars = -0.6), 1, 2 very
    good (5 stars = +1), 3, 4 good (4 stars = +0.6)."""
    edges = []
    for h in range(n_honest):
        for k, target in enumerate(range(7)):
            score = -0.6 if target in (0, 5, 6) else 1.0 if target in (1, 2) else 0.6
            edges.append((h, target, score, (h * 7 + k) * 5 * DAY))
    return edges


def test_the_contrarian_gets_low_fairness_and_says_why():
    edges = honest_world()
    contrarian = 10
    edges += [(contrarian, target, -score, 400 * DAY + target * DAY) for _, target, score, _ in edges[:7]]
    m = fit(edges, 11, 7)
    assert m.converged
    honest = m.fairness[:10]
    assert np.allclose(honest, honest[0])  # the same behaviour, the same fairness
    assert m.fairness[contrarian] < honest.min() - 0.25
    # its ratings are the unreliable ones
    by_contrarian = np.array([e[0] == contrarian for e in edges])
    assert m.reliability[by_contrarian].max() < m.reliability[~by_contrarian].min()
    # the bad targets stay bad and the good stay good
    assert (m.goodness[[0, 5, 6]] < -0.4).all() and (m.goodness[[1, 2, 3, 4]] > 0.4).all()
    why = m.explain(contrarian)
    assert why.n_ratings == 7 and why.fairness == pytest.approx(m.fairness[contrarian])
    assert "disagrees_with_consensus" in why.tells
    assert why.mean_disagreement is not None and why.mean_disagreement > 0.5
    assert m.explain(0).mean_disagreement < 0.1 and "disagrees_with_consensus" not in m.explain(0).tells


def test_a_ring_praising_a_bad_target_gets_low_fairness_and_barely_moves_it():
    base = honest_world()
    ring = [(10 + j, 0, 1.0, 400 * DAY + j * 60) for j in range(5)]  # 5 new accounts, 5 stars, one minute apart
    without, with_ring = fit(base, 10, 7), fit(base + ring, 15, 7)
    assert with_ring.fairness[10:].max() < with_ring.fairness[:10].min() - 0.25
    scores = np.array([e[2] for e in base + ring if e[1] == 0])
    unweighted_shift = scores.mean() - scores[:10].mean()  # -0.6 -> -0.067: +0.53
    model_shift = with_ring.goodness[0] - without.goodness[0]
    assert unweighted_shift == pytest.approx(0.5333, abs=1e-3)
    assert 0 <= model_shift < 0.1 * unweighted_shift
    assert with_ring.goodness[0] < -0.4
    why = with_ring.explain(12)
    assert {"few_ratings", "disagrees_with_consensus", "extreme_ratings", "young_account"} <= set(why.tells)
    assert why.components["extremity"] is not None and why.components["extremity"] < 0.5
    assert why.evidence["extreme_ratings"] == 1


def test_burstiness_comes_from_a_raters_own_gaps():
    # rater 0 gives ten ratings a minute apart, rater 1 ten ratings a week apart, to the same targets
    edges = [(0, k, 0.2, k * 60.0) for k in range(10)] + [(1, k, 0.2, k * 7 * DAY) for k in range(10)]
    m = fit(edges, 2, 10)
    assert m.n_gaps.tolist() == [9, 9] and m.n_short_gaps.tolist() == [9, 0]
    assert m.components["burstiness"][0] < 0.3 < 0.9 < m.components["burstiness"][1]
    assert "bursty" in m.explain(0).tells and "bursty" not in m.explain(1).tells
    assert m.fairness[0] < m.fairness[1]


def test_the_prior_by_hand():
    # one rater, two ratings a day apart, one of them extreme; pseudocount 2 toward the graph-wide means
    p = rl.ReliabilityParams(prior_pseudocount=2.0)
    m = fit([(0, 0, 1.0, 0.0), (0, 1, 0.5, DAY)], 1, 2, p)
    extreme_share = (1 + 2 * 0.5) / (2 + 2)  # graph mean 1/2
    assert m.components["extremity"][0] == pytest.approx(1 - extreme_share)
    assert m.components["burstiness"][0] == pytest.approx(1.0)  # the one gap is a day, graph mean 0
    age_mean = (0 + 1 / 30) / 2
    assert m.components["age"][0] == pytest.approx((1 / 30 + 2 * age_mean) / 4)
    assert m.components["synchrony"][0] == pytest.approx(1.0)  # two targets, one rating each: no burst
    assert m.prior[0] == pytest.approx(np.mean([m.components[c][0] for c in rl.COMPONENTS]))
    # without times only extremity counts
    m2 = fit([(0, 0, 1.0, 0.0), (0, 1, 0.5, DAY)], 1, 2, p, times=False)
    assert set(m2.components) == {"extremity"} and m2.prior[0] == pytest.approx(1 - extreme_share)
    assert m2.explain(0).components["age"] is None and m2.explain(0).components["synchrony"] is None
    assert m2.explain(0).evidence["gaps"] is None


def test_first_seen_overrides_the_first_rating():
    edges = [(0, 0, 0.2, 100 * DAY), (1, 0, 0.2, 100 * DAY)]
    m = rl.fit(np.array([0, 1]), np.array([0, 0]), np.array([0.2, 0.2]), np.array([100 * DAY, 100 * DAY]), 2, 1,
               first_seen=np.array([0.0, 100 * DAY]))
    assert m.age_sum.tolist() == [1.0, 0.0] and m.components["age"][0] > m.components["age"][1]
    with pytest.raises(ValueError, match="first_seen"):
        rl.fit(np.array([0]), np.array([0]), np.array([0.2]), np.array([0.0]), 1, 1, first_seen=np.array([5.0]))
    assert len(edges) == 2


def test_the_result_is_a_fixed_point():
    edges = honest_world() + [(10, t, -s, 400 * DAY + t) for _, t, s, _ in honest_world()[:7]]
    p = rl.ReliabilityParams()
    m = fit(edges, 11, 7, p)
    assert m.converged and m.change <= p.tolerance and 1 < m.iterations < p.max_iterations
    a = np.array(edges)
    r, t, w = a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2]
    weight = m.reliability ** p.reliability_exponent
    goodness = (np.bincount(t, weight * w, 7) + p.beta_cold * p.goodness_default) / (np.bincount(t, weight, 7)
                                                                                      + p.beta_cold)
    gf = p.gamma_fairness / (p.gamma_fairness + p.gamma_agreement)
    reliability = gf * m.fairness[r] + (1 - gf) * (1 - np.abs(w - m.goodness[t]) / 2)
    fairness = (np.bincount(r, m.reliability, 11) + p.alpha_cold * p.fairness_default + p.alpha_prior * m.prior) / (
        p.alpha_cold + p.alpha_prior + np.bincount(r, minlength=11))
    assert np.allclose(goodness, m.goodness, atol=1e-5)
    assert np.allclose(reliability, m.reliability, atol=1e-5)
    assert np.allclose(fairness, m.fairness, atol=1e-5)
    # explain's mean reliability is the mean of the rater's ratings' reliabilities
    assert m.explain(10).mean_reliability == pytest.approx(m.reliability[r == 10].mean(), abs=1e-5)


def test_max_iterations_stops_and_says_so():
    m = fit(honest_world(), 10, 7, rl.ReliabilityParams(max_iterations=1))
    assert m.iterations == 1 and not m.converged and m.change > 0


def test_deterministic():
    edges = [*honest_world(), (10, 0, 1.0, 0.0)]
    a, b = fit(edges, 11, 7), fit(edges, 11, 7)
    for name in ("fairness", "goodness", "reliability", "prior"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert (a.iterations, a.change) == (b.iterations, b.change)


def test_edge_cases():
    # a rater with one rating: held near the default by the cold-start pseudo-ratings
    m = fit([(0, 0, 1.0, 0.0), (1, 0, 1.0, 1.0), (1, 1, 1.0, 2.0), (2, 1, 0.8, 3.0)], 4, 3)
    assert m.n_ratings.tolist() == [1, 2, 1, 0] and m.n_received.tolist() == [2, 2, 0]
    assert "few_ratings" in m.explain(0).tells
    # a target with no ratings keeps the default goodness; a rater with none its cold-start fairness
    assert m.goodness[2] == 0.0
    p = m.params
    assert m.fairness[3] == pytest.approx((p.alpha_cold * p.fairness_default + p.alpha_prior * m.prior[3])
                                          / (p.alpha_cold + p.alpha_prior))
    assert m.explain(3).n_ratings == 0 and m.explain(3).mean_disagreement is None
    assert m.explain(3).weights["ratings"] == 0
    # no smoothing at all: a node without ratings gets the plain default
    bare = rl.ReliabilityParams(alpha_cold=0, alpha_prior=0, beta_cold=0)
    m = fit([(0, 0, 1.0, 0.0)], 2, 2, bare)
    assert m.fairness[1] == bare.fairness_default and m.goodness[1] == bare.goodness_default
    assert m.goodness[0] == 1.0 and m.fairness[0] == pytest.approx(1.0)
    # the empty graph
    empty = rl.fit(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), 3, 2)
    assert empty.converged and empty.reliability.shape == (0,)
    assert np.allclose(empty.goodness, 0.0) and ((empty.fairness >= 0) & (empty.fairness <= 1)).all()
    none = rl.fit(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), None, 0, 0)
    assert none.fairness.shape == (0,) and none.goodness.shape == (0,)
    with pytest.raises(IndexError):
        none.explain(0)


@pytest.mark.parametrize("bad", [
    {"raters": [0, 2]}, {"targets": [-1, 0]}, {"scores": [0.5, 1.5]}, {"scores": [0.5, float("nan")]},
    {"times": [0.0]}, {"raters": [0.0, 1.0]},
])
def test_bad_input_is_refused(bad):
    args = {"raters": [0, 1], "targets": [0, 0], "scores": [0.5, -0.5], "times": [0.0, 1.0]} | bad
    with pytest.raises(ValueError):
        rl.fit(np.array(args["raters"]), np.array(args["targets"]), np.array(args["scores"]),
               np.array(args["times"]), 2, 1)


@pytest.mark.parametrize("change", [{"alpha_cold": -1}, {"gamma_fairness": 0, "gamma_agreement": 0},
                                    {"fairness_default": 2}, {"max_iterations": 0}, {"tolerance": float("nan")},
                                    {"extreme_threshold": 0}, {"burst_seconds": 0}])
def test_bad_params_are_refused(change):
    with pytest.raises(ValueError):
        rl.ReliabilityParams(**change)


def test_params_are_frozen_and_documented():
    p = rl.ReliabilityParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.alpha_cold = 2.0  # type: ignore[misc]
    source = Path(rl.__file__).read_text(encoding="utf-8").splitlines()
    for f in dataclasses.fields(p):
        i = next(i for i, line in enumerate(source) if line.startswith(f"    {f.name}:"))
        assert source[i - 1].strip().startswith("#"), f.name
    assert set(p.as_dict()) == {f.name for f in dataclasses.fields(p)}


edge_lists = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4), st.integers(-10, 10),
                                st.integers(0, 10_000)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(edge_lists, st.randoms(use_true_random=False), st.booleans())
def test_ranges_hold_and_edge_order_does_not_matter(edges, rnd, with_times):
    def run(es: list[tuple[int, int, int, int]]) -> rl.Reliability:
        a = np.array(es, dtype=np.float64).reshape(-1, 4)
        return rl.fit(a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2] / 10,
                      a[:, 3] * 60 if with_times else None, 6, 5)

    m = run(edges)
    assert ((m.fairness >= 0) & (m.fairness <= 1)).all()
    assert ((m.goodness >= -1) & (m.goodness <= 1)).all()
    assert ((m.reliability >= 0) & (m.reliability <= 1)).all()
    assert ((m.prior >= 0) & (m.prior <= 1)).all()
    order = list(range(len(edges)))
    rnd.shuffle(order)
    shuffled = run([edges[i] for i in order])
    assert np.array_equal(m.fairness, shuffled.fairness) and np.array_equal(m.goodness, shuffled.goodness)
    assert np.array_equal(m.reliability[order], shuffled.reliability)
    assert m.iterations == shuffled.iterations
    for u in range(6):
        assert m.explain(u).as_dict() == shuffled.explain(u).as_dict()


def test_a_lockstep_burst_at_one_target_lowers_its_raters_prior():
    # ten raters hit target 0 within twenty minutes; 200 others rate 100 targets over ten days
    burst = [(u, 0, 1.0, 50 * DAY + 120 * u) for u in range(10)]
    spread = [(10 + u, 1 + u % 100, 1.0, 45 * DAY + u * 4320) for u in range(200)]
    m = fit(burst + spread, 210, 101, rl.ReliabilityParams())
    assert m.components["synchrony"][:10].max() < m.components["synchrony"][10:].min()
    assert m.prior[:10].max() < m.prior[10:].min()


def test_lockstep_is_relative_to_everyones_activity():
    # a festival: every one of 50 shops gets 4 orders within ten minutes; then one shop alone gets 4
    festival = [(shop, 1000.0 + 100 * k) for shop in range(50) for k in range(4)]
    alone = [(7, 90_000.0 + 60 * k) for k in range(4)]
    normal = [(shop, 200_000.0 + 3600 * (shop * 4 + k)) for shop in range(50) for k in range(4)]
    groups, times = zip(*(festival + alone + normal), strict=True)
    flags = rl.lockstep(np.array(groups), np.array(times), 1800, 3, 5.0)
    assert not flags[:200].any() and flags[200:204].all() and not flags[204:].any()
