"""`chengxin log`: the credit log's own signing key. `rotate-key` hands the log to a new key; `keys` lists
the key chain, as `GET /v1/log/keys` serves it.

A group of its own: `keys` issues and revokes API keys (who may call the API), and `audit` only reads; a
rotation writes to the log and changes what the node must be configured with.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from chengxin.adapters.db.engine import read_connection
from chengxin.entrypoints.cli_common import JsonOpt, _app, _print_json, err
from chengxin.exc import InvalidInput
from chengxin.services import key_chain, key_rotation

log_app = typer.Typer(help="The credit log's signing key: rotate it, list the key chain.", no_args_is_help=True)


@log_app.command("rotate-key")
def rotate_key(
    new_key_file: Annotated[Path | None, typer.Option(
        "--new-key-file", metavar="FILE", help="A file holding the new signing key (base64 of 32 bytes, as "
        "`chengxin keys generate` prints CHENGXIN_SIGNING_KEY); default: a fresh key, printed once.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand the credit log from the configured signing key to a new one: both sign the rotation, the new key
    signs a fresh head, and the node must then run with the new key (the old one is refused). Prints the new
    key's environment line on stdout."""
    given = _read_key(new_key_file) if new_key_file else None
    cx = _app()
    done = key_rotation.rotate(cx, key_rotation.new_seed(given))
    if as_json:
        _print_json({**done.as_dict(cx.settings.log_origin), "env": f"CHENGXIN_SIGNING_KEY={done.new_signing_key}"})
    else:
        err.print(f"the credit log was handed from key {done.old_key_id} to key {done.new_key_id} at size "
                  f"{done.size}; the new key signed the head of size {done.head.size}")
        err.print("configure the node with this signing key now (the old one is refused from here on)"
                  + ("; the demo key file holds it already" if done.demo_file_updated else "") + ":")
        sys.stdout.write(f"CHENGXIN_SIGNING_KEY={done.new_signing_key}\n")


def _read_key(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{path}: cannot read the new signing key ({e})") from None
    return text.removeprefix("CHENGXIN_SIGNING_KEY=")


@log_app.command("keys")
def log_keys(as_json: JsonOpt = False) -> None:
    """List the keys that have signed the credit log, the sizes each signs, and their rotations."""
    cx = _app()
    with read_connection(cx.engine) as conn:
        view = key_chain.chain_view(conn, cx.keys, cx.settings.log_origin)
    if as_json:
        _print_json(view)
        return
    for k in view["keys"]:
        until = k["until_size"] if k["until_size"] is not None else "now"
        came = f", from {k['previous_key_id']} at {k['added_at']}" if k["previous_key_id"] else ""
        err.print(f"{k['key_id']}  sizes {k['from_size']}..{until}{came}  {k['public_key']}")
