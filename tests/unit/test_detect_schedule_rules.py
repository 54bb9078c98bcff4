"""When a scheduled full detection is due, and when a claim on it stands (services/detect_schedule.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chengxin.services.detect_schedule import CLAIM_STALE, claimable, due_at

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def ago(delta: timedelta) -> str:
    return (NOW - delta).isoformat()


def test_never_run_is_due_now() -> None:
    assert due_at(None, DAY) is None
    assert claimable(None, None, DAY, NOW)


def test_due_one_interval_after_the_last_run() -> None:
    assert due_at(ago(timedelta(hours=3)), DAY) == NOW + timedelta(hours=21)
    assert not claimable(ago(timedelta(hours=23, minutes=59)), None, DAY, NOW)
    assert claimable(ago(DAY), None, DAY, NOW)  # exactly due


def test_a_live_claim_after_the_last_run_stands() -> None:
    last = ago(timedelta(hours=30))
    assert not claimable(last, ago(timedelta(minutes=5)), DAY, NOW)  # another process is running it
    assert not claimable(None, ago(timedelta(minutes=5)), DAY, NOW)


def test_a_claim_before_the_last_run_is_spent() -> None:
    assert claimable(ago(timedelta(hours=30)), ago(timedelta(hours=31)), DAY, NOW)


def test_a_stale_claim_is_taken_over() -> None:
    last = ago(timedelta(hours=40))
    assert not claimable(last, ago(CLAIM_STALE - timedelta(seconds=1)), DAY, NOW)
    assert claimable(last, ago(CLAIM_STALE), DAY, NOW)
