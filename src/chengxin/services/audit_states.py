"""What the credit log says of the states kept beside it: part of `chengxin audit verify`.

Whether a record is public depends on tables the log does not sign. Every legitimate move is logged, so the
audit replays the moves and names what storage says otherwise (found by review: both hid records while the
audit said ok):

- a dishonesty record's `state` (`record_repaired`, `record_overturned`, `record_expired`, ..., each payload
  naming the record and the state it moved `to`): set to `overturned` by hand, a confirmed record left view;
- a list membership: its `credit_idx` must be its own `list_entered` record (same subject, list and policy),
  and it is ended exactly when a `list_left` of the same follows that entry in the log (an ended membership
  inserted by hand, naming another record, hid that record); a `list_left` that names its membership (its
  payload's `membership`) is that membership's only.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.domain import lifecycle as L

MOVES = "record_"  # the kinds of the lifecycle's moves: record_<state>, and record_upheld
ENTERED, LEFT = frozenset({"list_entered", "list_entered_private"}), frozenset({"list_left", "list_left_private"})
Entry = tuple[str, str, str, str]  # subject source, subject id, list, policy


class _Report(Protocol):
    def fail(self, index: int | None, problem: str, detail: str) -> None: ...


class RecordStates:
    """Collects each record's last logged move while the audit walks the log, then compares."""

    def __init__(self) -> None:
        self.said: dict[int, tuple[str, int]] = {}  # record id -> (state it moved to, log index)
        self.entered: dict[int, Entry] = {}  # log index of a list_entered -> what it entered
        self.left: dict[Entry, list[int]] = {}  # what left a list -> the log indices of its list_left
        self.left_membership: dict[int, int] = {}  # membership id -> its list_left, where the move names it

    def see(self, row: Any) -> None:
        kind = row.kind
        if not (kind.startswith(MOVES) or kind in ENTERED or kind in LEFT):
            return
        try:
            payload = orjson.loads(row.payload)
            if kind.startswith(MOVES):
                self.said[int(payload["record"])] = (str(payload["to"]), int(row.idx))
                return
            entry = (row.subject_source, row.subject_id, str(payload["list"]), str(payload["policy"]))
        except (ValueError, TypeError, KeyError):
            return  # an altered payload: the walk names it
        if kind in ENTERED:
            self.entered[int(row.idx)] = entry
        elif isinstance(member := payload.get("membership"), int):
            self.left_membership[member] = int(row.idx)  # a move that names its membership is that one's only
        else:
            self.left.setdefault(entry, []).append(int(row.idx))

    def finish(self, conn: Connection, report: _Report) -> None:
        self._records(conn, report)
        self._memberships(conn, report)

    def _memberships(self, conn: Connection, report: _Report) -> None:
        m = lt.list_memberships.c
        rows = list(conn.execute(select(m.id, m.party_key, m.subject_source, m.subject_id, m.list, m.policy,
                                        m.ended_at, m.credit_idx).order_by(m.id)))
        left = self._left_by_party(conn, {r.party_key for r in rows})
        for row in rows:
            entry = (row.subject_source, row.subject_id, row.list, row.policy)
            if row.credit_idx is None or self.entered.get(int(row.credit_idx)) != entry:
                report.fail(row.credit_idx, "state", f"list membership {row.id} ({row.list}) names log record "
                                                     f"{row.credit_idx}, which is not its list_entered record")
                continue
            gone = self.left_membership.get(row.id, -1) > row.credit_idx or any(
                i > row.credit_idx for i in left.get((row.party_key, row.list, row.policy), ()))
            self._compare(row, gone, report)

    def _left_by_party(self, conn: Connection, keys: set[str]) -> dict[tuple[str, str, str], list[int]]:
        """The list_left indices by (party, list, policy): a move is logged about the party's first report at
        the time, which a backdated registration may change between entering and leaving."""
        s, wanted = t.subjects.c, sorted(keys)
        party: dict[tuple[str, str], str] = {}
        for i in range(0, len(wanted), 500):
            for src, sid, key in conn.execute(select(s.source, s.subject_id, s.party_key).where(
                    s.party_key.in_(wanted[i:i + 500]))):
                party[(src, sid)] = key
        out: dict[tuple[str, str, str], list[int]] = {}
        for (src, sid, name, policy), idxs in self.left.items():
            if (key := party.get((src, sid))) is not None:
                out.setdefault((key, name, policy), []).extend(idxs)
        return out

    @staticmethod
    def _compare(row: Any, left: bool, report: _Report) -> None:
        if left != (row.ended_at is not None):
            report.fail(row.credit_idx, "state", f"list membership {row.id} ({row.list}) is "
                                                 f"{'ended' if row.ended_at else 'in force'} in storage, but the "
                                                 f"credit log says {'it left' if left else 'it did not leave'}")

    def _records(self, conn: Connection, report: _Report) -> None:
        d = lt.dishonesty_records.c
        for record_id, state, credit_idx in conn.execute(select(d.id, d.state, d.credit_idx).order_by(d.id)):
            expected, at = self.said.get(record_id, (L.CONFIRMED, credit_idx))
            if state != expected:
                report.fail(at, "state", f"dishonesty record {record_id} is {state!r} in storage, but the credit log "
                                         f"says {expected!r} (log record {at}): its public view was changed "
                                         "outside the lifecycle")
