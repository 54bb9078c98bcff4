"""Request dependencies: the application and who is asking."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from chengxin.bootstrap import Chengxin
from chengxin.exc import NotAuthenticated
from chengxin.services import keys
from chengxin.services.sequencer import Sequencer
from chengxin.services.viewer import ANONYMOUS, Viewer

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
    return keys.authenticate(cx, secret) if secret else ANONYMOUS


AppDep = Annotated[Chengxin, Depends(get_app)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
