"""`create_app()`: the FastAPI application (API under /v1, portal at /), errors mapped in one place."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chengxin.bootstrap import Chengxin, existing, freeze_startup_objects
from chengxin.entrypoints.api.openapi import document
from chengxin.exc import Busy, ChengxinError, ConfigError, InvalidInput, Unavailable, from_foreign

log = logging.getLogger("chengxin.api")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # blocking endpoints run on anyio's worker threads: as many at once as `threads` allows
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.chengxin.settings.threads
    freeze_startup_objects()
    yield
    sequencer = getattr(app.state, "sequencer", None)
    if sequencer is not None:  # store what is queued before the process exits
        sequencer.close()


def create_app(cx: Chengxin | None = None) -> FastAPI:
    """Build the ASGI app around one `Chengxin`. When none is given, the environment's store, which must exist
    (`bootstrap.existing`: ConfigError otherwise, as the command line refuses it with exit 78): built plainly,
    it made a new, empty SQLite store at a path that named none, and served it (found by review)."""
    from chengxin.entrypoints.api.agency_routes import router as agency_router
    from chengxin.entrypoints.api.lists_routes import router as lists_router
    from chengxin.entrypoints.api.routes import post_events_plain
    from chengxin.entrypoints.api.routes import router as api_router

    app = _Api(
        lifespan=_lifespan, title="Chengxin credit service", version="1",
        description="Ingest events-v1, read credit files, verify the tamper-evident credit log.",
        docs_url=None, redoc_url=None,  # FastAPI's pages load their scripts from a CDN: `/docs` is served below
    )
    app.state.chengxin = cx or _own_key(existing())
    # the hot route first, as a plain Starlette route: the first full match wins (`routes.post_events_plain`)
    app.add_route("/v1/events", post_events_plain, methods=["POST"], include_in_schema=False)
    app.include_router(api_router)
    app.include_router(lists_router)
    app.include_router(agency_router)
    app.add_exception_handler(ChengxinError, _chengxin_error)
    for failure in (OperationalError, InterfaceError):  # the database down: 503, as the CLI says 69
        app.add_exception_handler(failure, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_middleware(NoNul)
    app.add_middleware(IdentityBodies)
    app.add_middleware(NoStore)
    _mount_portal(app)  # may replace the HTTP error handler with one that renders HTML outside /v1
    app.add_route("/docs", _docs, methods=["GET", "HEAD"], include_in_schema=False)
    return app


def _own_key(cx: Chengxin) -> Chengxin:
    """The environment's node, refused (ConfigError) when its signing key is not the one that signed the log's
    newest head, as `chengxin serve` refuses it: a worker built from the environment served the new public key
    beside heads the old one signed, and every browser check of a record failed (found by review)."""
    from chengxin.adapters.db.engine import read_connection
    from chengxin.services import credit_log

    with read_connection(cx.engine) as conn:
        credit_log.require_own_key(conn, cx.keys, cx.settings.log_origin)
    return cx


def worker_app() -> FastAPI:
    """`create_app()` for a worker process of uvicorn (`chengxin serve --workers N`, or
    `uvicorn --factory chengxin.entrypoints.api.app:worker_app`): a store refused is logged, and the worker
    exits with uvicorn's start-up failure code, on which its supervisor stops rather than start the worker
    again, and again (any other error is taken for a crash, and the worker restarted)."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        return create_app()
    except ConfigError as refused:
        log.error("%s", refused.detail)
        raise SystemExit(STARTUP_FAILURE) from None


async def _docs(request: Any) -> Any:
    """The OpenAPI document in Swagger UI, its script and style vendored under the portal's /static (npm
    `swagger-ui-dist`, static/swagger/VERSION): FastAPI's own page loads them from cdn.jsdelivr.net, and was
    blank on a node without internet, or where that CDN is unreliable (found by review)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url="/openapi.json", title="Chengxin credit service — API",
                               swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                               swagger_css_url="/static/swagger/swagger-ui.css",
                               swagger_favicon_url="/static/favicon.svg")


class _Api(FastAPI):
    """FastAPI, with the OpenAPI document of `openapi.document`."""

    def openapi(self) -> dict[str, Any]:
        return document(self)


def _is_api(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


class NoStore:
    """`Cache-Control: no-store` on every `/v1` answer, errors included: an answer depends on the key that asked
    (a platform's or regulator's full view, a revealed ID number), and a cache does not key on `X-API-Key`.
    Plain ASGI rather than `BaseHTTPMiddleware`, which would cost the hot `POST /v1/events` a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        api, static = _is_api(scope["path"]), scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if api:
                    headers["Cache-Control"] = "no-store"
                    headers.update(scope.get("state", {}).get("key_rotated", {}))  # deps.get_viewer: switch keys
                else:  # what the portal's pages set, on the rest too (/docs, where keys are typed, /static)
                    for name, value in _BASELINE:
                        headers.setdefault(name, value)
                    if static:  # an hour: a reload asked for every file again (found by review); a new release's
                        headers.setdefault("Cache-Control", "public, max-age=3600")  # files within the hour
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Beside the API: /docs (Swagger UI, where a regulator types a key) could be framed, and static files sniffed
# (found by review). A page with its own Content-Security-Policy (the portal's) keeps it.
_BASELINE = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
             ("Content-Security-Policy", "frame-ancestors 'none'"), ("Referrer-Policy", "same-origin"))


class NoNul:
    """A NUL character in the path or query is refused before any route reads it: PostgreSQL refuses it in
    text, and a search or lookup with `%00` was a 500 (found by review). Events carrying one in their bodies
    are refused by field at validation (`domain/events.py`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            refused = InvalidInput("the request's path or query holds a NUL character (%00)")
            answer = _answer(refused) if _is_api(scope["path"]) else PlainTextResponse(refused.detail, 422)
            return await answer(scope, receive, send)
        await self.app(scope, receive, send)


class UnsupportedEncoding(ChengxinError):
    """A request body in a content coding the API does not decode. HTTP only (no file the command line reads
    has a header), so here rather than in `exc.py`."""

    status, exit_code, code = 415, 65, "unsupported_encoding"


_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class IdentityBodies:
    """A request whose body is in any `Content-Encoding` but `identity` is refused whole (415, naming the
    coding) before any route reads it: a gzipped batch of events was split at the random 0x0A bytes of the
    compressed stream and each piece "rejected" with a reason about surrogates, and a JSON route answered an
    undocumented 400 (found by review). Refused rather than decoded: the limit of 16 MiB would have to hold
    for the decoded size, and nothing a client sends here is so large that compression is worth that risk."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in _NO_BODY:
            codings = [c.strip().lower() for name, value in scope["headers"] if name == b"content-encoding"
                       for c in value.decode("latin-1").split(",") if c.strip()]
            refused = [c for c in codings if c != "identity"]
            if refused:
                why = UnsupportedEncoding(f"Content-Encoding {', '.join(refused)} is not accepted; send the body "
                                          "uncompressed (identity)")
                answer = _answer(why) if _is_api(scope["path"]) else PlainTextResponse(why.detail, why.status)
                answer.headers["Accept-Encoding"] = "identity"  # RFC 7694: the codings that are accepted
                return await answer(scope, receive, send)
        await self.app(scope, receive, send)


def _mount_portal(app: FastAPI) -> None:
    try:
        from chengxin.entrypoints.web.routes import mount
    except ImportError:  # the portal is optional for API-only deployments
        return
    mount(app)


async def _chengxin_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChengxinError)
    outage = isinstance(exc, Unavailable) and not isinstance(exc, Busy)
    if exc.status >= 500 and not isinstance(exc, Busy):
        # an outage's reason names the host and port of the database (or NATS): the operator's log has it, and
        # no caller, who may be anyone
        reason = {"reason": _without_credentials(exc.detail)} if outage else {}
        log.error("request failed", extra={"path": request.url.path, "code": exc.code, **reason})
    return _answer(Unavailable(UNAVAILABLE) if outage else exc)


def _answer(exc: ChengxinError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {"Retry-After": "5"} \
        if isinstance(exc, Busy) else None
    return JSONResponse({"error": exc.code, "detail": exc.detail}, status_code=exc.status, headers=headers)


UNAVAILABLE = "the node cannot reach its database or message stream; try again later"  # all a caller learns


def _without_credentials(text: str) -> str:
    """`scheme://user:password@host` written as `scheme://***@host`, should a driver quote its URL."""
    return re.sub(r"://[^/@\s]*@", "://***@", text)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    known = from_foreign(exc)
    if known is None:  # not an outage: a bug, logged as such without the statement's values
        log.error("request failed", extra={"path": request.url.path, "code": "database"})
        known = ChengxinError("internal error")
    return await _chengxin_error(request, known)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    """A bug: the server logs its traceback (Starlette raises it on); the caller gets the usual JSON error body
    on `/v1`, not a plain-text page, and the portal what it got before."""
    if not _is_api(request.url.path):
        return PlainTextResponse("Internal Server Error", status_code=500)
    answer = _answer(ChengxinError("internal error"))
    answer.headers["Cache-Control"] = "no-store"  # this answer is sent from outside `NoStore`
    return answer


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return JSONResponse({"error": "invalid_input", "detail": detail, "errors": errors}, status_code=422)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """JSON for HTTP errors raised by the framework (unknown path, wrong method, a body it cannot read)."""
    assert isinstance(exc, StarletteHTTPException)
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = _unreadable(exc) if exc.status_code == 400 else str(exc.detail)
    return JSONResponse({"error": code, "detail": detail}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def _unreadable(exc: StarletteHTTPException) -> str:
    """Why FastAPI could not read a JSON body (its 400 says only "There was an error parsing the body", and was
    answered as an undocumented `http_error`; found by review): most often bytes that are not UTF-8."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"body: not UTF-8 text (byte 0x{cause.object[cause.start]:02x} at position {cause.start}); send " \
               "JSON in UTF-8, uncompressed"
    return f"body: could not be read ({exc.detail})"
