"""Whole-store aggregates of an SQLite store, run by DuckDB (a full score rebuild's GROUP BYs).

SQLite answers a GROUP BY over a join by looking every row up in an index, one row at a time: the shipments
of bench-10m (902,531, each joined to its order, its buyer's fairness, its payment and its scans) took 29 s.
DuckDB reads the same file through its `sqlite_scanner` extension and joins whole columns with hash tables on
every core: 3.2 s for the same statement and the same answer.

The statements stay SQLAlchemy Core: they are compiled for PostgreSQL, whose SQL DuckDB speaks, with the
binds handed over as DuckDB's `$name` parameters. The extension comes from the `duckdb-ext-sqlite` wheel,
loaded from its folder with automatic downloads off: DuckDB never reaches for the network.

DuckDB runs in a child process of its own. It carries its own copy of SQLite, and two copies of SQLite in
one process break each other's POSIX locks (closing any descriptor of a file drops every lock the process
holds on it): the writer then fails with "locking protocol". Across processes the locks hold as usual.

DuckDB reads what is committed to the file, not a transaction's own uncommitted writes: a caller that must
see its own writes commits them first, and holds the write lock while it reads so that nothing else moves.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql

_PARAM = re.compile(r"%\((\w+)\)s")


def available(engine: Engine) -> bool:
    """Whether DuckDB can read this store: an SQLite file, and the duckdb and sqlite_scanner wheels."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return False
    try:
        return _extension_dir() is not None
    except ImportError:
        return False


@cache
def _extension_dir() -> str | None:
    import duckdb_ext  # the duckdb-ext-sqlite wheel: extensions/<version>/<platform>/sqlite_scanner...

    for folder in duckdb_ext.__path__:
        if any((Path(folder) / "extensions").rglob("sqlite_scanner.duckdb_extension")):
            return str(Path(folder) / "extensions")
    return None


class Reader:
    """Runs Core SELECT statements on DuckDB (in its child process) over the attached SQLite file; rows
    come back as named tuples."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool

    def rows(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        sql, shape, binds = _compiled(stmt)
        return list(map(shape._make, self.pool.submit(_run, sql, {**binds, **(params or {})}).result()))


@cache
def _compiled(stmt: Any) -> tuple[str, Any, dict[str, Any]]:
    """PostgreSQL SQL of a statement with DuckDB's `$name` parameters, a named tuple of its columns and its
    literal binds. Statements are built once and reused (services/profiles.py), so each compiles once."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    sql = _PARAM.sub(r"$\1", str(compiled)).replace("%%", "%")
    shape = namedtuple("Row", list(stmt.selected_columns.keys()), rename=True)  # type: ignore[misc]
    return sql, shape, dict(compiled.params)


@contextmanager
def reader(engine: Engine, *, threads: int | None = None) -> Iterator[Reader]:
    """A DuckDB session, in a child process, with the store's SQLite file attached read-only."""
    args = (str(engine.url.database), _extension_dir() or "", threads)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_open, initargs=args) as pool:
        yield Reader(pool)


# --- in the child process ----------------------------------------------------------------------------------
_CON: Any = None


def _open(path: str, extension_dir: str, threads: int | None) -> None:
    import duckdb

    global _CON
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
        "extension_directory": extension_dir}
    if threads:
        config["threads"] = str(threads)
    _CON = duckdb.connect(config=config)
    _CON.execute("LOAD sqlite_scanner")
    _CON.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS store (TYPE sqlite, READ_ONLY)")
    _CON.execute("USE store")


def _run(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return _CON.execute(sql, params).fetchall()  # type: ignore[no-any-return]
