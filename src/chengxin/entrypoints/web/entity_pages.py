"""The parts of shop, party and record pages that name entities and reporters (public review findings 2, 6): who
reported a business and who verified it, what a record is about, and where a link without its source leads.
Thin: one call to `services.portal_entities` or `services.records` each."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from chengxin.entrypoints.web import i18n
from chengxin.entrypoints.web.present import party_href, shop_href
from chengxin.entrypoints.web.render import render
from chengxin.services import portal_entities, records


def href_of(found: dict[str, Any]) -> str:
    return (shop_href if found["entity"] == "shop" else party_href)(found["source"], found["id"])


def pick_source(request: Request, cx: Any, t: i18n.Translator, entity_id: str) -> Response:
    """A shop or party link without `source` (`/shops/S1`): the page itself when one reporter has that id,
    else the reporters' pages to choose from (a link without its source said only "缺少参数 source")."""
    found = portal_entities.candidates(cx, entity_id)
    if len(found) == 1:
        target = href_of(found[0])
        lang = request.query_params.get("lang")
        return RedirectResponse(target + ("&" + urlencode({"lang": lang}) if lang in i18n.LANGS else ""), 303)
    names = records.source_names(cx, {f["source"] for f in found})
    shown = found[:portal_entities.MAX_CANDIDATES]
    return render(request, t, "pick_source.html",
                  {"entity_id": entity_id, "found": [{**f, "href": href_of(f)} for f in shown], "names": names,
                   "more": len(found) > len(shown)}, status=200 if found else 404)


def enrich(cx: Any, view: dict[str, Any]) -> None:
    """Add the reports of the business a shop or party page is about (each reporter's verification mark) and
    the names of every reporter the page mentions."""
    about = view.get("operator") if view.get("entity") == "shop" else view
    reports = portal_entities.entity_reports(cx, about or {})
    view["entity_reports"] = reports
    sources = {r["source"] for r in reports} | {r["source"] for r in view.get("reports") or []}
    view["reporter_names"] = {**(view.get("reporter_names") or {}), **records.source_names(cx, sources)}


def record_context(cx: Any, record: dict[str, Any]) -> dict[str, Any]:
    """What a record page names: its subject (name and link) and its reporter."""
    subject = portal_entities.record_subject(cx, record.get("subject") or {})
    if subject is not None:
        subject["href"] = href_of(subject)
    source = (record.get("event") or {}).get("source")
    return {"subject": subject, "reporter_source": source,
            "reporter_names": records.source_names(cx, [source] if isinstance(source, str) else [])}
