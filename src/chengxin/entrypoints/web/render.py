"""Templates of the portal: one Jinja2 environment (autoescaped), the language of a request, and `render()`."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from chengxin.entrypoints.web import i18n, present, present_entities

TEMPLATE_DIR = Path(__file__).parent / "templates"
# Subresource integrity of the vendored static/htmx.min.js (htmx.org 2.0.11, 0BSD); a test checks it.
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
COOKIE_MAX_AGE = 365 * 24 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _environment() -> jinja2.Environment:
    # templates ship with the package: no stat() of every template file on every render (auto_reload)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.globals.update(
        shop_href=present.shop_href, party_href=present.party_href, record_href=present.record_href,
        view_href=present.view_href, external_href=present.external_href, describe=present.describe,
        requirements=present.requirements, verification=present.verification,
        identity_reason=present.identity_reason, lifted_note=present.lifted_note,
        category_label=present.category_label, licence_label=present.licence_label, HTMX_SRI=HTMX_SRI,
        localised=present.localised, level_badge=present.level_badge, percent=present.percent,
        dsr_rows=present.dsr_rows, credit_history=present.credit_history, basis_text=present.basis_text,
        reporter_label=present.reporter_label, zh=present_entities.zh,
        entity_verification=present_entities.entity_verification, plain_fields=present_entities.plain_fields,
        subject_line=present_entities.subject_line, reporter_name=present_entities.reporter_name,
        group_entities=present_entities.group_entities,
    )
    env.filters.update(cn_date=present.cn_date, cn_datetime=present.cn_datetime)
    return env


templates = Jinja2Templates(env=_environment())


def translator(request: Request) -> i18n.Translator:
    """The request's language: `?lang=`, else the cookie, else zh-CN."""
    return i18n.Translator(i18n.pick_lang(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE)))


async def request_translator(request: Request) -> i18n.Translator:
    """`translator` as a dependency: async, so a page costs no extra thread hop for it."""
    return translator(request)


def _switch_href(request: Request, lang: str) -> str:
    """The same page in the other language: a query-only link, relative to the page. The path is never
    written into it: a request for `//evil.example/x` (a 404 page) made the link leave the site."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"?{urlencode(params)}"


def render(request: Request, t: i18n.Translator, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    """A page (or fragment) in the request's language; remembers an explicit `?lang=` in a cookie."""
    ctx = {"t": t, "lang_href": _switch_href(request, t.other), **context}
    response = templates.TemplateResponse(request, name, ctx, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in i18n.LANGS:
        response.set_cookie(i18n.COOKIE, t.lang, max_age=COOKIE_MAX_AGE, httponly=True, samesite="lax")
    return response
