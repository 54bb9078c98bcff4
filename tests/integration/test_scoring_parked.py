"""Scoring marks that fail alone `standing.PARK_AFTER` times are parked in the store (`services/scoring_parked.py`),
not in the scorer's memory: a restart or another `chengxin settle` does not try them again, `/v1/health`, `settle`
and `chengxin scoring parked` show them, and `chengxin scoring release` puts them back in the queue."""

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
from chengxin.adapters.db.engine import write_transaction
from chengxin.entrypoints.api.app import create_app
from chengxin.services import ingest, scoring_parked, standing


def _fail_three_times(app, monkeypatch) -> None:
    monkeypatch.setattr(standing, "RETRY_FIRST_S", 0.0)
    for _ in range(3):
        standing.drain(app, rebuild_beyond=None)


def test_a_parked_mark_leaves_the_queue_with_its_error_and_survives_a_restart(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    assert _queue(app) == [] and len(poisoned) == 4
    [row] = scoring_parked.parked(app)
    assert (row["kind"], row["a_source"], row["a_id"], row["b_id"], row["failures"]) == ("order", P, "O2", "", 3)
    assert "index row size exceeds maximum" in row["error"] and row["parked_at"].endswith("Z")
    standing._ASIDE.clear()  # a new process: it used to try every such mark again
    assert ingest.settle(app)["scoring_parked"] == 1
    assert len(poisoned) == 4


def test_release_puts_it_back_and_the_next_drain_settles_it_once_mended(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    assert scoring_parked.release(app, kind="party") == 0 and scoring_parked.release(app, source="urn:x") == 0
    poisoned.append(-1)  # the cause is fixed
    assert scoring_parked.release(app, source=P) == 1
    assert _queue(app) == [("order", "O2")] and scoring_parked.parked(app) == []
    standing.drain(app, rebuild_beyond=None)
    assert _queue(app) == [] and points(app) == 3 and scoring_parked.parked(app) == []


def test_queued_again_by_new_events_it_is_tried_again_and_its_failures_add_up(app, poisoned, monkeypatch):
    _fail_three_times(app, monkeypatch)
    with write_transaction(app.engine) as conn:  # as ingesting another event of order O2 does
        standing.queue(conn, [("order", P, "O2", "", "")])
    _fail_three_times(app, monkeypatch)
    [row] = scoring_parked.parked(app)
    assert row["failures"] == 6 and _queue(app) == [] and len(poisoned) == 7


def _park_one(app) -> None:
    with write_transaction(app.engine) as conn:
        conn.execute(st.scoring_parked.insert().values(kind="order", a_source=P, a_id="O7", b_source="", b_id="",
                                                       failures=3, error="DataError: index row size",
                                                       parked_at="2026-11-28T10:00:00.000000Z"))


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
    assert json.loads(_cli(app, "scoring", "parked", "--json").stdout)[0]["a_id"] == "O7"
    vague = _cli(app, "scoring", "release")
    assert vague.returncode == 65 and "--all" in vague.stderr
    assert json.loads(_cli(app, "scoring", "release", "--all", "--json").stdout) == {"released": 1}
    assert _queue(app) == [("order", "O7")] and "no scoring marks are parked" in _cli(app, "scoring", "parked").stderr
    with write_transaction(app.engine) as conn:
        assert conn.execute(select(st.scoring_parked)).all() == []
