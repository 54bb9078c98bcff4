"""`chengxin` command line. Thin: each command parses arguments, calls one service, prints the result.

This module builds the command tree and holds `ingest`, `settle`, `party`, `audit`, `keys` and `db`; the other
commands live in a module per group: `cli_serve.py` (serve, demo, score), `cli_detect.py` (simulate, evaluate,
detect, review), `cli_lists.py` (lists, measures, records, policy, commitments); `cli_common.py` holds what
they share.

Exit codes come from the exception hierarchy in `exc.py` (one mapping for CLI and HTTP).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints import cli_common, cli_detect, cli_lists, cli_serve
from chengxin.entrypoints.cli_common import JsonOpt, _app, _print_json, err
from chengxin.exc import ChengxinError, InvalidInput, from_foreign
from chengxin.services import audit, ingest, keys, parties
from chengxin.services.viewer import REGULATOR, Viewer

# No local variables in tracebacks: they would print events, and so personal data, to the terminal.
app = typer.Typer(help="Chengxin (诚信): e-commerce integrity and credit platform.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
party_app = typer.Typer(help="Look up parties and shops.", no_args_is_help=True)
audit_app = typer.Typer(help="Prove the credit log was not altered.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue and revoke API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
# The groups in the order `chengxin --help` lists them (the root's own commands, ingest and settle, first)
app.add_typer(cli_serve.serve_app)
app.add_typer(cli_detect.detect_app)
app.add_typer(party_app, name="party")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(cli_detect.review_app, name="review")
cli_lists.register(app)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Chengxin (诚信): e-commerce integrity and credit platform."""
    cli_common.begin(ctx.invoked_subcommand)  # each command names its database; `demo` may create one


@app.command("ingest")
def ingest_cmd(
    files: Annotated[list[Path], typer.Argument(help="events-v1 JSON Lines files ('-' for stdin).")],
    rejects: Annotated[Path | None, typer.Option(help="Write rejected lines' numbers and reasons here.")] = None,
    defer: Annotated[bool, typer.Option("--defer", help="Store and project only: leave ratings, scores, lists "
                                        "and live detection queued for `chengxin settle` or the scorer of "
                                        "`chengxin serve` (for bulk backfills).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest events; bad lines are reported and skipped, the rest land. Re-sending is a no-op. Then ratings,
    scores, lists and live detection follow, unless --defer."""
    _readable(files)  # all of them, before the first is stored: a missing second file left the first unsettled
    if rejects and not rejects.parent.is_dir():  # and where the rejects go, before anything is committed
        raise InvalidInput(f"--rejects {rejects}: no folder {rejects.parent}")
    cx = _app(create=True)  # the first load makes the store
    report = ingest.IngestReport()
    with _progress(as_json) as progress:
        for path in files:
            report.add(_ingest_file(cx, path, progress, defer=True))
    if report.accepted and not defer:
        ingest.settle(cx)  # once for every file: a load of several files is settled as one
        report.tree_size = ingest.log_size(cx)  # with the consequences the load drew
    if rejects:
        rejects.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in report.rejects))
    if as_json:
        _print_json(report.as_dict())
    else:
        err.print(f"accepted {report.accepted}, duplicates {report.duplicates}, conflicts {report.conflicts}, "
                  f"rejected {report.rejected}")
        for r in report.rejects[:20]:
            err.print(f"  {r['file']}:{r['line']}: {r['reason']}")


def _readable(files: list[Path]) -> None:
    for path in files:
        if str(path) != "-" and (not path.exists() or path.is_dir()):  # a pipe (`<(zcat f.gz)`) is fine
            raise InvalidInput(f"{path}: no such file")


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} lines"),
                    TimeRemainingColumn(), console=err, disable=quiet or not err.is_terminal)


def _ingest_file(cx: Chengxin, path: Path, progress: Progress, *, defer: bool) -> ingest.IngestReport:
    name = "<stdin>" if str(path) == "-" else str(path)
    size = None if name == "<stdin>" else path.stat().st_size
    task = progress.add_task(f"ingest {path.name}", total=None if size is None else ingest.lines_in(size) or None)
    stream = sys.stdin.buffer if name == "<stdin>" else path.open("rb")
    with stream:
        return ingest.ingest(cx, ingest.read_lines(name, stream), origin=name, defer=defer,
                             on_batch=lambda n: progress.advance(task, n),
                             expected_lines=None if size is None else ingest.lines_in(size))


@app.command("settle")
def settle_cmd(as_json: JsonOpt = False) -> None:
    """Draw what stored events imply and is still queued (after `ingest --defer`): ratings, scores, records
    for sanctions, lists and measures, live detection. Safe to run at any time; nothing queued: no-op."""
    cx = _app()
    from chengxin.services import standing

    standing.finish_interrupted(cx)  # review actions a crash left half done (found by review)
    done = ingest.settle(cx)
    if as_json:
        _print_json(done)
        return
    err.print(f"scored {done['parties_scored']:,} parties ({done['ratings_pairs']:,} rating pairs recounted); "
              f"lists of {done['lists_evaluated']:,} parties evaluated ({done['list_entries']:,} entries, "
              f"{done['list_exits']:,} exits); live detection flagged "
              + (", ".join(f"{n:,} {k}" for k, n in done["live_flagged"].items()) or "nothing"))


@party_app.command("show")
def party_show(
    entity_id: Annotated[str, typer.Argument(help="The party's or shop's id as its source reported it.")],
    source: Annotated[str, typer.Option(help="The reporting source, e.g. urn:cx:platform:P1.")],
    public: Annotated[bool, typer.Option(help="Show the masked public view instead of the operator's.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a party or shop: identity, licences, credit records. The CLI runs as the node's operator
    (regulator view); ID numbers stay masked (use the API's reveal, which is journaled)."""
    view = parties.show(_app(), source, entity_id, Viewer() if public else Viewer(role=REGULATOR, key_id="cli"))
    if as_json:
        _print_json(view)
        return
    _print_party(view)


def _print_party(view: dict[str, Any]) -> None:
    who = view.get("operator", view)
    err.print(f"[bold]{view.get('name') or who.get('name')}[/] ({view['entity']} {view['source']} {view['id']})")
    ident = who.get("identity", {})
    err.print(f"identity: {ident.get('scheme')} valid={ident.get('valid')} verified={ident.get('verified')}"
              f" {ident.get('reason') or ''}")
    for gap in view.get("licence_gaps", []):
        err.print(f"[red]licence gap[/]: {gap['reason']}")
    if "points" in view:  # not in a natural person's view for those who may not see it
        level = view.get("level")
        step = f", next level at {level['next_minimum']}" if level and level.get("next_minimum") else ""
        err.print(f"credit points: {view['points']} (level: {level['label_en'] if level else 'none'}{step})")
    if (rate := (view.get("positive_rate") or {}).get("rate")) is not None:
        err.print(f"positive rate: {rate:.2%} over {view['positive_rate']['window_days']} days")
    if "grade" in view:
        credit = view.get("credit") or {}
        grade = f"{view['grade']} ({credit.get('grade_en')}), score {view['score']}/1000" if view["grade"] else \
            "not scored"
        err.print(f"credit grade: {grade}")
        for reason in view.get("reasons") or []:
            err.print(f"  reason {reason['code']}: {reason['en']}")
        for d in credit.get("dimensions") or []:
            err.print(f"  {d['dimension']}: {d['points']}/{d['weight']} ({d['en']})")
    err.print(f"credit records: {view['credit_records_total']} (log size {view.get('tree_size')})")
    for r in view["credit_records"][:20]:
        err.print(f"  #{r['index']} {r['at'][:10]} {r['kind']} {json.dumps(r['payload'], ensure_ascii=False)}")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[list[Path] | None, typer.Option(
        "--checkpoint", metavar="FILE", help="A signed tree head saved earlier from GET /v1/log/head (JSON): the "
        "log must still extend it (a truncated or rewritten log verifies on its own). Repeatable.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the whole credit log from storage; exit 1 and name the first bad record if altered."""
    cx = _app()
    saved = [audit.load_checkpoint(cx, path) for path in checkpoint or []]
    report = audit.verify(cx, saved)
    if as_json:
        _print_json(report.as_dict())
    elif report.ok:
        err.print(f"[green]ok[/]: {report.records} records, {report.tree_heads} signed tree heads, "
                  f"{report.nodes} nodes verified" + (f", {len(saved)} checkpoints held" if saved else ""))
    else:
        err.print(f"[red]FAILED[/]: first bad record {report.first_bad}")
    if not report.ok:
        raise typer.Exit(1)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="platform or regulator")],
    label: Annotated[str, typer.Option(help="Who the key is for.")],
    source: Annotated[str | None, typer.Option(help="For platform keys: the source its events carry.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API key; the secret is printed once."""
    key_id, secret = keys.create_key(_app(create=True), role, label, source)  # a new node's first key too
    if as_json:
        _print_json({"key_id": key_id, "secret": secret, "role": role, "source": source})
    else:
        err.print(f"key {key_id} ({role}); secret, shown once:")
        sys.stdout.write(secret + "\n")


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """List API keys (never their secrets)."""
    found = keys.list_keys(_app())
    if as_json:
        _print_json(found)
        return
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD)
    for name in ("key id", "role", "source", "label", "created", "revoked"):
        table.add_column(name)
    for k in found:
        table.add_row(k["key_id"], k["role"], k["source"] or "-", k["label"] or "-", (k["created_at"] or "")[:10],
                      (k["revoked_at"] or "-")[:10])
    err.print(table if found else "no API keys; `chengxin keys create` makes one")


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key at once."""
    keys.revoke_key(_app(), key_id)
    err.print(f"revoked {key_id}")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print fresh node secrets as environment lines, for production deployments."""
    from chengxin.adapters.crypto import generate_key_material

    for name, value in generate_key_material().items():
        sys.stdout.write(f"CHENGXIN_{name.upper()}={value}\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations, making an empty store if there is none (also done automatically when a
    command opens a store, unless CHENGXIN_AUTO_MIGRATE=false)."""
    from chengxin.adapters.db.engine import make_engine, migrate

    settings, _ = cli_common.checked_settings(create=True)  # and no keys: none are generated
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    err.print("schema up to date")


def main() -> None:
    """Console entry point: map Chengxin errors to exit codes (exc.py) with a one-line message, and the
    ordinary failures of a command line too (a missing file, a YAML file that does not parse, a setting out
    of range, a database that cannot be reached): a traceback ending in exit 1 said "the credit log does not
    verify" to a script (found by review)."""
    try:
        app()
    except Exception as e:
        known = e if isinstance(e, ChengxinError) else from_foreign(e)
        if known is None:
            raise
        err.print(f"[red]error[/]: {escape(known.detail)}", soft_wrap=True)  # paths and URLs whole, to copy
        sys.exit(known.exit_code)
