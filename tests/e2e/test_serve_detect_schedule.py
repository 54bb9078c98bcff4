"""`chengxin serve --detect-every HOURS` runs every detector in a process of its own, as a node without a cron
job needs (rings and templated reviews were found only when someone ran `chengxin detect`)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from datetime import datetime

from sqlalchemy import select
from tests.e2e.cli import CLI, run

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.services import detect


def last_full_run(cx: Chengxin) -> str | None:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(lt.job_runs.c.finished_at).where(
            lt.job_runs.c.job == detect.FULL_RUN_JOB)).scalar()


def wait_for(cx: Chengxin, seen: set[str | None], deadline_s: float = 90.0) -> str:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        last = last_full_run(cx)
        if last not in seen:
            return str(last)
        time.sleep(0.5)
    raise AssertionError(f"no new full detection run within {deadline_s} s")


def test_serve_runs_every_detector_when_due(sample_app: Chengxin, env: dict[str, str]) -> None:
    # every 0.001 h (3.6 s): the first run at once (none ran before), then another when it is due again
    # port 0: any free one
    server = subprocess.Popen([CLI, "serve", "--workers", "1", "--port", "0", "--no-scorer", "--detect-every",
                               "0.001"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = wait_for(sample_app, {None})
        second = wait_for(sample_app, {None, first})
        gap = (datetime.fromisoformat(second) - datetime.fromisoformat(first)).total_seconds()
        assert gap >= 3.6  # not before it was due
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    log = server.stderr.read() if server.stderr else ""
    assert server.returncode == 0, log
    # `--port 0` is any free port: it served on the default 8000, and two such servers collided
    bound = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log)
    assert bound and int(bound.group(1)) not in (0, 8000), log


def test_serve_refuses_a_negative_interval(sample_app: Chengxin, env: dict[str, str]) -> None:
    done = run(env, "serve", "--workers", "1", "--port", "0", "--no-scorer", "--detect-every", "-1", check=False)
    assert done.returncode != 0 and "--detect-every: -1.0 hours" in done.stderr
