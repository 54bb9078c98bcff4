"""The list queue: parties whose profile changed (a record opened or moved, a grade changed, commitments or
sanctions arrived) are queued (`mark`, `queue_supervision`) and re-evaluated by `drain`, with those whose
override lapsed. Ingestion, review decisions, lifecycle moves and the scorer call it.

Neighbours: `services/lists.py` (the evaluation, and `lists.drain` for callers), `services/lifecycle.py` (the
sanctions sync a `SYNC` entry asks for).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import credit_log, lifecycle


def mark(conn: Connection, keys: Iterable[str]) -> None:
    """Queue parties for list re-evaluation (in the caller's transaction)."""
    now = credit_log.now_utc()
    upsert.insert_or_ignore(conn, lt.list_queue, [{"party_key": k, "marked_at": now} for k in dict.fromkeys(keys)])


SYNC = "~sync"  # queue entry: new sanctions or liftings arrived; open and move their records first


Supervision = tuple[bool, list[tuple[str, str]]]  # a sync is due; the subjects whose commitments arrived


def supervision_of(facts: Iterable[Any]) -> Supervision:
    """What a batch asks of supervision: sanctions and their liftings call for a sync (their records are
    opened by `lifecycle.sync`; so do new subjects, for a sanction that arrived before its subject was
    registered), commitments for their party (a profile variable and breach checks). No database: a bulk
    load's second process works it out; ingestion `queue_supervision`s it with the batch."""
    facts = list(facts)
    sync = any(f.table in ("sanctions", "sanction_lifts", "subjects") for f in facts)
    refs = {(f.values["subject_source"], f.values["subject_id"]) for f in facts if f.table == "commitments"}
    return sync, sorted(refs)


def queue_supervision(conn: Connection, sync: bool, commitments: list[tuple[str, str]]) -> None:
    if sync:
        mark(conn, [SYNC])
    if commitments:
        mark(conn, lifecycle.party_keys_of(conn, set(commitments)))


def drain(app: Chengxin, now: datetime | None = None) -> dict[str, Any] | None:
    """Sync sanctions if asked, then evaluate the queued parties and those whose override lapsed since the last
    drain (None when there are none)."""
    from chengxin.services.lists import evaluate  # lists imports this module (its `drain`)

    q = lt.list_queue.c
    with read_connection(app.engine) as conn:
        keys = list(conn.execute(select(q.party_key)).scalars())
    if SYNC in keys:
        lifecycle.sync(app, now)  # removes the mark in its own transaction
        with read_connection(app.engine) as conn:
            keys = [k for k in conn.execute(select(q.party_key)).scalars() if k != SYNC]
    keys = list(dict.fromkeys([*keys, *_lapsed_overrides(app, now or datetime.now(UTC))]))
    return evaluate(app, keys, now) if keys else None


LAPSE_JOB = "lists.overrides_lapsed"  # the job_runs row: the day (in China) whose lapsed overrides were handled


def _lapsed_overrides(app: Chengxin, now: datetime) -> list[str]:
    """The parties whose override's review date passed since the day last handled: an override holds through
    its `until` (a day in China), and its membership and measures then stayed in force until the party was
    evaluated for another reason, up to the next full evaluation (found by review)."""
    today, o, j = lifecycle.day_of(now).isoformat(), lt.list_overrides.c, lt.job_runs.c
    store = str(app.engine.url)
    if _LAPSES_HANDLED.get(store, "") >= today:  # this process handled today: no statement at each drain
        return []
    with read_connection(app.engine) as conn:
        last = conn.execute(select(j.finished_at).where(j.job == LAPSE_JOB)).scalar()
        if last is not None and last[:10] >= today:
            _LAPSES_HANDLED[store] = last[:10]
            return []
        q = select(o.party_key).distinct().where(o.lifted_at.is_(None), o.until < today)
        keys = list(conn.execute(q if last is None else q.where(o.until >= last[:10])).scalars())
    _finished_on(app, LAPSE_JOB, today)
    _LAPSES_HANDLED[store] = today
    return keys


_LAPSES_HANDLED: dict[str, str] = {}  # store -> the day (in China) this process last handled


def _finished_on(app: Chengxin, job: str, day: str) -> None:
    with write_transaction(app.engine) as conn:
        upsert.insert_or_update(conn, lt.job_runs, [{"job": job, "finished_at": day}])
