"""Review actions a crash left half done are finished by the scorer (found by review): a confirmation
interrupted before its order verdicts, an overturn interrupted before its orders were given back. Before,
only a later review action or an arriving sanction finished them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.test_lists import P1, PLATFORM1, REGULATOR, RING_S1, RING_S2, confirm, record_of

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.services import appeals, review, standing, standing_follow


def verdict(cx: Chengxin, order: str) -> str | None:
    with read_connection(cx.engine) as conn:
        v = st.order_verdicts.c
        found = conn.execute(select(v.verdict).where(v.order_source == P1, v.order_id == order)).scalar()
    return None if found is None else str(found)


def _lost(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Every order verdict fails (a lost connection, a killed process) until the returned function is called."""
    real = standing.set_order_verdict

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection lost")

    monkeypatch.setattr(standing, "set_order_verdict", lost)
    return lambda: monkeypatch.setattr(standing, "set_order_verdict", real)


def interrupted_confirmation(cx: Chengxin, monkeypatch: pytest.MonkeyPatch) -> int:
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (RING_S2,), detector="test", run_id="run-s2")
    review.publish(cx, "run-s2")
    (item,) = [i for i in review.list_items(cx, REGULATOR, status="open")["items"] if i["run_id"] == "run-s2"]
    mend = _lost(monkeypatch)
    with pytest.raises(ConnectionError):
        review.decide(cx, item["id"], "confirm", REGULATOR, "checked the orders and chats")
    mend()
    assert review.get_item(cx, item["id"], REGULATOR)["decision"]["verdicts_at"] is None and verdict(cx, "O2") is None
    return int(item["id"])


def interrupted_overturn(cx: Chengxin, monkeypatch: pytest.MonkeyPatch) -> None:
    confirm(cx, RING_S1, "run-s1")
    filed = appeals.file_application(cx, record_of(cx, P1, "S1").id, "appeal", PLATFORM1, "real customers")
    mend = _lost(monkeypatch)
    with pytest.raises(ConnectionError):
        appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    mend()
    assert record_of(cx, P1, "S1").state == "overturned" and verdict(cx, "O1") == "fake"


def _follow_until(cx: Chengxin, done: Callable[[], bool]) -> None:
    stop = threading.Event()
    scorer = threading.Thread(target=standing.follow, args=(cx, stop), kwargs={"idle_s": 0.02})
    scorer.start()
    try:
        deadline = time.monotonic() + 30
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        scorer.join(timeout=30)


def test_the_scorer_finishes_an_interrupted_confirmation(sample_app: Chengxin, monkeypatch) -> None:
    monkeypatch.setattr(standing_follow, "FINISH_GRACE_S", 0.0)
    item = interrupted_confirmation(sample_app, monkeypatch)
    _follow_until(sample_app, lambda: verdict(sample_app, "O2") == "fake")
    assert verdict(sample_app, "O2") == "fake"
    assert review.get_item(sample_app, item, REGULATOR)["decision"]["verdicts_at"]


def test_the_scorer_finishes_an_interrupted_overturn(sample_app: Chengxin, monkeypatch) -> None:
    monkeypatch.setattr(standing_follow, "FINISH_GRACE_S", 0.0)
    interrupted_overturn(sample_app, monkeypatch)
    _follow_until(sample_app, lambda: verdict(sample_app, "O1") == "genuine")
    assert verdict(sample_app, "O1") == "genuine"


def test_the_scorer_leaves_a_young_action_to_the_process_taking_it(sample_app: Chengxin, monkeypatch) -> None:
    """Within `FINISH_GRACE_S` the process that decided is likely still recording the verdicts: the scorer
    does not do the same work beside it."""
    interrupted_confirmation(sample_app, monkeypatch)  # decided just now
    calls: list[str] = []
    real = review.finish_pending
    monkeypatch.setattr(review, "finish_pending", lambda *a, **k: calls.append("pending") or real(*a, **k))
    unfinished = standing_follow._Unfinished()
    assert unfinished.finish(sample_app) == 0 and calls == [] and verdict(sample_app, "O2") is None
    monkeypatch.setattr(standing_follow, "FINISH_GRACE_S", 0.0)
    assert unfinished.finish(sample_app) == 1 and calls == ["pending"] and verdict(sample_app, "O2") == "fake"


def test_nothing_to_finish_costs_one_statement(app: Chengxin, monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(review, "finish_pending", lambda *a, **k: calls.append("pending") or 0)
    monkeypatch.setattr(appeals, "finish_overturns", lambda *a, **k: calls.append("overturns") or 0)
    unfinished = standing_follow._Unfinished()
    for _ in range(3):
        assert unfinished.finish(app) == 0
    assert calls == []
