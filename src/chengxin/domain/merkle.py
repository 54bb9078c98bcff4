"""RFC 6962 / 9162 Merkle trees: hashing, proofs, verification and storage-friendly proof plans.

The tree is left-balanced (split at the largest power of two < n; an odd node is carried up, never
duplicated, or two leaf lists could share a root). The 0x00/0x01 prefixes stop a leaf posing as a node.
``inclusion_proof``/``consistency_proof`` are the literal RFC definitions, the reference for the rest.
``*_proof_plan`` name the *perfect nodes* ``(level, index)`` -- hashes of aligned subtrees over leaves
``[index * 2**level, (index + 1) * 2**level)`` -- that make up each proof element. Perfect nodes never
change once complete, so storage keeps them all and serves any proof for any size by point lookups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

Node: TypeAlias = tuple[int, int]  # (level, index)

# Bound once: these sit on the per-leaf hot path of append_leaves and RootStream.
_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof failed verification; the message says why."""


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || entry)."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2): the RFC 6962 split point."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash over already-hashed leaves; ``EMPTY_ROOT`` for no leaves."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # Bottom-up pairing with the odd last node promoted unchanged builds exactly the
    # left-balanced RFC tree, without recursion or slicing.
    level = list(leaf_hashes)
    sha, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        nxt = [sha(prefix + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) & 1:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), literally."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*_path(m, leaves[:k]), root(leaves[k:])]
    return [*_path(m - k, leaves[k:]), root(leaves[:k])]


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), literally."""
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Reference inclusion proof for leaf ``index`` in the tree of the first ``size`` leaves."""
    if not 0 <= index < size <= len(leaf_hashes):
        raise ValueError(f"need 0 <= index < size <= {len(leaf_hashes)}, got {index=} {size=}")
    return _path(index, leaf_hashes[:size])


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """Reference consistency proof that the tree of ``size1`` leaves is a prefix of that of ``size2``."""
    if not 0 < size1 <= size2 <= len(leaf_hashes):
        raise ValueError(f"need 0 < size1 <= size2 <= {len(leaf_hashes)}, got {size1=} {size2=}")
    return _subproof(size1, leaf_hashes[:size2], True)


def _check_len(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` (a leaf hash) sits at ``index`` in the tree ``(size, root)``.

    Implements RFC 9162 §2.1.3.2. Returns None on success and raises ``ProofError`` otherwise.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} out of range for tree size {size}")
    _check_len("leaf hash", leaf)
    _check_len("root", root)
    for i, p in enumerate(proof):
        _check_len(f"proof[{i}]", p)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # A right-edge node with no sibling is carried up unpaired: skip those levels.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the path to the root")
    if r != root:
        raise ProofError("computed root does not match the expected root")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree ``(size1, root1)`` is a prefix of the tree ``(size2, root2)``.

    Implements RFC 9162 §2.1.4.2. Returns None on success and raises ``ProofError`` otherwise.
    """
    if size1 <= 0:
        raise ProofError("consistency proof from an empty tree is meaningless")
    if size1 > size2:
        raise ProofError(f"size1 {size1} is greater than size2 {size2}")
    if size1 == size2:
        # Deliberately before any length check: equal sizes need nothing but equal roots.
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if root1 != root2:
            raise ProofError("sizes are equal but the roots differ")
        return
    _check_len("root1", root1)
    _check_len("root2", root2)
    for i, p in enumerate(proof):
        _check_len(f"proof[{i}]", p)
    if not proof:
        raise ProofError("empty consistency proof for different sizes")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # The old tree is a perfect subtree of the new one, so its root is the first proof node.
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # carried-up levels, as in verify_inclusion
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than needed")
    if fr != root1:
        raise ProofError("proof does not reproduce root1")
    if sr != root2:
        raise ProofError("proof does not reproduce root2")


def range_nodes(start: int, end: int) -> list[Node]:
    """Decompose leaves ``[start, end)`` into aligned perfect subtrees, left to right.

    For the ranges that occur in RFC 6962 recursion (``start`` aligned to a power of two at least
    ``end - start``) the nodes come largest first, and ``fold`` of their hashes is the range's MTH.
    """
    if not 0 <= start <= end:
        raise ValueError(f"bad range [{start}, {end})")
    out: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            # The block must also be aligned: no larger than the lowest set bit of start.
            level = min(level, (start & -start).bit_length() - 1)
        out.append((level, start >> level))
        start += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right-fold perfect-node hashes into the MTH of their range: ``node_hash(h0, fold(rest))``."""
    if not hashes:
        raise ValueError("cannot fold an empty list of hashes")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_proof_plan(index: int, size: int) -> list[list[Node]]:
    """Perfect nodes making up each inclusion proof element, leaf side first.

    Proof element ``i`` equals ``fold`` of the hashes of ``plan[i]``.
    """
    if not 0 <= index < size:
        raise ValueError(f"need 0 <= index < size, got {index=} {size=}")
    # Walk PATH from the top; each step contributes the sibling range, so reverse at the end.
    steps: list[list[Node]] = []
    begin, end = 0, size
    while end - begin > 1:
        mid = begin + _split(end - begin)
        if index < mid:
            steps.append(range_nodes(mid, end))
            end = mid
        else:
            steps.append(range_nodes(begin, mid))
            begin = mid
    steps.reverse()
    return steps


def consistency_proof_plan(size1: int, size2: int) -> list[list[Node]]:
    """Perfect nodes making up each consistency proof element (empty when the sizes are equal)."""
    if not 0 < size1 <= size2:
        raise ValueError(f"need 0 < size1 <= size2, got {size1=} {size2=}")
    # Walk SUBPROOF from the top; `complete` is its flag b (still on the left edge of the tree).
    steps: list[list[Node]] = []
    begin, end, complete = 0, size2, True
    while size1 != end:
        mid = begin + _split(end - begin)
        if size1 <= mid:
            steps.append(range_nodes(mid, end))
            end = mid
        else:
            steps.append(range_nodes(begin, mid))
            begin, complete = mid, False
    if not complete:
        steps.append(range_nodes(begin, end))
    steps.reverse()
    return steps


def proof_from_plan(plan: Sequence[Sequence[Node]], lookup: Mapping[Node, bytes]) -> list[bytes]:
    """Materialise a plan with stored perfect-node hashes; ``KeyError`` if a node is missing."""
    return [fold([lookup[node] for node in step]) for step in plan]


def append_leaves(
    size: int, frontier: Sequence[bytes], new_leaves: Sequence[bytes]
) -> tuple[list[tuple[int, int, bytes]], list[bytes]]:
    """Append leaf hashes to a tree of ``size`` leaves given its frontier.

    ``frontier`` holds the hashes of ``range_nodes(0, size)``. Returns every perfect node completed
    by the append as ``(level, index, hash)`` (the level-0 leaves included) and the new frontier.
    """
    if size < 0 or len(frontier) != size.bit_count():
        raise ValueError(f"frontier has {len(frontier)} hashes, tree size {size} needs {size.bit_count()}")
    stack = list(frontier)
    completed: list[tuple[int, int, bytes]] = []
    emit, push, pop = completed.append, stack.append, stack.pop
    sha, prefix = _sha256, _NODE_PREFIX
    for h in new_leaves:
        if len(h) != HASH_SIZE:
            raise ValueError(f"leaf hash at index {size} is {len(h)} bytes, expected {HASH_SIZE}")
        emit((0, size, h))
        level, idx = 0, size
        # Each trailing 1-bit of the index is a left sibling waiting on the stack to be closed.
        while idx & 1:
            h = sha(prefix + pop() + h).digest()
            level += 1
            idx >>= 1
            emit((level, idx, h))
        push(h)
        size += 1
    return completed, stack


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """Return the tree root from its frontier (compact range); ``EMPTY_ROOT`` if empty."""
    return fold(frontier) if frontier else EMPTY_ROOT


class RootStream:
    """Incremental tree root over leaf hashes fed one at a time, in O(log n) memory.

    Used to check signed tree heads over millions of leaves in a single pass.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        """Start with the empty tree."""
        self._size = 0
        self._stack: list[bytes] = []  # the frontier, largest subtree first

    @property
    def size(self) -> int:
        """Number of leaves pushed so far."""
        return self._size

    def push(self, leaf_hash: bytes) -> None:
        """Append one leaf hash."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
        stack, h, i = self._stack, leaf_hash, self._size
        while i & 1:  # each trailing 1-bit closes a waiting left sibling
            h = _sha256(_NODE_PREFIX + stack.pop() + h).digest()
            i >>= 1
        stack.append(h)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes; faster than repeated ``push`` (locals bound once)."""
        stack, n = self._stack, self._size
        push, pop, sha, prefix = stack.append, stack.pop, _sha256, _NODE_PREFIX
        try:
            for h in leaf_hashes:
                if len(h) != HASH_SIZE:
                    raise ValueError(f"leaf hash at index {n} is {len(h)} bytes, expected {HASH_SIZE}")
                i = n
                while i & 1:
                    h = sha(prefix + pop() + h).digest()
                    i >>= 1
                push(h)
                n += 1
        finally:
            # Keep size in step with the stack even if the iterable or a length check raises.
            self._size = n

    def frontier(self) -> list[bytes]:
        """Hashes of ``range_nodes(0, size)``, as taken by ``append_leaves``."""
        return list(self._stack)

    def root(self) -> bytes:
        """Root of the tree of all leaves pushed so far."""
        return frontier_root(self._stack)
