"""Distinct (row, column) pairs of two code columns, in linear time: the edges of the order graph.

`np.unique(row * n_cols + col, return_inverse=True)` gives the distinct pairs in (row, column) order and, for
each input, its pair. It sorts all n inputs: 13 ms for bench-1m's 83,000 orders on a slow day, more than
peeling the graph they make. `unique_pairs` gives the same two arrays with a counting sort by row and, per
row, a sort of its few columns (a buyer orders at one to three shops): O(n) plus tiny sorts, compiled by numba.
`tests/unit/test_pairs.py` holds it to `np.unique` on random inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numba
import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]


def _unique_pairs(row: Ints, col: Ints, n_rows: int, n_cols: int) -> tuple[Ints, Ints]:
    n = len(row)
    start = np.zeros(n_rows + 1, np.int64)
    for i in range(n):
        start[row[i] + 1] += 1
    for r in range(n_rows):
        start[r + 1] += start[r]
    at = start[:-1].copy()
    by_row = np.empty(n, np.int64)  # input positions, grouped by row
    for i in range(n):
        by_row[at[row[i]]] = i
        at[row[i]] += 1
    keys = np.empty(n, np.int64)
    inverse = np.empty(n, np.int64)
    slot = np.empty(n_cols, np.int64)  # a column's pair within the current row
    cols = np.empty(n, np.int64)  # the current row's columns, sorted in place (insertion sort: rows are short)
    m = 0
    for r in range(n_rows):
        lo, hi = start[r], start[r + 1]
        k = 0
        for j in range(lo, hi):
            c = col[by_row[j]]
            i = k
            while i > 0 and cols[i - 1] > c:
                cols[i] = cols[i - 1]
                i -= 1
            cols[i] = c
            k += 1
        for j in range(k):
            if j == 0 or cols[j] != cols[j - 1]:
                keys[m] = r * n_cols + cols[j]
                slot[cols[j]] = m
                m += 1
        for j in range(lo, hi):
            inverse[by_row[j]] = slot[col[by_row[j]]]
    return keys[:m].copy(), inverse


_unique_pairs_jit = cast(Callable[[Ints, Ints, int, int], tuple[Ints, Ints]],
                         numba.njit(cache=True, nogil=True)(_unique_pairs))


def unique_pairs(row: Ints, col: Ints, n_rows: int, n_cols: int) -> tuple[Ints, Ints]:
    """(keys, inverse): the distinct `row * n_cols + col` in increasing order, and each input's index into
    them; exactly `np.unique(row * n_cols + col, return_inverse=True)`. Codes must lie in 0..n_rows-1 and
    0..n_cols-1."""
    row, col = np.ascontiguousarray(row, np.int64), np.ascontiguousarray(col, np.int64)
    if len(row) != len(col):
        raise ValueError("unique_pairs: the two columns differ in length")
    if len(row) and (row.min() < 0 or row.max() >= n_rows or col.min() < 0 or col.max() >= n_cols):
        raise ValueError("unique_pairs: a code lies outside its range")
    return _unique_pairs_jit(row, col, max(1, n_rows), max(1, n_cols))
