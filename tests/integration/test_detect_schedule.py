"""Every detector on a schedule, on every storage backend: a full run is taken when due and only then, by one
process at a time, whoever ran the last (services/detect_schedule.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.integration.test_detect import marketplace  # noqa: F401 - fixture

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import detect, detect_schedule

DAY = timedelta(hours=24)


def jobs(cx: Chengxin) -> dict[str, str]:
    with read_connection(cx.engine) as conn:
        return dict(conn.execute(select(lt.job_runs.c.job, lt.job_runs.c.finished_at)).all())


def review_items(cx: Chengxin) -> int:
    from chengxin.adapters.db import review_tables as rt

    with read_connection(cx.engine) as conn:
        return len(conn.execute(select(rt.review_items.c.id)).all())


def test_a_full_run_when_due_and_not_before(marketplace: Any) -> None:  # noqa: F811
    cx, _ = marketplace
    first = detect_schedule.run_if_due(cx, DAY)
    assert first is not None and first.findings and first.review["published"] > 0
    items, last = review_items(cx), jobs(cx)[detect.FULL_RUN_JOB]
    assert items > 0
    assert detect_schedule.run_if_due(cx, DAY) is None  # a day has not passed
    assert detect_schedule.run_if_due(cx, DAY, datetime.fromisoformat(last) + DAY - timedelta(seconds=1)) is None
    again = detect_schedule.run_if_due(cx, DAY, datetime.fromisoformat(last) + DAY)
    assert again is not None and again.run_id != first.run_id
    assert jobs(cx)[detect.FULL_RUN_JOB] > last
    assert review_items(cx) == items  # the same suspicions: already queued, not queued twice
    status = detect_schedule.status(cx, DAY)
    assert status["last_full_run"] == jobs(cx)[detect.FULL_RUN_JOB]
    assert status["next_due"] == (datetime.fromisoformat(status["last_full_run"]) + DAY).isoformat()


def test_a_run_by_hand_counts_and_a_partial_one_does_not(sample_app: Chengxin) -> None:
    cx = sample_app  # the claim and the times need no findings
    detect.detect(cx, only=["empty_parcel"], publish=False)
    assert detect.FULL_RUN_JOB not in jobs(cx)
    detect.detect(cx, publish=False)  # what `chengxin detect` runs (cron)
    assert detect.FULL_RUN_JOB in jobs(cx)
    assert detect_schedule.run_if_due(cx, DAY) is None


def test_one_process_runs_it_at_a_time(sample_app: Chengxin) -> None:
    cx = sample_app  # the claim and the times need no findings
    now = datetime.now(UTC)
    assert detect_schedule.claim(cx, DAY, now)
    assert not detect_schedule.claim(cx, DAY, now + timedelta(minutes=1))  # another server finds it claimed
    assert detect_schedule.run_if_due(cx, DAY, now + timedelta(minutes=2)) is None
    # a claimer that died: its claim goes stale, and the run is taken over
    assert detect_schedule.run_if_due(cx, DAY, now + detect_schedule.CLAIM_STALE) is not None


def test_a_failed_run_lets_go_of_its_claim(sample_app: Chengxin, monkeypatch: pytest.MonkeyPatch) -> None:
    cx = sample_app

    def broken(app: Chengxin) -> None:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(detect, "detect", broken)
    with pytest.raises(RuntimeError):
        detect_schedule.run_if_due(cx, DAY)
    assert detect_schedule.CLAIM not in jobs(cx)  # else the next try waited hours for it to go stale
    monkeypatch.undo()
    assert detect_schedule.run_if_due(cx, DAY) is not None


def test_follow_runs_it_and_stops(sample_app: Chengxin) -> None:
    cx = sample_app  # the claim and the times need no findings
    with write_transaction(cx.engine) as conn:  # the last run two days ago
        upsert.insert_or_update(conn, lt.job_runs, [{"job": detect.FULL_RUN_JOB,
                                                     "finished_at": (datetime.now(UTC) - 2 * DAY).isoformat()}])

    class Once:
        calls = 0

        def is_set(self) -> bool:
            return self.calls > 0

        def wait(self, timeout: float) -> bool:
            self.calls += 1
            assert timeout == 60.0  # next due in a day: looks again in a minute
            return True

    detect_schedule.follow(cx, Once(), DAY)
    assert datetime.fromisoformat(jobs(cx)[detect.FULL_RUN_JOB]) > datetime.now(UTC) - timedelta(minutes=5)
