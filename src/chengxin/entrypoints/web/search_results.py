"""What the portal's search page shows for a query: one page of shops with the true total and links to the
pages around it, the businesses the query names, or why the query cannot be run. Every lookup is a service
call (`services/shop_search.py`, `services/parties.py`), always as the anonymous public viewer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.routes import shop_query
from chengxin.entrypoints.web import i18n
from chengxin.entrypoints.web.present import public
from chengxin.services import lists, parties, records, shop_search
from chengxin.services.viewer import ANONYMOUS

SHOWN = 20  # shops on a page; the rest are behind the "next page" link
PARTIES_SHOWN = 10  # businesses named by the query; more say how many and ask for more of the name


def search_context(cx: Chengxin, t: i18n.Translator, typed: str, offset: int) -> dict[str, Any]:
    """The template context of `/search?q=typed&offset=offset`: `problem` (a reason to show instead of
    results) or `shops`, `total`, `prev_href`, `next_href`, `found_parties`, `parties_total`,
    `parties_named`. A pasted link too long to search is cut to its shop's address first."""
    q = typed.strip()
    query = shop_query(shop_search.searchable(q))  # a USCC written in groups as its 18 characters
    base: dict[str, Any] = {"q": q, "offset": offset, "shops": [], "total": 0, "found_parties": [],
                            "parties_total": 0, "parties_named": False, "platforms": {}, "problem": None,
                            "prev_href": None, "next_href": None, "list_names": {}}
    if len(query) > shop_search.MAX_QUERY:
        return {**base, "problem": t("search.too_long", n=shop_search.MAX_QUERY)}
    if not q:
        return base
    page = shop_search.search_page(cx, query, limit=SHOWN, offset=offset)
    found, named, found_total = _parties(cx, query)
    shown = page["shops"]
    return {**base, "shops": public(shown), "total": page["total"],
            "next_href": _href(q, page["next_offset"]),
            "prev_href": _href(q, _previous(offset, page["total"])) if offset else None,
            "found_parties": public(found), "parties_named": named, "parties_total": found_total,
            # which platform each shop is on (two shops of one name were told apart by nothing), and who
            # reported each business, by name where the source registered one
            "platforms": records.source_names(cx, {r["source"] for r in [*shown, *found]}),
            "list_names": {n: (d.zh, d.en) for n, d in lists.policies().lists.items()}}


def _parties(cx: Chengxin, query: str) -> tuple[list[dict[str, Any]], bool, int]:
    """The businesses the query names, whether found by name (not by USCC), and how many there are. By USCC:
    every report of the party with that code (a logistics firm, a platform: parties without shops). By name:
    businesses whose registered name holds the query (the public never finds a natural person by name), so a
    company on the black list is found by the name the list prints (found by review). A link names none."""
    if len(query) == 18 and query.isascii() and query.isalnum():
        found = parties.search_parties(cx, query, ANONYMOUS)
        return found, False, len(found)
    if len(query) < shop_search.MIN_NAME or shop_search.url_parts(query) is not None:
        return [], False, 0
    page = shop_search.businesses_named(cx, query, limit=PARTIES_SHOWN)
    return page["parties"], True, page["total"]


def _previous(offset: int, total: int) -> int:
    """The page before the one at `offset`; from past the end (an old or edited link), the last page."""
    return max(offset - SHOWN, 0) if offset < total else max((total - 1) // SHOWN * SHOWN, 0)


def _href(q: str, offset: int | None) -> str | None:
    """The link to the page of results that starts at `offset` (the language stays in its cookie)."""
    if offset is None:
        return None
    return "/search?" + urlencode({"q": q, **({"offset": offset} if offset else {})})
