"""Ingest events-v1 lines: validate, deduplicate, store raw, project state, append credit records.

One batch is one write transaction: it lands whole or not at all, so a process killed mid-batch leaves
nothing half-written, and re-sending the same lines afterwards is a no-op. Bad lines are reported with their
line number and reason and never stop the lines around them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Connection

from chengxin.adapters import crypto
from chengxin.adapters.db import bulk, store
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord, records_for
from chengxin.domain.events import Event, Rejected, canonical, parse_line
from chengxin.domain.projection import Fact, project
from chengxin.services import credit_log
from chengxin.services.identity import protect_body, protect_subject

Line = tuple[str, int, bytes]  # (file or request name, line number from 1, raw bytes)


@dataclass
class IngestReport:
    """What happened to every line; `as_dict()` is the `--json` / API answer."""

    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    conflict_details: list[dict[str, Any]] = field(default_factory=list)
    tree_size: int | None = None

    def add(self, other: IngestReport) -> None:
        for name in ("accepted", "duplicates", "conflicts", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejects.extend(other.rejects)
        self.conflict_details.extend(other.conflict_details)
        self.tree_size = other.tree_size or self.tree_size

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "conflicts": self.conflicts,
                "rejected": self.rejected, "rejects": self.rejects, "conflict_details": self.conflict_details,
                "tree_size": self.tree_size}


@dataclass(slots=True)
class _Candidate:
    event: Event
    where: tuple[str, int]
    content_hash: str
    raw: bytes


def read_lines(name: str, stream: Iterable[bytes]) -> Iterator[Line]:
    """Number every line from 1 (blank ones included, as the spec counts them); skip blank lines."""
    for number, raw in enumerate(stream, 1):
        if raw.strip():
            yield (name, number, raw.rstrip(b"\r\n"))


def ingest(app: Chengxin, lines: Iterable[Line], *, origin: str, actor: str = "cli",
           own_source: str | None = None, on_batch: Callable[[int], None] | None = None) -> IngestReport:
    """Ingest lines in batches of `settings.batch_size`; `own_source` restricts which sources are allowed."""
    report = IngestReport()
    it = iter(lines)
    while batch := list(islice(it, app.settings.batch_size)):
        report.add(ingest_batch(app, batch, origin=origin, actor=actor, own_source=own_source))
        if on_batch:
            on_batch(len(batch))
    return report


def ingest_batch(app: Chengxin, batch: list[Line], *, origin: str, actor: str,
                 own_source: str | None = None) -> IngestReport:
    """One transaction: every accepted line of `batch` lands, or none does."""
    report = IngestReport()
    candidates = _validate(app, batch, report, own_source)
    with write_transaction(app.engine) as conn:
        new = _deduplicate(conn, candidates, report)
        head = _store(app, conn, new)
        report.accepted = len(new)
        report.tree_size = head.size if head else None
        _record_batch(conn, origin, actor, report)
    return report


def _validate(app: Chengxin, batch: list[Line], report: IngestReport,
              own_source: str | None) -> list[_Candidate]:
    out = []
    for name, number, raw in batch:
        parsed = parse_line(raw, app.vocab)
        if isinstance(parsed, Event) and own_source is not None and parsed.source != own_source:
            parsed = Rejected(f"source {parsed.source!r} is not yours: this key reports as {own_source!r}")
        if isinstance(parsed, Rejected):
            report.rejected += 1
            report.rejects.append({"file": name, "line": number, "reason": parsed.reason})
            continue
        digest = crypto.content_hash(app.keys, canonical(parsed.envelope))
        out.append(_Candidate(parsed, (name, number), digest, raw))
    return out


def _deduplicate(conn: Connection, candidates: list[_Candidate], report: IngestReport) -> list[_Candidate]:
    """Same (source, id) and content: duplicate. Same (source, id), other content: conflict, first kept."""
    first: dict[tuple[str, str], _Candidate] = {}
    for c in candidates:
        key = (c.event.source, c.event.id)
        if key in first:
            _same_or_conflict(report, c, first[key].content_hash)
        else:
            first[key] = c
    stored = store.existing_hashes(conn, list(first))
    new = []
    for key, c in first.items():
        if key in stored:
            _same_or_conflict(report, c, stored[key])
        else:
            new.append(c)
    return new


def _same_or_conflict(report: IngestReport, c: _Candidate, kept_hash: str) -> None:
    if c.content_hash == kept_hash:
        report.duplicates += 1
        return
    report.conflicts += 1
    report.conflict_details.append({
        "file": c.where[0], "line": c.where[1], "source": c.event.source, "id": c.event.id,
        "reason": "same (source, id) as an earlier event with different content; the first is kept"})


def _store(app: Chengxin, conn: Connection, new: list[_Candidate]) -> credit_log.TreeHead | None:
    batch_id = uuid.uuid4().hex
    today = datetime.now(UTC).date()
    facts: list[Fact] = []
    records: list[tuple[CreditRecord, str]] = []
    event_rows: list[dict[str, Any]] = []
    for c in new:
        event_facts = [_protect(app, f, today) for f in project(c.event)]
        facts.extend(event_facts)
        records.extend((r, c.content_hash) for r in records_for(c.event, event_facts))
        body = _body(app, c)
        event_rows.append({"source": c.event.source, "event_id": c.event.id, "type": c.event.type,
                           "at": c.event.at, "content_hash": c.content_hash, "body": body,
                           "batch_id": batch_id})
    bulk.insert_rows(conn, "events", event_rows)
    store.write_facts(conn, facts)
    return credit_log.append(conn, app.keys, app.settings.log_origin, records)


def _body(app: Chengxin, c: _Candidate) -> str:
    """The event as received, byte for byte, unless it carries an ID number (then encrypted in place)."""
    if "id_number" in c.event.data:
        return orjson.dumps(protect_body(app.keys, dict(c.event.envelope))).decode()
    return c.raw.decode()


def _protect(app: Chengxin, fact: Fact, today: Any) -> Fact:
    if fact.table != "subjects":
        return fact
    return Fact(fact.table, protect_subject(app.keys, dict(fact.values), today=today), fact.lww)


def _record_batch(conn: Connection, origin: str, actor: str, report: IngestReport) -> None:
    batch_id = uuid.uuid4().hex
    conn.execute(t.ingest_batches.insert().values(
        batch_id=batch_id, received_at=credit_log.now_utc(), origin=origin[:500], actor=actor,
        accepted=report.accepted, duplicates=report.duplicates, conflicts=report.conflicts,
        rejected=report.rejected))
    problems = [{"batch_id": batch_id, "origin": r["file"], "line": r["line"], "problem": "rejected",
                 "reason": r["reason"]} for r in report.rejects]
    problems += [{"batch_id": batch_id, "origin": r["file"], "line": r["line"], "problem": "conflict",
                  "reason": f"{r['source']} {r['id']}: {r['reason']}"} for r in report.conflict_details]
    if problems:
        conn.execute(t.ingest_problems.insert(), problems)
