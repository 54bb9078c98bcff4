"""`chengxin journal`: the access journal (who queried whose personal data or credit report, when and why), read
by the same service as `GET /v1/access-journal` with the same filters. As the node's operator (a regulator's
view: every entry), or as a platform's key reads it (`--as-key`), to answer that platform's user."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from chengxin.entrypoints.cli_common import MAX_ID, JsonOpt, _app, _print_json, err
from chengxin.services import keys, parties
from chengxin.services.viewer import PLATFORM, REGULATOR, Viewer


def register(app: typer.Typer) -> None:
    app.command("journal")(journal_cmd)


def journal_cmd(
    party: Annotated[str | None, typer.Option(help="Entries about this party or shop (with --source).")] = None,
    source: Annotated[str | None, typer.Option(help="The party's reporting source, e.g. urn:cx:platform:P1.")] = None,
    linked: Annotated[bool, typer.Option(help="With --party: its linked reports too (same party_key; a shop: its "
                                              "operator's) and the shops they run.")] = True,
    key: Annotated[str | None, typer.Option(help="Entries made with this API key id.")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. agency_report, reveal_id_number.")] = None,
    as_key: Annotated[str | None, typer.Option(help="Read as this platform key reads it (the credit agencies' "
                                                    "queries about its parties), not as the operator.")] = None,
    before: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="An entry id: older entries only (the "
                                                                       "previous page's next).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Most entries, newest first.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Who read whose personal data or credit report, when, by whom and why (docs/security.md, "The access
    journal"), newest first."""
    if (party is None) != (source is None):
        raise typer.BadParameter("give both --party and --source, or neither", param_hint="--party/--source")
    app = _app()
    viewer = keys.viewer_of(app, as_key, PLATFORM) if as_key else Viewer(role=REGULATOR, key_id="cli")
    page = parties.access_journal(app, viewer, party=(source, party) if source and party else None,
                                  linked=linked, key=key, action=action, before=before, limit=limit)
    if as_json:
        _print_json(page)
        return
    _print_page(page)


def _print_page(page: dict[str, Any]) -> None:
    """One line an entry (a table's seven columns folded every cell on a terminal of 80 columns)."""
    if not page["entries"]:
        err.print("no journal entry matches")
        return
    for e in page["entries"]:
        by, party = e["by"] or {}, e["party"] or {}
        who = f"{by.get('role', 'key')} {by.get('source') or ''}".strip()
        key = f" (key {e['key_id']})" if e["key_id"] else ""
        about = f"{party.get('source')} {party.get('id')}" if party else "no party found"
        err.print(escape(f"#{e['id']} {e['at'][:19]} {e['action']} by {who}{key}, about {about}: {e['purpose']}"),
                  soft_wrap=True)
    if page["next_before"] is not None:
        err.print(f"more: --before {page['next_before']}")
