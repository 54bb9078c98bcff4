"""What FastAPI's routing costs a request, against a plain Starlette route: the server CPU per request of
`POST /v1/events` dispatched both ways, in-process (ASGI calls, no sockets, no database), with the same two
dependencies as the real route (the application and the viewer). Why `POST /v1/events` is served by a plain
route (`entrypoints/api/routes.post_events_plain`).

    .venv/bin/python bench/profile_routes.py [--requests 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import Response

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe, log, machine

BODY = b'{"accepted": 1, "duplicates": 0, "conflicts": 0, "rejected": 0, "rejects": []}'


async def get_app(request: Request) -> int:
    return 1


async def get_viewer(request: Request, cx: Annotated[int, Depends(get_app)]) -> str | None:
    return request.headers.get("x-api-key")


router = APIRouter(prefix="/v1", dependencies=[Depends(get_viewer)])


@router.post("/events")
async def post_events(request: Request, cx: Annotated[int, Depends(get_app)],
                      viewer: Annotated[str | None, Depends(get_viewer)]) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


async def post_events_plain(request: Request) -> Response:
    await get_viewer(request, await get_app(request))
    await request.body()
    return Response(BODY, media_type="application/json")


def apps() -> dict[str, FastAPI]:
    fastapi_route = FastAPI()
    fastapi_route.include_router(router)
    plain_first = FastAPI()
    plain_first.add_route("/v1/events", post_events_plain, methods=["POST"])
    plain_first.include_router(router)
    return {"FastAPI route": fastapi_route, "plain route first": plain_first}


SCOPE: dict[str, Any] = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
    "path": "/v1/events", "raw_path": b"/v1/events", "query_string": b"", "root_path": "",
    "headers": [(b"host", b"bench"), (b"x-api-key", b"key"), (b"content-type", b"application/x-ndjson"),
                (b"content-length", b"300")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}


async def cpu_per_request(app: FastAPI, n: int) -> float:
    """Microseconds of this process's CPU per request, after 200 requests of warm-up."""
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"x" * 300, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    for _ in range(200):
        await app(dict(SCOPE), receive, send)
    t0 = time.process_time()
    for _ in range(n):
        await app(dict(SCOPE), receive, send)
    return (time.process_time() - t0) / n * 1e6


async def run(requests: int, rounds: int) -> None:
    for _ in range(rounds):  # alternately, so that both see the same machine
        us = {name: await cpu_per_request(app, requests) for name, app in apps().items()}
        log("  ".join(f"{name}: {v:.1f} µs" for name, v in us.items())
            + f"  ratio ×{us['FastAPI route'] / us['plain route first']:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    log(describe(machine()))
    asyncio.run(run(args.requests, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
