"""Request dependencies: the application and who is asking."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from chengxin.bootstrap import Chengxin
from chengxin.exc import Forbidden, NotAuthenticated
from chengxin.services import keys
from chengxin.services.sequencer import Sequencer
from chengxin.services.viewer import AGENCY, ANONYMOUS, Viewer

_START = threading.Lock()


async def get_app(request: Request) -> Chengxin:
    return request.app.state.chengxin  # type: ignore[no-any-return]


def get_sequencer(request: Request) -> Sequencer:
    """The process's writer for API ingestion, started on first use."""
    state = request.app.state
    if getattr(state, "sequencer", None) is None:
        with _START:
            if getattr(state, "sequencer", None) is None:
                state.sequencer = Sequencer(state.chengxin)
    return state.sequencer  # type: ignore[no-any-return]


async def get_viewer(request: Request, cx: Annotated[Chengxin, Depends(get_app)]) -> Viewer:
    """No credentials: the public. A key in `Authorization: Bearer` or `X-API-Key`: its role.
    A bad, empty or contradictory key is 401, never silently treated as anonymous.
    Async on purpose: known keys are answered from memory, so no thread hop per request."""
    auth = request.headers.get("authorization")
    header_key = request.headers.get("x-api-key")
    bearer = None
    if auth is not None:
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise NotAuthenticated("Authorization header must be `Bearer <key>`")
        bearer = auth[7:].strip()
    if header_key is not None and not header_key.strip():
        raise NotAuthenticated("X-API-Key header is empty")
    if bearer and header_key and bearer != header_key.strip():
        raise NotAuthenticated("Authorization and X-API-Key name different keys")
    secret = bearer or (header_key.strip() if header_key else None)
    viewer, replaced = keys.authenticate_key(cx, secret) if secret else (ANONYMOUS, None)
    if replaced is not None:  # an old secret in its grace: the answer says so (`app.NoStore` adds the headers)
        request.state.key_rotated = keys.rotated_headers(replaced)
    if viewer.role == AGENCY:
        agency_may_call(request)
    return viewer


# What a credit agency's key may call: its credit reports (each journaled with its purpose), the public searches
# (shops; businesses by USCC or registered name, never a person by name), as the public gets them and journaled
# (`services/agency_search.py`: the key found no party, so agencies searched without it, unjournaled; found by
# review), and the routes that read no party's or record's credit file (the log's heads and proofs, the lists'
# catalogue, the commitment templates, health). Deny by default: a route added later is refused to agencies
# until it is listed here, so no read of a party or record escapes the journal (浙江省公共信用信息管理条例
# 第二十条), and no service meets a role it was not written for.
AGENCY_ROUTES = frozenset({
    ("POST", "/v1/reports/{entity_id}"),
    ("GET", "/v1/shops"), ("GET", "/v1/parties"),
    ("GET", "/v1/log/head"), ("GET", "/v1/log/heads"), ("GET", "/v1/log/consistency"),
    ("GET", "/v1/lists"), ("GET", "/v1/commitments/templates"), ("GET", "/v1/health"),
})


def agency_may_call(request: Request) -> None:
    """403, saying why and where to go instead, for a route an agency's key may not call."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    method = "GET" if request.method == "HEAD" else request.method
    if (method, path) in AGENCY_ROUTES:
        return
    if path == "/v1/events":
        raise Forbidden(keys.AGENCY_SUBMITS_NOTHING)
    raise Forbidden("a credit agency's key reads a party or record only through its credit report, "
                    "POST /v1/reports/{entity_id}?source=... with a purpose, which is journaled "
                    "(浙江省公共信用信息管理条例 第二十条, 上海市社会信用条例 第三十五条) / "
                    "信用服务机构仅可通过信用报告查询，查询情况予以记录")


AppDep = Annotated[Chengxin, Depends(get_app)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
