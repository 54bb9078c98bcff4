"""`chengxin lists | measures | records | policy | commitments`: consequences on the command line.

The CLI is the node's operator: it acts as a regulator (`--by` names who, recorded as `regulator:<by>`).
Each command calls one service, as the API does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from chengxin.entrypoints.cli_common import FLAG, MAX_ID, JsonOpt, _app, _print_json, err, shown
from chengxin.services.viewer import REGULATOR, Viewer

lists_app = typer.Typer(help="Red, black and watch lists: evaluate, show, override.", no_args_is_help=True)
measures_app = typer.Typer(help="Joint measures in force and their feed.", no_args_is_help=True)
records_app = typer.Typer(help="Dishonesty records: show, appeal, repair, decide.", no_args_is_help=True)
policy_app = typer.Typer(help="Check, shadow-run and backtest list policies.", no_args_is_help=True)
commitments_app = typer.Typer(help="Credit-commitment templates.", no_args_is_help=True)
ByOpt = Annotated[str, typer.Option(help="Who acts, recorded as regulator:<by>.")]
CLOCK_SKEW = timedelta(minutes=5)  # an --at this far ahead of this machine's clock is still taken as now's


def _not_ahead(at: datetime | None) -> datetime | None:
    """--at in UTC (a time without a zone is UTC), refused as a usage error (exit 2) when it lies ahead of now
    by more than `CLOCK_SKEW`. What the command records (transitions, decisions, list entries, their credit
    records) takes effect now, dated ahead: a repair granted "a year from now", a period that has not run,
    took a party off the black list at once (found by review). A time past replays a decision date."""
    if at is None:
        return None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    now = datetime.now(UTC)
    if at > now + CLOCK_SKEW:
        raise typer.BadParameter(f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z is in the future (now "
                                 f"{now:%Y-%m-%dT%H:%M:%S}Z, UTC): a command acts as of now or a time past")
    return at


AtOpt = Annotated[datetime | None, typer.Option("--at", callback=_not_ahead, help="Act as of this time (UTC; "
                                                "default now; never ahead of now), e.g. to replay a decision date.")]


def _viewer(by: str) -> Viewer:
    return Viewer(role=REGULATOR, key_id=by)


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def register(app: typer.Typer) -> None:
    for sub, name in ((lists_app, "lists"), (measures_app, "measures"), (records_app, "records"),
                      (policy_app, "policy"), (commitments_app, "commitments")):
        app.add_typer(sub, name=name)


# --- lists ----------------------------------------------------------------------------------------------------
@lists_app.command("evaluate")
def lists_evaluate(at: AtOpt = None, as_json: JsonOpt = False) -> None:
    """Sync sanctions, expire ended records and re-evaluate every party's lists now."""
    from chengxin.services import lifecycle, lists

    cx = _app()
    when = _utc(at)
    if when is not None:
        lists.refuse_going_back(cx, when)
    synced = lifecycle.sync(cx, when)
    done = lists.evaluate(cx, None, when)
    if as_json:
        _print_json({"sync": synced, **done})
        return
    err.print(f"records: {synced['opened']} opened, {synced['lifted']} lifted, {synced['expired']} expired, "
              f"{synced['restored']} overturned with orders to give back; "
              f"{done['parties']:,} parties evaluated: {done['entered']} entries, {done['left']} exits, "
              f"{done['measure_changes']} measure changes")
    for m in done["moves"][:20]:
        err.print(f"  {m['move']} {m['list']} ({m['policy']}): {m['party']['source']} {m['party']['id']}")
    shadow = done["shadow"]
    if shadow["would_enter"] or shadow["would_leave"]:
        err.print(f"shadow policies would add {len(shadow['would_enter'])} and remove {len(shadow['would_leave'])} "
                  "memberships (no effect)")


@lists_app.command("show")
def lists_show(name: Annotated[str, typer.Argument(help="black, red or watch.")],
               limit: Annotated[int, typer.Option(min=1, max=MAX_ID)] = 100, as_json: JsonOpt = False) -> None:
    """The current members of a list."""
    from chengxin.services import list_views

    page = list_views.members(_app(), name, _viewer("cli"), limit=limit)
    if as_json:
        _print_json(page)
        return
    err.print(f"{page['list']['zh']} / {page['list']['en']}: {page['total']} members")
    for m in page["members"]:
        shops = ", ".join(s["name"] for s in m["shops"][:3])
        err.print(f"  {m['party']['name']} ({m['party']['source']} {m['party']['id']}) [{shops}] since "
                  f"{m['started_at'][:10]}, review {m['review_at']}: {m['reason']['zh']} | {m['basis']}",
                  soft_wrap=True)


@lists_app.command("override")
def lists_override(
    name: Annotated[str, typer.Argument(help="black, red or watch.")],
    source: Annotated[str, typer.Option(help="Reporting source of the shop or subject.")],
    entity_id: Annotated[str, typer.Option("--id", help="Shop or subject id.")],
    reason: Annotated[str, typer.Option(help="Why.")], basis: Annotated[str, typer.Option(help="Legal basis.")],
    add: Annotated[bool, typer.Option("--add", metavar=FLAG, help="Put the party on the list.")] = False,
    remove: Annotated[bool, typer.Option("--remove", metavar=FLAG, help="Keep the party off the list.")] = False,
    until: Annotated[datetime | None, typer.Option(
        help="Review date (default, and latest allowed: the list's review period from today).")] = None,
    by: ByOpt = "cli", as_json: JsonOpt = False,
) -> None:
    """Add a party to a list, or keep it off, by hand (a regulator's decision with reason and basis)."""
    from chengxin.services import list_views

    if add == remove:
        raise typer.BadParameter("give exactly one of --add and --remove")
    done = list_views.override(_app(), name, (source, entity_id), "add" if add else "remove", _viewer(by), reason,
                               basis, until.date() if until else None)
    if as_json:
        _print_json(done)
        return
    moves = "; ".join(f"{m['move']} {m['list']} ({m['policy']}): {m['party']['source']} {m['party']['id']}"
                      for m in done["evaluation"]["moves"])
    err.print(f"override recorded until {done['override']['until']}; moves: {moves or 'none'}", soft_wrap=True)


# --- measures -------------------------------------------------------------------------------------------------
@measures_app.command("show")
def measures_show(entity_id: Annotated[str, typer.Argument(help="Shop or subject id.")],
                  source: Annotated[str, typer.Option(help="Reporting source.")], as_json: JsonOpt = False) -> None:
    """The measures in force on the party behind a shop or subject, with their reasons."""
    from chengxin.services import list_views

    view = list_views.measures_of(_app(), (source, entity_id), _viewer("cli"))
    if as_json:
        _print_json(view)
        return
    err.print(f"lists: {', '.join(m['list'] for m in view['lists']) or 'none'}")
    for m in view["measures"]:
        because = "; ".join(f"{b['list']}/{b['policy']}" for b in m["because"])
        err.print(f"  {m['zh']} ({m['measure']}) = {m['value']} on {m['applies_to']} [{because}] {m['basis']}")


@measures_app.command("feed")
def measures_feed(since: Annotated[str | None, typer.Option(help="Cursor or ISO time.")] = None,
                  limit: Annotated[int, typer.Option(min=1, max=MAX_ID)] = 500, as_json: JsonOpt = False) -> None:
    """Measure changes after a cursor, oldest first: whose measures changed, and the measures now in force."""
    from chengxin.services import list_views

    page = list_views.changes(_app(), _viewer("cli"), since, limit)
    if as_json:
        _print_json(page)
        return
    for c in page["changes"]:
        now = ", ".join(f"{m['en']} = {shown(m['value'])}" for m in c["measures"]) or "none"
        err.print(f"#{c['seq']} {c['at'][:19]} {c['party']['source']} {c['party']['id']}"
                  + (f" (USCC {c['uscc']})" if c.get("uscc") else "") + f": {now}", markup=False, soft_wrap=True)
    after = "next page" if page["more"] else "newer ones, later"
    err.print(f"{len(page['changes'])} changes" + (f"; {after}: --since {page['next']}" if page["next"] else ""))


@measures_app.command("publish")
def measures_publish(as_json: JsonOpt = False) -> None:
    """Publish pending measure changes to NATS JetStream (`CHENGXIN_NATS_URL`)."""
    from chengxin.exc import ConfigError
    from chengxin.services import list_feed

    cx = _app()
    if not cx.settings.nats_url:
        raise ConfigError("CHENGXIN_NATS_URL is not set: there is no stream to publish to")
    done = list_feed.publish_feed(cx)
    _print_json(done) if as_json else err.print(f"{done['published']} published, {done['pending']} pending"
                                                + (f"; error: {done['error']}" if done["error"] else ""))
    if done["error"]:
        raise typer.Exit(69)


# --- records --------------------------------------------------------------------------------------------------
@records_app.command("show")
def records_show(record: Annotated[int, typer.Argument(min=0, max=MAX_ID)], as_json: JsonOpt = False) -> None:
    """A dishonesty record with its transitions and applications, and whether it could be repaired now."""
    from chengxin.services import appeals

    r = appeals.get_record(_app(), record, _viewer("cli"))
    if as_json:
        _print_json(r)
        return
    s = r["subject"]
    authority = (r.get("details") or {}).get("authority")

    def who(by: str) -> str:  # a sanction's source, with the authority's name it gave (display only)
        return f"{by} ({authority})" if authority and by == r["decided_by"] else by

    err.print(f"record {r['id']}: {r['category_en'] or r['category']} / {r['category_zh']}, {r['severity']}, "
              f"[bold]{r['state']}[/]; {s['kind']} {s['source']} {s['id']}", soft_wrap=True)
    err.print(f"confirmed {(r['confirmed_at'] or '-')[:10]} by {who(r['decided_by'])}; basis {r['basis'] or '-'}; "
              + ("public" + (f" until {r['disclose_until']}" if r.get("disclose_until") else "") if r["public"] else
                 "not public" + (f" (disclosure period to {r['disclose_until']})" if r.get("disclose_until") else ""))
              + (f"; repair from {r['repair_from']}" if r.get("repair_from") else "")
              + (f"; ended {r['ended_at'][:10]}" if r.get("ended_at") else "")
              + f"; credit record #{r['credit_record']}", markup=False, soft_wrap=True)
    for m in r["transitions"]:
        err.print(f"  {m['at'][:10]} {m['action']}: {m['from'] or '-'} -> {m['to']} by {who(m['by'])}: "
                  f"{m['reason'] or ''}" + (f" ({m['basis']})" if m.get("basis") else "")
                  + f" [#{m['credit_record']}]", markup=False, soft_wrap=True)
    for a in r["applications"]:
        err.print(f"  application {a['id']}: {a['kind']} filed {a['filed_at'][:10]} by {a['filed_by']}, {a['status']}"
                  + (f", due {a['due_by']}" if a.get("due_by") else "") + f": {a['grounds']}", markup=False,
                  soft_wrap=True)
    check = r["repair_check_if_conditions_met"]
    err.print("repair: could be granted now, its conditions met" if check["eligible"] else
              "repair: not now: " + "; ".join(check["unmet"]), markup=False, soft_wrap=True)


@records_app.command("applications")
def records_applications(status: Annotated[str | None, typer.Option(help="pending (default), upheld, overturned, "
                                                                        "granted, refused; `all` for every one.")]
                         = "pending", as_json: JsonOpt = False) -> None:
    """Appeals and repair applications waiting for a decision (or in another state)."""
    from chengxin.services import appeals

    page = appeals.list_applications(_app(), _viewer("cli"), status=None if status == "all" else status)
    if as_json:
        _print_json(page)
        return
    for a in page["applications"]:
        err.print(f"#{a['id']} {a['kind']} of record {a['record']} filed {a['filed_at'][:10]} by {a['filed_by']}"
                  f" ({a['status']}{', due ' + a['due_by'] if a['due_by'] else ''}): {a['grounds']}", soft_wrap=True)


@records_app.command("file")
def records_file(
    record: Annotated[int, typer.Argument(min=0, max=MAX_ID)],
    kind: Annotated[str, typer.Option(help="appeal or repair.")],
    grounds: Annotated[str, typer.Option(help="The party's grounds.")],
    met: Annotated[list[str] | None, typer.Option(help="Repair conditions met: penalty_fulfilled, harm_removed "
                                                       "(repeat the option); the repair commitment is checked "
                                                       "among the party's published commitments.")] = None,
    by: ByOpt = "cli", at: AtOpt = None, as_json: JsonOpt = False,
) -> None:
    """File an appeal or a repair application for a record."""
    from chengxin.services import appeals

    done = appeals.file_application(_app(), record, kind, _viewer(by), grounds, dict.fromkeys(met or [], True),
                                      _utc(at))
    _print(done, as_json)


@records_app.command("decide")
def records_decide(
    application: Annotated[int, typer.Argument(min=0, max=MAX_ID)],
    decision: Annotated[str, typer.Option(help="uphold / overturn (appeal); grant / refuse (repair).")],
    reason: Annotated[str, typer.Option()], basis: Annotated[str | None, typer.Option()] = None,
    by: ByOpt = "cli", at: AtOpt = None, as_json: JsonOpt = False,
) -> None:
    """Decide an appeal or repair application; lists follow at once."""
    from chengxin.services import appeals, lists

    cx = _app()
    done = appeals.decide_application(cx, application, _viewer(by), decision, reason, basis, _utc(at))
    lists.drain(cx, _utc(at))
    _print(done, as_json)


def _print(done: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(done)
        return
    a, r = done["application"], done["record"]
    err.print(f"application {a['id']} ({a['kind']}) {a['status']}; record {r['id']} ({r['category']}) is {r['state']}"
              + (f"; unmet: {'; '.join(a['check']['unmet'])}" if a.get("check") and a["check"]["unmet"] else ""))


# --- policy ---------------------------------------------------------------------------------------------------
@policy_app.command("check")
def policy_check(file: Annotated[Path, typer.Argument(help="A policy file like vocab/list_policies.yaml.")]) -> None:
    """Check a policy file: every condition compiles and runs on sample profiles; lists and measures exist."""
    from chengxin.services import lists

    ps = lists.load_policy_text(file.read_text(encoding="utf-8"), str(file))
    err.print(f"ok: {len(ps.policies)} policies over {len(ps.lists)} lists")


@policy_app.command("shadow")
def policy_shadow(file: Annotated[Path | None, typer.Argument(help="Candidate policy file (default: this "
                                                                  "node's shadow policies).")] = None,
                  as_json: JsonOpt = False) -> None:
    """Who would enter or leave which list under the candidate policies now. Changes nothing."""
    from chengxin.services import policy

    text = file.read_text(encoding="utf-8") if file else None
    done = policy.shadow_report(_app(), _viewer("cli"), text, str(file) if file else "<shadow>")
    if as_json:
        _print_json(done)
        return
    err.print(f"{done['parties']:,} parties; {done['effect']}")
    for name, c in sorted(done["counts"].items()):
        err.print(f"  {name}: would enter {c['would_enter']}, would leave {c['would_leave']}")


@policy_app.command("backtest")
def policy_backtest(file: Annotated[Path, typer.Argument(help="Candidate policy file.")],
                    since: Annotated[datetime | None, typer.Option(help="Replay from this time.")] = None,
                    as_json: JsonOpt = False) -> None:
    """Replay every party's history under the current policies and under FILE; print the differences."""
    from chengxin.services import policy

    done = policy.backtest(_app(), file.read_text(encoding="utf-8"), str(file), _utc(since))
    if as_json:
        _print_json(done)
        return
    err.print(f"{done['parties']:,} parties replayed (every fact change and every {done['grid_days']} days); "
              f"{done['effect']}")
    for label in ("current", "candidate"):
        made = ", ".join(f"{p} {n}" for p, n in sorted(done["entries_by_policy"][label].items())) or "none"
        err.print(f"  entries under {label}: {made}")
    for name, moves in sorted(done["differences"].items()):
        err.print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(moves.items())))


# --- commitments ----------------------------------------------------------------------------------------------
@commitments_app.command("templates")
def commitments_templates(as_json: JsonOpt = False) -> None:
    """The standard commitment templates, clause by clause."""
    from chengxin.services import commitments

    view = commitments.templates_view()
    if as_json:
        _print_json(view)
        return
    for tpl in view["templates"]:
        err.print(f"{tpl['id']}: {tpl['zh']} ({', '.join(tpl['for'])}; {tpl['type']})")
        for n, c in enumerate(tpl["clauses"], 1):
            err.print(f"  {n}. {c['zh']} [{', '.join(c['areas'])} → {c['penalty']}]", soft_wrap=True)

