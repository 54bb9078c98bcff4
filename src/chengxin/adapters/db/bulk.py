"""Bulk writes on the DBAPI cursor, for the ingestion hot path.

SQLAlchemy's statement compilation and per-row parameter processing cost more than the database's own
work at tens of thousands of rows per second, so ingestion renders each statement once per dialect and
hands plain tuples to the driver. The SQL is generated from the same `Table` metadata, so columns cannot
drift from the schema.

- SQLite: one prepared `executemany` per table and batch.
- PostgreSQL: `COPY ... FROM STDIN` (psycopg 3 `cursor.copy`), which costs the server a fraction of one
  `INSERT` per row. Upserts copy the rows into a temporary staging table (`ON COMMIT DELETE ROWS`, made
  once per session) and then run one `INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE` from it.
  A few rows (an API request's) go as plain statements in one pipelined `executemany` instead: a `COPY`
  is several round trips, and a group commit of four events made 25 of them (7.4 ms a commit, 4.7 ms of it
  waiting on the server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table

from chengxin.adapters.db import tables as t
from chengxin.domain.projection import EARLIEST

Row = Sequence[Any]


def _mark(dialect: str) -> str:
    return "%s" if dialect == "postgresql" else "?"


@cache
def columns(table_name: str) -> tuple[str, ...]:
    """The columns an inserted tuple of this table carries, in order (not the autoincrement key)."""
    return _columns(t.metadata.tables[table_name])


@cache
def insert_sql(table_name: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """`INSERT` for every column of the table, and the column order its tuples must follow."""
    table = t.metadata.tables[table_name]
    cols = _columns(table)
    marks = ", ".join(_mark(dialect) for _ in cols)
    return f'INSERT INTO {table.name} ({", ".join(_q(c) for c in cols)}) VALUES ({marks})', cols


@cache
def upsert_sql(table_name: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """`INSERT ... ON CONFLICT DO UPDATE ... WHERE excluded.ord > current.ord`: the later event wins (the
    columns `projection.EARLIEST` names keep the earliest value)."""
    sql, cols = insert_sql(table_name, dialect)
    return f"{sql}{_on_conflict(table_name, dialect)}", cols


def _on_conflict(table_name: str, dialect: str) -> str:
    table = t.metadata.tables[table_name]
    keys = [c.name for c in table.primary_key.columns]
    cols = [c for c in _columns(table) if c not in keys]
    conflict = f' ON CONFLICT ({", ".join(_q(k) for k in keys)}) DO UPDATE SET '
    # Compared by code point, as Python compares `Event.ord` when it merges a batch: on PostgreSQL in the "C"
    # collation, since the database's own (a locale's, ICU's) orders `|`, case and accents otherwise, and which
    # of two events of the same time won would depend on how the events were split into batches.
    c_ = ' COLLATE "C"' if dialect == "postgresql" else ""
    later = f"excluded.ord{c_} > {table.name}.ord"
    firsts = EARLIEST.get(table_name, ())
    if not firsts:
        return conflict + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in cols) + f" WHERE {later}"
    # The later event's values, but the earliest of the `EARLIEST` columns (when a party was first reported):
    # the row is touched when either comes from the new one, each column taking its own. SET reads the row as
    # it was, so `ord` and the others test the same old `ord`.
    earlier = {c: f"excluded.{_q(c)}{c_} < {table.name}.{_q(c)}" for c in firsts}
    sets = ", ".join(
        f"{_q(c)} = CASE WHEN {earlier.get(c, later)} THEN excluded.{_q(c)} ELSE {table.name}.{_q(c)} END"
        for c in cols)
    return f"{conflict}{sets} WHERE {' OR '.join([later, *earlier.values()])}"


@cache
def _copy_sql(table_name: str) -> str:
    return f'COPY {table_name} ({", ".join(_q(c) for c in columns(table_name))}) FROM STDIN'


@cache
def _stage_sql(table_name: str) -> tuple[str, str, str]:
    """PostgreSQL: create the staging table, copy into it, move its rows into the real table."""
    stage = f"cx_stage_{table_name}"
    cols = ", ".join(_q(c) for c in columns(table_name))
    create = f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table_name}) ON COMMIT DELETE ROWS"
    move = f"INSERT INTO {table_name} ({cols}) SELECT {cols} FROM {stage}{_on_conflict(table_name, 'postgresql')}"
    return create, f"COPY {stage} ({cols}) FROM STDIN", move


def _columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns if not (c.primary_key and c.autoincrement is True
                                                         and c.name in ("seq", "id")))


def _q(name: str) -> str:
    return f'"{name}"'


@cache
def tuple_of(table_name: str) -> Callable[[dict[str, Any]], Row]:
    """dict row -> tuple in `columns(table_name)` order (C speed; missing keys are NULL)."""
    cols = columns(table_name)
    get = itemgetter(*cols)
    if len(cols) == 1:
        return lambda r: (r.get(cols[0]),)

    def as_tuple(row: dict[str, Any]) -> Row:
        try:
            return get(row)  # type: ignore[no-any-return]
        except KeyError:
            return tuple(row.get(c) for c in cols)

    return as_tuple


def insert_rows(conn: Connection, table_name: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert dict rows (missing keys are NULL)."""
    if rows:
        as_tuple = tuple_of(table_name)
        insert_tuples(conn, table_name, [as_tuple(r) for r in rows])


COPY_FROM = 64  # PostgreSQL: fewer rows than this go as pipelined statements, not a COPY


def _copies(conn: Connection, rows: Sequence[Row]) -> bool:
    return conn.dialect.name == "postgresql" and len(rows) >= COPY_FROM


def insert_tuples(conn: Connection, table_name: str, rows: Sequence[Row]) -> None:
    """Insert tuples in `columns(table_name)` order."""
    if not rows:
        return
    if _copies(conn, rows):
        copy_rows(conn, _copy_sql(table_name), rows)
    else:
        executemany(conn, insert_sql(table_name, conn.dialect.name)[0], rows)


def upsert_tuples(conn: Connection, table_name: str, rows: Sequence[Row]) -> None:
    """Upsert tuples in `columns(table_name)` order, the later event (by `ord`) winning; distinct keys."""
    if not rows:
        return
    if not _copies(conn, rows):
        _statements(conn, upsert_sql(table_name, conn.dialect.name)[0], rows)
        return
    _through_stage(conn, table_name, rows, _stage_sql(table_name)[2])


def insert_or_ignore_tuples(conn: Connection, table_name: str, rows: Sequence[Row]) -> None:
    """Insert tuples in `columns(table_name)` order, skipping those whose key is there (queue marks). On
    PostgreSQL by `COPY` into a staging table, then one `INSERT ... SELECT ... ON CONFLICT DO NOTHING`: the
    row-by-row statements of a bulk load's marks cost more than the load's own inserts."""
    if not rows:
        return
    if not _copies(conn, rows):
        _statements(conn, f"{insert_sql(table_name, conn.dialect.name)[0]} ON CONFLICT DO NOTHING", rows)
        return
    _through_stage(conn, table_name, rows, _ignore_sql(table_name))


def _through_stage(conn: Connection, table_name: str, rows: Sequence[Row], move: str) -> None:
    """PostgreSQL: `COPY` the rows into the table's staging table, then `move` them into the table."""
    create, copy, _ = _stage_sql(table_name)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(create)
        _copy(cursor, copy, rows)
        cursor.execute(move)
    finally:
        cursor.close()


@cache
def _ignore_sql(table_name: str) -> str:
    cols = ", ".join(_q(c) for c in columns(table_name))
    return f"INSERT INTO {table_name} ({cols}) SELECT {cols} FROM cx_stage_{table_name} ON CONFLICT DO NOTHING"


def copy_rows(conn: Connection, copy_sql: str, rows: Iterable[Row]) -> None:
    """PostgreSQL `COPY ... FROM STDIN` on the transaction's own connection."""
    cursor = conn.connection.cursor()
    try:
        _copy(cursor, copy_sql, rows)
    finally:
        cursor.close()


def _copy(cursor: Any, copy_sql: str, rows: Iterable[Row]) -> None:
    with cursor.copy(copy_sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row)


@cache
def _copy_for_insert() -> dict[str, str]:
    """PostgreSQL `insert_sql` of each table -> the `COPY` that stores the same tuples."""
    return {insert_sql(name, "postgresql")[0]: _copy_sql(name) for name in t.metadata.tables}


def executemany(conn: Connection, sql: str, params: Iterable[Sequence[Any]]) -> None:
    """Run on the transaction's own DBAPI connection (same transaction as everything else). On PostgreSQL
    a plain `insert_sql` statement of many rows (the credit log's Merkle nodes) becomes a `COPY` of the same
    tuples."""
    rows = params if isinstance(params, list) else list(params)
    if _copies(conn, rows) and (copy := _copy_for_insert().get(sql)) is not None:
        copy_rows(conn, copy, rows)
        return
    _statements(conn, sql, rows)


def _statements(conn: Connection, sql: str, rows: list[Row] | Sequence[Row]) -> None:
    """One statement per row, sent together (psycopg 3 pipelines `executemany`: one round trip)."""
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, rows if isinstance(rows, list) else list(rows))
    finally:
        cursor.close()
