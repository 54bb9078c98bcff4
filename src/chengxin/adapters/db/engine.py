"""Engines for SQLite and PostgreSQL, write transactions, migrations, and whether a store is there
(`store_state`, without creating one: the command line and the API refuse a store that is not).

Writers are serialised: on SQLite a write transaction takes an exclusive `flock` on
`<database>-writer.lock`, then starts with `BEGIN IMMEDIATE`; on PostgreSQL it locks the one `log_state`
row. The credit log needs one sequencer anyway (indices contiguous, no gaps), and with writers serialised
the duplicate check and the insert of an event cannot race.

Serialised writers also make every autoincrement column a safe feed cursor: a writer takes its numbers only
after the previous writer committed (on PostgreSQL, the `log_state` row lock is released after the commit is
visible), so numbers become visible in increasing order and a reader polling `seq > cursor` never passes a
number that commits later. Without that, two transactions could take 10 and 11 and commit 11 first: a poller
would see 11, move its cursor past 10 and never read 10. The measures feed (`measure_changes.seq`) relies on
it, and its writer checks it (`require_serialised`).

Every write transaction is durable (its commit waits for the disk) unless it asks otherwise: the scorer's
transactions write only derived data (ledger, standings, scores), recomputable from the events, and delete
the queue marks that asked for them in the same transaction, so a commit lost to a power cut is redone from
the marks it would have deleted. They commit without waiting for the disk (SQLite `synchronous=NORMAL`,
PostgreSQL `synchronous_commit=off`), as `../shared/notes/reliability.md` §3 allows for derived data. A
later durable commit makes every earlier one durable too (both write their logs in order). The credit log
never goes into such a transaction: `require_durable` refuses it, and the caller redoes its work durably.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, select

from chengxin.adapters.db.tables import log_state
from chengxin.exc import ConfigError, Unavailable

_WRITE = "cx_write"
_DURABLE = "cx_durable"
_SYNC = "cx_sync"  # the SQLite connection's current `synchronous` setting, kept in its pool record's info


class NotDurable(RuntimeError):
    """A write that must be durable (the credit log) was attempted in a transaction that is not. Internal:
    the caller catches it and redoes the transaction durably; it never reaches a user."""


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """An engine with durable settings; creates the SQLite file's folder if needed. Connects lazily. Its
    errors leave the bound values out (`hide_parameters`): a failed statement's message, which a traceback
    logs, would otherwise quote them, personal data included."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool_size)
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                             hide_parameters=True)
    raise ConfigError(f"CHENGXIN_DATABASE_URL: unsupported database {url.split(':', 1)[0]!r}")


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # One kept connection per server worker thread (AnyIO's default limit is 40): readers run in parallel
    # in WAL, and a connection that is closed and reopened loses its warm page cache (measured: the shop
    # page's SQL takes 0.15 ms on a warm connection, 1 ms on a new one).
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False},
                           pool_size=max(pool_size, 40), max_overflow=0, pool_timeout=60, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        # WAL: readers never block the writer; FULL: a commit survives power loss (reliability.md §3).
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()
        _record.info[_SYNC] = "FULL"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        # SQLite refuses to change `synchronous` inside a transaction: set it before each BEGIN, back to
        # FULL for every transaction but the ones that asked not to wait for the disk
        sync = "FULL" if options.get(_DURABLE, True) else "NORMAL"
        raw = conn.connection.dbapi_connection  # not through SQLAlchemy: ~0.1 ms less per transaction
        assert raw is not None
        if conn.info.get(_SYNC) != sync:
            raw.execute(f"PRAGMA synchronous={sync}")
            conn.info[_SYNC] = sync
        raw.execute("BEGIN IMMEDIATE" if options.get(_WRITE) else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine, *, durable: bool = True) -> Iterator[Connection]:
    """A serialised write transaction: commits on success, rolls back on any exception. `durable=False`:
    derived data only, whose commit need not wait for the disk (see the module's docstring)."""
    options = {_WRITE: True, _DURABLE: durable}
    with _writer_lock(engine), engine.connect().execution_options(**options) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(select(log_state.c.size).where(log_state.c.id == 1).with_for_update())
            if not durable:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield conn


class NotSerialised(RuntimeError):
    """A write that must be serialised with every other (a feed row, whose cursor must become visible in
    order) was attempted outside a `write_transaction`. Internal: a programming error, never a user's."""


def require_serialised(conn: Connection) -> None:
    """Refuse (`NotSerialised`) unless `conn` is a `write_transaction`'s: the only transactions that hold the
    writers' lock (SQLite: `BEGIN IMMEDIATE` after the `flock`; PostgreSQL: the `log_state` row)."""
    if not conn.get_execution_options().get(_WRITE):
        raise NotSerialised("this transaction does not hold the writers' lock; a feed's rows need it")


def require_durable(conn: Connection) -> None:
    """Refuse (`NotDurable`) unless `conn`'s transaction commits durably."""
    if not conn.get_execution_options().get(_DURABLE, True):
        raise NotDurable("this transaction does not wait for the disk; the credit log needs one that does")


@contextmanager
def _writer_lock(engine: Engine) -> Iterator[None]:
    """SQLite: wait for the write lock in the kernel, not in SQLite's busy handler. The busy handler polls
    with sleeps that grow to 100 ms, so with several server processes writing, a waiting request slept long
    after the lock was free (p99 near 1 s at 1,000 events/s with 2 processes); a blocked `flock` wakes as
    soon as the holder lets go. Each call opens the file anew, so threads of one process queue too."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    with open(f"{path}-writer.lock", "a+b") as lock:  # closing the file releases the lock
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A read-only unit: one consistent snapshot for a page or an API answer. On PostgreSQL that takes
    REPEATABLE READ: at the default READ COMMITTED every statement sees its own snapshot, and a reader of
    two tables could see a writer's commit in the second and not in the first (the order graph's state row
    and its chunks did). A read-only transaction never fails to serialise at this level."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("chengxin.adapters.db") / "migrations"))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent), as a writer: two commands creating one new
    SQLite store at once had the second fail "database is locked" (its read of the schema version could not
    become a write; found by review). It now waits its turn, then finds the schema made."""
    with _writer_lock(engine), engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
        command.upgrade(alembic_config(conn), "head")


def describe_error(exc: BaseException) -> str:
    """What failed, for an operator's log, without personal data: the exception's class, and for a database
    error the driver's class, SQLSTATE and the first line of its message (which names a constraint, an index
    or a column; the values a statement carried are in later lines, or in SQLAlchemy's text, left out),
    with any personal number in it masked."""
    from chengxin.domain.redact import redact

    orig = getattr(exc, "orig", None)
    if orig is None and type(exc).__module__.split(".")[0] in ("psycopg", "sqlite3"):
        orig = exc  # the driver's own error, from a statement run on its cursor (`adapters/db/direct.py`)
    if orig is None:
        return type(exc).__name__
    state = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    outer = f"{type(exc).__name__}: " if orig is not exc else ""
    return f"{outer}{type(orig).__name__}{f' [{state}]' if state else ''}: {redact(first)}"


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE on PostgreSQL, for bulk loads: a planner without statistics takes a fresh table for a tiny
    one and scans it whole for every duplicate check (autovacuum may be off, or not have run yet)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


# --- whether a store is there (moved from entrypoints/cli_common.py: the API refuses a missing one too) ---
def database_label(url: str) -> str:
    """The database URL as an operator reads it: a SQLite file's absolute path, a password masked."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: make_engine names it later
        return url.split("@", 1)[-1] if "@" in url else url
    path = sqlite_file(url)
    if path is not None:
        return f"sqlite:///{path.resolve()}"
    return parsed.render_as_string(hide_password=True)


def store_state(url: str) -> tuple[str, str]:
    """(`missing` | `empty` | `holds data` | `unknown`, why) of the store at `url`, without creating or
    migrating anything (a store with no Chengxin schema counts as missing)."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is None:
            return "unknown", "an in-memory or URI database"
        if not path.exists():
            return "missing", f"{path.resolve()} does not exist"
        return _sqlite_state(path)
    if url.startswith("postgresql"):
        return _postgresql_state(url)
    return "unknown", "not a database this node knows"  # make_engine refuses it with its own message


# the tables whose rows mean a store holds data made with its keys
_DATA_TABLES = ("events", "credit_records", "api_keys")


def sqlite_file(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: make_engine names it later
        return None
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_state(path: Path) -> tuple[str, str]:
    import sqlite3
    from urllib.parse import quote

    try:  # mode=rw: never creates the file
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=60)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alembic_version" not in tables:
                return "missing", f"{path.resolve()} holds no Chengxin store"
            data = any(conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone()  # names of _DATA_TABLES
                       for name in _DATA_TABLES if name in tables)
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise Unavailable(f"the database cannot be used: {path.resolve()}: {e}") from None
    return ("holds data" if data else "empty"), ""


def _postgresql_state(url: str) -> tuple[str, str]:
    """A database that cannot be reached raises (`exc.from_foreign`: Unavailable, exit 69)."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            if not inspector.has_table("alembic_version"):
                return "missing", "the database holds no Chengxin store"
            data = any(conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first()  # names of _DATA_TABLES
                       for name in _DATA_TABLES if inspector.has_table(name))
    finally:
        engine.dispose()
    return ("holds data" if data else "empty"), ""
