"""What the modules of the `chengxin` command line share: the node's app, the console for messages (stderr:
stdout carries what a command prints for scripts, its --json output or a secret), and --json itself.

The app is built for a store that exists. Run from another folder, the default `sqlite:///./var/chengxin.db`
named a store that was not there, and every command opened a new, empty one (`audit verify` told a regulator
"ok: 0 records" about it: found by review). So a command refuses a store that does not exist, naming the
database and CHENGXIN_DATABASE_URL, except the few that make one: `ingest`, `keys create` and `db upgrade`
(`_app(create=True)`) and `demo` (`STORE_CREATORS`). Each names the database it uses in one line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.exc import ConfigError, Unavailable
from chengxin.settings import Settings

err = Console(stderr=True)
# A flag shows no value in --help (typer writes `<bool>` after every option unless given a metavar: `--json
# <bool>` read as if it took a value: found by review).
FLAG = ""
JsonOpt = Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print machine-readable JSON on stdout.")]

# Root commands that may make the store they are pointed at, though they ask for the app plainly (`demo`, in
# cli_serve.py, loads the demo into a new store as into an old one).
STORE_CREATORS = frozenset({"demo"})


class _Run:
    """The root command this process runs (None outside the CLI: the scorer's process), and whether its
    database was named yet."""

    command: str | None = None
    named = False


def begin(command: str | None) -> None:
    """Called by the root callback with the command about to run (`demo`, `ingest`, `audit`, ...)."""
    _Run.command, _Run.named = command, False


def _app(*, create: bool = False) -> Chengxin:
    """The node's app, for a store that exists (or, with `create`, one this command makes), with its keys."""
    settings, state = checked_settings(create=create)
    if state == "holds data":
        _require_keys(settings)
    return bootstrap(settings)


def checked_settings(*, create: bool = False) -> tuple[Settings, str]:
    """Settings from the environment, with the state of their store: `missing` (refused unless `create` or
    the command is one of `STORE_CREATORS`), `empty`, `holds data` or `unknown` (an in-memory or URI
    database)."""
    settings = Settings()
    command = _Run.command
    label = database_label(settings.database_url)
    if command is not None and not _Run.named:
        err.print(f"[dim]database: {escape(label)}[/]", soft_wrap=True, highlight=False)
        _Run.named = True
    state, why = store_state(settings.database_url)
    if state == "missing":
        if not create and command not in STORE_CREATORS:
            raise ConfigError(
                f"no Chengxin store at {label} ({why}). Point CHENGXIN_DATABASE_URL at the store, e.g. "
                "`export CHENGXIN_DATABASE_URL=sqlite:////srv/chengxin/chengxin.db` (the default "
                "sqlite:///./var/chengxin.db is relative to the current folder) or postgresql+psycopg://user@host/db; "
                "or make one: `chengxin db upgrade` (empty), `chengxin ingest FILE` or `chengxin demo`")
        err.print(f"no store there yet ({why}): this command creates it", soft_wrap=True, highlight=False)
    return settings, state


def database_label(url: str) -> str:
    """The database URL as an operator reads it: a SQLite file's absolute path, a password masked."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: make_engine names it later
        return url.split("@", 1)[-1] if "@" in url else url
    path = _sqlite_file(url)
    if path is not None:
        return f"sqlite:///{path.resolve()}"
    return parsed.render_as_string(hide_password=True)


def store_state(url: str) -> tuple[str, str]:
    """(`missing` | `empty` | `holds data` | `unknown`, why) of the store at `url`, without creating or
    migrating anything (a store with no Chengxin schema counts as missing)."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
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


def _sqlite_file(url: str) -> Path | None:
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


def _require_keys(settings: Settings) -> None:
    """A store that holds data needs the keys it was made with: in demo mode, missing keys are generated into
    a keys file that does not exist yet, and new keys would neither read the store's encrypted ID numbers nor
    link or sign as before (a relative CHENGXIN_KEYS_FILE, run from another folder)."""
    from chengxin.adapters.crypto import KEY_NAMES

    if settings.env != "demo" or all(getattr(settings, name) for name in KEY_NAMES):
        return
    keys_file = Path(settings.keys_file)
    if not keys_file.exists():
        raise ConfigError(
            f"the store at {database_label(settings.database_url)} holds data, but its keys file "
            f"{keys_file.resolve()} does not exist, and new keys would not read nor sign it as before. Point "
            "CHENGXIN_KEYS_FILE at the keys file made with the store (the default ./var/demo-keys.json is "
            "relative to the current folder), or set CHENGXIN_PII_KEY, CHENGXIN_INDEX_KEY and CHENGXIN_SIGNING_KEY")


def shown(value: Any) -> str:
    """A value in a line of human output (a measure's, a payload field's): yes/no for a boolean."""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
