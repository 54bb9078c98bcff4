"""A live-detection backlog too large to read live (a bulk load) is read by the full detector: its marks were
deleted before the run, so a detector that failed, or a process that died during the run, lost the backlog for
good (found by review). The marks the run covers are now deleted after it; a mark stored during the run stays
for the next drain, even one dated before the run (`marked_at` is stamped when a batch is prepared, before it
waits for the write lock)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.conftest import SAMPLE

from chengxin.adapters.db import findings as fd
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.services import detect, detect_live
from chengxin.services.ingest import ingest, read_lines

OLD = "2000-01-01T00:00:00.000000Z"  # a batch prepared long before the run, committed during it


def _queued(app, queue=fd.live_queue) -> set[tuple[str, str]]:
    with read_connection(app.engine) as conn:
        return {(s, i) for s, i, _ in conn.execute(select(queue))}


@pytest.fixture
def backlog(app, monkeypatch):
    """The sample, loaded with --defer: its delivered shipments and priced products queued, a backlog (every
    backlog is, with LIVE_MAX 0)."""
    assert ingest(app, read_lines("s", SAMPLE.read_bytes().splitlines()), origin="s", defer=True).rejected == 0
    monkeypatch.setattr(detect_live, "LIVE_MAX", 0)
    assert _queued(app) and _queued(app, fd.live_price_queue)
    return app


@pytest.mark.parametrize("step, queue", [(detect_live.drain_parcels, fd.live_queue),
                                         (detect_live.drain_prices, fd.live_price_queue)])
def test_a_failed_full_run_keeps_the_backlog(backlog, monkeypatch, step, queue):
    before = _queued(backlog, queue)

    def fails(app, **kw):
        raise KeyboardInterrupt("the process is killed during the full run")

    monkeypatch.setattr(detect, "detect", fails)
    with pytest.raises(KeyboardInterrupt):
        step(backlog)
    assert _queued(backlog, queue) == before  # nothing lost: the next drain defers again
    monkeypatch.undo()
    monkeypatch.setattr(detect_live, "LIVE_MAX", 0)
    assert step(backlog)["deferred_to_full_run"].startswith("detect-")
    assert _queued(backlog, queue) == set()


def test_marks_stored_during_the_run_stay_for_the_next_drain(backlog, monkeypatch):
    claimed = sorted(_queued(backlog))
    real = detect.detect

    def meanwhile(app, **kw):
        with write_transaction(app.engine) as conn:  # a batch stored while the detector reads
            detect_live.queue(conn, [(*claimed[0], OLD), ("urn:cx:platform:P1", "SH-late", OLD)], [])
        return real(app, **kw)

    monkeypatch.setattr(detect, "detect", meanwhile)
    done = detect_live.drain_parcels(backlog)
    assert done is not None and done["deferred_to_full_run"].startswith("detect-")
    # the shipment marked again and the new one: the run may not have read what they brought
    assert _queued(backlog) == {claimed[0], ("urn:cx:platform:P1", "SH-late")}
    with read_connection(backlog.engine) as conn:
        assert set(conn.execute(select(fd.live_queue.c.marked_at)).scalars()) == {OLD}
