"""`chengxin audit verify`: recompute the credit log from storage and name the first bad record.

Checks, in one streaming pass over the records plus one over the stored nodes:
1. indices run 0, 1, 2, ... with no gap (a deleted record leaves one);
2. each record's columns re-encode to its stored leaf hash (an edited or moved record does not);
3. every signed tree head has a valid signature and its root is the root of the stored leaves up to its
   size (a record rewritten together with its leaf hash breaks this);
4. no record lies beyond the newest signed head (one inserted at the end), and the log size agrees;
5. every stored interior node is the hash of its children (proofs are built from them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, select
from sqlalchemy.orm import aliased

from chengxin.adapters import crypto
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import merkle
from chengxin.domain.credit import CreditRecord, leaf_bytes


@dataclass
class AuditReport:
    """Outcome of a full audit; `first_bad` names the earliest bad record (None when all is well)."""

    ok: bool = True
    records: int = 0
    tree_heads: int = 0
    nodes: int = 0
    first_bad: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, index: int | None, problem: str, detail: str) -> None:
        self.ok = False
        self.problems.append(detail)
        if self.first_bad is None or (index is not None and index < self.first_bad.get("index", 1 << 62)):
            self.first_bad = {"index": index, "problem": problem, "detail": detail}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "tree_heads": self.tree_heads, "nodes": self.nodes,
                "first_bad": self.first_bad, "problems": self.problems[:20]}


def verify(app: Chengxin) -> AuditReport:
    """Audit the whole log (read-only)."""
    report = AuditReport()
    with read_connection(app.engine) as conn:
        heads = list(conn.execute(select(t.tree_heads).order_by(t.tree_heads.c.size)))
        report.tree_heads = len(heads)
        _check_signatures(app, heads, report)
        _check_records(conn, heads, report)
        _check_size(conn, heads, report)
        _check_nodes(conn, report)
    return report


def _check_signatures(app: Chengxin, heads: list[Any], report: AuditReport) -> None:
    for h in heads:
        note = crypto.checkpoint_note(app.settings.log_origin, h.size, h.root, h.signed_at)
        if h.key_id != app.keys.key_id or not crypto.verify_signature(app.keys.verify_key, h.signature, note):
            report.fail(h.size - 1, "bad_signature", f"tree head of size {h.size} is not signed by this log's key")


def _stream_records(conn: Connection) -> Iterator[Any]:
    q = select(t.credit_records).order_by(t.credit_records.c.idx)
    yield from conn.execution_options(stream_results=True, yield_per=20_000).execute(q)


def _check_records(conn: Connection, heads: list[Any], report: AuditReport) -> None:
    stream = merkle.RootStream()
    pending = list(heads)
    signed = heads[-1].size if heads else 0
    prev_head_size, expected, altered = 0, 0, []
    for row in _stream_records(conn):
        if row.idx != expected:
            report.fail(expected, "missing", f"record {expected} is missing (next stored index is {row.idx})")
            return
        expected += 1
        if row.idx >= signed:
            continue  # reported by _check_size as inserted beyond the newest signed head
        if merkle.leaf_hash(leaf_bytes(row.idx, _record(row), row.event_hash)) != row.leaf_hash:
            altered.append(row.idx)
            report.fail(row.idx, "altered", f"record {row.idx} does not match its leaf hash (edited or moved)")
        stream.push(row.leaf_hash)
        while pending and pending[0].size == stream.size:
            head = pending.pop(0)
            explained = any(prev_head_size <= i < head.size for i in altered)
            if stream.root() != head.root and not explained:
                report.fail(prev_head_size, "rewritten",
                            f"records {prev_head_size}..{head.size - 1} do not give the root signed at size "
                            f"{head.size}: at least one of them was rewritten with its leaf hash")
            prev_head_size = head.size
    report.records = expected
    if pending:
        report.fail(expected, "missing", f"signed tree head of size {pending[0].size} but only {expected} records")


def _record(row: Any) -> CreditRecord:
    return CreditRecord(row.kind, row.subject_kind, (row.subject_source, row.subject_id),
                        (row.event_source, row.event_id), row.at, orjson.loads(row.payload))


def _check_size(conn: Connection, heads: list[Any], report: AuditReport) -> None:
    size = conn.execute(select(t.log_state.c.size).where(t.log_state.c.id == 1)).scalar_one()
    signed = heads[-1].size if heads else 0
    if report.records > signed:
        report.fail(signed, "inserted", f"records {signed}..{report.records - 1} lie beyond the newest signed head")
    if size != report.records and report.first_bad is None:
        report.fail(min(size, report.records), "size", f"log size says {size}, storage has {report.records}")


def _check_nodes(conn: Connection, report: AuditReport) -> None:
    n = t.merkle_nodes
    leaves = conn.execute(select(n.c.idx).select_from(n.join(
        t.credit_records, and_(n.c.level == 0, n.c.idx == t.credit_records.c.idx)))
        .where(n.c.hash != t.credit_records.c.leaf_hash).order_by(n.c.idx).limit(1)).scalar()
    if leaves is not None:
        report.fail(leaves, "node", f"stored leaf node {leaves} differs from record {leaves}'s leaf hash")
    left, right = aliased(n), aliased(n)
    q = (select(n.c.level, n.c.idx, n.c.hash, left.c.hash, right.c.hash)
         .join(left, and_(left.c.level == n.c.level - 1, left.c.idx == n.c.idx * 2))
         .join(right, and_(right.c.level == n.c.level - 1, right.c.idx == n.c.idx * 2 + 1))
         .where(n.c.level > 0))
    bad = [(level, idx) for level, idx, h, lh, rh in
           conn.execution_options(stream_results=True, yield_per=20_000).execute(q)
           if hashlib.sha256(b"\x01" + lh + rh).digest() != h]
    if bad:  # a bad node also breaks its ancestors: the lowest one is where the tampering is
        level, idx = min(bad)
        report.fail(idx << level, "node", f"stored node ({level}, {idx}) is not the hash of its children "
                                          f"({len(bad)} nodes fail)")
    report.nodes = conn.execute(select(func.count()).select_from(n)).scalar_one()
    expected = _expected_nodes(report.records)
    if report.nodes != expected:
        report.fail(None, "node", f"{report.nodes} stored nodes, {expected} expected for {report.records} records")


def _expected_nodes(size: int) -> int:
    total, level = 0, 0
    while size >> level:
        total += size >> level
        level += 1
    return total
