"""The CPU half of ingestion: parse, validate, hash, project and protect lines, with no database.

`ingest.py` stores what this prepares; a bulk load may run this half in a second process
(`ingest_apart.py`) while the first stores the batch before.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from chengxin.adapters import crypto
from chengxin.adapters.db import bulk, store
from chengxin.adapters.db.store import TableRows
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord, LogEntry, log_entry, records_for
from chengxin.domain.events import Event, Rejected, canonical, future_problem, parse_line
from chengxin.domain.lists import CHINA
from chengxin.domain.projection import Fact, project
from chengxin.domain.vocabulary import foreign_refusal
from chengxin.services import detect_live, list_queue, standing_queue
from chengxin.services.credit_log import now_utc
from chengxin.services.identity import body_needs_protection, protect_body, protect_subject

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


@dataclass(slots=True)
class Rows:
    """What a batch's accepted events store, as tuples in each table's column order (`assemble`)."""

    batch_id: str  # the `ingest_batches` row these events will belong to
    events: list[tuple[Any, ...]]  # `events` rows, batch_id included
    wheres: list[tuple[str, int]]  # (file, line) of each event: for the conflicts a commit may find
    upserts: TableRows  # state tables, one row per key (the latest by `ord`)
    inserts: TableRows  # tables of one row per event
    scoring: list[tuple[str, str, str, str, str]]  # `scoring_queue` marks (standing_queue.marks_of)
    live: detect_live.Marks  # `live_queue` and `live_price_queue` marks
    supervision: list_queue.Supervision  # a sanctions sync is due; subjects whose commitments arrived
    log: list[LogEntry]  # credit records, to append in this order

    def identities(self) -> list[tuple[tuple[str, str], str, tuple[str, int]]]:
        """(key, content hash, where) of each event, in order: what deduplication reads."""
        return [((row[0], row[1]), row[4], where) for row, where in zip(self.events, self.wheres, strict=True)]


@dataclass
class PreparedBatch:
    """A batch after the CPU-bound work: its rejects, and its valid events ready to store. From a bulk load's
    second process, `items` is empty and `rows` holds all of them assembled, stored as they are when every
    one is new; when only some are, `again` prepares here the lines at the (file, line) places of those."""

    rejects: list[dict[str, Any]]
    items: list[Prepared]
    rows: Rows | None = None
    again: Callable[[set[tuple[str, int]]], list[Prepared]] | None = None


def assemble(items: list[Prepared], batch_id: str | None = None) -> Rows:
    """The rows, marks and log entries that storing these (new) events takes, with no database."""
    batch_id = batch_id or uuid.uuid4().hex
    tail = (batch_id,)
    facts = [f for item in items for f in item.facts]
    return Rows(batch_id, [item.event_row + tail for item in items], [item.where for item in items],
                *store.fact_rows(facts), standing_queue.marks_of(facts), detect_live.marks_of(facts, now_utc()),
                list_queue.supervision_of(facts),
                [log_entry(r, item.content_hash) for item in items for r in item.records])


BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark, which Windows tools and Excel's "UTF-8" write first


def read_lines(name: str, stream: Iterable[bytes]) -> Iterator[Line]:
    """Number every line from 1 (blank ones included, as the spec counts them); skip blank lines. A byte
    order mark at the start of the input is skipped (RFC 8259 8.1 lets a parser ignore it): it is no part of
    the first event, whose stored body and content hash are then those of the line without it."""
    for number, raw in enumerate(stream, 1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw.strip():
            yield (name, number, raw.rstrip(b"\r\n"))


def received_now() -> str:
    """When a batch is received (fixed-width UTC): the clock a test may set, as it sets the scorer's."""
    return now_utc()


def prepare(app: Chengxin, batch: list[Line], own_source: str | None = None,
            received: str | None = None) -> PreparedBatch:
    """Parse, validate, hash, project and protect a batch: CPU only, no database. `received` (fixed-width
    UTC; default now) is when the batch came: an event dated later than that, beyond a clock's skew, is
    rejected (`events.future_problem`)."""
    rejects: list[dict[str, Any]] = []
    items: list[Prepared] = []
    today = datetime.now(CHINA).date()  # an ID number's birth date is a day in China
    received = received or received_now()
    for name, number, raw in batch:
        parsed = parse_line(raw, app.vocab)
        if isinstance(parsed, Event) and own_source is not None:
            parsed = _own(app, parsed, own_source)
        if isinstance(parsed, Event) and (why := future_problem(parsed, app.vocab.types[parsed.type], received)):
            parsed = Rejected(why)
        if isinstance(parsed, Rejected):
            rejects.append({"file": name, "line": number, "reason": parsed.reason})
        else:
            items.append(_prepare_event(app, parsed, (name, number), raw, today))
    return PreparedBatch(rejects, items)


def _own(app: Chengxin, e: Event, own_source: str) -> Event | Rejected:
    """An event submitted with a source's API key: it must be that source's, and name other sources'
    entities only where the vocabulary allows (a hotline's complaint about a platform's shop, a logistics
    firm's scan of a platform's shipment; never another platform's shop, order or a regulator's sanction)."""
    if e.source != own_source:
        return Rejected(f"source {e.source!r} is not yours: this key reports as {own_source!r}")
    why = foreign_refusal(app.vocab.types[e.type], e.data, own_source)
    return Rejected(why) if why else e


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
    if body_needs_protection(e.data):
        return orjson.dumps(protect_body(app.keys, dict(e.envelope))).decode()
    return raw.decode()


def _protect(app: Chengxin, fact: Fact, today: date) -> Fact:
    if fact.table != "subjects":
        return fact
    return Fact(fact.table, protect_subject(app.keys, dict(fact.values), today=today), fact.lww)


