"""The scorer keeps going (found by review): a mark that cannot be settled fails alone and is set aside while
the others are settled; a step of `standing.follow` that fails is logged and tried again later; `chengxin
serve` starts its scorer process again when it ends."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time

import pytest
from sqlalchemy import select
from tests.conftest import SAMPLE, ingest_text
from tests.integration.test_scoring import Feed, P, points

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection
from chengxin.entrypoints.cli_serve import Supervised
from chengxin.services import detect_live, standing, standing_aside, standing_follow
from chengxin.services.ingest import ingest, read_lines


def _queue(app) -> list[tuple[str, str]]:
    with read_connection(app.engine) as conn:
        return sorted((r.kind, r.a_id) for r in conn.execute(select(st.scoring_queue)))


def test_a_mark_that_fails_alone_is_set_aside_and_the_rest_is_settled(app, poisoned, monkeypatch, caplog):
    monkeypatch.setattr(standing_aside, "RETRY_FIRST_S", 0.0)  # tried again at the next drain
    done = standing.drain(app, rebuild_beyond=None)  # raised, and settled nothing, before
    assert done["pairs"] and points(app) == 3  # the pair's ratings are counted, O2's too
    assert _queue(app) == [("order", "O2")]  # O2's mark stays queued
    assert len(poisoned) == 2  # in its chunk, then alone
    assert "order mark of urn:cx:platform:P1 failed" in caplog.text and "O2" not in caplog.text
    standing.drain(app, rebuild_beyond=None)
    standing.drain(app, rebuild_beyond=None)
    assert len(poisoned) == 4 and _queue(app) == []  # parked in the store (test_scoring_failures.py)
    assert "order mark of urn:cx:platform:P1 failed 3 times and is parked" in caplog.text
    for _ in range(3):  # parked: never tried again
        assert standing.drain(app, rebuild_beyond=None) == {"pairs": 0, "parties": 0}
    assert len(poisoned) == 4 and not standing_aside.set_aside(app).failures


def test_a_mark_that_failed_waits_before_it_is_tried_again(app, poisoned):
    standing.drain(app, rebuild_beyond=None)
    standing.drain(app, rebuild_beyond=None)
    assert len(poisoned) == 2 and points(app) == 3  # the second drain left it alone: it waits 2 s first


def test_a_mark_settled_after_all_is_forgotten(app, poisoned, monkeypatch):
    monkeypatch.setattr(standing_aside, "RETRY_FIRST_S", 0.0)
    standing.drain(app, rebuild_beyond=None)
    assert standing_aside.set_aside(app).failures
    poisoned.append(-1)  # the cause is mended: O2 settles now
    standing.drain(app, rebuild_beyond=None)
    assert _queue(app) == [] and points(app) == 3 and not standing_aside.set_aside(app).failures


def test_the_scorer_goes_on_when_a_step_fails(app, monkeypatch, caplog):
    """A step that raises (here live detection, every time) is logged and tried again later; scores keep
    following the events (the scorer ended on its first error before)."""
    monkeypatch.setattr(standing_follow, "STEP_RETRY_FIRST_S", 0.01)
    calls: list[int] = []

    def broken(app):
        calls.append(1)
        raise RuntimeError("boom")

    monkeypatch.setattr(detect_live, "drain", broken)
    stop = threading.Event()
    scorer = threading.Thread(target=standing.follow, args=(app, stop), kwargs={"idle_s": 0.02})
    scorer.start()
    try:
        ingest(app, read_lines("f", Feed().parties().order("O1", "2026-03-02").text().encode().splitlines()),
               origin="f", defer=True)
        deadline = time.monotonic() + 30
        while (points(app) != 1 or len(calls) < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scorer.is_alive()
    finally:
        stop.set()
        scorer.join(timeout=30)
    assert points(app) == 1 and len(calls) >= 3
    assert "scorer: live detection failed (RuntimeError)" in caplog.text


def test_a_step_failing_again_waits_longer(monkeypatch):
    steps, now = standing_follow._Steps(), [100.0]
    monkeypatch.setattr(standing_follow.time, "monotonic", lambda: now[0])
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError

    for _ in range(2):
        steps.run("x", broken)  # the second within the first's wait: skipped
    assert len(calls) == 1
    now[0] += 1.01
    steps.run("x", broken)
    now[0] += 1.01
    steps.run("x", broken)  # waits 2 s after the second failure
    assert len(calls) == 2
    now[0] += 1.0
    assert steps.run("x", lambda: 7) == 7 and steps.run("x", broken) is None and len(calls) == 3


def _legacy_shipment(app, shipment_id: str) -> None:
    """A shipment of order O1 stored as a store written before events-v1's length limits kept it (ingestion now
    refuses an id over 128 characters): projected and written as ingestion wrote it then."""
    from chengxin.adapters.db.engine import write_transaction
    from chengxin.adapters.db.store import fact_rows, write_rows
    from chengxin.domain.events import Event
    from chengxin.domain.projection import project

    data = {"shipment_id": shipment_id, "order_id": "O1", "carrier_id": "LG1", "tracking_no": "ZZ1", "weight_g": 300}
    event = Event(P, "p-legacy", "cx.shipment.created", "2026-02-10T01:00:00.000000Z", data, {})
    with write_transaction(app.engine) as conn:
        write_rows(conn, *fact_rows(project(event)))


def test_on_postgresql_a_shipment_id_over_the_index_limit_holds_back_no_other_mark(app):
    """The reviewer's case: a 2,670-character shipment id makes the `trade_parts` key of its order exceed
    PostgreSQL's btree limit; every drain failed, and every restart of the scorer. Ingestion now refuses such an
    id, but a store written before may hold one."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's index row limit")
    assert ingest(app, read_lines("s", SAMPLE.read_bytes().splitlines()), origin="s").accepted == 48
    _legacy_shipment(app, secrets.token_hex(1335))
    ev = {"specversion": "1.0", "id": "p-1", "source": P, "type": "cx.shipment.created",
          "time": "2026-02-10T09:00:00+08:00", "data": {"shipment_id": "SH-O1-2", "order_id": "O1",
                                                        "carrier_id": "LG1", "tracking_no": "ZZ2", "weight_g": 300}}
    assert ingest(app, read_lines("p", [json.dumps(ev).encode()]), origin="p", defer=True).accepted == 1
    assert ingest_text(app, Feed().parties().order("O9", "2026-03-02").text()).accepted  # settled at once
    standing.drain(app, rebuild_beyond=None)
    assert _queue(app) == [("order", "O1")] and standing_aside.set_aside(app).failures


def test_serve_starts_its_scorer_again_when_it_exits():
    child = Supervised(os._exit, name="cx-test-child", args=(3,), first_wait_s=0.05, most_wait_s=0.1)
    child.start()
    try:
        deadline = time.monotonic() + 60
        while child.starts < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        child.stop()
    assert child.starts >= 3


def test_stopping_the_supervisor_ends_its_child():
    child = Supervised(time.sleep, name="cx-test-child", args=(60,))
    child.start()
    deadline = time.monotonic() + 60
    while child._child is None and time.monotonic() < deadline:
        time.sleep(0.05)
    running = child._child
    child.stop()
    assert running is not None and not running.is_alive() and child.starts == 1
