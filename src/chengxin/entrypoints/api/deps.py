"""Request dependencies: the application and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chengxin.bootstrap import Chengxin
from chengxin.exc import NotAuthenticated
from chengxin.services import keys
from chengxin.services.viewer import ANONYMOUS, Viewer


def get_app(request: Request) -> Chengxin:
    return request.app.state.chengxin  # type: ignore[no-any-return]


def get_viewer(request: Request, cx: Annotated[Chengxin, Depends(get_app)]) -> Viewer:
    """No credentials: the public. A key in `Authorization: Bearer` or `X-API-Key`: its role. A bad key: 401."""
    auth = request.headers.get("authorization", "")
    secret = request.headers.get("x-api-key") or (auth[7:].strip() if auth.lower().startswith("bearer ") else "")
    if auth and not secret:
        raise NotAuthenticated("Authorization header must be `Bearer <key>`")
    return keys.authenticate(cx, secret) if secret else ANONYMOUS


AppDep = Annotated[Chengxin, Depends(get_app)]
ViewerDep = Annotated[Viewer, Depends(get_viewer)]
