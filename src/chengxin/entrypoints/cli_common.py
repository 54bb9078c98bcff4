"""What the modules of the `chengxin` command line share: the node's app, the console for messages (stderr:
stdout carries what a command prints for scripts, its --json output or a secret), and --json itself.

The app is built for a store that exists. Run from another folder, the default `sqlite:///./var/chengxin.db`
named a store that was not there, and every command opened a new, empty one (`audit verify` told a regulator
"ok: 0 records" about it: found by review). So a command refuses a store that does not exist, naming the
database and CHENGXIN_DATABASE_URL, except the few that make one: `ingest`, `keys create` and `db upgrade`
(`_app(create=True)`) and `demo` (`STORE_CREATORS`). Each names the database it uses in one line on stderr.
The API built from the environment refuses the same way (`bootstrap.existing`: `chengxin serve`'s workers).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from chengxin.adapters.db.engine import database_label, store_state
from chengxin.bootstrap import Chengxin, bootstrap, no_store, require_keys
from chengxin.settings import Settings

err = Console(stderr=True)
# A flag shows no value in --help (typer writes `<bool>` after every option unless given a metavar: `--json
# <bool>` read as if it took a value: found by review).
FLAG = ""
JsonOpt = Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print machine-readable JSON on stdout.")]
# The largest id, index or count a command takes (as the API's): a larger one overflowed the store's integers
# into a traceback (found by review)
MAX_ID = 2**62


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
        require_keys(settings)
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
            raise no_store(settings.database_url, why)
        err.print(f"no store there yet ({why}): this command creates it", soft_wrap=True, highlight=False)
    return settings, state


def shown(value: Any) -> str:
    """A value in a line of human output (a measure's, a payload field's): yes/no for a boolean."""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
