"""Portal pages of the public lists and risk notices (issue 6): `/lists/{black,red}` with their entry criteria,
remedy and current members (SHSC art. 25), `/notices` and its Atom feed `/notices.atom`.

Anonymous like every portal page: the watch list is not public (a 404 saying so), natural persons are masked
on the lists and never in the notices (`services/notices.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.deps import AppDep
from chengxin.entrypoints.web import i18n, list_members
from chengxin.entrypoints.web.present import basis_text, cn_date, localised, party_href, public, shop_href
from chengxin.entrypoints.web.render import SECURITY_HEADERS, render
from chengxin.entrypoints.web.routes import MAX_INDEX, PortalRoute, T, error_page
from chengxin.exc import InvalidInput, NotFound
from chengxin.services import list_views, lists, notices

router = APIRouter(route_class=PortalRoute, include_in_schema=False, default_response_class=HTMLResponse)
LIST_PAGE = 50      # parties per page; the parties listed earlier are behind the "more" link
NOTICES = 50        # notices on a page and in a page of the feed; older ones are behind the "older" link
ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def list_names() -> dict[str, dict[str, str]]:
    """Each list's name in zh and en (the shop page's badges and measures name the list in the page's language)."""
    return {name: {"zh": d.zh, "en": d.en} for name, d in lists.policies().lists.items()}


@router.get("/lists/{name}")
def list_page(request: Request, cx: AppDep, t: T, name: str, after: int | None = Query(None, ge=0, le=MAX_INDEX),
              limit: int = Query(LIST_PAGE, ge=1, le=100)) -> Response:
    """A public list: its criteria (the enforced policies with their legal basis), remedy and current members,
    each party once with its entries (`limit` parties a page)."""
    entry = next((x for x in list_views.catalog_view()["lists"] if x["name"] == name), None)
    if entry is None:
        raise NotFound(t("error.no_page"))
    if not entry["public"]:
        return error_page(request, 404, t("lists.not_public"))
    data = public(list_members.by_party(cx, name, limit=limit, after=after))  # each party once, with its entries
    catalog = {m["measure"]: m for m in list_views.catalog_view()["measures"]}
    measures = [catalog[m] for m in entry["measures"] if m in catalog]
    policies = [p for p in entry["policies"] if p.get("mode", "enforce") == "enforce"]
    more = data["next_after"]
    page_q = "" if limit == LIST_PAGE else f"&limit={limit}"
    return render(request, t, "list.html", {
        "entry": entry, "policies": policies, "measures": measures, "data": data, "after": after,
        "next_href": f"/lists/{name}?after={more}{page_q}" if more is not None else None,
        "first_href": f"/lists/{name}" + (f"?limit={limit}" if page_q else "")})


Cursor = Annotated[int | None, Query(ge=1, le=MAX_INDEX)]  # a notice's record id
PageSize = Annotated[int, Query(ge=1, le=100)]


def _notices_page(request: Request, t: i18n.Translator, cx: Chengxin, limit: int, before: int | None,
                  after: int | None) -> dict[str, Any] | Response:
    """The page of notices the cursors ask for, or the error page (422) for a cursor naming no notice."""
    if before is not None and after is not None:
        return error_page(request, 422, t("notices.bad_cursor"))
    try:
        data: dict[str, Any] = public(notices.page(cx, limit, before=before, after=after))
    except InvalidInput:  # the service says it in English; the page says it in its own language
        return error_page(request, 422, t("notices.bad_cursor"))
    return data


def _notices_query(cursor: str, record: int, limit: int, lang: str | None = None) -> str:
    params = [*([("lang", lang)] if lang else []), (cursor, str(record)),
              *([("limit", str(limit))] if limit != NOTICES else [])]
    return "?" + urlencode(params)


@router.get("/notices")
def notices_page(request: Request, cx: AppDep, t: T, before: Cursor = None, after: Cursor = None,
                 limit: PageSize = NOTICES) -> Response:
    """Risk notices: public serious dishonesty records in force, newest first, `limit` a page; `before` (the
    "older" link) and `after` (the "newer" link) are record ids."""
    data = _notices_page(request, t, cx, limit, before, after)
    if isinstance(data, Response):
        return data
    older, newer = data["older"], data["newer"]
    return render(request, t, "notices.html", {
        "notices": data["notices"], "paged": before is not None or after is not None,
        "older_href": f"/notices{_notices_query('before', older, limit)}" if older is not None else None,
        "newer_href": f"/notices{_notices_query('after', newer, limit)}" if newer is not None else None})


@router.get("/notices.atom")
def notices_feed(request: Request, cx: AppDep, t: T, before: Cursor = None, after: Cursor = None,
                 limit: PageSize = NOTICES) -> Response:
    """The risk notices as an Atom 1.0 feed (RFC 4287), in the request's language, paged as the page is
    (RFC 5005 paged feed: `next` older, `previous` newer, `first` the newest)."""
    data = _notices_page(request, t, cx, limit, before, after)
    if isinstance(data, Response):
        return data
    configured = cx.settings.public_url
    base = (configured or str(request.base_url)).rstrip("/")
    body = atom_feed(t, data["notices"], base, pages=_feed_pages(t, data, limit, before, after))
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}
    # links built from the caller's Host header: for that caller only (a cache poisoned with another host's
    # links sent every reader of the feed there; found by review)
    headers["Cache-Control"] = "public, max-age=300" if configured else "no-store"
    return Response(body, media_type=ATOM_TYPE, headers=headers)


def _feed_pages(t: i18n.Translator, data: dict[str, Any], limit: int, before: int | None,
                after: int | None) -> dict[str, str]:
    """The paging links of a feed page (RFC 5005 section 3), as paths with their query, in the feed's language."""
    pages: dict[str, str] = {}
    if before is not None or after is not None:
        pages["self"] = _notices_query("before" if before is not None else "after", before or after or 0, limit)
        pages["first"] = "?" + urlencode([("lang", t.lang), *([("limit", str(limit))] if limit != NOTICES else [])])
    if data["older"] is not None:
        pages["next"] = _notices_query("before", data["older"], limit, t.lang)
    if data["newer"] is not None:
        pages["previous"] = _notices_query("after", data["newer"], limit, t.lang)
    return pages


def notice_href(n: dict[str, Any]) -> str:
    """Where a notice points: the shop's page, else the party's."""
    if n["shop"]:
        return shop_href(n["shop"]["source"], n["shop"]["id"])
    return party_href(n["party"]["source"], n["party"]["id"])


def _broken_one(t: i18n.Translator, b: dict[str, Any]) -> str:
    """One broken commitment by its title (its id alone, "K19", named it before) and the clause by the merchant's
    own number when its text carries the clause, else by the standard text's, said so (public review finding 5)."""
    title = (b["commitment"].get("title") or {}).get(t.lang) or b.get("template") or b["commitment"]["id"]
    own = b.get("own_clause")
    if t.lang == "zh":
        return f"信用承诺《{title}》{'' if own else '标准文本'}第{own or b['clause']}条"
    return f"the credit commitment “{title}”, clause {own or b['clause']}{'' if own else ' of its standard text'}"


def broken_text(t: i18n.Translator, n: dict[str, Any]) -> str:
    """The commitments a notice's act broke, said as part of its notice (a breach is no notice of its own).
    Worded here until the portal's catalogue (`i18n_lists.py`) carries it."""
    said = [_broken_one(t, b) for b in n.get("breaches") or []]
    if not said:
        return ""
    return f"另违反{'、'.join(said)}。" if t.lang == "zh" else f" Also broke {'; '.join(said)}."


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    el.text = text
    return el


def atom_feed(t: i18n.Translator, items: list[dict[str, Any]], base: str,
              pages: dict[str, str] | None = None) -> bytes:
    """An Atom feed of notices: feed id/title/updated/author/links; per entry id, title, updated, link, summary.
    `pages`: the paging links (rel → query of `/notices.atom`: `self` of a later page, `first`, `next`,
    `previous`)."""
    pages = pages or {}
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: t.html_lang})
    _text(feed, "id", f"{base}/notices.atom")
    _text(feed, "title", t("notices.title"))
    newest = max((n["confirmed_at"] for n in items), default=None)
    _text(feed, "updated", newest or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", t("site.name"))
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "self", "type": "application/atom+xml",
                                            "href": f"{base}/notices.atom{pages.get('self', '')}"})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": f"{base}/notices"})
    for rel in ("first", "previous", "next"):
        if rel in pages:
            ET.SubElement(feed, f"{{{ATOM}}}link", {"rel": rel, "type": "application/atom+xml",
                                                    "href": f"{base}/notices.atom{pages[rel]}"})
    for n in items:
        category = localised(t, n, "category_zh", "category_en") or n["category"]
        name = n["shop"]["name"] if n["shop"] else n["party"]["name"]
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"urn:cx:chengxin:dishonesty-record:{n['record']}")
        _text(entry, "title", t("notices.entry_title", party=name, category=category))
        _text(entry, "updated", n["confirmed_at"])
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html",
                                                 "href": base + notice_href(n)})
        until = n["disclose_until"] or t("notices.until_lifted")
        _text(entry, "summary", t("notices.entry_summary", category=category, basis=basis_text(t, n["basis"]),
                                  date=cn_date(n["confirmed_at"]), until=until) + broken_text(t, n), type="text")
        _text(entry, "category", "", term=n["category"], label=category).text = None
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
