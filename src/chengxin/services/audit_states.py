"""What the credit log says of the states kept beside it: part of `chengxin audit verify`.

Whether a dishonesty record is public depends on `dishonesty_records.state`, a table the log does not sign.
Every legitimate move of a record is logged (`record_repaired`, `record_overturned`, `record_expired`, ...,
each payload naming the record and the state it moved `to`), so the audit replays them and names a record
whose stored state is not what its log records say: set to `overturned` by hand, a confirmed record left
public view while the audit said ok (found by review).
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.domain import lifecycle as L

MOVES = "record_"  # the kinds of the lifecycle's moves: record_<state>, and record_upheld


class _Report(Protocol):
    def fail(self, index: int | None, problem: str, detail: str) -> None: ...


class RecordStates:
    """Collects each record's last logged move while the audit walks the log, then compares."""

    def __init__(self) -> None:
        self.said: dict[int, tuple[str, int]] = {}  # record id -> (state it moved to, log index)

    def see(self, row: Any) -> None:
        if not row.kind.startswith(MOVES):
            return
        try:
            payload = orjson.loads(row.payload)
            self.said[int(payload["record"])] = (str(payload["to"]), int(row.idx))
        except (ValueError, TypeError, KeyError):
            return  # an altered payload: the walk names it

    def finish(self, conn: Connection, report: _Report) -> None:
        d = lt.dishonesty_records.c
        for record_id, state, credit_idx in conn.execute(select(d.id, d.state, d.credit_idx).order_by(d.id)):
            expected, at = self.said.get(record_id, (L.CONFIRMED, credit_idx))
            if state != expected:
                report.fail(at, "state", f"dishonesty record {record_id} is {state!r} in storage, but the credit log "
                                         f"says {expected!r} (log record {at}): its public view was changed "
                                         "outside the lifecycle")
