"""Insert-or-ignore and insert-or-update for derived tables (not the ingestion hot path, see bulk.py), with
the dialect's own `ON CONFLICT` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from chengxin.adapters.db import bulk


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_or_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows whose primary key is not there yet."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), list(rows))


def insert_or_update(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows, replacing the non-key columns of those whose primary key is there (missing keys
    are NULL). Runs the compiled SQL on the driver's cursor: SQLAlchemy's per-row parameter handling was a
    fifth of saving 68,558 scores."""
    if not rows:
        return
    sql, names, positional = _upsert_sql(conn, table)
    params: list[Any] = [tuple(r.get(n) for n in names) for r in rows] if positional else \
        [{n: r.get(n) for n in names} for r in rows]
    bulk.executemany(conn, sql, params)


_SQL: dict[tuple[str, Table], tuple[str, tuple[str, ...], bool]] = {}


def _upsert_sql(conn: Connection, table: Table) -> tuple[str, tuple[str, ...], bool]:
    """The upsert's SQL for this dialect, its parameter names in order, and whether they are positional.
    Only plain column types (text, numbers, booleans) go through: no bind processing is applied."""
    key = (conn.dialect.name, table)
    if (found := _SQL.get(key)) is None:
        compiled = _upsert(conn.dialect.name, table).compile(dialect=conn.dialect)
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        found = _SQL[key] = (str(compiled), names, bool(compiled.positional))
    return found


_UPSERTS: dict[tuple[str, Table], Any] = {}


def _upsert(dialect: str, table: Table) -> Any:
    """Built once per table: `excluded` builds a proxy of every column each time it is asked for (measured:
    0.5 ms of a 5 ms scoring step)."""
    stmt = _UPSERTS.get((dialect, table))
    if stmt is None:
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        keys = [c.name for c in table.primary_key.columns]
        stmt = _UPSERTS[(dialect, table)] = stmt.on_conflict_do_update(index_elements=keys, set_={
            c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys})
    return stmt
