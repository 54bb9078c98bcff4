"""`chengxin audit verify`: recompute the credit log from storage and name the first bad record.

Checks, in one streaming pass over the records:
1. indices run 0, 1, 2, ... with no gap (a deleted record leaves one);
2. each record's columns re-encode to its stored leaf hash (an edited or moved record does not, nor does one
   whose payload is not JSON or whose leaf hash is not 32 bytes: tampering is reported, never a traceback);
3. every signed tree head names the key in force at its size and has a valid signature with it, the key
   chain holds from its first key (`key_chain_audit.py`), and each head's root is the root of the leaves up to its size
   (an altered record's leaf taken as stored, as recomputed or as its level-0 node: a record rewritten
   together with its leaf hash breaks all three);
4. no record lies beyond the newest signed head (one inserted at the end), and the log size agrees;
5. every stored Merkle node equals the one recomputed from the leaves, none is missing and no other is
   stored (proofs are served from them);
6. signed heads' times never go backwards as their sizes grow;
7. each dishonesty record's stored state is the one its logged moves say (`audit_states.py`);
8. each checkpoint an auditor saved earlier (a signed head as `GET /v1/log/head` serves it) still holds: the
   log is at least that long, gives the same root at that size, and still stores that head.

A log truncated cleanly at a signed head (records, heads and nodes deleted, the log size lowered), a deleted
intermediate head, or a log rewritten by someone holding the signing key verifies on its own: only a
checkpoint kept outside the node shows it.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from chengxin.adapters import crypto
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import key_chain as kc
from chengxin.domain import merkle
from chengxin.domain.credit import CreditRecord, leaf_bytes
from chengxin.exc import InvalidInput
from chengxin.services import credit_log, key_chain
from chengxin.services.audit_states import RecordStates
from chengxin.services.key_chain_audit import ChainAudit

HASH = merkle.HASH_SIZE


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
        if self.first_bad is None or _earlier(index, self.first_bad["index"]):
            self.first_bad = {"index": index, "problem": problem, "detail": detail}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "tree_heads": self.tree_heads, "nodes": self.nodes,
                "first_bad": self.first_bad, "problems": self.problems[:20]}


def _earlier(index: int | None, than: int | None) -> bool:
    """A problem that names no record ranks after every one that does."""
    return index is not None and (than is None or index < than)


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head an auditor saved earlier, outside the node: the stored log must still extend it."""

    name: str
    size: int
    root: bytes


def load_checkpoint(app: Chengxin, path: Path) -> Checkpoint:
    """Read a head saved from `GET /v1/log/head`. A file that is not one of this log's heads is the caller's
    mistake (InvalidInput), not a finding about the log."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidInput(f"{path}: not JSON ({e})") from None
    return checkpoint(app, doc, str(path))


def checkpoint(app: Chengxin, doc: Any, name: str) -> Checkpoint:
    """Check a saved head (JSON as `GET /v1/log/head` serves it) is this log's, signed by the key of this log's
    chain in force at its size (one saved before a rotation verifies with the key of then)."""
    if isinstance(doc, dict) and doc.get("size") == 0 and type(doc["size"]) is int:
        return Checkpoint(name, 0, merkle.EMPTY_ROOT)  # the empty log's head: unsigned, and every log extends it
    origin, size, root, signed_at, signature = _saved_head(doc, name)
    if origin != app.settings.log_origin:
        raise InvalidInput(f"{name}: a head of the log {origin!r}, not of {app.settings.log_origin!r}")
    note = crypto.checkpoint_note(origin, size, root, signed_at)
    with read_connection(app.engine) as conn:
        due = kc.in_force(key_chain.chain(conn, app.keys), size)
    if not key_chain.verify(due.public_key, signature, note):
        raise InvalidInput(f"{name}: its signature does not verify with this log's key {due.key_id}, in force at "
                           f"size {size} (it names key {doc.get('key_id')!r})")
    return Checkpoint(name, size, root)


def _saved_head(doc: Any, name: str) -> tuple[str, int, bytes, str, bytes]:
    try:
        origin, size, signed_at = doc["origin"], doc["size"], doc["signed_at"]
        root = base64.b64decode(doc["root"], validate=True)
        signature = base64.b64decode(doc["signature"], validate=True)
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidInput(f"{name}: not a signed tree head as GET /v1/log/head serves it ({e!r})") from None
    if not (isinstance(origin, str) and isinstance(signed_at, str) and type(size) is int and size > 0
            and len(root) == HASH):
        raise InvalidInput(f"{name}: not a signed tree head (origin, size, root or signed_at malformed)")
    return origin, size, root, signed_at, signature


def verify(app: Chengxin, checkpoints: Sequence[Checkpoint] = ()) -> AuditReport:
    """Audit the whole log (read-only), holding it to the auditor's saved `checkpoints` too."""
    report = AuditReport()
    with read_connection(app.engine) as conn:
        credit_log.require_own_key(conn, app.keys, app.settings.log_origin)  # another key: a setting, not a record
        chain = ChainAudit(conn, app.keys, app.settings.log_origin, report)
        heads = _heads(conn, report)
        walk = _Walk(conn, report, heads, _check_signatures(app, chain, heads, report), checkpoints)
        states = RecordStates()
        for row in _stream_records(conn):
            walk.record(row)
            states.see(row)
            chain.see(row)
        walk.finish(heads)
        states.finish(conn, report)
        chain.finish(heads)
        _check_size(conn, heads, report)
        walk.nodes.finish(report, complete=not walk.gap)
    return report


def _heads(conn: Connection, report: AuditReport) -> list[Any]:
    """The stored heads in size order; one whose size is not a positive integer (SQLite keeps any type) can
    cover no record and is reported."""
    rows = list(conn.execute(select(t.tree_heads).order_by(t.tree_heads.c.size)))
    report.tree_heads = len(rows)
    for h in rows:
        if not _sized(h):
            report.fail(None, "bad_signature", f"tree head of size {h.size!r}: not a size")
    return [h for h in rows if _sized(h)]


def _sized(head: Any) -> bool:
    return type(head.size) is int and head.size > 0


def _check_signatures(app: Chengxin, chain: ChainAudit, heads: list[Any], report: AuditReport) -> list[Any]:
    """The heads that name the key in force at their size and whose signature verifies with it; only their
    roots may convict a record."""
    good = []
    for h in heads:
        key = chain.key_for(h.size, h.key_id)  # another key than the one in force: named there
        if key is None:
            continue
        if _signed(app, h, key):
            good.append(h)
        else:
            report.fail(h.size - 1, "bad_signature", f"tree head of size {h.size} is not signed by key {h.key_id}, "
                                                     "the log's key at that size")
    _check_times(good, report)
    return good


def _check_times(good: list[Any], report: AuditReport) -> None:
    """Heads are signed in order of size, each after the one before: a head signed earlier than a smaller one
    was signed again later (a rewrite by the key's holder) or under a clock set back."""
    for before, h in itertools.pairwise(good):
        if not (isinstance(h.signed_at, str) and isinstance(before.signed_at, str)):
            continue  # a signature covers the time: one that verified over a non-text is not possible
        if h.signed_at < before.signed_at:
            report.fail(h.size - 1, "time", f"tree head of size {h.size} was signed at {h.signed_at}, before the "
                        f"head of size {before.size} ({before.signed_at}): heads are signed in order")


def _signed(app: Chengxin, h: Any, key: bytes) -> bool:
    if not (_is_hash(h.root) and isinstance(h.signature, bytes) and isinstance(h.signed_at, str)):
        return False  # a column no append writes: no signature covers it
    note = crypto.checkpoint_note(app.settings.log_origin, h.size, h.root, h.signed_at)
    return key_chain.verify(key, h.signature, note)


def _is_hash(value: Any) -> bool:
    return isinstance(value, bytes) and len(value) == HASH


def _stream_records(conn: Connection) -> Iterator[Any]:
    q = select(t.credit_records).order_by(t.credit_records.c.idx)
    yield from conn.execute(q.execution_options(stream_results=True, yield_per=20_000))


class _Roots:
    """Roots of the leaves so far, as stored and, from the first altered record on, with each altered record's
    leaf as recomputed from its columns and as its level-0 node (stored at append, apart from the row). A
    signed root that one of them gives is explained by the records already named `altered` (an edited row, an
    edited leaf hash, rows swapped with their leaf hashes). Only altered records' leaves differ between them, so
    a record rewritten together with its leaf hash breaks every one, and an altered decoy elsewhere in the range
    cannot excuse it."""

    def __init__(self) -> None:
        self.streams = [merkle.RootStream()]

    @property
    def size(self) -> int:
        return self.streams[0].size

    def push(self, leaves: tuple[bytes, ...]) -> None:
        """`leaves`: the one leaf hash of a sound record, or an altered one's candidates."""
        if len(leaves) > len(self.streams):  # the same leaves so far: fork here, not from 0
            self.streams += [copy.deepcopy(self.streams[0]) for _ in leaves[len(self.streams):]]
        for i, stream in enumerate(self.streams):
            stream.push(leaves[min(i, len(leaves) - 1)])

    def give(self, root: bytes) -> bool:
        return any(root == stream.root() for stream in self.streams)


class _Walk:
    """The one streaming pass over the records, in index order: leaves, roots at every signed head and
    checkpoint, and the leaves fed to the node check."""

    def __init__(self, conn: Connection, report: AuditReport, heads: list[Any], good: list[Any],
                 checkpoints: Sequence[Checkpoint]) -> None:
        self.conn, self.report, self.checkpoints = conn, report, [c for c in checkpoints if c.size]
        self.signed = heads[-1].size if heads else 0
        # (size, root, checkpoint or None for a stored head): checked when the roots reach that size
        self.targets = sorted([(h.size, 0, h.root, None) for h in good] +
                              [(c.size, 1, c.root, c) for c in self.checkpoints], key=lambda x: x[:2])
        self.roots, self.nodes = _Roots(), _Nodes(conn)
        self.count, self.gap, self.broken = 0, False, False
        self.rewritten: tuple[int, int] | None = None  # (first record, size) of the range a signed root convicts
        self.altered: set[int] = set()  # records already named altered: their nodes' faults are theirs
        self.start = 0  # the first record not yet under a signed root that matched
        self.trusted = 0  # the largest checkpoint matched so far

    def record(self, row: Any) -> None:
        if not self.gap and row.idx != self.count:
            self.report.fail(self.count, "missing", f"record {self.count} is missing (next stored index is "
                                                    f"{row.idx})")
            self.gap = True  # every later root and node needs the missing leaf: they are not checked
        self.count += 1
        if self.gap or row.idx >= self.signed:
            return  # beyond the newest signed head: reported by _check_size as inserted
        leaves = _leaves(self.conn, row, self.report)
        if len(leaves) > 1 and len(self.altered) < _Nodes.KEEP:
            self.altered.add(row.idx)
        self.roots.push(leaves)
        self.nodes.push(leaves[0])
        while self.targets and self.targets[0][0] == self.roots.size:
            size, _, root, saved = self.targets.pop(0)
            self._check_root(size, root, saved)

    def _check_root(self, size: int, root: bytes, saved: Checkpoint | None) -> None:
        if self.broken:
            return  # every later root covers the rewritten range: its mismatch says nothing new
        if self.roots.give(root):
            if saved:
                self.trusted = size
            else:
                self.start = size
        elif saved is None:  # named in `finish`, once the nodes under the range have been compared
            self.broken, self.rewritten = True, (self.start, size)
        else:  # the stored heads agree with the records: they were signed again
            self.report.fail(self.trusted, "inconsistent", f"records {self.trusted}..{size - 1} do not give the "
                             f"root of checkpoint {saved.name} (size {size}): the log was rewritten and its "
                             f"heads signed again since it was saved")

    def finish(self, heads: list[Any]) -> None:
        self.report.records = self.count
        self._name_rewritten()
        if self.gap:
            return  # the missing record is the first bad one; nothing after it could be checked
        if self.count < self.signed:
            size = next(h.size for h in heads if h.size > self.count)
            self.report.fail(self.count, "missing", f"signed tree head of size {size} but only {self.count} "
                                                    f"records")
        self._check_checkpoints({h.size for h in heads})

    def _name_rewritten(self) -> None:
        """Name the rewritten record: the signed root convicts only a range (all the records since the last
        head that matched, with sparse heads a whole ingest batch), but the nodes stored at append still hold
        the old leaf. The first record under a bad node with no bad node below it, in the range and not already
        named altered, is the one rewritten (its level-0 node is not its leaf); else the range's first."""
        if self.rewritten is None:
            return
        start, size = self.rewritten
        range_ = f"records {start}..{size - 1} do not give the root signed at size {size}"
        foot = self.nodes.first_foot(start, size, self.altered)
        if foot is None:
            self.report.fail(start, "rewritten", f"{range_}: at least one of them was rewritten with its leaf hash")
            return
        level, idx = foot
        first, last = max(idx << level, start), min((idx + 1) << level, size) - 1
        if level == 0:
            what = (f"record {first} was rewritten with its leaf hash (or inserted): its level-0 node, stored "
                    f"when it was appended, is {'not its leaf' if self.nodes.bad[foot] else 'missing'}")
        else:
            what = (f"one of records {first}..{last} was rewritten with its leaf hash: stored node ({level}, {idx})"
                    " is not the one they give")
        self.report.fail(first, "rewritten", f"{what}, and {range_}")

    def _check_checkpoints(self, stored: set[int]) -> None:
        for c in self.checkpoints:
            if c.size > self.roots.size:
                self.report.fail(self.roots.size, "truncated", f"checkpoint {c.name} signed {c.size} records; "
                                 f"the log now holds {self.count}, the newest signed head {self.signed}")
            elif c.size not in stored:  # the API proves only from stored heads: its holder is left without
                self.report.fail(c.size - 1, "missing_head", f"the signed tree head of size {c.size} "
                                 f"(checkpoint {c.name}) is no longer stored: it was deleted")


def _leaves(conn: Connection, row: Any, report: AuditReport) -> tuple[bytes, ...]:
    """The record's leaf hash; for an altered one (reported) its candidates: as stored, as recomputed from its
    columns, and its level-0 node, with a stand-in for one that cannot be had (so the pass goes on)."""
    stored = row.leaf_hash if _is_hash(row.leaf_hash) else None
    recomputed, why = _recompute(row)
    if stored is not None and stored == recomputed:
        return (stored,)
    if why is None:
        why = ("does not match its leaf hash (edited or moved)" if stored is not None else
               f"has a stored leaf hash of {_describe(row.leaf_hash)}, not {HASH} bytes")
    report.fail(row.idx, "altered", f"record {row.idx} {why}")
    node = _leaf_node(conn, row.idx)
    stand_in = stored or recomputed or node or bytes(HASH)
    return stored or stand_in, recomputed or stand_in, node or stand_in


def _recompute(row: Any) -> tuple[bytes | None, str | None]:
    """The leaf hash from the record's columns, or why there is none (columns no append could have written:
    SQLite keeps a value of any type)."""
    try:
        record = _record(row)
    except ValueError as e:
        return None, f"has a payload that is not JSON ({e})"
    try:
        return merkle.leaf_hash(leaf_bytes(row.idx, record, row.event_hash)), None
    except (TypeError, ValueError) as e:
        return None, f"has columns that do not encode as a leaf ({e})"


def _describe(value: Any) -> str:
    return f"{len(value)} bytes" if isinstance(value, bytes) else f"type {type(value).__name__}"


def _leaf_node(conn: Connection, idx: int) -> bytes | None:
    """The level-0 node stored at append: a witness of the leaf apart from the record's row."""
    n = t.merkle_nodes.c
    value = conn.execute(select(n.hash).where(n.level == 0, n.idx == idx)).scalar()
    return value if _is_hash(value) else None


def _record(row: Any) -> CreditRecord:
    return CreditRecord(row.kind, row.subject_kind, (row.subject_source, row.subject_id),
                        (row.event_source, row.event_id), row.at, orjson.loads(row.payload))


def _check_size(conn: Connection, heads: list[Any], report: AuditReport) -> None:
    size = conn.execute(select(t.log_state.c.size).where(t.log_state.c.id == 1)).scalar()
    signed = heads[-1].size if heads else 0
    if report.records > signed:
        report.fail(signed, "inserted", f"records {signed}..{report.records - 1} lie beyond the newest signed head")
    if size != report.records and report.first_bad is None:
        at = min(size, report.records) if type(size) is int and size >= 0 else report.records
        report.fail(at, "size", f"log size says {size}, storage has {report.records}")


class _Nodes:
    """Every stored Merkle node compared with the one recomputed from the leaves as they stream past, a chunk
    at a time: proofs are served from stored nodes, so a wrong, missing or extra one must be named (a count
    let a junk node stand in for a real one)."""

    CHUNK = 16_384
    KEEP = 100_000  # bad nodes kept to find where the tampering is; beyond, only counted

    def __init__(self, conn: Connection) -> None:
        self.conn, self.size = conn, 0
        self.frontier: list[bytes] = []
        self.leaves: list[bytes] = []
        self.bad: dict[merkle.Node, bool] = {}  # (level, idx) -> stored at all
        self.bad_count = 0

    def push(self, leaf: bytes) -> None:
        self.leaves.append(leaf)
        if len(self.leaves) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self.leaves:
            return
        computed, self.frontier = merkle.append_leaves(self.size, self.frontier, self.leaves)
        self.size, self.leaves = self.size + len(self.leaves), []
        stored = _stored_nodes(self.conn, computed)
        for level, idx, h in computed:
            if stored.get((level, idx)) != h:
                self.bad_count += 1
                if len(self.bad) < self.KEEP:
                    self.bad[level, idx] = (level, idx) in stored

    def first_foot(self, start: int, size: int, skip: set[int]) -> merkle.Node | None:
        """After every leaf is pushed: the earliest bad node over records start..size-1 with no bad node below
        it, leaving out the level-0 nodes of the records in `skip`."""
        self._flush()
        feet = [(lv, ix) for lv, ix in _feet(self.bad) if not (lv == 0 and ix in skip)
                and ix << lv < size and (ix + 1) << lv > start]
        return min(feet, key=lambda n: (n[1] << n[0], n[0]), default=None)

    def finish(self, report: AuditReport, complete: bool) -> None:
        """Report the first bad node and, when every leaf was checked, the first stored node beyond them."""
        self._flush()
        if self.bad:
            level, idx = _first_bad_node(self.bad)
            what = "is not the node recomputed from the records" if self.bad[level, idx] else "is missing"
            report.fail(idx << level, "node", f"stored node ({level}, {idx}) {what} ({self.bad_count} nodes fail)")
        if complete:
            _check_extra_nodes(self.conn, self.size, report)
        report.nodes = self.conn.execute(select(func.count()).select_from(t.merkle_nodes)).scalar_one()


def _first_bad_node(bad: dict[merkle.Node, bool]) -> merkle.Node:
    """The earliest bad node with no bad node below it: a node recomputed from a rewritten leaf differs up
    the whole path the rewrite left unchanged, and the tampering is at the path's foot."""
    return min(_feet(bad), key=lambda n: (n[1] << n[0], n[0]))


def _feet(bad: dict[merkle.Node, bool]) -> list[merkle.Node]:
    """The bad nodes with no bad node below them."""
    above = set()
    for level, idx in bad:
        while level < 64 and (level + 1, idx >> 1) not in above:
            level, idx = level + 1, idx >> 1
            above.add((level, idx))
    return [n for n in bad if n not in above]


def _stored_nodes(conn: Connection, computed: list[tuple[int, int, bytes]]) -> dict[merkle.Node, Any]:
    """The stored nodes at the places of `computed`: on each level they are one run of indices."""
    spans: dict[int, tuple[int, int]] = {}
    for level, idx, _ in computed:
        spans[level] = (spans.get(level, (idx, idx))[0], idx)
    n = t.merkle_nodes.c
    found: dict[merkle.Node, Any] = {}
    for level, (lo, hi) in spans.items():
        q = select(n.level, n.idx, n.hash).where(n.level == level, n.idx.between(lo, hi))
        found.update({(lv, ix): h for lv, ix, h in conn.execute(q)})
    return found


def _check_extra_nodes(conn: Connection, size: int, report: AuditReport) -> None:
    """No node may be stored beyond those `size` leaves complete: on level L, indices 0 .. (size >> L) - 1."""
    n = t.merkle_nodes.c
    for level, lo, hi in conn.execute(select(n.level, func.min(n.idx), func.max(n.idx)).group_by(n.level)):
        width = size >> level if type(level) is int and level >= 0 else 0
        if type(lo) is int and type(hi) is int and 0 <= lo <= hi < width:
            continue
        extra = lo if not (type(lo) is int and 0 <= lo < width) else conn.execute(
            select(func.min(n.idx)).where(n.level == level, n.idx >= width)).scalar()
        report.fail(size, "node", f"stored node ({level}, {extra}) lies beyond the {size} leaves of the log")
        return
