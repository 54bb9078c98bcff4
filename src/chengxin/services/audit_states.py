"""What the credit log says of the states kept beside it: part of `chengxin audit verify`.

Whether a record is public depends on tables the log does not sign. Every legitimate move is logged, so the
audit replays the moves and names what storage says otherwise (found by review: both hid records while the
audit said ok):

- a dishonesty record's `state` (`record_repaired`, `record_overturned`, `record_expired`, ..., each payload
  naming the record and the state it moved `to`): set to `overturned` by hand, a confirmed record left view;
- a list membership: its `credit_idx` must be its own `list_entered` record (same subject, list and policy),
  and it is ended exactly when a `list_left` of the same follows that entry in the log (an ended membership
  inserted by hand, naming another record, hid that record); a `list_left` that names its membership (its
  payload's `membership`) is that membership's only. Every `list_entered` has its membership (one deleted by
  hand took a party off a list unseen);
- a dishonesty record's `credit_idx` must be the log record that opened it (a confirmation, a sanction or a
  commitment breach about the same subject), one record each; a record the log moved or a breach it logged must
  still be stored (a record inserted or deleted by hand planted or erased a finding; found by review). A record
  opened by a confirmation or a sanction and never moved since has nothing else in the log that names it: its
  deletion is not seen (docs/credit-log.md);
- a stored score is its own explanation's: the score and grade columns those of `detail`, the score the sum of
  its dimensions' points. Scores are derived, not signed: `chengxin score` computes every one again from the
  facts (an edited score was served beside its unchanged explanation).
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.domain import lifecycle as L

MOVES = "record_"  # the kinds of the lifecycle's moves: record_<state>, and record_upheld
OPENS = {"review": "confirmed", "sanction": "sanction", "breach": "commitment_breach"}  # origin -> log kind
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
        self.opening: dict[int, tuple[str, str, str]] = {}  # log index -> (kind, subject) of what may open one

    def see(self, row: Any) -> None:
        kind = row.kind
        if kind in _OPENING_KINDS:
            self.opening[int(row.idx)] = (kind, row.subject_source, row.subject_id)
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
        _scores(conn, report)

    def _memberships(self, conn: Connection, report: _Report) -> None:
        m = lt.list_memberships.c
        rows = list(conn.execute(select(m.id, m.party_key, m.subject_source, m.subject_id, m.list, m.policy,
                                        m.ended_at, m.credit_idx).order_by(m.id)))
        left = self._left_by_party(conn, {r.party_key for r in rows})
        claimed = {int(r.credit_idx) for r in rows if r.credit_idx is not None}
        for idx, (src, sid, name, _) in sorted(self.entered.items()):
            if idx not in claimed:
                report.fail(idx, "state", f"log record {idx} put {src} {sid} on the {name} list, but storage holds "
                                          "no membership of it: it was deleted outside the lifecycle")
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
        stored: set[int] = set()
        opened: dict[int, int] = {}  # log index -> the record it opened
        for row in conn.execute(select(d.id, d.state, d.credit_idx, d.origin, d.subject_source, d.subject_id)
                                .order_by(d.id)):
            stored.add(row.id)
            self._opened_by(row, opened, report)
            expected, at = self.said.get(row.id, (L.CONFIRMED, row.credit_idx))
            if row.state != expected:
                report.fail(at, "state", f"dishonesty record {row.id} is {row.state!r} in storage, but the credit "
                                         f"log says {expected!r} (log record {at}): its public view was changed "
                                         "outside the lifecycle")
        for record_id, (_, at) in sorted(self.said.items()):
            if record_id not in stored:
                report.fail(at, "state", f"log record {at} moved dishonesty record {record_id}, which storage no "
                                         "longer holds: it was deleted outside the lifecycle")
        for idx, (kind, src, sid) in sorted(self.opening.items()):
            if kind == OPENS["breach"] and idx not in opened:
                report.fail(idx, "state", f"log record {idx} recorded a broken commitment of {src} {sid}, but storage "
                                          "holds no record of it: it was deleted outside the lifecycle")

    def _opened_by(self, row: Any, opened: dict[int, int], report: _Report) -> None:
        """The record's `credit_idx` is the log record that opened it, about the same subject, and no other's."""
        idx = None if row.credit_idx is None else int(row.credit_idx)
        found = self.opening.get(idx) if idx is not None else None
        if idx is None or found != (OPENS.get(row.origin), row.subject_source, row.subject_id):
            report.fail(idx, "state", f"dishonesty record {row.id} ({row.origin}, {row.subject_source} "
                                      f"{row.subject_id}) names log record {idx}, which did not open it: it was "
                                      "put in storage outside the lifecycle")
        elif idx in opened:
            report.fail(idx, "state", f"dishonesty records {opened[idx]} and {row.id} both name log record {idx}, "
                                      "which opened one")
        else:
            opened[idx] = row.id


_OPENING_KINDS = frozenset(OPENS.values())


def _scores(conn: Connection, report: _Report) -> None:
    """Each stored score is its explanation's (see the module)."""
    c = st.credit_scores.c
    for key, score, grade, detail in conn.execute(select(c.party_key, c.score, c.grade, c.detail)):
        try:
            doc = orjson.loads(detail)
            points = sum(int(d["points"]) for d in doc["dimensions"])
            fits = (doc["score"], doc["grade"]) == (score, grade) and points == score
        except (ValueError, TypeError, KeyError):
            fits = False
        if not fits:
            report.fail(None, "state", f"the stored score of {key} ({score}, {grade}) is not the one its explanation "
                                       "gives: it was changed outside the scorer (`chengxin score` computes it again)")
