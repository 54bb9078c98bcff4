"""Portal fixtures: one SQLite store loaded with the sample, served by uvicorn for Debian's chromium.

The store, keys and server are built once per session from explicit `Settings` (the environment is never
mutated). Browser tests never download browsers: they drive `/usr/bin/chromium` through Playwright.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.entrypoints.api.app import create_app
from chengxin.services.ingest import ingest, read_lines
from chengxin.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "spec/sample-v1.jsonl"
P1 = "urn:cx:platform:P1"
CHROMIUM = "/usr/bin/chromium"


def make_portal_cx(tmp: Path, *extra_lines: bytes) -> Chengxin:
    """A fresh store in `tmp` holding the sample (and any extra event lines after it)."""
    settings = Settings(database_url=f"sqlite:///{tmp}/x.db", keys_file=tmp / "keys.json")
    cx = bootstrap(settings)
    with SAMPLE.open("rb") as fh:
        report = ingest(cx, read_lines(SAMPLE.name, fh), origin=SAMPLE.name)
    assert report.rejected == 0 and report.accepted == 48, report.as_dict()
    if extra_lines:
        extra = ingest(cx, read_lines("extra", extra_lines), origin="extra")
        assert extra.rejected == 0, extra.as_dict()
    return cx


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """Environment for a `chengxin` subprocess on this test's fresh store (either database)."""
    return {**os.environ, "CHENGXIN_DATABASE_URL": settings.database_url,
            "CHENGXIN_KEYS_FILE": str(settings.keys_file)}


@pytest.fixture(scope="session")
def portal_factory() -> Callable[..., Chengxin]:
    """`portal_factory(tmp, *lines)`: a separate store with the sample plus extra event lines."""
    return make_portal_cx


@pytest.fixture(scope="session")
def portal_cx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chengxin]:
    cx = make_portal_cx(tmp_path_factory.mktemp("portal"))
    yield cx
    cx.engine.dispose()


@pytest.fixture(scope="session")
def portal_app(portal_cx: Chengxin) -> FastAPI:
    return create_app(portal_cx)


@pytest.fixture(scope="session")
def portal_client(portal_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(portal_app) as client:
        yield client


def serve_in_thread(app: FastAPI, name: str) -> Iterator[str]:
    """`app` on a free 127.0.0.1 port, served by uvicorn in a background thread, until the generator closes.
    The socket is bound here and handed to uvicorn: a port found free and bound again later could be taken in
    between by a test in another process (pytest-xdist)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def live_server(portal_app: FastAPI) -> Iterator[str]:
    """The portal on a free 127.0.0.1 port, served by uvicorn in a background thread."""
    yield from serve_in_thread(portal_app, "portal-uvicorn")


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright's base URL: relative `page.goto("/...")` reaches the live portal."""
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}
