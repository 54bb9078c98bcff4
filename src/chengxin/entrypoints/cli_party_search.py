"""`chengxin party search NAME`: parties by part of their registered name, as `GET /v1/parties?name=` finds them.

Beside `party show` (registered by cli.py on its `party` group): the same service as the API, run as the node's
operator, who sees what a regulator sees (natural persons too, each found journaled under key `cli`) unless
`--public`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from chengxin.entrypoints.cli_common import FLAG, MAX_ID, JsonOpt, _app, _print_json, err
from chengxin.services import shop_search
from chengxin.services.viewer import REGULATOR, Viewer


def party_search(
    name: Annotated[str, typer.Argument(help="Part of a registered name (at least 2 characters).")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="Most parties in one page.")] = 20,
    offset: Annotated[int, typer.Option(min=0, max=MAX_ID, help="How many to skip: the previous page's "
                                                                "next offset.")] = 0,
    purpose: Annotated[str | None, typer.Option(help="Why (journaled with each natural person found).")] = None,
    public: Annotated[bool, typer.Option("--public", metavar=FLAG, help="Search as the public does (businesses "
                                         "only) instead of as the operator.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Find parties by part of their registered name: businesses of every kind, and natural persons (the
    operator's regulator view; journaled, as the API journals a regulator's search). A page at a time, ordered
    by name, then source and id."""
    if len(name.strip()) < 2:
        raise typer.BadParameter("give at least 2 characters of the name", param_hint="NAME")
    if purpose is not None and not 3 <= len(purpose) <= 200:
        raise typer.BadParameter("3 to 200 characters", param_hint="--purpose")
    # the CLI runs as the node's operator, as `party show` does
    viewer = Viewer() if public else Viewer(role=REGULATOR, key_id="cli")
    page = shop_search.search_parties_by_name(_app(), name, viewer, limit=limit, offset=offset, purpose=purpose)
    if as_json:
        _print_json(page)
        return
    _print_page(page, offset)


def _print_page(page: dict[str, Any], offset: int) -> None:
    from rich import box
    from rich.table import Table

    found = page["parties"]
    if not found:
        err.print(f"no party by that name ({page['total']} in all)")
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"{offset + 1}-{offset + len(found)} of {page['total']}")
    for column in ("name", "kind", "source", "id", "USCC", "verified"):
        table.add_column(column, overflow="fold")  # a name or id cut short is not one to copy
    for p in found:
        table.add_row(escape(p["name"] or ""), p["kind"], escape(p["source"]), escape(p["id"]), p["uscc"] or "-",
                      "yes" if p["verified"] else "no")
    err.print(table)
    if page["next_offset"] is not None:
        err.print(f"more: --offset {page['next_offset']}")
