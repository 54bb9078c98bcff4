"""The public credit-query portal (R17): search, shop and party pages, records with in-browser proof checks.

Thin like the API: every page is one call to the same services the `/v1` API uses, always as the
anonymous public viewer (masked personal data). Errors on portal paths become friendly HTML pages;
`/v1` keeps its JSON errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from chengxin.entrypoints.api.app import http_error
from chengxin.entrypoints.api.deps import AppDep
from chengxin.entrypoints.web import entity_pages, i18n, search_results
from chengxin.entrypoints.web.present import party_href, public, shop_href
from chengxin.entrypoints.web.render import render, request_translator, translator
from chengxin.exc import ChengxinError, InvalidInput
from chengxin.services import parties, records
from chengxin.services.viewer import ANONYMOUS

log = logging.getLogger("chengxin.portal")
STATIC_DIR = FsPath(__file__).parent / "static"
JSON_PREFIXES = ("/v1", "/static", "/openapi.json", "/docs", "/redoc")
MAX_INDEX = 2**62
PAGE_SIZE = 20  # credit records per page; older ones are behind the "older records" link


class PortalRoute(APIRoute):
    """A route whose errors (ChengxinError, bad parameters) render as the friendly HTML error page. A page
    answers HEAD as it answers GET, without the body (it was 405: link checkers and monitors ask with HEAD,
    found by review)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = kwargs.get("methods")
        if methods and "GET" in {m.upper() for m in methods}:
            kwargs["methods"] = {*methods, "HEAD"}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            response = await answer(request)
            return without_body(response) if request.method == "HEAD" else response

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except ChengxinError as e:
                if e.status >= 500:
                    log.error("portal request failed", extra={"path": request.url.path, "code": e.code})
                # a not-found page says so in the page's language: the service's English message quoted the
                # visitor's input, so a crafted link put any text on an official page (found by review)
                detail = None if e.status >= 500 else translator(request)("error.no_page") if e.status == 404 \
                    else e.detail
                return error_page(request, e.status, detail)
            except RequestValidationError:
                return error_page(request, 422, None)

        return guarded


def without_body(response: Response) -> Response:
    """The answer to HEAD: GET's status and headers (its Content-Length too), no body."""
    head = Response(status_code=response.status_code)
    head.raw_headers = list(response.raw_headers)
    return head


router = APIRouter(route_class=PortalRoute, include_in_schema=False, default_response_class=HTMLResponse)
T = Annotated[i18n.Translator, Depends(request_translator)]
Before = Annotated[int | None, Query(ge=0, le=MAX_INDEX)]


def mount(app: FastAPI) -> None:
    """Register the portal pages, its static files and HTML 404s for paths outside the API."""
    from chengxin.entrypoints.web import lists_routes

    app.include_router(router)
    app.include_router(lists_routes.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)


def error_page(request: Request, status: int, detail: str | None) -> Response:
    t = translator(request)
    title = t(f"error.{status}") if f"error.{status}" in i18n.MESSAGES[t.lang] else t("error.title")
    return render(request, t, "error.html", {"status": status, "title": title, "detail": detail}, status=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(JSON_PREFIXES):
        return await http_error(request, exc)
    t = translator(request)
    page = error_page(request, exc.status_code, t("error.no_page") if exc.status_code == 404 else None)
    return without_body(page) if request.method == "HEAD" else page


# --- pages --------------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, t: T) -> Response:
    return render(request, t, "home.html", {"q": "", "shops": [], "found_parties": []})


@router.get("/search")
def search(request: Request, cx: AppDep, t: T, q: str = Query(""),
           offset: int = Query(0, ge=0, le=MAX_INDEX)) -> Response:
    """Shops by name, URL (a pasted item link too), operator's name or USCC, `offset` into them (the "next page"
    link), and businesses by name or USCC; an htmx request gets the results fragment, a browser the whole page.
    `q` has no length limit here: a long pasted link is cut to its shop's address, and a query still too long
    is answered with the reason (a bare 422 before; found by review)."""
    context = search_results.search_context(cx, t, q, offset)
    fragment = request.headers.get("hx-request") == "true" and not request.headers.get("hx-history-restore-request")
    # the whole page of a refused query is a 422; the live results' is a 200, as htmx swaps only a 2xx into place
    status = 422 if context["problem"] and not fragment else 200
    response = render(request, t, "_results.html" if fragment else "home.html", {**context, "fragment": fragment},
                      status=status)
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/shops/{shop_id:path}")
def shop_page(request: Request, cx: AppDep, t: T, shop_id: str, source: str = Query(""),
              before: Before = None) -> Response:
    """A shop's public credit file; `before` pages back through its credit records."""
    if not source:  # a link without its reporter: the one shop of that id, or the ones to choose from
        return entity_pages.pick_source(request, cx, t, shop_id)
    view = _show(cx, t, source, shop_id, before)
    if view["entity"] != "shop":
        return _redirect(request, party_href(source, shop_id))
    from chengxin.entrypoints.web.lists_routes import list_names

    return render(request, t, "shop.html", {"view": view, "before": before, "list_names": list_names()})


@router.get("/parties/{party_id:path}")
def party_page(request: Request, cx: AppDep, t: T, party_id: str, source: str = Query(""),
               before: Before = None) -> Response:
    """A party's public credit file (a natural person: masked name and mark only)."""
    if not source:
        return entity_pages.pick_source(request, cx, t, party_id)
    view = _show(cx, t, source, party_id, before)
    if view["entity"] == "shop":
        return _redirect(request, shop_href(source, party_id))
    from chengxin.entrypoints.web.lists_routes import list_names

    person = view.get("kind") in parties.NATURAL_PERSONS
    return render(request, t, "party.html", {"view": view, "person": person, "before": before,
                                             "list_names": list_names()})


@router.get("/records/{index}")
def record_page(request: Request, cx: AppDep, t: T, index: int = Path(ge=0, le=MAX_INDEX),
                size: int | None = Query(None, ge=1, le=MAX_INDEX)) -> Response:
    # `size`: proven against an earlier signed head, as `GET /v1/log/records/{index}?size=` (one signed before a
    # key rotation comes with the public key of then: docs/credit-log.md)
    data = records.record_with_proof(cx, index, ANONYMOUS, size)
    head, proof = data["tree_head"], data["proof"]
    # What static/verify.js checks: the record shown (with its leaf bytes), not the served leaf hash, which
    # it derives itself; the head's fields, to hold the signed note to them. A record shown masked has no
    # leaf bytes (they hold what it masks): then the served leaf hash, which the server derived from the record
    # as logged, is all the browser can fold to the root.
    check = {"record": data["record"], "size": proof["tree_size"], "proof": proof["proof"], "root": head["root"],
             "leaf_hash": proof["leaf_hash"],
             "origin": head["origin"], "signed_at": head["signed_at"], "note": head["note"],
             "signature": head["signature"], "public_key": head["public_key"], "key_id": head["key_id"]}
    return render(request, t, "record.html", {"data": data, "check": check, "decider_names": decider_names(
        cx, [data["record"]]), **entity_pages.record_context(cx, data["record"])})


def _show(cx: Any, t: i18n.Translator, source: str, entity_id: str, before: int | None) -> dict[str, Any]:
    if not source:
        raise InvalidInput(t("error.missing_source"))
    view: dict[str, Any] = public(parties.show(cx, source, entity_id, ANONYMOUS, limit=PAGE_SIZE, before=before))
    view["decider_names"] = decider_names(cx, view.get("credit_records") or [])
    # who reported each record, by name where the source registered one (the page showed URNs: found by review)
    view["reporter_names"] = records.source_names(cx, {r["event"]["source"] for r in view.get("credit_records") or []
                                                      if isinstance(r.get("event"), dict)})
    entity_pages.enrich(cx, view)  # who reported the business and who verified it (found by review)
    return view


def decider_names(cx: Any, shown: list[dict[str, Any]]) -> dict[str, str]:
    """The names of the sources that decided these records (a platform that confirmed a finding): the page
    says "平台（示例电商平台有限公司）", not the source's URN."""
    deciders = {r["payload"].get("decided_by") for r in shown if isinstance(r.get("payload"), dict)}
    return records.source_names(cx, [d for d in deciders if isinstance(d, str)])


def _redirect(request: Request, target: str) -> Response:
    lang = request.query_params.get("lang")
    if lang in i18n.LANGS:
        target += "&" + urlencode({"lang": lang})
    return RedirectResponse(target, status_code=303)
