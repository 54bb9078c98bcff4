"""`chengxin report` (a credit agency's credit report, the service `POST /v1/reports/{entity_id}` calls) and
`chengxin keys rotate`. Registered by `cli.py` (`register`)."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated, Any

import typer

from chengxin.entrypoints.cli_common import JsonOpt, _app, _print_json, err
from chengxin.services import agency_report, keys
from chengxin.services.viewer import AGENCY


def register(app: typer.Typer, keys_app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    keys_app.command("rotate")(keys_rotate)


def report_cmd(
    entity_id: Annotated[str, typer.Argument(help="The party's or shop's id at its reporting source.")],
    source: Annotated[str, typer.Option(help="The reporting source, e.g. urn:cx:platform:P1.")],
    key: Annotated[str, typer.Option(help="The id of the agency's API key the report is made for (journaled).")],
    purpose: Annotated[str, typer.Option(help="Why the report is asked for (journaled).")],
    authorization_sha256: Annotated[str | None, typer.Option(help=(
        "A natural person's signed authorization: its SHA-256 (浙江省公共信用信息管理条例 第十九条)."))] = None,
    authorization_signed_on: Annotated[str | None, typer.Option(help="The day it was signed (YYYY-MM-DD).")] = None,
    since_size: Annotated[int | None, typer.Option(min=0, help=(
        "An earlier report's log tree size: only what changed since (records appended, records withdrawn)."))] = None,
    as_json: JsonOpt = False,
) -> None:
    """A credit agency's credit report of a party or shop, journaled under its key (as through the API)."""
    from chengxin.exc import InvalidInput

    if (authorization_sha256 is None) != (authorization_signed_on is None):
        raise InvalidInput("--authorization-sha256 and --authorization-signed-on: give both, or neither")
    auth = None
    if authorization_sha256 and authorization_signed_on:
        try:
            signed = date.fromisoformat(authorization_signed_on)
        except ValueError:
            raise InvalidInput("--authorization-signed-on: a date, YYYY-MM-DD") from None
        auth = agency_report.Authorization(authorization_sha256, signed)
    cx = _app()
    found = agency_report.report(cx, keys.viewer_of(cx, key, AGENCY), source, entity_id, purpose, auth, since_size)
    if as_json:
        _print_json(found)
        return
    _print_report(found, entity_id, source)


def _print_report(found: dict[str, Any], entity_id: str, source: str) -> None:
    """The report for people: who, the grade and why (each dimension's sentence), lists, measures, shops,
    licences, then the records with their state and period, and the log size to give as --since-size."""
    subject, credit = found["subject"], found["credit"]
    name = subject["identity"].get("name") or subject["identity"].get("shop", {}).get("name")
    err.print(f"{subject['entity']} {entity_id} ({source}): {name}; grade {credit['grade'] or '-'}, "
              f"score {credit['score'] if credit['score'] is not None else '-'}")
    for reason in credit.get("reasons") or []:
        err.print(f"  reason: {reason['zh']} / {reason['en']}")
    for d in credit.get("dimensions") or []:
        err.print(f"  {d['dimension']} {d['points']}/{d['weight']}: {d['zh']} / {d['en']}")
    for lst in found["lists"]:
        err.print(f"  list: {lst.get('zh') or lst.get('list')}")
    err.print(f"  measures: {len(found['measures'])}; shops: {len(found.get('shops', []))}; "
              f"licences: {len(found.get('licences', []))}")
    for r in found["records"]:
        period = r.get("query_period")
        state = f" [{r['state']}{', disputed / 异议中' if r['disputed'] else ''}]" if r.get("state") else ""
        said = ("alleged" if r.get("alleged") else "negative") + (f", shown until {period['until']}"
                                                                    if period and period["until"] else "")
        err.print(f"  #{r['index']} {r['kind']} {r['at'][:10]}{state}" + (f" ({said})" if period else ""))
    if found["records_withheld_past_window"]:
        err.print(f"  {found['records_withheld_past_window']} negative record(s) past the five-year query period "
                  "left out (上海市社会信用条例 第三十五条)")
    since = found["records_withdrawn"].get("since")
    if since is not None:
        err.print(f"  withdrawn since log size {found['log']['since_size']}: {since['count']} record(s) "
                  f"{since['indexes']} (delete them downstream)")
    err.print(f"  log tree size {found['log']['tree_size']} (give --since-size {found['log']['tree_size']} "
              "next time for what changed)")


def keys_rotate(
    key_id: str,
    grace_hours: Annotated[float, typer.Option(help=(
        "Hours the old secret keeps working (0: refused at once)."))] = keys.DEFAULT_GRACE_HOURS,
    as_json: JsonOpt = False,
) -> None:
    """A new secret for a key (same id, role and source), printed once; the old one works until the grace ends."""
    secret, until = keys.rotate_key(_app(), key_id, grace_hours)
    if as_json:
        _print_json({"key_id": key_id, "secret": secret, "previous_until": until})
        return
    err.print(f"key {key_id} rotated; the old secret works {'until ' + until if until else 'no more'}; "
              "new secret, shown once:")
    sys.stdout.write(secret + "\n")
