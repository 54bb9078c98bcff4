"""The floor under the HTTP benches: the load client and the HTTP stack alone, no Chengxin code.

    .venv/bin/python bench/profile_http.py [--requests 5000]

Serves three trivial apps with uvicorn (one process, like `chengxin serve`) on a free loopback port, each
answering a small JSON body to `POST /` (a 300-byte body, like one event): a raw ASGI callable, a Starlette
route, and a FastAPI route with a Pydantic response model (the shape of `POST /v1/events`). Drives each
with the same client as bench_api.py (closed loop, 8 and 64 in flight; open loop at 1,000/s). If the raw
ASGI app cannot hold p99 <= 20 ms at 1,000/s here, neither can anything behind it on this machine, and a
miss is the machine's (or the client's) as much as the code's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, code_version, free_port, log, machine, now_iso, proc_cpu_s, write_result
from _load import closed_loop, open_loop

APPS = textwrap.dedent('''
    import orjson
    from fastapi import FastAPI, Request
    from pydantic import BaseModel
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    BODY = orjson.dumps({"accepted": 1, "duplicates": 0, "conflicts": 0, "rejected": 0, "rejects": [],
                         "conflict_details": [], "tree_size": 1})

    async def raw(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
        await send({"type": "http.response.body", "body": BODY})

    async def _star(request):
        await request.body()
        return Response(BODY, media_type="application/json")

    starlette = Starlette(routes=[Route("/", _star, methods=["POST", "GET"])])

    class Result(BaseModel):
        accepted: int
        duplicates: int
        conflicts: int
        rejected: int
        rejects: list[dict]
        conflict_details: list[dict]
        tree_size: int | None

    fastapi = FastAPI()

    @fastapi.post("/", response_model=Result)
    async def _fast(request: Request) -> dict:
        await request.body()
        return orjson.loads(BODY)

    @fastapi.get("/")
    async def _fast_get() -> dict:
        return {"status": "ok"}
''')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--apps", default="raw,starlette,fastapi")
    ap.add_argument("--out", default="http-floor")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    (tmp / "floor_apps.py").write_text(APPS)
    body = b'{"specversion":"1.0","id":"e-1","source":"urn:cx:platform:B1","type":"cx.order.placed",' + b"x" * 200
    body += b"}"
    n = args.requests
    result: dict = {"bench": "http-floor", "date": now_iso(), "machine": machine(), "code": code_version(),
                    "switch_interval": sys.getswitchinterval(), "rows": []}
    print(f"{'app':<10} {'phase':<12} {'ok':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'server ms CPU/req':>18}")
    for app in args.apps.split(","):
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(tmp)}
        proc = subprocess.Popen([PYTHON, "-m", "uvicorn", f"floor_apps:{app}", "--host", "127.0.0.1", "--port",
                                 str(port), "--log-level", "warning", "--no-access-log"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"{}"), timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)

            def make(i: int) -> tuple[str, str, bytes, dict[str, str]]:
                return "POST", "/", body, {"Content-Type": "application/x-ndjson"}

            closed_loop(port, make, 500, concurrency=8, max_seconds=30)
            for name in ("closed-c8", "closed-c64", "open-1000"):
                cpu0 = proc_cpu_s(proc.pid)
                if name.startswith("closed"):
                    res = closed_loop(port, make, n, concurrency=int(name[8:]), max_seconds=60)
                else:
                    res = open_loop(port, make, rate=1000, seconds=n / 1000, workers=64)
                cpu = proc_cpu_s(proc.pid) - cpu0
                s = res.summary()
                lat = s["latency"]
                cpu_ms = round(1000 * cpu / max(1, s["ok"]), 3)
                result["rows"].append({"app": app, "phase": name, "ok": s["ok"], "latency": lat,
                                       "throughput_per_s": s["throughput_per_s"], "server_cpu_ms_per_request": cpu_ms})
                print(f"{app:<10} {name:<12} {s['ok']:>6} {s['throughput_per_s']:>8} {lat['p50_ms']:>8} "
                      f"{lat['p99_ms']:>8} {cpu_ms:>18.3f}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    log(f"wrote {write_result(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
