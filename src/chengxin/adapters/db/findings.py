"""Detection findings in the store: the `findings` table and its repository functions.

A run of a detector writes its findings under one `run_id`; later runs add rows rather than replace them,
so earlier runs stay comparable. Subjects and evidence are JSON text in the `chengxin detect --json` shape
(portable between SQLite and PostgreSQL; findings are read whole, never queried by subject).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Column, Connection, Float, Index, Integer, Table, Text, func, select

from chengxin.adapters.db.query import pair_in
from chengxin.adapters.db.tables import T, metadata
from chengxin.domain.quality import CLASSES, Finding, parse_finding

findings = Table(
    "findings", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", T, nullable=False, index=True),
    Column("score", Float),
    Column("detector", T, nullable=False),
    Column("run_id", T, nullable=False),
    Column("created_at", T, nullable=False),
    Column("subjects", Text, nullable=False),
    Column("evidence", Text, nullable=False),
)
# a detector's newest run (`newest_full_run`, when the review queue is read) and a run's findings
Index("ix_findings_detector_created", findings.c.detector, findings.c.created_at)
Index("ix_findings_run", findings.c.run_id, findings.c.kind)


# Live detection (services/detect_live.py): shipments whose delivery arrived since the last drain, and what a
# full run learnt that the live reader needs (the empty-parcel detector's typical unit weights).
live_queue = Table(
    "live_queue", metadata,
    Column("shipment_source", T, primary_key=True),
    Column("shipment_id", T, primary_key=True),
    Column("marked_at", T, nullable=False),
)
live_price_queue = Table(   # products whose price points arrived: read for fake discounts (own history only)
    "live_price_queue", metadata,
    Column("product_source", T, primary_key=True),
    Column("product_id", T, primary_key=True),
    Column("marked_at", T, nullable=False),
)
detector_state = Table(
    "detector_state", metadata,
    Column("detector", T, primary_key=True),
    Column("run_id", T, nullable=False),
    Column("created_at", T, nullable=False),
    Column("state", Text, nullable=False),   # JSON
)


@dataclass(frozen=True, slots=True)
class StoredFinding:
    id: int
    detector: str
    run_id: str
    created_at: str
    finding: Finding


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def insert_findings(conn: Connection, found: Iterable[Finding], *, detector: str, run_id: str,
                    created_at: str | None = None) -> int:
    """Store one run's findings (in the caller's write transaction); returns how many."""
    at = created_at or now_utc()
    rows = [{"kind": f.kind, "score": f.score, "detector": detector, "run_id": run_id, "created_at": at,
             "subjects": orjson.dumps(f.subjects_dict()).decode(), "evidence": orjson.dumps(f.evidence).decode()}
            for f in found]
    if rows:
        conn.execute(findings.insert(), rows)
    return len(rows)


# Live detection's runs (services/detect_live.py) read a few new parcels or products each, without roll-ups:
# they are published as they come, and never stand for a detector's run (evaluating or publishing one read a
# handful of live findings instead of the full run: found by review).
LIVE_PREFIX = "live-"


def full_runs() -> Any:
    """The condition on `findings` that a row belongs to a full run, not a live one."""
    return findings.c.run_id.not_like(f"{LIVE_PREFIX}%")


def latest_runs(conn: Connection) -> list[tuple[str, str]]:
    """(detector, run_id) of each detector's newest full run (live runs are not runs of the detector)."""
    c = findings.c
    runs = conn.execute(select(c.detector, c.run_id, func.max(c.created_at)).where(full_runs())
                        .group_by(c.detector, c.run_id))
    newest: dict[str, tuple[str, str]] = {}
    for detector, run_id, at in runs:
        if (at, run_id) > newest.get(detector, ("", "")):
            newest[detector] = (at, run_id)
    return sorted((d, run_id) for d, (_, run_id) in newest.items())


def newest_full_run(conn: Connection, detector: str) -> tuple[str, str] | None:
    """(run_id, created_at) of the detector's newest full run (as `latest_runs` picks it); None before one."""
    c = findings.c
    row = conn.execute(select(c.run_id, c.created_at).where(c.detector == detector, full_runs())
                       .order_by(c.created_at.desc(), c.run_id.desc()).limit(1)).first()
    return (row.run_id, row.created_at) if row else None


def orders_named(conn: Connection, run_id: str, kind: str) -> frozenset[tuple[str, str]]:
    """Every order a run's findings of `kind` name (its per-order findings and roll-ups alike). A run's
    findings are written once, in one transaction: the set is kept for the newest few runs read, so that
    reading the review queue does not parse a whole run each time (found by review)."""
    key = (str(conn.engine.url), run_id, kind)
    if (named := _NAMED.get(key)) is None:
        c = findings.c
        found: set[tuple[str, str]] = set()
        for (subjects,) in conn.execute(select(c.subjects).where(c.run_id == run_id, c.kind == kind)):
            found.update((o["source"], o["id"]) for o in orjson.loads(subjects).get("orders", ()))
        named = _NAMED[key] = frozenset(found)
        while len(_NAMED) > 4:
            del _NAMED[next(iter(_NAMED))]
    return named


_NAMED: dict[tuple[str, str, str], frozenset[tuple[str, str]]] = {}


def read_findings(conn: Connection, *, run_id: str | None = None, kind: str | None = None) -> list[StoredFinding]:
    """Findings of one run, or by default of each detector's newest full run (a rerun supersedes, not adds),
    optionally of one kind; in insertion order."""
    c = findings.c
    q = select(findings).order_by(c.id)
    q = q.where(c.run_id == run_id) if run_id is not None else q.where(pair_in(c.detector, c.run_id,
                                                                              latest_runs(conn)))
    if kind is not None:
        q = q.where(c.kind == kind)
    return [_stored(row) for row in conn.execute(q)]


def finding_by_id(conn: Connection, finding_id: int | None) -> StoredFinding | None:
    row = conn.execute(select(findings).where(findings.c.id == finding_id)).first() if finding_id else None
    return _stored(row) if row is not None else None


def _stored(row: Any) -> StoredFinding:
    subjects = {cls: refs for cls, refs in orjson.loads(row.subjects).items() if cls in CLASSES}
    raw = {"kind": row.kind, "score": row.score, "evidence": orjson.loads(row.evidence), **subjects}
    return StoredFinding(row.id, row.detector, row.run_id, row.created_at, parse_finding(raw, f"findings row {row.id}"))
