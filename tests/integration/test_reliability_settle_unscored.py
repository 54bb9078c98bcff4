"""`chengxin settle` (`ingest.settle`, also the end of `chengxin ingest`) leaves no party unscored: a full
rebuild interrupted after the ratings' recount (which clears the scoring queue) left the parties it had not
scored without a score, and only the scorer process of `chengxin serve` found them (found by review)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from tests.conftest import SAMPLE
from tests.integration.test_scoring import Feed

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.services import ingest as I
from chengxin.services import scoring, standing


def _unscored(app) -> tuple[int, int]:
    """(parties, parties without a score)."""
    s, cs = t.subjects.c, st.credit_scores.c
    with read_connection(app.engine) as conn:
        parties = conn.execute(select(func.count(func.distinct(s.party_key)))).scalar_one()
        missing = conn.execute(select(func.count(func.distinct(s.party_key))).where(
            s.party_key.is_not(None), s.party_key.not_in(select(cs.party_key)))).scalar_one()
    return parties, missing


def _load(app, *, defer: bool) -> None:
    lines = SAMPLE.read_bytes().splitlines() + Feed().parties().order("O9", "2026-03-02").text().encode().splitlines()
    assert I.ingest(app, I.read_lines("s", lines), origin="s", defer=defer).rejected == 0


def test_settle_scores_what_an_interrupted_rebuild_left(app, monkeypatch):
    _load(app, defer=True)

    def interrupted(app):
        raise KeyboardInterrupt("Ctrl-C, or the OOM killer, during the score rebuild")

    monkeypatch.setattr(scoring, "rebuild", interrupted)
    with pytest.raises(KeyboardInterrupt):
        standing.drain(app, rebuild_beyond=1)  # a deferred load's backlog: the full rebuild
    monkeypatch.undo()
    parties, missing = _unscored(app)
    assert parties > 5 and missing == parties  # the recount cleared the queue; nothing was scored

    done = I.settle(app)  # `chengxin settle`
    assert _unscored(app) == (parties, 0)
    assert done["unscored_scored"] == parties and done["parties_scored"] == 0  # nothing was queued
    assert I.settle(app)["unscored_scored"] == 0  # all scored: a second settle finds none


def test_settle_looks_at_every_window_wherever_the_last_look_stopped(app, monkeypatch):
    """`rescore_stale` looks at a window of party keys per call, from where this process's last call
    stopped: settling covers all of them, the windows before that point too."""
    _load(app, defer=False)
    parties, missing = _unscored(app)
    assert missing == 0
    with read_connection(app.engine) as conn:
        keys = sorted(conn.execute(select(t.subjects.c.party_key).distinct().where(
            t.subjects.c.party_key.is_not(None))).scalars())
    lost = keys[::2]  # every other party, in every window, loses its score
    with write_transaction(app.engine) as conn:
        conn.execute(delete(st.credit_scores).where(st.credit_scores.c.party_key.in_(lost)))
    monkeypatch.setattr(scoring, "UNSCORED_WINDOW", 3)
    monkeypatch.setattr(I, "_UNSCORED_MOST", 1)  # and each call scores one at most: it stays in its window
    monkeypatch.setitem(scoring._UNSCORED_AFTER, app.engine.url.render_as_string(hide_password=True),
                        keys[len(keys) // 2])  # the last look stopped half way
    assert _unscored(app) == (parties, len(lost))
    assert I.settle(app)["unscored_scored"] == len(lost)
    assert _unscored(app) == (parties, 0)


def test_one_requests_settle_does_not_look(app):
    """`ingest_batch` (one API request's event) leaves the look to the scorer process beside the server."""
    _load(app, defer=False)
    with write_transaction(app.engine) as conn:
        conn.execute(delete(st.credit_scores))
    assert I.settle(app, unscored=False)["unscored_scored"] == 0 and _unscored(app)[1] > 0
