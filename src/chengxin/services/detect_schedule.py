"""Every detector on a schedule, beside the server (`chengxin serve --detect-every HOURS`).

The cheap detectors already run at ingestion (`services/detect_live.py`); rings, templated and malicious
reviews, fake traffic and the others read the whole store and ran only when someone ran `chengxin detect`,
so a node without a cron job of its own never found a ring. With `CHENGXIN_DETECT_EVERY_HOURS` (or the
option) set, `chengxin serve` starts a detector process that runs `detect.detect` (findings stored and queued
for review: a finding is a question for a person, never a punishment) whenever the last full run is older
than the interval.

The last full run is kept in the store (`job_runs` row `detect.full`, written by `detect.detect` in the
transaction that stores the findings, whoever ran it), so a restart does not run it again early and a
`chengxin detect` from cron counts. A process claims a run before starting it (`detect.claimed`, in a
serialised write transaction): two servers on one store do not both run it. A claim with no run finished
after it for `CLAIM_STALE` is taken to have died with its process, and the run is claimed again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import detect

JOB, CLAIM = detect.FULL_RUN_JOB, "detect.claimed"
CLAIM_STALE = timedelta(hours=6)  # longer than any full run measured (bench-10m: under 2 minutes)
log = logging.getLogger("chengxin.detect_schedule")


class Stop(Protocol):
    def is_set(self) -> bool: ...
    def wait(self, timeout: float) -> bool: ...


def due_at(last: str | None, every: timedelta) -> datetime | None:
    """When the next full run is due: `every` after the last (None: never ran, so now)."""
    return None if last is None else datetime.fromisoformat(last) + every


def claimable(last: str | None, claimed: str | None, every: timedelta, now: datetime) -> bool:
    """Whether a run is due and no live claim stands: a claim made after the last run finished and less than
    `CLAIM_STALE` ago is another process's run in progress."""
    due = due_at(last, every)
    if due is not None and due > now:
        return False
    if claimed is None or (last is not None and claimed <= last):
        return True
    return datetime.fromisoformat(claimed) <= now - CLAIM_STALE


def _times(conn: Any) -> tuple[str | None, str | None]:
    j = lt.job_runs.c
    rows = dict(conn.execute(select(j.job, j.finished_at).where(j.job.in_([JOB, CLAIM]))).all())
    return rows.get(JOB), rows.get(CLAIM)


def status(app: Chengxin, every: timedelta | None = None) -> dict[str, Any]:
    """The last full run's time and, with an interval, when the next is due (for health and the CLI)."""
    with read_connection(app.engine) as conn:
        last, claimed = _times(conn)
    due = due_at(last, every) if every else None
    return {"last_full_run": last, "claimed_at": claimed,
            "next_due": (due.isoformat() if due else None) if every else None}


def claim(app: Chengxin, every: timedelta, now: datetime) -> bool:
    """Claim the next run if it is due and nobody holds it; the check and the claim in one serialised write."""
    with write_transaction(app.engine, durable=False) as conn:
        last, claimed = _times(conn)
        if not claimable(last, claimed, every, now):
            return False
        upsert.insert_or_update(conn, lt.job_runs, [{"job": CLAIM, "finished_at": now.isoformat()}])
    return True


def run_if_due(app: Chengxin, every: timedelta, now: datetime | None = None) -> detect.DetectRun | None:
    """Run every detector if the last full run is `every` old (or none ran) and no other process is running
    one; None when it was not due or was claimed elsewhere."""
    if not claim(app, every, now or datetime.now(UTC)):
        return None
    try:
        run = detect.detect(app)
    except BaseException:
        _release(app)  # else the next try waited for the claim to go stale (hours)
        raise
    log.info("scheduled detection %s: %d findings in %.1f s, %d new review items", run.run_id,
             len(run.findings), run.seconds, run.review.get("published", 0))
    return run


def _release(app: Chengxin) -> None:
    with write_transaction(app.engine, durable=False) as conn:
        conn.execute(lt.job_runs.delete().where(lt.job_runs.c.job == CLAIM))


def follow(app: Chengxin, stop: Stop, every: timedelta, *, poll_s: float = 60.0) -> None:
    """Run every detector each time it is due, until `stop`: looks every `poll_s` seconds (or sooner, when
    the run is due sooner), so a run finished elsewhere (cron, another server) moves the next one."""
    while not stop.is_set():
        run_if_due(app, every)
        with read_connection(app.engine) as conn:
            last, _ = _times(conn)
        due, now = due_at(last, every), datetime.now(UTC)
        # due later: wake when it is (a minute at most); due now but claimed elsewhere: look again in a minute
        wait = poll_s if due is None or due <= now else min(poll_s, max(1.0, (due - now).total_seconds()))
        if stop.wait(wait):
            return
