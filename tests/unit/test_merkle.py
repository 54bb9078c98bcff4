"""Unit and property tests for chengxin.domain.merkle (storage plans, frontier, streaming, tampering)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.domain import merkle
from chengxin.domain.merkle import Node

MAX_N = 4096
LEAVES = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_N)]
# Every perfect node of the MAX_N-leaf tree. Perfect nodes never change once complete, so this one
# table serves plans for every smaller tree size too, exactly as storage would.
_NODES, _ = merkle.append_leaves(0, [], LEAVES)
LOOKUP: dict[Node, bytes] = {(level, index): h for level, index, h in _NODES}

SMALL = 70


def _span(node: Node) -> tuple[int, int]:
    level, index = node
    return index << level, (index + 1) << level


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _incl_rejected(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    try:
        merkle.verify_inclusion(leaf, index, size, proof, root)
    except merkle.ProofError:
        return True
    return False


def _cons_rejected(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> bool:
    try:
        merkle.verify_consistency(size1, size2, root1, root2, proof)
    except merkle.ProofError:
        return True
    return False


# --- primitives -------------------------------------------------------------------------------------


def test_hash_prefixes_separate_leaves_from_nodes() -> None:
    a, b = LEAVES[0], LEAVES[1]
    assert merkle.leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    # An interior node's preimage presented as a leaf must not collide with the node.
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)
    assert merkle.root([a, b]) == merkle.node_hash(a, b)
    assert merkle.root([a]) == a


def test_odd_node_is_carried_not_duplicated() -> None:
    a, b, c = LEAVES[:3]
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)
    assert merkle.root([a, b, c]) != merkle.root([a, b, c, c])


def test_range_nodes_examples() -> None:
    assert merkle.range_nodes(0, 0) == []
    assert merkle.range_nodes(0, 1) == [(0, 0)]
    assert merkle.range_nodes(0, 8) == [(3, 0)]
    assert merkle.range_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.range_nodes(8, 13) == [(2, 2), (0, 12)]
    assert merkle.range_nodes(3, 8) == [(0, 3), (2, 1)]  # unaligned start still tiles the range
    with pytest.raises(ValueError):
        merkle.range_nodes(5, 4)


@pytest.mark.parametrize("end", range(SMALL + 1))
def test_range_nodes_tile_and_fold_to_mth(end: int) -> None:
    for start in range(end + 1):
        nodes = merkle.range_nodes(start, end)
        pos = start
        for node in nodes:
            lo, hi = _span(node)
            assert lo == pos
            pos = hi
        assert pos == end
        aligned = start == 0 or (start & -start) >= end - start
        if aligned and nodes:
            levels = [level for level, _ in nodes]
            assert levels == sorted(levels, reverse=True)
            assert merkle.fold([LOOKUP[n] for n in nodes]) == merkle.root(LEAVES[start:end])


def test_fold_and_frontier_root() -> None:
    with pytest.raises(ValueError):
        merkle.fold([])
    a, b, c = LEAVES[:3]
    assert merkle.fold([a]) == a
    assert merkle.fold([a, b, c]) == merkle.node_hash(a, merkle.node_hash(b, c))
    assert merkle.frontier_root([]) == merkle.EMPTY_ROOT


# --- plans equal the reference proofs -------------------------------------------------------------------


def test_inclusion_plans_match_reference() -> None:
    for size in range(1, SMALL + 1):
        r = merkle.root(LEAVES[:size])
        for index in range(size):
            ref = merkle.inclusion_proof(LEAVES, index, size)
            plan = merkle.inclusion_proof_plan(index, size)
            assert merkle.proof_from_plan(plan, LOOKUP) == ref, (index, size)
            merkle.verify_inclusion(LEAVES[index], index, size, ref, r)


def test_consistency_plans_match_reference() -> None:
    roots = [merkle.root(LEAVES[:n]) for n in range(SMALL + 1)]
    for size2 in range(1, SMALL + 1):
        for size1 in range(1, size2 + 1):
            ref = merkle.consistency_proof(LEAVES, size1, size2)
            plan = merkle.consistency_proof_plan(size1, size2)
            assert merkle.proof_from_plan(plan, LOOKUP) == ref, (size1, size2)
            merkle.verify_consistency(size1, size2, roots[size1], roots[size2], ref)


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (merkle.inclusion_proof_plan, (3, 3)),
        (merkle.inclusion_proof_plan, (-1, 3)),
        (merkle.inclusion_proof_plan, (0, 0)),
        (merkle.consistency_proof_plan, (0, 0)),
        (merkle.consistency_proof_plan, (0, 5)),
        (merkle.consistency_proof_plan, (4, 3)),
    ],
)
def test_plans_reject_bad_sizes(func: Callable[[int, int], object], args: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        func(*args)


def test_reference_proofs_reject_bad_sizes() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_proof(LEAVES[:4], 4, 4)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(LEAVES[:4], 0, 5)
    with pytest.raises(ValueError):
        merkle.consistency_proof(LEAVES[:4], 0, 4)
    with pytest.raises(ValueError):
        merkle.consistency_proof(LEAVES[:4], 3, 5)


def test_proof_from_plan_missing_node() -> None:
    with pytest.raises(KeyError):
        merkle.proof_from_plan(merkle.inclusion_proof_plan(0, 4), {})


# --- append_leaves and RootStream ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_append_leaves_random_chunkings(seed: int) -> None:
    rng = random.Random(seed)
    total = 600
    size, frontier = 0, list[bytes]()
    seen: dict[Node, bytes] = {}
    while size < total:
        chunk = min(rng.choice([0, 1, 1, 2, 3, 7, 16, 33, 100]), total - size)
        nodes, frontier = merkle.append_leaves(size, frontier, LEAVES[size : size + chunk])
        for level, index, h in nodes:
            key = (level, index)
            assert key not in seen, "a perfect node must be completed exactly once"
            assert (index + 1) << level <= size + chunk
            seen[key] = h
        size += chunk
        assert frontier == [seen[n] for n in merkle.range_nodes(0, size)]
        assert merkle.frontier_root(frontier) == merkle.root(LEAVES[:size])
    assert seen == {n: h for n, h in LOOKUP.items() if _span(n)[1] <= total}
    for node, h in seen.items():
        lo, hi = _span(node)
        assert h == merkle.root(LEAVES[lo:hi])


def test_append_leaves_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        merkle.append_leaves(3, [LEAVES[0]], [LEAVES[1]])  # size 3 needs 2 frontier hashes
    with pytest.raises(ValueError):
        merkle.append_leaves(0, [], [b"short"])


def test_root_stream_matches_root() -> None:
    stream = merkle.RootStream()
    assert stream.size == 0
    for n in range(1, 300):
        stream.push(LEAVES[n - 1])
        assert stream.size == n
        assert stream.root() == merkle.root(LEAVES[:n])
    assert stream.frontier() == [LOOKUP[node] for node in merkle.range_nodes(0, stream.size)]
    bulk = merkle.RootStream()
    bulk.extend(iter(LEAVES))
    assert (bulk.size, bulk.root()) == (MAX_N, merkle.root(LEAVES))


def test_root_stream_rejects_bad_hash_and_keeps_state() -> None:
    stream = merkle.RootStream()
    with pytest.raises(ValueError):
        stream.extend([LEAVES[0], LEAVES[1], b"x" * 31])
    assert stream.size == 2
    assert stream.root() == merkle.root(LEAVES[:2])


# --- verifier edge rules ----------------------------------------------------------------------------


def test_verify_inclusion_edge_rules() -> None:
    leaf = LEAVES[0]
    merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    for args in [
        (leaf, 1, 1, [], leaf),  # index >= size
        (leaf, -1, 1, [], leaf),
        (leaf, 0, 0, [], leaf),
        (b"", 0, 1, [], leaf),  # empty leaf
        (leaf, 0, 1, [], b""),  # empty root
        (leaf[:31], 0, 1, [], leaf[:31]),
        (leaf, 0, 1, [leaf], leaf),  # trailing element
        (leaf, 0, 2, [], leaf),  # missing element
    ]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)


def test_verify_consistency_edge_rules() -> None:
    r = LEAVES[0]
    merkle.verify_consistency(3, 3, b"dont care", b"dont care", [])  # no length checks when equal
    for args in [
        (0, 0, r, r, []),  # from the empty tree: always rejected
        (0, 1, r, r, [r]),
        (2, 1, r, r, []),
        (1, 1, r, r, [r]),
        (1, 1, r, LEAVES[1], []),
        (1, 2, r, merkle.root(LEAVES[:2]), []),  # empty proof for different sizes
        (1, 2, r, merkle.root(LEAVES[:2]), [LEAVES[1][:31]]),
    ]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    merkle.verify_consistency(1, 2, r, merkle.root(LEAVES[:2]), [LEAVES[1]])


def test_every_single_bit_flip_rejected_small_tree() -> None:
    size = 13
    r = merkle.root(LEAVES[:size])
    for index in range(size):
        proof = merkle.inclusion_proof(LEAVES, index, size)
        parts = [LEAVES[index], *proof, r]
        for part in range(len(parts)):
            for bit in range(256):
                bad = list(parts)
                bad[part] = _flip(bad[part], bit)
                assert _incl_rejected(bad[0], index, size, bad[1:-1], bad[-1])


# --- property test: random trees up to 4096 leaves ------------------------------------------------------


def _mutations(proof: Sequence[bytes], junk: bytes) -> list[list[bytes]]:
    """Truncations and extensions of a proof (none of which may verify)."""
    out = [[*proof, junk], [junk, *proof], [*proof, proof[-1]] if proof else [junk]]
    if proof:
        out += [list(proof[:-1]), list(proof[1:])]
    return out


@settings(max_examples=250, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=MAX_N))
def test_inclusion_property(data: st.DataObject, n: int) -> None:
    m = data.draw(st.integers(0, n - 1), label="index")
    leaf, r = LEAVES[m], merkle.root(LEAVES[:n])
    proof = merkle.inclusion_proof(LEAVES, m, n)
    assert merkle.proof_from_plan(merkle.inclusion_proof_plan(m, n), LOOKUP) == proof
    merkle.verify_inclusion(leaf, m, n, proof, r)

    parts = [leaf, *proof, r]
    for bit in data.draw(st.lists(st.integers(0, 256 * len(parts) - 1), min_size=32, max_size=32)):
        bad = list(parts)
        bad[bit // 256] = _flip(bad[bit // 256], bit % 256)
        assert _incl_rejected(bad[0], m, n, bad[1:-1], bad[-1])
    for bad_proof in _mutations(proof, LEAVES[-1]):
        assert _incl_rejected(leaf, m, n, bad_proof, r)
    for idx in (m - 1, m + 1):
        assert _incl_rejected(leaf, idx, n, proof, r)


@settings(max_examples=250, deadline=None)
@given(data=st.data(), n=st.integers(min_value=2, max_value=MAX_N))
def test_consistency_property(data: st.DataObject, n: int) -> None:
    m = data.draw(st.integers(1, n - 1), label="size1")
    r1, r2 = merkle.root(LEAVES[:m]), merkle.root(LEAVES[:n])
    proof = merkle.consistency_proof(LEAVES, m, n)
    assert merkle.proof_from_plan(merkle.consistency_proof_plan(m, n), LOOKUP) == proof
    merkle.verify_consistency(m, n, r1, r2, proof)

    parts = [r1, r2, *proof]
    for bit in data.draw(st.lists(st.integers(0, 256 * len(parts) - 1), min_size=32, max_size=32)):
        bad = list(parts)
        bad[bit // 256] = _flip(bad[bit // 256], bit % 256)
        assert _cons_rejected(m, n, bad[0], bad[1], bad[2:])
    for bad_proof in _mutations(proof, LEAVES[-1]):
        assert _cons_rejected(m, n, r1, r2, bad_proof)
    for size1 in (m - 1, m + 1):
        assert _cons_rejected(size1, n, r1, r2, proof)
    assert _cons_rejected(m, n, r2, r1, proof)  # swapped roots
