"""FRAUDAR's greedy peeling (Hooi et al., KDD 2016, algorithm 1): the kernel of the ring detector.

Repeatedly remove the node (buyer or shop) of least weighted degree, ties to the lower id, until none is
left; the densest prefix (f(S) / |S|) is the block. Two versions of the same function:

- `peel_reference`: the plain statement, an indexed binary heap over `deg`; readable, and what the fast one
  is tested against (`tests/unit/test_peeling.py`: same block, same density, bit for bit).
- `peel`: the one the detector runs, compiled by numba. It is faster on large graphs by touching memory in
  order and keeping the heap small: each node's live neighbours and edge weights are copied side by side once
  (CSR); nodes whose degree has not changed are taken from one array sorted by (degree, id), and only nodes
  whose degree fell enter the heap, which holds each entry's key beside its node (4-ary: half the depth of a
  binary heap). Degrees only fall, so a changed node is sifted up only.

Both take (n, eu, ev, ew, alive): nodes 0..n-1, edges (eu, ev, ew) counted where `alive`; both return
(block mask, density). At 5M edges the compiled kernel is bound by memory latency: half its time goes to
visiting neighbours in removal order (a random walk over the nodes), the other half to the heap. Tried and
measured no faster there: keys and node ids interleaved, a twin index to skip removed neighbours, nodes
renumbered by first degree, parking far-off nodes in geometric buckets outside the heap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numba
import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
I32 = NDArray[np.int32]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


def peel_reference(n: int, eu: Ints, ev: Ints, ew: Floats, alive: Bools) -> tuple[Bools, float]:
    """FRAUDAR's greedy peeling over nodes 0..n-1 (buyers then shops), edges (eu, ev, ew) where `alive`.
    Removes the node of least weighted degree (ties: lower id) until none is left, and returns the nodes of
    the densest prefix (f / |S|) and that density."""
    ends = np.concatenate([eu, ev])  # each node's edge ids, in increasing order
    adj = np.argsort(ends, kind="stable") % max(1, len(eu))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))])
    deg = np.zeros(n, np.float64)
    total = 0.0
    for e in range(len(eu)):
        if alive[e]:
            deg[eu[e]] += ew[e]
            deg[ev[e]] += ew[e]
            total += ew[e]
    heap = np.empty(n, np.int64)
    pos = np.full(n, -1, np.int64)
    size = 0
    for u in range(n):
        if deg[u] > 0:
            heap[size] = u
            pos[u] = size
            size += 1
    # heapify (sift down from the middle)
    for start in range(size // 2 - 1, -1, -1):
        i = start
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and (deg[heap[c + 1]] < deg[heap[c]]
                                 or (deg[heap[c + 1]] == deg[heap[c]] and heap[c + 1] < heap[c])):
                c += 1
            a, b = heap[i], heap[c]
            if deg[b] < deg[a] or (deg[b] == deg[a] and b < a):
                heap[i], heap[c] = b, a
                pos[b], pos[a] = i, c
                i = c
            else:
                break
    nodes = size
    removed = np.zeros(n, np.bool_)
    order = np.empty(nodes, np.int64)
    best, best_k = (total / nodes if nodes else 0.0), 0
    for k in range(nodes):
        u = heap[0]
        size -= 1
        last = heap[size]
        pos[u] = -1
        if size > 0:
            heap[0] = last
            pos[last] = 0
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and (deg[heap[c + 1]] < deg[heap[c]]
                                     or (deg[heap[c + 1]] == deg[heap[c]] and heap[c + 1] < heap[c])):
                    c += 1
                a, b = heap[i], heap[c]
                if deg[b] < deg[a] or (deg[b] == deg[a] and b < a):
                    heap[i], heap[c] = b, a
                    pos[b], pos[a] = i, c
                    i = c
                else:
                    break
        removed[u] = True
        order[k] = u
        total -= deg[u]
        for j in range(indptr[u], indptr[u + 1]):
            e = adj[j]
            if not alive[e]:
                continue
            v = ev[e] if eu[e] == u else eu[e]
            if removed[v]:
                continue
            deg[v] -= ew[e]
            i = pos[v]  # the key fell: sift up
            while i > 0:
                p = (i - 1) // 2
                a, b = heap[p], heap[i]
                if deg[b] < deg[a] or (deg[b] == deg[a] and b < a):
                    heap[p], heap[i] = b, a
                    pos[b], pos[a] = p, i
                    i = p
                else:
                    break
        left = nodes - k - 1
        if left > 0 and total / left > best:
            best, best_k = total / left, k + 1
    block = np.zeros(n, np.bool_)
    for k in range(best_k, nodes):
        block[order[k]] = True
    return block, best


def _csr(n: int, eu: Ints, ev: Ints, ew: Floats, alive: Bools) -> tuple[Floats, float, Ints, I32, Floats]:
    """Degrees, total weight, and each node's live neighbours and edge weights side by side (CSR), each node's
    in edge-id order: one pass to count, one to scatter, reading the edges in order."""
    deg = np.zeros(n, np.float64)
    start = np.zeros(n + 1, np.int64)
    total = 0.0
    for e in range(len(eu)):
        if alive[e]:
            deg[eu[e]] += ew[e]
            deg[ev[e]] += ew[e]
            total += ew[e]
            start[eu[e] + 1] += 1
            start[ev[e] + 1] += 1
    for u in range(n):
        start[u + 1] += start[u]
    nbr = np.empty(start[n], np.int32)
    wgt = np.empty(start[n], np.float64)
    fill = start[:n].copy()
    for e in range(len(eu)):
        if alive[e]:
            a, b, w = eu[e], ev[e], ew[e]
            nbr[fill[a]], wgt[fill[a]] = b, w
            nbr[fill[b]], wgt[fill[b]] = a, w
            fill[a] += 1
            fill[b] += 1
    return deg, total, start, nbr, wgt


def _by_degree(deg: Floats) -> Ints:
    """The nodes with edges in (degree, id) order, in one stable sort: the bits of a positive float64 read
    as an int64 order as the float does, and a stable sort keeps equal degrees in id order. (Was two
    sorts, a quicksort on degrees then one on (rank, id): ×3.5 slower at 1M nodes.)"""
    live = np.flatnonzero(deg > 0)
    return live[np.argsort(deg[live].view(np.int64), kind="stable")]


CLEAN, GONE = -1, -2  # pos[v] besides a heap slot: never fell (still in the sorted array), removed


def _peel_csr(deg: Floats, total: float, start: Ints, nbr: I32, wgt: Floats, clean: Ints) -> tuple[Bools, float]:
    # Nodes not yet touched by a removal keep their first degree: they are taken in (degree, id) order from
    # the sorted array `clean`. Only a node whose degree fell moves into a 4-ary min-heap of (key, node),
    # ordered by key then id. One array `pos` says where each node is (a heap slot, CLEAN or GONE), so a
    # neighbour costs one lookup. On a marketplace most nodes are buyers with one or two shops that leave
    # before any of their shops, so the heap stays small and most removals cost O(1).
    n = len(deg)
    hkey = np.empty(n, np.float64)
    hnode = np.empty(n, np.int32)
    pos = np.full(n, GONE, np.int32)  # a node without weight (no live edge, or only edges of weight 0) is
    for u in clean:  # never peeled, as in the reference; its neighbours' removals pass it by
        pos[u] = CLEAN
    size, p, nodes = 0, 0, len(clean)
    order = np.empty(nodes, np.int32)
    best, best_k = (total / nodes if nodes else 0.0), 0
    for k in range(nodes):
        while p < nodes and pos[clean[p]] != CLEAN:
            p += 1
        if size > 0 and (p == nodes or hkey[0] < deg[clean[p]] or (hkey[0] == deg[clean[p]]
                                                                   and hnode[0] < clean[p])):
            u = hnode[0]
            size -= 1
            if size > 0:
                hkey[0], hnode[0] = hkey[size], hnode[size]
                _sift_down(hkey, hnode, pos, 0, size)
        else:
            u = clean[p]
            p += 1
        pos[u] = GONE
        order[k] = u
        total -= deg[u]
        for j in range(start[u], start[u + 1]):
            v = nbr[j]
            s = pos[v]
            if s == GONE:
                continue
            deg[v] -= wgt[j]
            if s == CLEAN:  # first fall: into the heap, at the bottom
                hnode[size] = v
                s = size
                size += 1
            _sift_up(hkey, hnode, pos, s, deg[v])
        left = nodes - k - 1
        if left > 0 and total / left > best:
            best, best_k = total / left, k + 1
    block = np.zeros(n, np.bool_)
    for k in range(best_k, nodes):
        block[order[k]] = True
    return block, best


def _sift_down(hkey: Floats, hnode: I32, pos: I32, i: int, size: int) -> None:
    key, node = hkey[i], hnode[i]
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        m = c
        for d in range(c + 1, min(c + 4, size)):
            if hkey[d] < hkey[m] or (hkey[d] == hkey[m] and hnode[d] < hnode[m]):
                m = d
        if hkey[m] < key or (hkey[m] == key and hnode[m] < node):
            hkey[i], hnode[i] = hkey[m], hnode[m]
            pos[hnode[i]] = i
            i = m
        else:
            break
    hkey[i], hnode[i] = key, node
    pos[node] = i


def _sift_up(hkey: Floats, hnode: I32, pos: I32, i: int, key: float) -> None:
    node = hnode[i]
    while i > 0:
        p = (i - 1) // 4
        if key < hkey[p] or (key == hkey[p] and node < hnode[p]):
            hkey[i], hnode[i] = hkey[p], hnode[p]
            pos[hnode[i]] = i
            i = p
        else:
            break
    hkey[i], hnode[i] = key, node
    pos[node] = i


_jit = numba.njit(cache=True, nogil=True)
_sift_down = _jit(_sift_down)
_sift_up = _jit(_sift_up)
_csr_jit = cast(Callable[[int, Ints, Ints, Floats, Bools], tuple[Floats, float, Ints, I32, Floats]], _jit(_csr))
_peel_jit = cast(Callable[[Floats, float, Ints, I32, Floats, Ints], tuple[Bools, float]], _jit(_peel_csr))


def peel(n: int, eu: Ints, ev: Ints, ew: Floats, alive: Bools) -> tuple[Bools, float]:
    """FRAUDAR's greedy peeling, compiled: the same block and density as `peel_reference`, bit for bit.
    The graph is two-sided (buyers, then shops): no edge joins a node to itself."""
    if np.any(eu == ev):
        raise ValueError("peel: an edge joins a node to itself; the graph must be two-sided")
    deg, total, start, nbr, wgt = _csr_jit(n, eu, ev, ew, alive)
    return _peel_jit(deg, total, start, nbr, wgt, _by_degree(deg))
