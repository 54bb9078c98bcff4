"""Distinct (row, column) pairs of two code columns, in linear time: the edges of the order graph.

`np.unique(row * n_cols + col, return_inverse=True)` gives the distinct pairs in (row, column) order and, for
each input, its pair. It sorts all n inputs, and without `return_inverse` numpy 2.4 uses a hash table that
took 20 ms for bench-1m's 83,000 orders on a slow day: more than peeling the graph they make. `unique_pairs`
gives the same two arrays with two counting sorts (by column, then stably by row), compiled by numba: linear
in n, the rows and the columns, however the pairs are spread (one identifier shared by 80,000 buyers is one
long row). `tests/unit/test_pairs.py` holds it to `np.unique` on random inputs and on a long row.
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
    by_col = _counting_order(col, np.arange(n), n_cols)
    order = _counting_order(row, by_col, n_rows)  # stable: (row, column) order
    keys = np.empty(n, np.int64)
    inverse = np.empty(n, np.int64)
    m, last = 0, -1
    for k in range(n):
        i = order[k]
        key = row[i] * n_cols + col[i]
        if key != last:
            keys[m] = key
            m += 1
            last = key
        inverse[i] = m - 1
    return keys[:m].copy(), inverse


def _counting_order(code: Ints, positions: Ints, n_codes: int) -> Ints:
    """`positions` stably reordered by `code[position]` (a counting sort: linear in both)."""
    start = np.zeros(n_codes + 1, np.int64)
    for p in positions:
        start[code[p] + 1] += 1
    for c in range(n_codes):
        start[c + 1] += start[c]
    out = np.empty(len(positions), np.int64)
    for p in positions:
        out[start[code[p]]] = p
        start[code[p]] += 1
    return out


_counting_order = numba.njit(cache=True, nogil=True)(_counting_order)
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
