"""Group commit: concurrent API batches stored together keep their own reports and every guarantee."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import SAMPLE

from chengxin.services import audit
from chengxin.services.ingest import prepare, read_lines
from chengxin.services.sequencer import Sequencer


def event(i: int, order: str = "O1") -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"q-{i}", "source": "urn:cx:platform:P1",
                       "type": "cx.order.completed", "time": "2026-02-13T09:00:00+08:00",
                       "data": {"order_id": order}}).encode()


def test_concurrent_batches_each_get_their_own_report(app):
    sequencer = Sequencer(app)
    try:
        lines = [list(read_lines(f"r{i}", [event(i), b"{broken"])) for i in range(40)]
        lines.append(list(read_lines("dup", [event(0)])))  # the same event as request r0
        lines.append(list(read_lines("conflict", [event(1, order="O2")])))  # same id as r1, other content
        with ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(lambda b: sequencer.submit(prepare(app, b), origin="t", actor="k").result(), b)
                       for b in lines]
            reports = [f.result() for f in futures]
    finally:
        sequencer.close()
    assert all(r.accepted == 1 and r.rejected == 1 and r.rejects[0]["line"] == 2 for r in reports[:40])
    assert (reports[40].accepted, reports[40].duplicates) == (0, 1)
    assert (reports[41].accepted, reports[41].conflicts) == (0, 1)
    assert audit.verify(app).ok


def test_a_failed_group_fails_every_waiter_and_the_next_group_works(app):
    sequencer = Sequencer(app)
    try:
        good = prepare(app, list(read_lines("s", SAMPLE.read_bytes().splitlines())))
        broken = prepare(app, list(read_lines("b", [event(7)])))
        row = broken.items[0].event_row  # (source, event_id, type, ...): a NULL type violates NOT NULL,
        broken.items[0].event_row = (*row[:2], None, *row[3:])  # so the transaction must roll back
        failed = sequencer.submit(broken, origin="b", actor="k")
        try:
            failed.result(timeout=30)
            raise AssertionError("a NOT NULL violation must fail the commit")
        except Exception as exc:
            assert "null" in str(exc).lower()
        assert sequencer.submit(good, origin="s", actor="k").result(timeout=30).accepted == 48
    finally:
        sequencer.close()
    assert audit.verify(app).records == 23
