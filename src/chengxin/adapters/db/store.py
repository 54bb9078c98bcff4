"""Writing projected facts and reading back existing events: the storage side of ingestion."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from chengxin.adapters.db import bulk
from chengxin.adapters.db import tables as t
from chengxin.domain.projection import EARLIEST, Fact

_CHUNK = 400  # keys per IN (...) query on SQLite: well under its variable limit
_PG_CHUNK = 10_000  # keys per `= ANY(%s)` array on PostgreSQL (one parameter)


def existing_hashes(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Content hashes of events already stored, by (source, id).

    Queried as `source = ? AND event_id IN (...)` per source (`= ANY(array)` on PostgreSQL): SQLite does not
    use the unique index for a row-value `(source, event_id) IN (VALUES ...)` and would scan the whole table
    for every batch. Plain DBAPI SQL: compiling a 400-value `IN` with SQLAlchemy cost more than the query."""
    found: dict[tuple[str, str], str] = {}
    by_source: dict[str, list[str]] = {}
    for source, event_id in keys:
        by_source.setdefault(source, []).append(event_id)
    pg = conn.dialect.name == "postgresql"
    cursor = conn.connection.cursor()
    try:
        for source, ids in by_source.items():
            step = _PG_CHUNK if pg else _CHUNK
            for i in range(0, len(ids), step):
                chunk = ids[i:i + step]
                if pg:
                    cursor.execute("SELECT event_id, content_hash FROM events WHERE source = %s "
                                   "AND event_id = ANY(%s)", (source, chunk))
                else:
                    cursor.execute("SELECT event_id, content_hash FROM events WHERE source = ? AND event_id IN "
                                   f"({', '.join('?' * len(chunk))})", (source, *chunk))
                found.update({(source, event_id): h for event_id, h in cursor.fetchall()})
    finally:
        cursor.close()
    return found


@cache
def _key_of(table_name: str) -> Callable[[dict[str, Any]], Any]:
    return itemgetter(*(c.name for c in t.STATE_TABLES[table_name].primary_key.columns))


TableRows = dict[str, list[tuple[Any, ...]]]  # table name -> tuples in `bulk.columns(table)` order


def fact_rows(facts: Iterable[Fact]) -> tuple[TableRows, TableRows]:
    """(state rows to upsert, one per key: the latest by `ord`, with the earliest value of `EARLIEST`'s
    columns; rows to append), as tuples. No database: a bulk load's second process builds them."""
    state: dict[str, dict[Any, dict[str, Any]]] = {}
    append: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        if fact.lww:
            # Within one batch keep only the latest fact per key: PostgreSQL refuses to touch a row twice
            # in one INSERT ... ON CONFLICT, and it saves work.
            values = fact.values
            rows = state.get(fact.table)
            if rows is None:
                rows = state[fact.table] = {}
            key = _key_of(fact.table)(values)
            old = rows.get(key)
            if old is None:
                rows[key] = values
            else:
                rows[key] = _merge(fact.table, old, values)
        else:
            append.setdefault(fact.table, []).append(fact.values)
    return ({name: _tuples(name, merged.values()) for name, merged in state.items()},
            {name: _tuples(name, appended) for name, appended in append.items()})


def _merge(table: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Two states of one row: the later event's (by `ord`), with the earliest of the `EARLIEST` columns."""
    later, earlier = (new, old) if new["ord"] > old["ord"] else (old, new)
    firsts = EARLIEST.get(table)
    if not firsts:
        return later
    keep = {c: earlier[c] for c in firsts if earlier[c] is not None and (later[c] is None or earlier[c] < later[c])}
    return {**later, **keep} if keep else later  # a new dict: the facts' own values stay as projected


def _tuples(table_name: str, rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    as_tuple = bulk.tuple_of(table_name)
    return [as_tuple(r) for r in rows]  # type: ignore[misc]


def write_rows(conn: Connection, upserts: TableRows, inserts: TableRows) -> None:
    """Upsert state rows (the later event wins) and insert append rows, table by table (`fact_rows`)."""
    for name, rows in upserts.items():
        bulk.upsert_tuples(conn, name, rows)
    for name, rows in inserts.items():
        bulk.insert_tuples(conn, name, rows)
