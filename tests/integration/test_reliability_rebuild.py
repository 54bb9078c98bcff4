"""A full rebuild interrupted between the ratings' recount (which clears the scoring queue) and the scores'
left the parties it had not scored without a score for good (found by review): the scorer's aging pass
(`scoring.rescore_stale`) now also scores parties that have none, a window of parties per call."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.conftest import SAMPLE
from tests.integration.test_scoring import Feed

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.services import scoring, standing
from chengxin.services.ingest import ingest, read_lines


def _state(app) -> tuple[int, int, int]:
    with read_connection(app.engine) as conn:
        return (conn.execute(select(func.count(func.distinct(t.subjects.c.party_key)))).scalar_one(),
                conn.execute(select(func.count()).select_from(st.credit_scores)).scalar_one(),
                conn.execute(select(func.count()).select_from(st.scoring_queue)).scalar_one())


def _interrupted_rebuild(app, monkeypatch) -> None:
    lines = SAMPLE.read_bytes().splitlines() + Feed().parties().order("O9", "2026-03-02").text().encode().splitlines()
    assert ingest(app, read_lines("s", lines), origin="s", defer=True).rejected == 0

    def interrupted(app):
        raise KeyboardInterrupt("Ctrl-C, or the OOM killer, during the score rebuild")

    monkeypatch.setattr(scoring, "rebuild", interrupted)
    with pytest.raises(KeyboardInterrupt):
        standing.drain(app, rebuild_beyond=1)  # a bulk backlog: the full rebuild
    monkeypatch.undo()
    parties, scores, queued = _state(app)
    assert parties > 5 and scores == 0 and queued == 0  # the recount cleared the queue; nothing was scored


def test_an_interrupted_rebuild_leaves_no_party_unscored(app, monkeypatch):
    _interrupted_rebuild(app, monkeypatch)
    parties = _state(app)[0]
    assert scoring.rescore_stale(app) == parties  # the scorer's next aging pass (once a minute)
    assert _state(app)[1] == parties
    assert scoring.rescore_stale(app) == 0  # all scored, none a day old


def test_parties_without_a_score_are_found_a_window_at_a_time(app, monkeypatch):
    _interrupted_rebuild(app, monkeypatch)
    parties = _state(app)[0]
    monkeypatch.setattr(scoring, "UNSCORED_WINDOW", 3)
    done = [scoring.rescore_stale(app, most=2) for _ in range(parties)]  # each call: two at most, of 3 looked at
    assert max(done) == 2 and sum(done) == parties and _state(app)[1] == parties
