"""Scoring marks that fail alone are counted in the store (`services/scoring_failures.py`), and parked there after
`standing_aside.PARK_AFTER` failures: out of the queue, so neither a restart nor another `chengxin settle` tries them
again; `/v1/health`, `settle` and `chengxin scoring parked` show them, and `chengxin scoring release` puts them
back. Counted in memory before, a one-shot `settle` never got past one failure, and nothing showed them."""

from __future__ import annotations

import json
import os
import subprocess

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.cli import run
from tests.integration.test_reliability_scorer import _queue
from tests.integration.test_scoring import P, points

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.entrypoints.api.app import create_app
from chengxin.services import ingest, scoring_failures, standing, standing_aside, standing_ledger, standing_queue

O2 = ("order", P, "O2", "", "")


def _fail_three_times(app, monkeypatch) -> None:
    monkeypatch.setattr(standing_aside, "RETRY_FIRST_S", 0.0)
    for _ in range(3):
        standing.drain(app, rebuild_beyond=None)


def _failures(app) -> list[tuple[str, int, bool]]:
    with read_connection(app.engine) as conn:
        return [(r.a_id, r.failures, bool(r.parked)) for r in conn.execute(select(st.scoring_failures))]


def test_a_parked_mark_leaves_the_queue_with_its_error_and_survives_a_restart(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    assert _queue(app) == [] and len(poisoned) == 4
    [row] = scoring_failures.parked(app)
    assert (row["kind"], row["a_source"], row["a_id"], row["b_id"], row["failures"]) == ("order", P, "O2", "", 3)
    assert "index row size exceeds maximum" in row["error"] and row["failed_at"].endswith("Z")
    standing_aside._ASIDE.clear()  # a new process: it used to try every such mark again
    assert ingest.settle(app)["scoring_parked"] == 1
    assert len(poisoned) == 4


def test_one_shot_settles_count_their_failures_together(app, poisoned):
    """Each `chengxin settle` is a new process with the default wait: one failure each (found by review)."""
    for n in (1, 2):
        standing_aside._ASIDE.clear()
        assert ingest.settle(app)["scoring_parked"] == 0
        assert _failures(app) == [("O2", n, False)] and _queue(app) == [("order", "O2")]
    standing_aside._ASIDE.clear()
    assert ingest.settle(app)["scoring_parked"] == 1
    assert _failures(app) == [("O2", 3, True)] and _queue(app) == []


def test_a_mark_that_settles_after_failing_forgets_its_failures(app, poisoned):
    standing.drain(app, rebuild_beyond=None)
    assert _failures(app) == [("O2", 1, False)]
    poisoned.append(-1)  # the cause is mended
    standing_aside._ASIDE.clear()
    standing.drain(app, rebuild_beyond=None)
    assert _queue(app) == [] and _failures(app) == [] and points(app) == 3


def test_release_puts_it_back_and_the_next_drain_settles_it_once_mended(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    assert scoring_failures.release(app, kind="party") == 0 and scoring_failures.release(app, source="urn:x") == 0
    poisoned.append(-1)
    assert scoring_failures.release(app, source=P) == 1
    assert _queue(app) == [("order", "O2")] and _failures(app) == []
    standing.drain(app, rebuild_beyond=None)
    assert _queue(app) == [] and points(app) == 3 and _failures(app) == []


def test_queued_again_by_new_events_it_is_tried_again_and_settled_it_is_forgotten(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    with write_transaction(app.engine) as conn:  # as ingesting another event of order O2 does
        standing_queue.queue(conn, [O2])
    standing.drain(app, rebuild_beyond=None)  # fails again: parked again at once
    assert _failures(app) == [("O2", 4, True)] and _queue(app) == [] and len(poisoned) == 5
    with write_transaction(app.engine) as conn:
        standing_queue.queue(conn, [O2])
    poisoned.append(-1)
    standing.drain(app, rebuild_beyond=None)
    assert _failures(app) == [] and _queue(app) == [] and scoring_failures.parked(app) == []


def test_a_full_rebuild_forgets_every_failure(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    poisoned.append(-1)
    standing_ledger.rebuild(app)
    assert _failures(app) == []


def test_while_the_store_refuses_to_count_the_mark_waits_and_is_tried_again(app, poisoned, monkeypatch):
    """Parked in memory for ever before: a busy store when it was parked hid it until a restart (found by
    review)."""
    monkeypatch.setattr(standing_aside, "RETRY_FIRST_S", 0.0)
    monkeypatch.setattr(scoring_failures, "record", lambda *a: None)
    for _ in range(5):
        standing.drain(app, rebuild_beyond=None)
    assert len(poisoned) == 6 and _queue(app) == [("order", "O2")]  # tried every time, never hidden
    times, until, _ = standing_aside.set_aside(app).failures[O2]
    assert times == 5 and until != float("inf")


def _park_one(app) -> None:
    with write_transaction(app.engine) as conn:
        conn.execute(st.scoring_failures.insert().values(
            kind="order", a_source=P, a_id="O7", b_source="", b_id="", failures=3, error="DataError: index row size",
            failed_at="2026-11-28T10:00:00.000000Z", parked=True))
        conn.execute(st.scoring_failures.insert().values(  # failing, not parked: not counted
            kind="order", a_source=P, a_id="O8", b_source="", b_id="", failures=1, error="DataError",
            failed_at="2026-11-28T10:00:00.000000Z", parked=False))


def test_health_counts_the_parked_marks(app):
    _park_one(app)
    with TestClient(create_app(app)) as client:
        assert client.get("/v1/health").json()["scoring_parked"] == 1


def _cli(app, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHENGXIN_DATABASE_URL": app.settings.database_url,
           "CHENGXIN_KEYS_FILE": str(app.settings.keys_file)}
    return run(env, *args, check=False)


def test_the_cli_lists_and_releases_them(app):
    _park_one(app)
    listed = _cli(app, "scoring", "parked")
    assert listed.returncode == 0 and f"order      {P} O7  failed 3x: DataError" in listed.stdout
    assert "O8" not in listed.stdout
    assert [r["a_id"] for r in json.loads(_cli(app, "scoring", "parked", "--json").stdout)] == ["O7"]
    vague = _cli(app, "scoring", "release")
    assert vague.returncode == 65 and "--all" in vague.stderr
    assert json.loads(_cli(app, "scoring", "release", "--all", "--json").stdout) == {"released": 1}
    assert _queue(app) == [("order", "O7")] and "no scoring marks are parked" in _cli(app, "scoring", "parked").stderr
    assert _failures(app) == [("O8", 1, False)]
