"""`unique_pairs` is `np.unique(row * n_cols + col, return_inverse=True)`, computed without sorting every input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.domain.detection.pairs import unique_pairs


@st.composite
def columns(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, int]:
    n_rows, n_cols = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    n = draw(st.integers(0, 200))
    row = draw(st.lists(st.integers(0, n_rows - 1), min_size=n, max_size=n))
    col = draw(st.lists(st.integers(0, n_cols - 1), min_size=n, max_size=n))
    return np.array(row, np.int64), np.array(col, np.int64), n_rows, n_cols


@settings(max_examples=300, deadline=None)
@given(columns())
def test_the_same_as_numpy_unique(data: tuple[np.ndarray, np.ndarray, int, int]) -> None:
    row, col, n_rows, n_cols = data
    keys, inverse = unique_pairs(row, col, n_rows, n_cols)
    want_keys, want_inverse = np.unique(row * n_cols + col, return_inverse=True)
    assert keys.tolist() == want_keys.tolist()
    assert inverse.tolist() == want_inverse.reshape(-1).tolist()


def test_a_large_graph_with_repeat_customers() -> None:
    rng = np.random.default_rng(3)
    row, col = rng.integers(0, 50_000, 300_000), rng.zipf(1.5, 300_000) % 2_000
    keys, inverse = unique_pairs(row, col, 50_000, 2_000)
    want_keys, want_inverse = np.unique(row * 2_000 + col, return_inverse=True)
    assert np.array_equal(keys, want_keys) and np.array_equal(inverse, want_inverse.reshape(-1))
    assert len(keys) < len(row)


def test_codes_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="outside its range"):
        unique_pairs(np.array([0, 3]), np.array([0, 0]), 3, 1)
    with pytest.raises(ValueError, match="differ in length"):
        unique_pairs(np.array([0]), np.array([0, 0]), 1, 1)


def test_one_long_row_is_linear_work() -> None:
    """One identifier shared by many buyers is one long row: still the same answer (and no quadratic sort)."""
    rng = np.random.default_rng(5)
    col = np.concatenate([rng.permutation(80_000), rng.integers(0, 80_000, 20_000)])
    row = np.zeros(len(col), np.int64)
    row[-5:] = 1
    keys, inverse = unique_pairs(row, col, 2, 80_000)
    want_keys, want_inverse = np.unique(row * 80_000 + col, return_inverse=True)
    assert np.array_equal(keys, want_keys) and np.array_equal(inverse, want_inverse.reshape(-1))
