"""The CPU half of ingestion: parse, validate, hash, project and protect lines, with no database.

`ingest.py` stores what this prepares; a bulk load may run this half in a second process
(`ingest_apart.py`) while the first stores the batch before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from chengxin.adapters import crypto
from chengxin.adapters.db import bulk
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord, records_for
from chengxin.domain.events import Event, Rejected, canonical, parse_line
from chengxin.domain.projection import Fact, project
from chengxin.services.identity import protect_body, protect_subject

Line = tuple[str, int, bytes]  # (file or request name, line number from 1, raw bytes)


@dataclass(slots=True)
class Prepared:
    """One line that is a valid event, with everything it would store (built without the database)."""

    key: tuple[str, str]
    where: tuple[str, int]
    content_hash: str
    event_row: tuple[Any, ...]  # `events` columns but the last (batch_id, known at commit): see _EVENT_COLUMNS
    facts: list[Fact]
    records: list[CreditRecord]


@dataclass
class PreparedBatch:
    """A batch after the CPU-bound work: its rejects, and its valid events ready to store."""

    rejects: list[dict[str, Any]]
    items: list[Prepared]


def read_lines(name: str, stream: Iterable[bytes]) -> Iterator[Line]:
    """Number every line from 1 (blank ones included, as the spec counts them); skip blank lines."""
    for number, raw in enumerate(stream, 1):
        if raw.strip():
            yield (name, number, raw.rstrip(b"\r\n"))


def prepare(app: Chengxin, batch: list[Line], own_source: str | None = None) -> PreparedBatch:
    """Parse, validate, hash, project and protect a batch: CPU only, no database."""
    rejects: list[dict[str, Any]] = []
    items: list[Prepared] = []
    today = datetime.now(UTC).date()
    for name, number, raw in batch:
        parsed = parse_line(raw, app.vocab)
        if isinstance(parsed, Event) and own_source is not None and parsed.source != own_source:
            parsed = Rejected(f"source {parsed.source!r} is not yours: this key reports as {own_source!r}")
        if isinstance(parsed, Rejected):
            rejects.append({"file": name, "line": number, "reason": parsed.reason})
        else:
            items.append(_prepare_event(app, parsed, (name, number), raw, today))
    return PreparedBatch(rejects, items)


_EVENT_COLUMNS = ("source", "event_id", "type", "at", "content_hash", "body", "batch_id")
assert bulk.columns("events") == _EVENT_COLUMNS, "Prepared.event_row must follow the events table"


def _prepare_event(app: Chengxin, e: Event, where: tuple[str, int], raw: bytes, today: date) -> Prepared:
    digest = crypto.content_hash(app.keys, canonical(e.envelope))
    facts = project(e)
    if e.type == "cx.subject.registered":
        facts = [_protect(app, f, today) for f in facts]
    row = (e.source, e.id, e.type, e.at, digest, _body(app, e, raw))
    return Prepared((e.source, e.id), where, digest, row, facts, records_for(e, facts))


def _body(app: Chengxin, e: Event, raw: bytes) -> str:
    """The event as received, byte for byte, unless it carries an ID number (then encrypted in place)."""
    if "id_number" in e.data:
        return orjson.dumps(protect_body(app.keys, dict(e.envelope))).decode()
    return raw.decode()


def _protect(app: Chengxin, fact: Fact, today: date) -> Fact:
    if fact.table != "subjects":
        return fact
    return Fact(fact.table, protect_subject(app.keys, dict(fact.values), today=today), fact.lww)


