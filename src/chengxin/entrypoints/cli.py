"""`chengxin` command line. Thin: each command parses arguments, calls one service, prints the result.

Exit codes come from the exception hierarchy in `exc.py` (one mapping for CLI and HTTP).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from chengxin.bootstrap import Chengxin, bootstrap
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
review_app = typer.Typer(help="Review detection findings: publish them as suspected records, confirm or dismiss.",
                         no_args_is_help=True)
app.add_typer(party_app, name="party")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(review_app, name="review")
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _app() -> Chengxin:
    return bootstrap()


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


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
    cx = _app()
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


@review_app.command("publish")
def review_publish(
    run: Annotated[str | None, typer.Option("--run", help="A run id of `chengxin detect` (default: each "
                                            "detector's newest run).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue a run's findings for review; each party they name gets a `suspected` record (not public)."""
    from chengxin.services import review

    done = review.publish(_app(), run)
    if as_json:
        _print_json(done)
        return
    err.print(f"{done['published']} of {done['findings']} findings queued for review "
              f"({done['grown']} grew an open item, {done['already_queued']} already queued, "
              f"{done['about_no_one']} naming no party or order); "
              f"{done['credit_records']} suspected records; runs: {', '.join(done['runs']) or '-'}")


@review_app.command("list")
def review_list(
    status: Annotated[str | None, typer.Option(help="open, confirmed or dismissed (default: all).")] = None,
    limit: Annotated[int, typer.Option(help="Most items.", min=1)] = 100,
    after: Annotated[int | None, typer.Option(help="Only items with a higher id (the next page).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The review queue, oldest first (the CLI is the node's operator: it sees every item)."""
    from chengxin.services import review

    page = review.list_items(_app(), _OPERATOR, status=status, limit=limit, after=after)
    if as_json:
        _print_json(page)
        return
    for i in page["items"]:
        who = ", ".join(f"{p['source']} {p['id']}" for p in i["parties"][:3]) + \
            (f" +{len(i['parties']) - 3}" if len(i["parties"]) > 3 else "")
        score = "-" if i["score"] is None else f"{i['score']:.2f}"
        decided = f" by {i['decision']['decided_by']}: {i['decision']['reason']}" if i["decision"] else ""
        err.print(f"#{i['id']} {i['status']}{decided} | {i['kind']} ({i['level'] or '-'}) score {score} | "
                  f"{who or '-'} | {len(i['orders'])} orders", soft_wrap=True)
    err.print(f"{len(page['items'])} items" + (f"; next page: --after {page['next_after']}"
                                               if page["next_after"] is not None else ""))


@review_app.command("decide")
def review_decide(
    item: Annotated[int, typer.Argument(help="The review item's id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded; published with a confirmation).")],
    confirm: Annotated[bool, typer.Option("--confirm", help="The finding is right.")] = False,
    dismiss: Annotated[bool, typer.Option("--dismiss", help="The finding is wrong.")] = False,
    basis: Annotated[str | None, typer.Option(help="Legal or rule basis, case number.")] = None,
    by: Annotated[str, typer.Option(help="Who decides, recorded as regulator:<by>.")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Confirm or dismiss a review item, once. Confirming a fake order takes its ratings' points back."""
    from chengxin.services import review

    if confirm == dismiss:
        raise typer.BadParameter("give exactly one of --confirm and --dismiss")
    done = review.decide(_app(), item, "confirm" if confirm else "dismiss", Viewer(role=REGULATOR, key_id=by),
                         reason, basis)
    if as_json:
        _print_json(done)
        return
    i = done["item"]
    err.print(f"review item {i['id']} {i['status']} by {i['decision']['decided_by']}: "
              f"{done['credit_records']} credit records, {done['order_verdicts']} orders recorded as fake")
    for s in done["standing"][:10]:
        b, a = s["before"], s["after"]
        err.print(f"  {s['source']} {s['id']}: points {b['points']} -> {a['points']}, grade {b['grade'] or '-'} "
                  f"({b['score'] if b['score'] is not None else '-'}) -> {a['grade'] or '-'} "
                  f"({a['score'] if a['score'] is not None else '-'})")


_OPERATOR = Viewer(role=REGULATOR, key_id="cli")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="platform or regulator")],
    label: Annotated[str, typer.Option(help="Who the key is for.")],
    source: Annotated[str | None, typer.Option(help="For platform keys: the source its events carry.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue an API key; the secret is printed once."""
    key_id, secret = keys.create_key(_app(), role, label, source)
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
    """Apply database migrations (also done automatically unless CHENGXIN_AUTO_MIGRATE=false)."""
    from chengxin.adapters.db.engine import make_engine, migrate

    cx = _app()
    migrate(make_engine(cx.settings.database_url))
    err.print("schema up to date")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default CHENGXIN_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CHENGXIN_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (default CHENGXIN_WORKERS).")] = None,
    scorer: Annotated[bool, typer.Option(help="Also run the scorer process that keeps points and scores "
                                              "current as events arrive (see `chengxin score --follow`).")] = True,
) -> None:
    """Serve the HTTP API (/v1, /docs) and the public portal (/)."""
    import multiprocessing

    import uvicorn

    from chengxin.entrypoints.api.app import create_app

    cx = _app()
    cx.engine  # noqa: B018 - migrate before the first request, not during it
    bind: dict[str, Any] = {"host": host or cx.settings.host, "port": port or cx.settings.port, "log_level": "info",
            "access_log": False}
    count = workers or cx.settings.workers
    # its own process: scoring costs about as much CPU as ingesting, and beside the API it would halve it
    follower = multiprocessing.get_context("spawn").Process(target=_follow, name="chengxin-scorer", daemon=True)
    if scorer:
        follower.start()
    try:
        if count > 1:  # each process builds its own app from the same environment
            uvicorn.run("chengxin.entrypoints.api.app:create_app", factory=True, workers=count, **bind)
        else:
            uvicorn.run(create_app(cx), **bind)
    finally:
        if follower.is_alive():
            follower.terminate()  # a transaction cut short rolls back; its marks stay queued


def _follow() -> None:
    """The scorer process: keep standings current until terminated, in short transactions that give way
    to requests (`standing.follow`). At normal CPU priority: a scorer at low priority was preempted while
    it held the write lock, and requests waited for it (p99 34 ms against 16 ms at 1,000 events/s,
    `bench/bench_api.py`); its pauses bound its share of the cores when requests are arriving."""
    from chengxin.bootstrap import freeze_startup_objects
    from chengxin.services import standing

    app = _app()
    freeze_startup_objects()
    standing.follow(app, _UntilParentExits(), chunk=50)


class _UntilParentExits:
    """The scorer's stop signal: its parent (the server) is gone, however it ended (a killed server leaves
    no daemon child behind to clean up, so the child watches for itself)."""

    def __init__(self) -> None:
        import os

        self.parent = os.getppid()

    def is_set(self) -> bool:
        import os

        return os.getppid() != self.parent

    def wait(self, timeout: float) -> bool:
        import time

        time.sleep(timeout)
        return self.is_set()


@app.command("demo")
def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load the demo data and exit.")] = False,
) -> None:
    """Load the demo marketplace into the configured store, print demo API keys, and serve."""
    from chengxin.services.demo import load_demo

    cx = _app()
    summary = load_demo(cx)
    err.print(f"demo marketplace loaded: {summary['accepted']} new events ({summary['duplicates']} already there)")
    err.print(f"  simulated with planted dishonesty; ground truth in {summary['simulated']['truth']} "
              "(score detectors with `chengxin evaluate --truth` on it)", soft_wrap=True)
    err.print(f"  detectors found {summary['detected']['findings']:,} suspicions; "
              f"{summary['detected']['queued_for_review']:,} queued for review (`chengxin review list`)")
    members = ", ".join(f"{n} {name}" for name, n in summary["decided"]["list_members"].items())
    err.print(f"  a simulated case officer confirmed review items {summary['decided']['confirmed_items']}; "
              f"lists: {members} (`chengxin lists show black`, portal /lists/black)")
    for role, secret in summary["keys"].items():
        err.print(f"  {role} API key: {secret}", soft_wrap=True)
    if not no_serve:
        serve(host=None, port=port, workers=None)


@app.command("score")
def score_cmd(
    follow: Annotated[bool, typer.Option("--follow", help="Instead: keep points and scores current as events "
                                                         "arrive, until interrupted (what `serve` runs).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Recount every rating's credit points, refit rater reliability and rescore every party."""
    from chengxin.services import scoring, standing, standing_ledger

    cx = _app()
    if follow:
        import threading

        err.print("following the scoring queue; Ctrl-C to stop")
        try:
            standing.follow(cx, threading.Event())
        except KeyboardInterrupt:
            return
        return
    points = standing_ledger.rebuild(cx)
    scores = scoring.rebuild(cx)
    summary = {"ratings": points, "scores": scores}
    if as_json:
        _print_json(summary)
        return
    err.print(f"recounted {points['ratings']:,} ratings of {points['pairs']:,} buyer-seller pairs; "
              f"fitted {scores['raters']:,} raters; scored {scores['parties']:,} parties "
              f"({scores['changed']:,} changed): " + ", ".join(f"{g} {n:,}" for g, n in scores["grades"].items()))


@app.command("simulate")
def simulate_cmd(
    out: Annotated[Path, typer.Option(help="Events file to write (JSON Lines; '-' for stdout).")],
    truth: Annotated[Path | None, typer.Option(help="Truth file to write (chengxin-truth/1).")] = None,
    preset: Annotated[str | None, typer.Option(help="demo, bench-1m or bench-10m (presets.yaml).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: same seed and parameters, same bytes.")] = None,
    days: Annotated[int | None, typer.Option(help="Trading days.")] = None,
    platforms: Annotated[int | None, typer.Option(help="Number of platforms.")] = None,
    shops: Annotated[int | None, typer.Option(help="Shops per platform.")] = None,
    buyers: Annotated[int | None, typer.Option(help="Buyers per platform.")] = None,
    orders_per_day: Annotated[float | None, typer.Option(help="Honest orders on an ordinary weekday.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Any other parameter: NAME=VALUE (repeatable), "
                                                   "e.g. --set rings=5 --set ring_workers=10,20.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a simulated marketplace (every events-v1 type) with planted dishonesty, and its truth file."""
    from chengxin.simulate import make_params, simulate

    extra = dict(_assignment(a) for a in set_ or [])
    params = make_params(preset, seed=seed, days=days, platforms=platforms, shops=shops, buyers=buyers,
                         orders_per_day=orders_per_day, **extra)
    summary = simulate(params, out, truth, preset)
    if as_json and str(out) == "-":  # stdout carries the events (to pipe into `chengxin ingest -`)
        sys.stderr.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    if as_json:
        _print_json(summary)
        return
    err.print(f"{summary['events']:,} events in {summary['seconds']:.1f} s "
              f"({summary['events_per_second']:,} events/s) -> {out}" + (f", truth -> {truth}" if truth else ""))
    for kind, c in summary["planted"].items():
        err.print(f"  {kind}: {c['groups']} groups, {c['parties']} parties, {c['orders']} orders, "
                  f"{c['reviews']} reviews, {c['products']} products")


def _assignment(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq:
        raise typer.BadParameter(f"--set {text!r}: expected NAME=VALUE")
    return name.strip().replace("-", "_"), value.strip()


@app.command("evaluate")
def evaluate_cmd(
    truth: Annotated[Path, typer.Option(help="Truth file from `chengxin simulate` (chengxin-truth/1).")],
    findings: Annotated[Path | None, typer.Option(
        help="A `chengxin detect --json` file (default: the store's findings, each detector's newest run).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score findings against a simulator truth file: precision, recall, F1, ROC-AUC, AP per kind and class."""
    from chengxin.services.evaluate import evaluate

    report = evaluate(_app(), truth, findings)
    if as_json:
        _print_json(report.as_dict())
    else:
        _print_evaluation(report)


def _print_evaluation(report: Any) -> None:
    from rich import box
    from rich.table import Table

    # Short headers and collapsed padding: the widest rows still fit an 80-column terminal.
    table = Table(title=f"{report.findings} findings scored; universe: {report.universe}", box=box.SIMPLE_HEAD,
                  collapse_padding=True, pad_edge=False)
    table.add_column("kind", no_wrap=True)
    table.add_column("class", overflow="fold")
    for name in ("truth", "pred.", "prec.", "recall", "F1", "AUC", "AP"):
        table.add_column(name, justify="right", no_wrap=True, min_width=5)  # figures are never cut
    shown = None
    for kind, cls, m in report.rows():
        if shown is not None and kind != shown:
            table.add_section()
        label = "  " + cls.split(":", 1)[1] if ":" in cls else cls  # a role of the parties row above
        figures = (m.precision, m.recall, m.f1, m.auc, m.ap)
        table.add_row("" if kind == shown else kind, label, str(m.truth), str(m.predicted),
                      *("-" if x is None else f"{x:.3f}" for x in figures))
        shown = kind
    # Piped or redirected, Rich would assume 80 columns and squeeze the table: give it room.
    (err if err.is_terminal else Console(stderr=True, width=160)).print(table)
    for cls, n in report.outside_universe.items():
        if n:
            err.print(f"[yellow]note[/]: {n} {cls} named by the truth or the findings are not in the store")


@app.command("detect")
def detect_cmd(as_json: JsonOpt = False, rebuild_graph: Annotated[bool, typer.Option(
        "--rebuild-graph", help="Make the order graph (orders as integer columns, for ring detection) again "
                                "from the stored orders before detecting.")] = False) -> None:
    """Run every detector over the stored data; keep the findings (one run) and print them."""
    from rich import box
    from rich.table import Table

    from chengxin.services.detect import detect

    run = detect(_app(), rebuild_graph=rebuild_graph)
    if as_json:
        _print_json(run.as_dict())
        return
    table = Table(title=f"run {run.run_id}: {len(run.findings):,} findings in {run.seconds:.1f} s",
                  box=box.SIMPLE_HEAD)
    for name in ("kind", "findings", "orders", "parties", "top score"):
        table.add_column(name, justify="left" if name == "kind" else "right")
    by_kind: dict[str, list[Any]] = {}
    for f in run.findings:
        by_kind.setdefault(f.kind, []).append(f)
    for kind, found in by_kind.items():
        orders = {r for f in found for r in f.refs("orders")}
        parties = {r for f in found for r in f.refs("parties")}
        top = max((f.score for f in found if f.score is not None), default=None)
        table.add_row(kind, f"{len(found):,}", f"{len(orders):,}", f"{len(parties):,}",
                      "-" if top is None else f"{top:.2f}")
    err.print(table)
    for f in [f for f in run.findings if f.refs("parties") and f.evidence.get("level") != "order_delivery"][:10]:
        # the parties named first: shops, couriers (not each parcel a courier faked)
        who = ", ".join(f"{s} {i}" for s, i in f.refs("parties"))
        err.print(f"  {f.kind} {f.score}: {who} ({f.evidence.get('level', '')}, "
                  f"{f.evidence.get('flagged', len(f.refs('orders')))} orders)")
    if run.review:
        err.print(f"queued for review: {run.review.get('published', 0):,} new items "
                  f"({run.review.get('grown', 0):,} grew an open item, {run.review.get('already_queued', 0):,} "
                  "already queued); see `chengxin review list`")
    err.print("score them with `chengxin evaluate --truth FILE`; `--json` prints every finding")


# Lists, measures, records, policies and commitments live in their own module (it imports the helpers above).
from chengxin.entrypoints.cli_lists import register as _register_lists  # noqa: E402

_register_lists(app)


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
        err.print(f"[red]error[/]: {escape(known.detail)}")
        sys.exit(known.exit_code)

