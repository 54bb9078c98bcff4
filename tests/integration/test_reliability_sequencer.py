"""The API's writer thread (`services/sequencer.py`) survives what goes wrong around a commit, and one request's
failure is its own (both found by review)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future

import pytest
from tests.conftest import SAMPLE

from chengxin.adapters.db.engine import write_transaction
from chengxin.services import audit
from chengxin.services import sequencer as S
from chengxin.services.ingest import IngestReport, PreparedBatch, prepare, read_lines


def _event(i: int) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"rel-{i}", "source": "urn:cx:platform:P1",
                       "type": "cx.order.completed", "time": "2026-02-13T09:00:00+08:00",
                       "data": {"order_id": f"O{i}"}}).encode()


def _batch(app, i: int) -> PreparedBatch:
    return prepare(app, list(read_lines(f"r{i}", [_event(i)])))


class _Held:
    """Holds the write lock until released, so that what is submitted meanwhile queues up behind it."""

    def __init__(self, app) -> None:
        self.app, self.taken, self.free = app, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)
        self.thread.start()
        assert self.taken.wait(10)

    def _hold(self) -> None:
        with write_transaction(self.app.engine):
            self.taken.set()
            self.free.wait(30)

    def release(self) -> None:
        self.free.set()
        self.thread.join()


def test_a_failed_statistics_refresh_does_not_stop_the_writer(app, monkeypatch):
    calls = []

    def failing(engine) -> None:
        calls.append(1)
        raise RuntimeError("ANALYZE cancelled")  # as a lock timeout or a terminated backend ends it

    monkeypatch.setattr(S, "refresh_statistics", failing)
    seq = S.Sequencer(app)
    try:
        seq._next_analyze = 1  # refresh after the first event stored
        assert seq.submit(_batch(app, 1), origin="t", actor="k").result(timeout=30).accepted == 1
        for _ in range(100):  # the refresh runs beside the writer, not on its commit path
            if calls:
                break
            time.sleep(0.05)
        assert calls
        assert seq.submit(_batch(app, 2), origin="t", actor="k").result(timeout=30).accepted == 1
    finally:
        seq.close()


def test_a_cancelled_request_does_not_stop_the_writer(app):
    seq = S.Sequencer(app)
    try:
        held = _Held(app)
        try:
            gone = seq.submit(_batch(app, 1), origin="t", actor="k")
            assert gone.cancel()  # its client went away while it waited for the lock
        finally:
            held.release()
        assert seq.submit(_batch(app, 2), origin="t", actor="k").result(timeout=30).accepted == 1
    finally:
        seq.close()
    assert audit.verify(app).ok


def test_an_error_outside_the_commit_fails_its_group_only(app, monkeypatch):
    """Whatever raises in the writer (here: answering the requests), the waiters get the error, and the next
    request is stored."""
    real = S._resolve
    broken = {"once": True}

    def resolve(done: Future[IngestReport], outcome: object) -> None:
        if broken.pop("once", False):
            raise RuntimeError("a bug")
        real(done, outcome)  # type: ignore[arg-type]

    monkeypatch.setattr(S, "_resolve", resolve)
    seq = S.Sequencer(app)
    try:
        with pytest.raises(RuntimeError, match="a bug"):
            seq.submit(_batch(app, 1), origin="t", actor="k").result(timeout=30)
        assert seq.submit(prepare(app, list(read_lines("s", SAMPLE.read_bytes().splitlines()))),
                          origin="s", actor="k").result(timeout=30).accepted == 48
    finally:
        seq.close()


def test_one_request_failing_in_a_group_fails_alone(app):
    """A group commit that fails is stored again one request at a time: only the request at fault gets the error
    (a shop name too long for PostgreSQL's index failed every request grouped with it)."""
    seq = S.Sequencer(app)
    try:
        held = _Held(app)
        try:
            first = seq.submit(_batch(app, 0), origin="t", actor="k")  # the writer takes it and waits for the lock
            time.sleep(0.2)
            poison = _batch(app, 1)
            row = poison.items[0].event_row  # a NULL type violates NOT NULL: the transaction rolls back
            poison.items[0].event_row = (*row[:2], None, *row[3:])
            bad = seq.submit(poison, origin="bad", actor="k")
            good = [seq.submit(_batch(app, i), origin="t", actor="k") for i in range(2, 7)]
            dup = seq.submit(_batch(app, 2), origin="t", actor="k")  # grouped with its twin: a duplicate either way
        finally:
            held.release()
        assert first.result(timeout=30).accepted == 1
        with pytest.raises(Exception, match=r"(?i)null"):
            bad.result(timeout=30)
        assert [f.result(timeout=30).accepted for f in good] == [1] * 5
        assert (dup.result(timeout=30).accepted, dup.result().duplicates) == (0, 1)
    finally:
        seq.close()
    assert audit.verify(app).ok
