"""`chengxin simulate | evaluate | detect | review`: finding dishonesty. A simulated marketplace with planted
dishonesty and its truth file, the detectors' run and its score against that truth, and the review queue where
a regulator confirms or dismisses what they found (the CLI is the node's operator)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from chengxin.entrypoints.cli_common import FLAG, MAX_ID, JsonOpt, _app, _print_json, err
from chengxin.services.viewer import REGULATOR, Viewer

detect_app = typer.Typer()  # added to the root without a name (`cli.py`): its commands are the root's
review_app = typer.Typer(help="Review detection findings: publish them as suspected records, confirm or dismiss.",
                         no_args_is_help=True)


@detect_app.command("simulate")
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


@detect_app.command("evaluate")
def evaluate_cmd(
    truth: Annotated[Path, typer.Option(help="Truth file from `chengxin simulate` (chengxin-truth/1).")],
    findings: Annotated[Path | None, typer.Option(
        help="A `chengxin detect --json` file (default: the store's findings, each detector's newest run).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score findings against a simulator truth file: precision, recall, F1, ROC-AUC, AP per kind and class."""
    from chengxin.services.evaluate import evaluate

    report = evaluate(_app(), truth, findings)
    if findings is None and report.findings == 0:  # live runs at ingestion are not scored: a full one is
        err.print("[yellow]note[/]: the store holds no full detection run: run `chengxin detect` first (a quick "
                  "start without it scored nothing; found by review)")
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


@detect_app.command("detect")
def detect_cmd(as_json: JsonOpt = False, rebuild_graph: Annotated[bool, typer.Option(
        "--rebuild-graph", metavar=FLAG, help="Make the order graph (orders as integer columns, for ring "
                                              "detection) again from the stored orders before detecting.")] = False,
               ) -> None:
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
        level = f.evidence.get("level")  # only empty parcels roll up by level: the others showed "(, 203 orders)"
        err.print(f"  {f.kind} {f.score}: {who} ({f'{level}, ' if level else ''}"
                  f"{f.evidence.get('flagged', len(f.refs('orders')))} orders)")
    if run.review:
        err.print(f"queued for review: {run.review.get('published', 0):,} new items "
                  f"({run.review.get('grown', 0):,} grew an open item, {run.review.get('already_queued', 0):,} "
                  "already queued); see `chengxin review list`")
    err.print("score them with `chengxin evaluate --truth FILE`; `--json` prints every finding")


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
    limit: Annotated[int, typer.Option(help="Most items.", min=1, max=MAX_ID)] = 100,
    after: Annotated[int | None, typer.Option(help="Only items with a higher id (the next page).", min=0,
                                              max=MAX_ID)] = None,
    kind: Annotated[str | None, typer.Option(help="Only findings of this kind, e.g. fake_order_ring.")] = None,
    level: Annotated[str | None, typer.Option(help="Only roll-ups of this level: shop, courier, carrier.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Only items scored at least this (0-1).", min=0,
                                                    max=1)] = None,
    party: Annotated[str | None, typer.Option(help="Only items naming this party or shop (with --party-source).")
                     ] = None,
    party_source: Annotated[str | None, typer.Option(help="The source that reported --party.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The review queue, oldest first (the CLI is the node's operator: it sees every item); filters for
    triage, as `GET /v1/review` has them."""
    from chengxin.exc import InvalidInput
    from chengxin.services import review

    if (party is None) != (party_source is None):
        raise InvalidInput("--party and --party-source: give both, or neither")
    page = review.list_items(_app(), _OPERATOR, status=status, limit=limit, after=after, kind=kind, level=level,
                             min_score=min_score, party=(party_source, party) if party and party_source else None)
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
    item: Annotated[int, typer.Argument(help="The review item's id.", min=0, max=MAX_ID)],
    reason: Annotated[str, typer.Option(help="Why (recorded; published with a confirmation).")],
    confirm: Annotated[bool, typer.Option("--confirm", metavar=FLAG, help="The finding is right.")] = False,
    dismiss: Annotated[bool, typer.Option("--dismiss", metavar=FLAG, help="The finding is wrong.")] = False,
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
