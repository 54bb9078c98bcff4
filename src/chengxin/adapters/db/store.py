"""Writing projected facts and reading back existing events: the storage side of ingestion."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from chengxin.adapters.db import bulk
from chengxin.adapters.db import tables as t
from chengxin.domain.projection import Fact

_CHUNK = 400  # keys per IN (...) query: well under SQLite's variable limit


def existing_hashes(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Content hashes of events already stored, by (source, id).

    Queried as `source = ? AND event_id IN (...)` per source: SQLite does not use the unique index for a
    row-value `(source, event_id) IN (VALUES ...)` and would scan the whole table for every batch."""
    found: dict[tuple[str, str], str] = {}
    by_source: dict[str, list[str]] = {}
    for source, event_id in keys:
        by_source.setdefault(source, []).append(event_id)
    e = t.events.c
    for source, ids in by_source.items():
        for i in range(0, len(ids), _CHUNK):
            q = select(e.event_id, e.content_hash).where(e.source == source, e.event_id.in_(ids[i:i + _CHUNK]))
            found.update({(source, event_id): h for event_id, h in conn.execute(q)})
    return found


def write_facts(conn: Connection, facts: Iterable[Fact]) -> None:
    """Upsert state facts (the later event wins) and insert append facts, table by table."""
    state: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    append: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        if fact.lww:
            _merge(state, fact)
        else:
            append.setdefault(fact.table, []).append(fact.values)
    for name, rows in state.items():
        bulk.upsert_rows(conn, name, list(rows.values()))
    for name, appended in append.items():
        bulk.insert_rows(conn, name, appended)


def _merge(state: dict[str, dict[tuple[Any, ...], dict[str, Any]]], fact: Fact) -> None:
    # Within one batch keep only the latest fact per key: PostgreSQL refuses to touch a row twice
    # in one INSERT ... ON CONFLICT, and it saves work.
    table = t.STATE_TABLES[fact.table]
    key = tuple(fact.values[c.name] for c in table.primary_key.columns)
    rows = state.setdefault(fact.table, {})
    old = rows.get(key)
    if old is None or fact.values["ord"] > old["ord"]:
        rows[key] = fact.values
