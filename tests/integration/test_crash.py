"""A process killed mid-batch leaves no partial batch behind, and re-running the same file completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.conftest import ingest_file

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import bootstrap
from chengxin.services import audit
from chengxin.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))


def counts(cx) -> tuple[int, int, int, int]:
    with read_connection(cx.engine) as conn:
        def n(table):
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
        accepted = conn.execute(select(func.coalesce(func.sum(t.ingest_batches.c.accepted), 0))).scalar_one()
        placed = conn.execute(select(func.count()).select_from(t.events).where(
            t.events.c.type == "cx.order.placed")).scalar_one()
        return n(t.events), accepted, placed, n(t.orders)


def survivors(marker: str) -> list[int]:
    """Processes whose command line mentions `marker` (orphaned workers would)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_kill_mid_batch_leaves_whole_batches_only(settings, tmp_path):
    from gen_events import write

    path = tmp_path / "events.jsonl"
    write(str(path), 60_000, 7, 1)
    env = {**os.environ, "CHENGXIN_DATABASE_URL": settings.database_url,
           "CHENGXIN_KEYS_FILE": str(settings.keys_file), "CHENGXIN_BATCH_SIZE": "20000"}
    cli = str(Path(sys.executable).with_name("chengxin"))
    proc = subprocess.Popen([cli, "ingest", str(path), "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    cx = bootstrap(settings)
    deadline = time.monotonic() + 120
    while counts(cx)[0] == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # wait until the first batch has committed, then kill inside the next one
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    assert survivors(str(path)) == [], "a killed import must leave no process behind"
    events, accepted, placed, orders = counts(cx)
    assert 0 < events < 60_000, "the kill must land mid-file for this test to mean anything"
    assert events == accepted and events % 20_000 == 0  # only whole batches
    assert placed == orders  # and each with its projections
    assert audit.verify(cx).ok
    report = ingest_file(cx, path)
    assert report.accepted + report.duplicates == 60_000 and report.duplicates == events
    assert counts(cx)[0] == 60_000 and audit.verify(cx).ok
    cx.engine.dispose()
    assert isinstance(settings, Settings)
