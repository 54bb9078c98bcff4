"""Bulk writes on the DBAPI cursor, for the ingestion hot path.

SQLAlchemy's statement compilation and per-row parameter processing cost more than the database's own
work at tens of thousands of rows per second, so ingestion renders each statement once per dialect and
hands plain tuples to the driver's `executemany` (sqlite3; psycopg 3 pipelines it). The SQL is generated
from the same `Table` metadata, so columns cannot drift from the schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table

from chengxin.adapters.db import tables as t


def _mark(dialect: str) -> str:
    return "%s" if dialect == "postgresql" else "?"


@cache
def insert_sql(table_name: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """`INSERT` for every column of the table, and the column order its tuples must follow."""
    table = t.metadata.tables[table_name]
    cols = _columns(table)
    marks = ", ".join(_mark(dialect) for _ in cols)
    return f'INSERT INTO {table.name} ({", ".join(_q(c) for c in cols)}) VALUES ({marks})', cols


@cache
def upsert_sql(table_name: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """`INSERT ... ON CONFLICT DO UPDATE ... WHERE excluded.ord > current.ord`: the later event wins."""
    table = t.metadata.tables[table_name]
    sql, cols = insert_sql(table_name, dialect)
    keys = [c.name for c in table.primary_key.columns]
    sets = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in cols if c not in keys)
    conflict = f' ON CONFLICT ({", ".join(_q(k) for k in keys)}) DO UPDATE SET {sets}'
    return f"{sql}{conflict} WHERE excluded.ord > {table.name}.ord", cols


def _columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns if not (c.primary_key and c.autoincrement is True
                                                         and c.name in ("seq", "id")))


def _q(name: str) -> str:
    return f'"{name}"'


def insert_rows(conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert dict rows (missing keys are NULL)."""
    if rows:
        sql, cols = insert_sql(table_name, conn.dialect.name)
        executemany(conn, sql, ([r.get(c) for c in cols] for r in rows))


def upsert_rows(conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert dict rows, later event (by `ord`) winning; rows must have distinct keys."""
    if rows:
        sql, cols = upsert_sql(table_name, conn.dialect.name)
        executemany(conn, sql, ([r.get(c) for c in cols] for r in rows))


def executemany(conn: Connection, sql: str, params: Iterable[Sequence[Any]]) -> None:
    """Run on the transaction's own DBAPI connection (same transaction as everything else)."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, list(params))
    finally:
        cursor.close()
