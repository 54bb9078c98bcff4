"""`chengxin` command line. Thin: each command parses arguments, calls one service, prints the result.

This module builds the command tree and holds `ingest`, `settle`, `party` (`party search`: `cli_party_search.py`),
`audit`, `keys` and `db`; the other commands live in a module per group: `cli_serve.py` (serve, demo, score),
`cli_detect.py` (simulate, evaluate, detect, review), `cli_lists.py` (lists, measures, records, policy,
commitments), `cli_log.py` (log: the credit log's signing key), `cli_journal.py` (journal); `cli_common.py`
holds what they share.

Exit codes come from the exception hierarchy in `exc.py` (one mapping for CLI and HTTP).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from chengxin.bootstrap import Chengxin
from chengxin.domain.lifecycle import IN_FORCE
from chengxin.entrypoints import (
    cli_agency,
    cli_common,
    cli_detect,
    cli_journal,
    cli_lists,
    cli_log,
    cli_party_search,
    cli_serve,
)
from chengxin.entrypoints.cli_common import FLAG, MAX_ID, JsonOpt, _app, _print_json, err, shown
from chengxin.exc import ChengxinError, InvalidInput, from_foreign
from chengxin.services import audit, ingest, keys, parties
from chengxin.services.viewer import REGULATOR, Viewer

# No local variables in tracebacks: they would print events, and so personal data, to the terminal.
app = typer.Typer(help="Chengxin (诚信): e-commerce integrity and credit platform.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
party_app = typer.Typer(help="Look up parties and shops.", no_args_is_help=True)
audit_app = typer.Typer(help="Prove the credit log was not altered.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue, rotate and revoke API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
# The groups in the order `chengxin --help` lists them (the root's own commands, ingest and settle, first)
app.add_typer(cli_serve.serve_app)
app.add_typer(cli_detect.detect_app)
app.add_typer(party_app, name="party")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(cli_log.log_app, name="log")  # the log's signing key (cli_log.py), not API keys
app.add_typer(db_app, name="db")
app.add_typer(cli_detect.review_app, name="review")
app.add_typer(cli_serve.scoring_app, name="scoring")
cli_lists.register(app)
cli_agency.register(app, keys_app)  # `report`, `keys rotate`
cli_journal.register(app)  # `journal`: the access journal


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Chengxin (诚信): e-commerce integrity and credit platform."""
    cli_common.begin(ctx.invoked_subcommand)  # each command names its database; `demo` may create one


@app.command("ingest")
def ingest_cmd(
    files: Annotated[list[Path], typer.Argument(help="events-v1 JSON Lines files ('-' for stdin).")],
    rejects: Annotated[Path | None, typer.Option(help="Write rejected lines' numbers and reasons here.")] = None,
    defer: Annotated[bool, typer.Option("--defer", metavar=FLAG, help="Store and project only: leave ratings, "
                                        "scores, lists and live detection queued for `chengxin settle` or the "
                                        "scorer of `chengxin serve` (for bulk backfills).")] = False,
    strict: Annotated[bool, typer.Option("--strict", metavar=FLAG, help="Exit 65 if any line was rejected or "
                                         "conflicts with a stored event (the other lines are stored all the "
                                         "same).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest events; bad lines are reported and skipped, the rest land. Re-sending is a no-op. Then ratings,
    scores, lists and live detection follow, unless --defer. Exit 0 when the good lines landed, rejects or not
    (a partial success: the report says what was refused); --strict makes rejects and conflicts exit 65."""
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
            err.print(f"  {r['file']}:{r['line']}: {r['reason']}", markup=False, soft_wrap=True)
        if report.rejected > 20:
            err.print(f"  ... {report.rejected - 20:,} more: --rejects FILE writes every one")
    if strict and (report.rejected or report.conflicts):
        raise InvalidInput(f"--strict: {report.rejected:,} lines rejected, {report.conflicts:,} in conflict with "
                           f"stored events ({report.accepted:,} accepted lines are stored)")


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
    from chengxin.services import standing_follow

    standing_follow.finish_interrupted(cx)  # review actions a crash left half done (found by review)
    done = ingest.settle(cx)
    if as_json:
        _print_json(done)
        return
    unscored = done.get("unscored_scored", 0)
    err.print(f"scored {done['parties_scored']:,} parties ({done['ratings_pairs']:,} rating pairs recounted"
              + (f"; {unscored:,} that had no score" if unscored else "") + "); "
              f"lists of {done['lists_evaluated']:,} parties evaluated ({done['list_entries']:,} entries, "
              f"{done['list_exits']:,} exits); live detection flagged "
              + (", ".join(f"{n:,} {k}" for k, n in done["live_flagged"].items()) or "nothing"))
    if done["scoring_parked"]:
        err.print(f"[yellow]{done['scoring_parked']:,} scoring marks are parked after failing; see "
                  "`chengxin scoring parked`[/yellow]")


@party_app.command("show")
def party_show(
    entity_id: Annotated[str, typer.Argument(help="The party's or shop's id as its source reported it.")],
    source: Annotated[str, typer.Option(help="The reporting source, e.g. urn:cx:platform:P1.")],
    public: Annotated[bool, typer.Option("--public", metavar=FLAG, help="Show the masked public view instead of "
                                         "the operator's.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Credit records to show, newest first "
                                                                      "(default 10; 100 with --json).")] = None,
    before: Annotated[int | None, typer.Option(min=0, max=MAX_ID, help="Only credit records with a lower log "
                                                                       "index (the next, older page).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a party or shop: identity, grade and why, lists and measures, dishonesty records, commitments and
    the newest credit records. The CLI runs as the node's operator (regulator view); ID numbers stay masked
    (use the API's reveal, which is journaled)."""
    viewer = Viewer() if public else Viewer(role=REGULATOR, key_id="cli")
    view = parties.show(_app(), source, entity_id, viewer, limit=limit or (100 if as_json else 10), before=before)
    if as_json:
        _print_json(view)
        return
    _print_party(view)


party_app.command("search")(cli_party_search.party_search)  # beside `show`; its own module (cli.py's size)


def _print_party(view: dict[str, Any]) -> None:
    """A summary to read: no JSON (`--json` prints the whole view)."""
    who = view.get("operator", view)
    _print_heading(view, who)
    _print_identity(who)
    for lic in view.get("licences", []):
        err.print(f"licence: {lic['label_zh']} {lic['number']}" + (f", until {lic['valid_until']}" if
                  lic.get("valid_until") else "") + ("" if lic.get("valid_now", True) else " [red](not valid now)[/]"),
                  soft_wrap=True)
    for gap in view.get("licence_gaps", []):
        err.print(f"[red]licence gap[/]: {gap['reason']}", soft_wrap=True)
    if "points" in view:  # not in a natural person's view for those who may not see it
        level = view.get("level")
        step = f", next level at {level['next_minimum']}" if level and level.get("next_minimum") else ""
        err.print(f"credit points: {view['points']} (level: {level['label_en'] if level else 'none'}{step})")
        buyer = view.get("buyer_credit")
        if view.get("shops") and buyer and buyer["points"]:  # a shop operator who also buys
            b_level = buyer["level"]["label_en"] if buyer["level"] else "none"
            err.print(f"buyer credit points: {buyer['points']} (level: {b_level})")
    if (rate := (view.get("positive_rate") or {}).get("rate")) is not None:
        err.print(f"positive rate: {rate:.2%} over {view['positive_rate']['window_days']} days")
    _print_grade(view)
    _print_consequences(view)
    _print_credit_records(view)


def _print_heading(view: dict[str, Any], who: dict[str, Any]) -> None:
    if view["entity"] == "shop":
        err.print(f"[bold]{escape(view['name'] or '')}[/] (shop {view['source']} {view['id']}), operated by "
                  f"{escape(who.get('name') or '?')} ({who.get('source')} {who.get('id')})", soft_wrap=True)
        closed = view.get("closed")
        err.print(f"opened {(view.get('opened_at') or '?')[:10]}"
                  + (f"; [red]closed[/] {closed['at'][:10]}: {escape(closed.get('reason') or '')}" if closed else ""))
        return
    err.print(f"[bold]{escape(view.get('name') or '')}[/] ({view.get('kind', 'party')} {view['source']} {view['id']})",
              soft_wrap=True)
    if shops := view.get("shops"):
        err.print("shops: " + "; ".join(f"{escape(s['name'] or '')} ({s['source']} {s['id']})"
                                        + (" closed" if s.get("closed_at") else "") for s in shops), soft_wrap=True)


def _print_identity(who: dict[str, Any]) -> None:
    ident = who.get("identity") or {}
    number = who.get("uscc") or who.get("id_number")
    state = "valid" if ident.get("valid") else f"[red]invalid[/]: {escape(ident.get('reason') or 'failed its check')}"
    verified = "verified" + (f" {ident['verified_at'][:10]}" if ident.get("verified_at") else "") \
        if ident.get("verified") else "not verified"
    named = " ".join(x for x in ((ident.get("scheme") or "").upper(), number) if x)
    err.print(f"identity: {named + ' ' if named else ''}{state}, real name {verified}"
              + (f"; {who['region_name']}" if who.get("region_name") else ""), soft_wrap=True)


def _print_grade(view: dict[str, Any]) -> None:
    if "grade" not in view:
        return
    credit = view.get("credit") or {}
    if view["grade"] is None:
        err.print("credit grade: " + ("withheld (it counts other reporters' accounts of this person)"
                                      if view.get("score_withheld") else "not scored yet"))
        return
    err.print(f"credit grade: [bold]{view['grade']}[/] ({credit.get('grade_en')}), score {view['score']}/1000")
    if view.get("grade_computed"):
        because = "; ".join(f"{b['list']} list ({b['policy']}; {b['basis']})" for b in view.get("grade_capped_by", []))
        err.print(f"  [red]capped[/] at {view['grade']} from {view['grade_computed']} by {because}", soft_wrap=True)
    if credit.get("scored_grade"):
        err.print(f"  held below the score's own grade {credit['scored_grade']} (reason GRADE_HELD below)")
    for reason in view.get("reasons") or []:
        err.print(f"  reason {reason['code']}: {reason['en']}", soft_wrap=True)
    for d in credit.get("dimensions") or []:
        err.print(f"  {d['dimension']}: {d['points']}/{d['weight']} ({d['en']})", soft_wrap=True)


def _print_consequences(view: dict[str, Any]) -> None:
    if "lists" in view:
        err.print("lists:" + ("" if view["lists"] else " none"))
        for m in view["lists"]:
            err.print(f"  [bold]{m['list']}[/] ({m['zh']}) since {m['started_at'][:10]}, review {m['review_at']}: "
                      f"{m['reason']['en']} ({m['policy']}; {m['basis']})", soft_wrap=True)
    if "measures" in view:
        err.print("measures in force:" + ("" if view["measures"] else " none"))
        for m in view["measures"]:
            lists = ", ".join(dict.fromkeys(b["list"] for b in m["because"]))
            audience = "the public" if m["audience"] == "public" else m["audience"]
            err.print(f"  {m['en']} = {shown(m['value'])} on the {m['applies_to']}, for {audience} ({lists} list; "
                      f"{m['basis']})", soft_wrap=True)
    if "dishonesty_records" in view:
        records = view["dishonesty_records"]
        live = [r for r in records if r["state"] in IN_FORCE]
        err.print("dishonesty records in force:" + ("" if live else " none"))
        for r in live:
            err.print(f"  record {r['id']}: {r['category_en'] or r['category']}, {r['severity']}, {r['state']} "
                      f"{(r['confirmed_at'] or '')[:10]} by {r['decided_by']}; "
                      + (f"public until {r['disclose_until']}, " if r.get("disclose_until") else "")
                      + (f"repair from {r['repair_from']}; " if r.get("repair_from") else "")
                      + f"{r['basis'] or ''} (`chengxin records show {r['id']}`)", soft_wrap=True)
        if rest := Counter(r["state"] for r in records if r["state"] not in IN_FORCE):
            err.print("  not in force: " + ", ".join(f"{n} {state}" for state, n in sorted(rest.items())))
    if "commitments" in view:
        err.print("commitments:" + ("" if view["commitments"] else " none"))
        for c in view["commitments"]:
            title = c["title"]["en"] if c.get("title") else c["template"]
            err.print(f"  {c['id']}: {title} ({c['type'] or 'own text'}), published {c['published_at'][:10]}, "
                      + (f"until {c['valid_until']}, " if c.get("valid_until") else "")
                      + ("in force" if c["in_force"] else "ended"), soft_wrap=True)


def _print_credit_records(view: dict[str, Any]) -> None:
    shown, total = view["credit_records"], view["credit_records_total"]
    size = f" (log size {view['tree_size']:,})" if view.get("tree_size") is not None else ""
    err.print(f"credit records: {total:,}{size}"
              + (f"; the {len(shown)} newest:" if shown and len(shown) < total else ":" if shown else ""))
    me = (view["source"], view["id"])
    for r in shown:
        subject = r["subject"]
        about = "" if (subject["source"], subject["id"]) == me else f" [{subject['kind']} {subject['id']}]"
        masked = f" (masked: {', '.join(r['masked'])})" if r.get("masked") else ""
        line = f"  #{r['index']} {r['at'][:10]} {r['kind']}{about}: {_payload_line(r['payload'])}{masked}"
        if err.is_terminal:  # one line of the screen each; piped or redirected, whole
            err.print(line, markup=False, highlight=False, no_wrap=True, overflow="ellipsis", crop=True)
        else:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
    if view.get("credit_records_next_before") is not None:
        err.print(f"{total - len(shown):,} more: --limit N shows more, --before {view['credit_records_next_before']} "
                  "the next older ones; --json prints them whole (with each record's leaf bytes)", soft_wrap=True)


# a credit record's payload in one line: these keys first, these left out (the whole payload: --json)
_FIRST = ("list", "category", "finding_kind", "orders", "kind", "from", "to", "points", "rating", "grade", "score",
          "value", "reason", "basis", "decided_by", "by")
_LEFT_OUT = frozenset({"evidence_sha256", "run_id", "summary", "tells"})


def _payload_line(payload: Any) -> str:
    if not isinstance(payload, dict):
        return str(payload)
    keys = [k for k in _FIRST if k in payload] + sorted(k for k in payload if k not in _FIRST)
    bits = []
    for key in keys:
        value = payload[key]
        if isinstance(value, dict) and "en" in value:
            value = value["en"]
        if key in _LEFT_OUT or isinstance(value, dict | list) or value is None:
            continue
        bits.append(f"{key}={shown(value)}")
    return " ".join(bits) or "-"


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
    role: Annotated[str, typer.Option(help="platform, regulator or agency (a credit agency: reads reports)")],
    label: Annotated[str, typer.Option(help="Who the key is for.")],
    source: Annotated[str | None, typer.Option(help=(
        "The source its events carry: required for a platform key; for a regulator key, its authority's "
        "urn:cx:regulator: source (without it, the key sends events of any regulator source); for an agency "
        "key, required: urn:cx:agency:<name>, naming the agency."))] = None,
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
    for name in ("key id", "role", "source", "label", "created", "revoked", "rotated"):
        table.add_column(name)
    for k in found:
        table.add_row(k["key_id"], k["role"], k["source"] or "-", k["label"] or "-", (k["created_at"] or "")[:10],
                      (k["revoked_at"] or "-")[:10], (k["rotated_at"] or "-")[:10])
    err.print(table if found else "no API keys; `chengxin keys create` makes one")
    for k in found:  # a line each, not a column: the table fits a terminal of 80 columns
        if k["previous_until"]:
            err.print(f"key {k['key_id']}: its old secret works until {k['previous_until']}")


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
