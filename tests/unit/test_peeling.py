"""The compiled peeling kernel gives exactly what the plain statement of FRAUDAR's peeling gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.domain.detection.peeling import peel, peel_reference


def _inputs(eb: np.ndarray, es: np.ndarray, nb: int, ns: int, ew: np.ndarray, alive: np.ndarray) -> tuple:
    eu, ev = eb.astype(np.int64), es.astype(np.int64) + nb
    return nb + ns, eu, ev, ew.astype(np.float64), alive


def _graph(seed: int, nb: int, ns: int, m: int, integer_weights: bool) -> tuple:
    rng = np.random.default_rng(seed)
    eb, es = rng.integers(0, nb, m), rng.integers(0, ns, m)
    # integer weights include 0 (a rule may weigh plain edges 0): a node whose edges all weigh 0 is never peeled
    ew = rng.integers(0, 3, m).astype(np.float64) if integer_weights else rng.random(m) + 0.1
    return _inputs(eb, es, nb, ns, ew, rng.random(m) < 0.85)


@given(seed=st.integers(0, 2**32 - 1), nb=st.integers(1, 40), ns=st.integers(1, 15), m=st.integers(0, 120),
       integer_weights=st.booleans())
@settings(max_examples=300, deadline=None)
def test_the_kernel_peels_like_the_reference(seed: int, nb: int, ns: int, m: int, integer_weights: bool) -> None:
    # integer weights make many equal degrees: the tie rule (lower node id first) decides the order
    args = _graph(seed, nb, ns, m, integer_weights)
    block, density = peel(*args)
    want_block, want_density = peel_reference(*args)
    assert density == want_density  # the same removals in the same order: bit-for-bit the same sums
    assert block.tolist() == want_block.tolist()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_large_graph_with_a_planted_block(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nb, ns, m = 3000, 800, 20_000
    eb, es = rng.integers(0, nb, m), rng.integers(0, ns, m)
    block_b, block_s = np.repeat(np.arange(40), 30), np.tile(np.arange(700, 730), 40)  # 40 x 30, complete
    eb, es = np.concatenate([eb, block_b]), np.concatenate([es, block_s])
    args = _inputs(eb, es, nb, ns, np.ones(len(eb)), np.ones(len(eb), np.bool_))
    block, density = peel(*args)
    want_block, want_density = peel_reference(*args)
    assert density == want_density and block.tolist() == want_block.tolist()
    assert set(range(40)) <= set(np.flatnonzero(block[:nb]).tolist())
    assert set(range(700, 730)) <= set((np.flatnonzero(block[nb:])).tolist())


def test_nothing_alive_is_an_empty_block() -> None:
    args = _graph(5, 10, 5, 30, False)
    args = (*args[:4], np.zeros(30, np.bool_))
    block, density = peel(*args)
    assert not block.any() and density == 0.0


def test_a_node_whose_edges_weigh_nothing_is_never_peeled() -> None:
    # one buyer, three shops, weights 0.5, 0, 0.5: the middle shop has no weight and stays out of the block
    args = _inputs(np.array([0, 0, 0]), np.array([0, 1, 2]), 1, 3, np.array([0.5, 0.0, 0.5]), np.ones(3, np.bool_))
    block, density = peel(*args)
    want_block, want_density = peel_reference(*args)
    assert block.tolist() == want_block.tolist() == [True, True, False, True] and density == want_density


def test_an_edge_from_a_node_to_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="two-sided"):
        peel(2, np.array([0, 1]), np.array([1, 1]), np.ones(2), np.ones(2, np.bool_))
