"""The credit file's tamper-evident log: append records, sign tree heads, prove inclusion and consistency.

Storage keeps every completed perfect subtree (`merkle_nodes`), so a proof for any signed tree size needs a
few point lookups, never a scan of all leaves. Appends run inside the ingestion transaction that accepted
the events, so a record and the event behind it land together or not at all.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from chengxin.adapters import crypto
from chengxin.adapters.db import bulk
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import require_durable
from chengxin.domain import merkle
from chengxin.domain.credit import CreditRecord, LogEntry, join_leaf, log_entry
from chengxin.exc import ConfigError, IntegrityFailure, InvalidInput, NotFound
from chengxin.services import key_chain


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head (checkpoint)."""

    size: int
    root: bytes
    signed_at: str
    key_id: str
    signature: bytes

    def as_dict(self, origin: str) -> dict[str, Any]:
        return {
            "origin": origin, "size": self.size, "root": base64.b64encode(self.root).decode(),
            "signed_at": self.signed_at, "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
            "note": crypto.checkpoint_note(origin, self.size, self.root, self.signed_at).decode(),
        }


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(conn: Connection, keys: crypto.Keys, origin: str,
           records: Sequence[tuple[CreditRecord, str]], *, handing_over_from: str | None = None) -> TreeHead | None:
    """Append (record, event_hash) pairs, store the new perfect nodes, sign the new head.

    Must run in a write transaction (the caller holds the log lock). `handing_over_from`: only for a key
    rotation's own record (`key_rotation.py`), the key that signed the newest head, which `keys` takes over from."""
    return append_entries(conn, keys, origin, [log_entry(r, h) for r, h in records],
                          handing_over_from=handing_over_from)


def append_entries(conn: Connection, keys: crypto.Keys, origin: str, entries: Sequence[LogEntry], *,
                   handing_over_from: str | None = None) -> TreeHead | None:
    """`append` of records already turned into `log_entry`s (a bulk load's, built in its second process)."""
    if not entries:
        return None
    require_durable(conn)  # a record, once under a signed head, must never roll back
    size, frontier, signer, last_signed = _frontier(conn)
    if signer is not None and signer != (handing_over_from or keys.key_id):
        key_chain.refuse_retired(conn, keys)  # a key the log was handed on from: say so
        raise other_key(size, signer, keys)
    rows, leaves = [], []
    leaf_hash = merkle.leaf_hash
    for idx, (before, after, stored) in enumerate(entries, size):
        leaf = leaf_hash(join_leaf(idx, before, after))
        leaves.append(leaf)
        rows.append((idx, *stored, leaf))
    nodes, new_frontier = merkle.append_leaves(size, frontier, leaves)
    bulk.insert_tuples(conn, "credit_records", rows)
    bulk.executemany(conn, bulk.insert_sql("merkle_nodes", conn.dialect.name)[0], nodes)
    new_size = size + len(entries)
    conn.execute(update(t.log_state).where(t.log_state.c.id == 1).values(size=new_size))
    head = sign_head(keys, origin, new_size, merkle.frontier_root(new_frontier), after=last_signed)
    bulk.insert_rows(conn, "tree_heads", [{"size": head.size, "root": head.root, "signed_at": head.signed_at,
                                           "key_id": head.key_id, "signature": head.signature}])
    _FRONTIERS[str(conn.engine.url)] = (new_size, head.root, new_frontier)
    return head


assert bulk.columns("credit_records")[1:-1] == (  # what a log_entry stores, between idx and leaf_hash
    "kind", "subject_kind", "subject_source", "subject_id", "event_source", "event_id", "event_hash", "at", "payload")


# The last frontier this process appended to, per store: the next append reuses it instead of reading
# ~log2(n) nodes, but only after checking that the stored head of that size has the same root (another
# process may have appended, or the transaction that made it may have rolled back).
_FRONTIERS: dict[str, tuple[int, bytes, list[bytes]]] = {}


def _frontier(conn: Connection) -> tuple[int, list[bytes], str | None, str | None]:
    """The log's size, its frontier, and the key that signed its newest head and when (None: no head yet).

    The frontier is checked against the newest signed head before anything is signed over it: a stored node
    replaced, or the newest head or log size edited, would otherwise have the next append sign a head that
    is not consistent with the last one (a fork signed by the log's own key, blamed on the new record)."""
    size = conn.execute(select(t.log_state.c.size).where(t.log_state.c.id == 1)).scalar_one()
    th = t.tree_heads.c
    head = conn.execute(select(th.size, th.root, th.key_id, th.signed_at).order_by(th.size.desc()).limit(1)).first()
    if (head.size if head is not None else 0) != size:
        raise IntegrityFailure(f"the credit log's size is {size} but its newest signed tree head is of size "
                               f"{head.size if head is not None else 'none'}: nothing is appended or signed "
                               "until `chengxin audit verify` has found what was changed")
    signer, last_signed = (head.key_id, head.signed_at) if head is not None else (None, None)
    cached = _FRONTIERS.get(str(conn.engine.url))
    if cached is not None and cached[0] == size and head is not None and head.root == cached[1]:
        return size, list(cached[2]), signer, last_signed
    found = _lookup(conn, merkle.range_nodes(0, size))
    frontier = [found[n] for n in merkle.range_nodes(0, size)]
    if head is not None and (not all(isinstance(h, bytes) and len(h) == merkle.HASH_SIZE for h in frontier)
                             or merkle.frontier_root(frontier) != head.root):
        raise IntegrityFailure(f"the stored Merkle nodes of the credit log's {size} records do not give the root "
                               f"of its newest signed tree head: nothing is appended or signed until "
                               "`chengxin audit verify` has found what was changed")
    return size, frontier, signer, last_signed


# How far the newest head's time may lie ahead of this clock: within it, a new head takes that time instead of
# its own (heads are signed in order, and `audit verify` requires their times to follow it); beyond it, the
# clock is wrong (or the newest head is) and nothing is signed.
CLOCK_SKEW = timedelta(minutes=5)


def other_key(size: int, signer: str, keys: crypto.Keys) -> ConfigError:
    """The error of a node whose signing key did not sign the log's newest head: it must neither sign nor serve."""
    return ConfigError(f"the credit log's newest tree head (size {size}) was signed by key {signer}, and this node's "
                       f"signing key is {keys.key_id}: heads under two keys would fail every audit, and the log's "
                       "heads would be served with a key that did not sign them. Use the log's own key "
                       "(CHENGXIN_SIGNING_KEY, or the demo key file it was made with: CHENGXIN_KEYS_FILE); to change "
                       "keys, run `chengxin log rotate-key` with the log's own key (docs/credit-log.md, 'Rotating "
                       "the signing key')")


def require_own_key(conn: Connection, keys: crypto.Keys, origin: str) -> None:
    """Refuse (ConfigError) a node whose signing key is not the one that signed the log's newest head: what a
    server checks before it starts, and `audit verify` before it audits, as an append does before it signs. A
    head whose `key_id` names another key but whose signature verifies with this one was edited instead: that
    is the audit's to name, not a setting. A key the log was handed on from by a rotation is refused as retired
    (`key_chain.refuse_retired`), even before the new key has signed anything but the hand-over."""
    if key_chain.refuse_retired(conn, keys):
        return  # the chain's newest key: a newest head naming another is tampering, the audit's to name
    head = latest_head(conn)
    if head is None or head.key_id == keys.key_id:
        return
    if isinstance(head.root, bytes) and isinstance(head.signed_at, str) and isinstance(head.signature, bytes) and \
            crypto.verify_signature(keys.verify_key, head.signature,
                                    crypto.checkpoint_note(origin, head.size, head.root, head.signed_at)):
        return
    raise other_key(head.size, str(head.key_id), keys)


def sign_head(keys: crypto.Keys, origin: str, size: int, root: bytes, after: str | None = None) -> TreeHead:
    """Sign the head of `size` and `root` now, or at `after` (the newest head's time) if this clock is behind."""
    signed_at = now_utc()
    if isinstance(after, str) and after > signed_at:
        if after > (datetime.now(UTC) + CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%S.%fZ"):
            raise ConfigError(f"the credit log's newest tree head was signed at {after}, more than "
                              f"{CLOCK_SKEW.seconds // 60} minutes after this clock ({signed_at}): set the clock "
                              "right (heads are signed in order of time)")
        signed_at = after
    note = crypto.checkpoint_note(origin, size, root, signed_at)
    return TreeHead(size, root, signed_at, keys.key_id, crypto.sign(keys, note))


def _lookup(conn: Connection, nodes: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    found: dict[merkle.Node, bytes] = {}
    wanted = list(dict.fromkeys(nodes))
    n = t.merkle_nodes.c
    for i in range(0, len(wanted), 200):  # OR of primary-key equalities: one query, index used on both
        pairs = [and_(n.level == level, n.idx == idx) for level, idx in wanted[i:i + 200]]
        found.update({(lv, ix): h for lv, ix, h in conn.execute(select(n.level, n.idx, n.hash).where(or_(*pairs)))})
    missing = [n for n in wanted if n not in found]
    if missing:
        raise IntegrityFailure(f"merkle node {missing[0]} missing from storage; run `chengxin audit verify`")
    return found


_LATEST = select(t.tree_heads).order_by(t.tree_heads.c.size.desc()).limit(1)


def latest_head(conn: Connection) -> TreeHead | None:
    """The newest signed tree head (None for an empty log)."""
    row = conn.execute(_LATEST).first()
    return _head(row) if row else None


def head_at(conn: Connection, size: int) -> TreeHead:
    row = conn.execute(select(t.tree_heads).where(t.tree_heads.c.size == size)).first()
    if row is None:
        raise NotFound(f"no signed tree head of size {size}")
    return _head(row)


def heads(conn: Connection, *, before: int | None = None, limit: int = 100) -> tuple[list[TreeHead], int | None]:
    """The signed tree heads, newest first, `limit` of them below size `before` (all when None), and the
    `before` of the next, older page (None on the last). An auditor joining late picks a past head here to
    prove consistency from: only the newest was served, and a consistency proof needs a stored head's size
    (found by review)."""
    th = t.tree_heads.c
    q = select(t.tree_heads).order_by(th.size.desc()).limit(limit + 1)
    rows = list(conn.execute(q.where(th.size < before) if before is not None else q))
    found = [_head(r) for r in rows[:limit]]
    return found, found[-1].size if len(rows) > limit else None


def _head(row: Any) -> TreeHead:
    return TreeHead(row.size, row.root, row.signed_at, row.key_id, row.signature)


def inclusion(conn: Connection, keys: crypto.Keys, index: int, size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of record `index` in the signed tree of `size` (default: the latest), checked
    against the signed root before it is handed out."""
    head = latest_head(conn) if size is None else head_at(conn, size)
    if head is None or not 0 <= index < head.size:
        raise NotFound(f"record {index} is not in the signed log")
    plan = merkle.inclusion_proof_plan(index, head.size)
    proof = merkle.proof_from_plan(plan, _lookup(conn, [n for step in plan for n in step]))
    leaf = _lookup(conn, [(0, index)])[(0, index)]
    try:
        merkle.verify_inclusion(leaf, index, head.size, proof, head.root)
    except merkle.ProofError as e:
        raise IntegrityFailure(f"stored nodes do not prove record {index}: {e}") from None
    return {"index": index, "tree_size": head.size, "leaf_hash": _b64(leaf),
            "proof": [_b64(p) for p in proof], "root": _b64(head.root)}


def consistency(conn: Connection, size1: int, size2: int, origin: str | None = None) -> dict[str, Any]:
    """Consistency proof between two signed tree heads; with the log's `origin`, both heads too, signed, as
    `GET /v1/log/head` serves one (`first_head`, `second_head`): the bare roots could be checked against
    nothing the node had signed (found by review)."""
    if not 0 < size1 <= size2:
        raise InvalidInput("need 0 < first <= second")
    h1, h2 = head_at(conn, size1), head_at(conn, size2)
    plan = merkle.consistency_proof_plan(size1, size2) if size1 < size2 else []
    proof = merkle.proof_from_plan(plan, _lookup(conn, [n for step in plan for n in step]))
    try:
        merkle.verify_consistency(size1, size2, h1.root, h2.root, proof)
    except merkle.ProofError as e:
        raise IntegrityFailure(f"signed heads {size1} and {size2} are not consistent: {e}") from None
    heads = {"first_head": h1.as_dict(origin), "second_head": h2.as_dict(origin)} if origin is not None else {}
    return {"first": size1, "second": size2, "first_root": _b64(h1.root), "second_root": _b64(h2.root),
            "proof": [_b64(p) for p in proof], **heads}


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()
