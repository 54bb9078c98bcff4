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

import pickle
import re
import subprocess
import sys
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql

from chengxin.adapters import child

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

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child

    def rows(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        compiled, shape = _compiled(stmt)
        return list(map(shape._make, self._call("run", *_duck_sql(compiled, params))))

    def stream(self, stmt: Any, params: dict[str, Any] | None = None, size: int = 50_000) -> Iterator[Any]:
        """The rows `size` at a time, so that a pass over millions holds a few batches (the caller must read
        to the end before its next statement)."""
        compiled, shape = _compiled(stmt)
        self._call("start", *_duck_sql(compiled, params))
        while batch := self._call("fetch", size):
            yield from map(shape._make, batch)

    def _call(self, verb: str, *args: Any) -> Any:
        assert self.child.stdin is not None
        child.send(self.child.stdin, (verb, args))  # type: ignore[arg-type]
        return child.answer(self.child, "DuckDB")


@cache
def _compiled(stmt: Any) -> tuple[Any, Any]:
    """A statement compiled for PostgreSQL, whose SQL DuckDB speaks, and a named tuple of its columns.
    Statements are built once and reused (`profile_gather.statement`), so each compiles once."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    shape = namedtuple("Row", list(stmt.selected_columns.keys()), rename=True)  # type: ignore[misc]
    return stmt.compile(dialect=dialect), shape


def _duck_sql(compiled: Any, params: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The SQL with these parameters (IN lists expanded) in DuckDB's `$name` style, and their values."""
    state = compiled.construct_expanded_state(params or {})
    return _PARAM.sub(r"$\1", state.statement).replace("%%", "%"), dict(state.parameters)


@contextmanager
def batch_reader(engine: Engine, wanted: bool) -> Iterator[Reader | None]:
    """A reader when `wanted` (setting `batch_engine`) and DuckDB can read this store, else None: the
    caller runs the statements on its own connection (always on PostgreSQL)."""
    if not wanted or not available(engine):
        yield None
        return
    with reader(engine) as found:
        yield found


@contextmanager
def reader(engine: Engine) -> Iterator[Reader]:
    """A DuckDB session, in a child process, with the store's SQLite file attached read-only. The child is
    a fresh interpreter that talks pickle over its stdin and stdout (multiprocessing's spawn would run the
    parent's main script again)."""
    process = child.spawn("chengxin.adapters.db.duck", "_serve")
    try:
        found = Reader(process)
        found._call("open", str(engine.url.database), _extension_dir() or "")
        yield found
    finally:
        if process.stdin:
            process.stdin.close()  # the child's loop ends at end of input
        process.wait(timeout=60)


# --- in the child process ----------------------------------------------------------------------------------
def _serve() -> None:
    """Answer (verb, args) requests from the parent until its end of the pipe closes."""
    session: dict[str, Any] = {}
    out = child.replies()
    while True:
        try:
            verb, args = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        if verb == "open":
            reply = child.outcome(lambda *a: session.update(con=_open(*a)), *args)
        elif verb == "start":  # a result to be fetched in batches
            reply = child.outcome(lambda *a: session["con"].execute(*a) and None, *args)
        elif verb == "fetch":
            reply = child.outcome(lambda n: session["con"].fetchmany(n), *args)
        else:  # run
            reply = child.outcome(lambda *a: session["con"].execute(*a).fetchall(), *args)
        child.send(out, reply)


def _open(path: str, extension_dir: str) -> Any:
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
        "extension_directory": extension_dir}
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    con.execute("LOAD sqlite_scanner")
    con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS store (TYPE sqlite, READ_ONLY)")
    con.execute("USE store")
    return con
