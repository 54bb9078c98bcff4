"""`chengxin report` (a credit agency's credit report, the service `POST /v1/reports/{entity_id}` calls) and
`chengxin keys rotate`. Registered by `cli.py` (`register`)."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

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
    found = agency_report.report(cx, keys.viewer_of(cx, key, AGENCY), source, entity_id, purpose, auth)
    if as_json:
        _print_json(found)
        return
    subject, credit = found["subject"], found["credit"]
    name = subject["identity"].get("name") or subject["identity"].get("shop", {}).get("name")
    err.print(f"{subject['entity']} {entity_id} ({source}): {name}; grade {credit['grade'] or '-'}, "
              f"score {credit['score'] if credit['score'] is not None else '-'}")
    for r in found["records"]:
        period = r.get("query_period")
        err.print(f"  #{r['index']} {r['kind']} {r['at'][:10]}" + (f" (negative, shown until {period['until']})"
                                                                  if period else ""))
    if found["records_withheld_past_window"]:
        err.print(f"  {found['records_withheld_past_window']} negative record(s) past the five-year query period "
                  "left out (上海市社会信用条例 第三十五条)")


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
