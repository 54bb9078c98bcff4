"""What the modules of the `chengxin` command line share: the node's app, the console for messages (stderr:
stdout carries what a command prints for scripts, its --json output or a secret), and --json itself."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from chengxin.bootstrap import Chengxin, bootstrap

err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _app() -> Chengxin:
    return bootstrap()


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
