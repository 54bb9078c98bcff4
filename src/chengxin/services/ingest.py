"""Ingest events-v1 lines: validate, deduplicate, store raw, project state, append credit records.

One batch is one write transaction: it lands whole or not at all, so a process killed mid-batch leaves
nothing half-written, and re-sending the same lines afterwards is a no-op. Bad lines are reported with their
line number and reason and never stop the lines around them.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import Connection, distinct, func, select

from chengxin.adapters import crypto
from chengxin.adapters.db import bulk, store
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, refresh_statistics, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain.events import differing_fields, normalised
from chengxin.services import (
    credit_log,
    detect_live,
    ingest_apart,
    list_queue,
    lists,
    scoring_failures,
    standing,
    standing_queue,
)
from chengxin.services.prepare import Line, Prepared, PreparedBatch, Rows, assemble, prepare, read_lines

__all__ = ["IngestReport", "Line", "Prepared", "PreparedBatch", "Rows", "commit", "commit_many", "ingest",
           "ingest_batch", "lines_in", "log_size", "prepare", "read_lines", "settle"]


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


def ingest(app: Chengxin, lines: Iterable[Line], *, origin: str, actor: str = "cli",
           own_source: str | None = None, on_batch: Callable[[int], None] | None = None,
           defer: bool = False, expected_lines: int | None = None) -> IngestReport:
    """Ingest lines in batches of `settings.batch_size`; `own_source` restricts which sources are allowed.
    Then `settle` what the load changed, unless `defer`: a backfill leaves that work in its durable queues
    for `chengxin settle` or the scorer process of `chengxin serve` (nothing is lost: the marks were written
    in each batch's own transaction).

    On SQLite the COMMIT of batch k (its fsync) runs on a writer thread while this one prepares batch k+1
    (parse, validate, project: CPU); the statements themselves run while this thread waits, because the
    sqlite3 module hands the GIL back for every row it steps, and with a busy thread beside it each
    hand-back waits for the switch interval. Batches still commit one by one, in file order, each in its own
    transaction; after a failed batch no later one is stored. On PostgreSQL the same overlap of whole batches
    was measured no faster (53.8 s against 54.5 s for 1M lines, 7 us more CPU per event: psycopg hands the GIL
    back at every wait on the server), so there each batch is stored before the next is prepared.

    A load `expected_lines` to hold 20,000 lines or more (a file's size says so) is prepared in a second
    process (`ingest_apart.py`, `settings.ingest_processes`): this thread then only stores, while the child
    prepares the next batch. An input of unknown length (stdin) is prepared here, batch by batch."""
    report = IngestReport()
    overlap_commit = app.engine.dialect.name == "sqlite"
    failed = threading.Event()
    pending: deque[tuple[int, Future[IngestReport]]] = deque()

    def store(number: int, batch: PreparedBatch, written: threading.Event) -> IngestReport:
        try:
            if failed.is_set():
                raise RuntimeError("an earlier batch failed")
            done = commit_many(app, [(batch, origin, actor)], on_written=written.set, bulk_load=True)[0]
            if number & (number - 1) == 0:  # after batches 1, 2, 4, 8, ...: statistics keep up with growth
                _analyze_events(app)
            return done
        except BaseException:
            failed.set()
            raise
        finally:
            written.set()

    def collect(keep: int) -> None:
        while len(pending) > keep:
            n, future = pending.popleft()
            report.add(future.result())
            if on_batch:
                on_batch(n)

    prepared = ingest_apart.prepared(app, _batches(lines, app.settings.batch_size), own_source, expected_lines)
    with _few_collections(), closing(prepared), ThreadPoolExecutor(1, thread_name_prefix="cx-ingest-writer") as writer:
        try:
            for number, (n, batch) in enumerate(prepared, 1):
                collect(keep=1)  # at most one batch stored while the next is prepared: memory stays flat
                written = threading.Event()
                pending.append((n, writer.submit(store, number, batch, written)))
                written.wait()
                if not overlap_commit:
                    collect(keep=0)
            collect(keep=0)
            if report.accepted:
                refresh_statistics(app.engine)  # every table, once, for the readers after the load
                if not defer:
                    settle(app)
                report.tree_size = log_size(app)  # with the consequences the load drew
        except BaseException:
            failed.set()  # a batch queued but not started is not stored; one being stored completes or not
            raise
    return report


def settle(app: Chengxin, *, unscored: bool = True) -> dict[str, Any]:
    """Draw the consequences of what was stored: recount ratings and rescore the parties touched; open
    records for new sanctions and re-evaluate the lists of parties whose profile changed; read newly delivered
    parcels and price points for live detection. Each step drains its own durable queue, so settling twice,
    or after a crash, is safe. After the scores' queue, every party that has no score at all is scored
    (`score_unscored`), unless `unscored` is False. Returns counts of what each step did."""
    scored = standing.drain(app)
    first = score_unscored(app) if unscored else 0  # before the lists, which read the grades it gives
    listed = lists.drain(app) or {}
    again = standing.drain(app)  # what the records the lists step opened queued (a broken commitment)
    if again["parties"]:  # and the lists of the parties whose grade that moved
        more = lists.drain(app) or {}
        listed = {**listed, **{k: listed.get(k, 0) + v for k, v in more.items() if isinstance(v, int)}}
    scored = {k: scored[k] + again[k] for k in scored}
    live = detect_live.drain(app) or {}
    with read_connection(app.engine) as conn:  # marks that failed too often: an operator's to look at
        parked = scoring_failures.count(conn)
    return {"ratings_pairs": scored["pairs"], "parties_scored": scored["parties"], "unscored_scored": first,
            "scoring_parked": parked,
            "lists_evaluated": listed.get("parties", 0), "list_entries": listed.get("entered", 0),
            "list_exits": listed.get("left", 0), "measure_changes": listed.get("measure_changes", 0),
            "live_flagged": {kind: sum(p.get("flagged", 0) for p in passes) for kind, passes in live.items()}}


_NO_AGED = timedelta(days=365 * 1000)  # `rescore_stale` then takes no score for aged: settling is not aging


def score_unscored(app: Chengxin) -> int:
    """Score the parties that have no score at all; returns how many were looked for and scored. A full
    rebuild interrupted after the ratings' recount (which clears the scoring queue: `standing.drain` of a
    deferred load's backlog) left the parties it had not scored yet without a score, and nothing queued asks
    for them: only the scorer's aging pass found them, a window of parties a minute, so a node without
    `chengxin serve` kept them unscored (found by review). `scoring.rescore_stale` looks at the next
    `scoring.UNSCORED_WINDOW` party keys per call, from where this process's last look stopped: one call per
    window, and one for the wrap, covers every party stored before the first call (a call that finds as many
    as it may take, `most`, stays in its window: another follows). Scores a day old are the scorer's to
    refresh, not this: `_NO_AGED`."""
    from chengxin.services import scoring

    with read_connection(app.engine) as conn:
        parties = conn.execute(select(func.count(distinct(t.subjects.c.party_key)))).scalar_one()
    if not parties:
        return 0
    windows, done = -(-parties // scoring.UNSCORED_WINDOW) + 2, 0
    while windows:
        found = scoring.rescore_stale(app, _NO_AGED, most=_UNSCORED_MOST)
        done += found
        windows -= found < _UNSCORED_MOST  # this call's window was looked at to its end
    return done


_UNSCORED_MOST = 2000  # parties scored per `rescore_stale` call (in transactions of its `chunk`)


def lines_in(size: int) -> int:
    """About how many events-v1 lines a file of `size` bytes holds (a line is ~250-300 bytes)."""
    return size // 300


def log_size(app: Chengxin) -> int | None:
    with read_connection(app.engine) as conn:
        head = credit_log.latest_head(conn)
    return head.size if head else None


def _analyze_events(app: Chengxin) -> None:
    """PostgreSQL statistics of `events` while it grows: without them the planner takes the table for an
    empty one and scans it whole for every duplicate check (autovacuum may be off, or not have run yet).
    Only `events` is read during a load; the other tables are analysed once at the end."""
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE events")


@contextmanager
def _few_collections() -> Iterator[None]:
    """Bulk loads make tens of thousands of short-lived dicts per batch, all freed by reference counting;
    the cyclic collector, run every 700 allocations, spent a third of the parse time walking them and every
    long-lived object of the process (measured: parse_line 10.3-12.0 µs with it, 6.3 µs without). So: freeze
    what exists now, and collect the youngest generation only every 100,000 net allocations."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _batches(lines: Iterable[Line], size: int) -> Iterator[tuple[int, list[Line]]]:
    it = iter(lines)
    while batch := list(islice(it, size)):
        yield len(batch), batch


def ingest_batch(app: Chengxin, batch: list[Line], *, origin: str, actor: str,
                 own_source: str | None = None) -> IngestReport:
    """One transaction: every accepted line of `batch` lands, or none does; then ratings and scores follow."""
    report = commit(app, prepare(app, batch, own_source), origin=origin, actor=actor)
    settle(app, unscored=False)  # one request's event: the look for unscored parties costs a pass over every
    # party key, and the scorer process beside the server makes it
    return report


def commit(app: Chengxin, batch: PreparedBatch, *, origin: str, actor: str) -> IngestReport:
    """Store a prepared batch in one write transaction: dedupe, insert, project, append to the log."""
    return commit_many(app, [(batch, origin, actor)])[0]


_BULK_CACHE_KIB = 256 * 1024  # SQLite page cache of a bulk load (peak RSS stays well under 1 GiB)


def commit_many(app: Chengxin, batches: Sequence[tuple[PreparedBatch, str, str]],
                on_written: Callable[[], None] | None = None, bulk_load: bool = False) -> list[IngestReport]:
    """Store several prepared batches (origin, actor each) in ONE write transaction, signing one tree head:
    group commit for concurrent API requests. Each batch keeps its own report; all land or none does.
    `on_written` is called when every statement has run, just before the COMMIT; `bulk_load` gives a
    SQLite connection a larger page cache."""
    reports, entries, logged = [], [], []
    with write_transaction(app.engine) as conn:
        if bulk_load and conn.dialect.name == "sqlite":
            # The default page cache (2 MiB) misses on every index of a growing store; the setting stays with
            # this connection, which is the loader's own (measured: -9 % of the statements' time at 400k).
            conn.exec_driver_sql(f"PRAGMA cache_size=-{_BULK_CACHE_KIB}")
        identities = [_identities(batch) for batch, _, _ in batches]
        known = store.existing_hashes(conn, list({key for each in identities for key, _, _ in each}))
        for (batch, origin, actor), idents in zip(batches, identities, strict=True):
            report = IngestReport(rejected=len(batch.rejects), rejects=batch.rejects)
            rows = _new_rows(app, conn, batch, idents, known, report)
            known.update(((row[0], row[1]), row[4]) for row in rows.events)  # later batches see these
            _store(conn, rows)
            entries += rows.log
            report.accepted = len(rows.events)
            logged.append((rows.batch_id, origin, actor, report))
            reports.append(report)
        _record_batches(conn, logged)
        head = credit_log.append_entries(conn, app.keys, app.settings.log_origin, entries)
        if on_written:
            on_written()
    for report in reports:
        report.tree_size = head.size if head and report.accepted else None
    return reports


Identity = tuple[tuple[str, str], str, tuple[str, int]]  # (source, id), content hash, (file, line)


def _identities(batch: PreparedBatch) -> list[Identity]:
    if batch.rows is not None:
        return batch.rows.identities()
    return [(item.key, item.content_hash, item.where) for item in batch.items]


def _new_rows(app: Chengxin, conn: Connection, batch: PreparedBatch, identities: list[Identity],
              known: dict[tuple[str, str], str], report: IngestReport) -> Rows:
    """The rows of the batch's new events; the others are counted in `report` as duplicates or conflicts. A
    batch assembled in the second process is stored as it came when all its events are new (a load's usual
    case) and nothing when none is; when only some are, the lines of those are prepared again here (and must
    come out as the second process prepared them)."""
    fresh, suspects = _deduplicate(identities, known, report)
    for k, first in suspects:
        key, _, where = identities[k]
        kept = _body_of(batch, first) if first is not None else _stored_body(conn, key)
        _same_or_conflict(app, report, key, where, kept, _body_of(batch, k))
    if batch.rows is None:
        return assemble([batch.items[k] for k in fresh])
    if len(fresh) == len(identities):
        return batch.rows
    if not fresh:
        return assemble([])
    assert batch.again is not None, "a batch of rows comes with a way to prepare its lines again"
    wanted = [identities[k] for k in fresh]
    items = batch.again({where for _, _, where in wanted})
    if [(item.key, item.content_hash, item.where) for item in items] != wanted:
        raise RuntimeError("ingest: lines prepared again differ from what the second process prepared")
    return assemble(items)


def _deduplicate(identities: list[Identity], known: dict[tuple[str, str], str],
                 report: IngestReport) -> tuple[list[int], list[tuple[int, int | None]]]:
    """Positions of the new events, and of the suspects: same (source, id) as one kept (the first in the batch
    at that position, or stored: None) with another content hash, which `_same_or_conflict` reads closer. The
    same hash: a duplicate, counted here. `known` holds the content hashes of the keys already stored."""
    first: dict[tuple[str, str], int] = {}
    fresh: list[int] = []
    suspects: list[tuple[int, int | None]] = []
    for k, (key, digest, _) in enumerate(identities):
        at = first.get(key)
        kept = identities[at][1] if at is not None else known.get(key)
        if kept is None:
            first[key] = k
            fresh.append(k)
        elif digest == kept:
            report.duplicates += 1
        else:
            suspects.append((k, at))
    return fresh, suspects


def _body_of(batch: PreparedBatch, k: int) -> str:
    """The stored body of the batch's k-th valid event (`events.body`)."""
    return str(batch.rows.events[k][5] if batch.rows is not None else batch.items[k].event_row[5])


def _stored_body(conn: Connection, key: tuple[str, str]) -> str:
    e = t.events.c
    return str(conn.execute(select(e.body).where(e.source == key[0], e.event_id == key[1])).scalar_one())


def _same_or_conflict(app: Chengxin, report: IngestReport, key: tuple[str, str], where: tuple[str, int],
                      kept: str, sent: str) -> None:
    """Another content hash: a duplicate all the same when both read alike once normalised (`events.normalised`:
    a null for an absent field, a time in another offset or with `.000`), else a conflict naming the fields
    that differ. Conflicts are rare: this reads the kept event's body (one query)."""
    differ = differing_fields(normalised(_readable(app, kept), app.vocab), normalised(_readable(app, sent), app.vocab))
    if not differ:
        report.duplicates += 1
        return
    report.conflicts += 1
    report.conflict_details.append({
        "file": where[0], "line": where[1], "source": key[0], "id": key[1],
        "reason": f"same (source, id) as an earlier event with different content ({', '.join(differ)}); "
                  f"the first is kept"})


_ENCRYPTED = "cx-enc:"  # `crypto.encrypt_text`'s tokens start so


def _readable(app: Chengxin, body: str) -> dict[str, Any]:
    """A stored body as sent: an ID number encrypted in place (`identity.protect_body`) decrypted again, so that
    two sendings of one number compare equal (each encryption differs)."""
    envelope: dict[str, Any] = orjson.loads(body)
    data = envelope.get("data")
    if isinstance(data, dict):
        for field in ("id_number", "uscc"):
            value = data.get(field)
            if isinstance(value, str) and value.startswith(_ENCRYPTED):
                aad = f"events.body.{field}|{envelope['source']}|{envelope['id']}"
                data[field] = crypto.decrypt_text(app.keys, value, aad)
    return envelope


def _store(conn: Connection, rows: Rows) -> None:
    bulk.insert_tuples(conn, "events", rows.events)
    store.write_rows(conn, rows.upserts, rows.inserts)
    standing_queue.queue(conn, rows.scoring)  # what the batch makes stale in ratings and scores; drained after commit
    list_queue.queue_supervision(conn, *rows.supervision)  # sanctions and commitments: records and lists, likewise
    detect_live.queue(conn, *rows.live)  # delivered shipments: read for empty parcels by the live drain


def _record_batches(conn: Connection, logged: list[tuple[str, str, str, IngestReport]]) -> None:
    """One `ingest_batches` row per batch, and its rejects and conflicts (never the raw lines)."""
    now = credit_log.now_utc()
    bulk.insert_rows(conn, "ingest_batches", [
        {"batch_id": batch_id, "received_at": now, "origin": origin[:500], "actor": actor,
         "accepted": r.accepted, "duplicates": r.duplicates, "conflicts": r.conflicts, "rejected": r.rejected}
        for batch_id, origin, actor, r in logged])
    problems = [{"batch_id": batch_id, "origin": x["file"], "line": x["line"], "problem": "rejected",
                 "reason": x["reason"]} for batch_id, _, _, r in logged for x in r.rejects]
    problems += [{"batch_id": batch_id, "origin": x["file"], "line": x["line"], "problem": "conflict",
                  "reason": f"{x['source']} {x['id']}: {x['reason']}"}
                 for batch_id, _, _, r in logged for x in r.conflict_details]
    bulk.insert_rows(conn, "ingest_problems", problems)
