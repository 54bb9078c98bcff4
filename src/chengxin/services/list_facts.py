"""What bears on lists, read from the store (`services/lists.py` judges it).

- `gather(conn, keys, now)`: each party's `domain.lists.ListFacts` (records with their spans, grades,
  commitments, shops) and its first subject report; `parts(keys)` chunks a key list for `IN (...)`.
- `follow_reports(conn)`: open memberships of a party key no report has any more follow their report to the
  key it has now, with a regulator's overrides (a later registration corrected the USCC).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, func, select, update

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.domain import lifecycle as L
from chengxin.domain import lists as LS
from chengxin.services import lifecycle

REGULATOR_DECIDER = "regulator:"  # how a regulator's decisions are recorded (lifecycle.who, standing_verdicts.py)

_CHUNK = 500


class Report(NamedTuple):
    """A subject report, as a party's first report is read (`source`, `subject_id`)."""

    source: str
    subject_id: str


def gather(conn: Connection, keys: Sequence[str] | None, now: datetime,
           history: bool = False) -> tuple[dict[str, LS.ListFacts], dict[str, Any]]:
    """List facts of these parties (everyone when None) and each party's first subject report. Grades are the
    current one, or their whole history when `history` (for replays)."""
    s = t.subjects.c
    q = select(s.party_key, s.kind, s.registered_at, s.source, s.subject_id).order_by(
        s.registered_at, s.source, s.subject_id)  # the first report, the same on every database
    first: dict[str, Any] = {}
    for part in parts(keys):
        for r in conn.execute(q if part is None else q.where(s.party_key.in_(part))):
            first.setdefault(r.party_key, r)
    spans: dict[str, list[LS.Span]] = defaultdict(list)
    d = lt.dishonesty_records.c
    for part in parts(keys):
        rq = select(lt.dishonesty_records).where(d.state.not_in((L.DISMISSED,)))
        for r in conn.execute(rq if part is None else rq.where(d.party_key.in_(part))):
            spans[r.party_key].append(_span(r))
    spans = {k: _breaches_as_their_acts(v) for k, v in spans.items()}
    grades = _grades(conn, keys, now, history)
    commitments = _commitments(conn, keys)
    shops = _shop_counts(conn, keys)
    facts = {k: LS.ListFacts(r.kind, lifecycle.parse_time(r.registered_at), tuple(spans.get(k, ())),
                             tuple(grades.get(k, ())), tuple(commitments.get(k, ())), shops.get(k, 0))
             for k, r in first.items()}
    return facts, first


def parts(keys: Sequence[str] | None) -> Iterable[list[str] | None]:
    if keys is None:
        yield None
        return
    keys = list(keys)
    for i in range(0, len(keys), _CHUNK):
        yield keys[i:i + _CHUNK]


def _span(r: Any) -> LS.Span:
    breach = r.origin == "breach"  # its key: breach, the record that broke the commitment, the commitment
    return LS.Span(r.category, r.severity, lifecycle.parse_time(r.confirmed_at),
                   lifecycle.parse_time(r.ended_at) if r.ended_at else None, r.sanction_kind, breach, r.id,
                   int(r.record_key.split(lifecycle.SEP)[1]) if breach else None,
                   r.origin == "review" and not str(r.decided_by).startswith(REGULATOR_DECIDER))


def _breaches_as_their_acts(spans: list[LS.Span]) -> list[LS.Span]:
    """A breach is confirmed as its act was: by a platform when the act's record was. Counted as an
    authority's, a platform's own confirmation reached the public black list through the merchant's
    commitment (found by review)."""
    platform = {s.record_id for s in spans if s.by_platform}
    return [replace(s, by_platform=True) if s.breach and s.of in platform else s for s in spans]


def _grades(conn: Connection, keys: Sequence[str] | None, now: datetime,
            history: bool) -> dict[str, list[tuple[datetime, str, int]]]:
    out: dict[str, list[tuple[datetime, str, int]]] = defaultdict(list)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if history:
        h = st.score_history.c
        q = select(h.party_key, h.at, h.grade, h.score).order_by(h.id)
    else:
        c = st.credit_scores.c
        q = select(c.party_key, c.computed_at, c.grade, c.score)
    col = q.selected_columns[0]
    for part in parts(keys):
        for k, at, grade, score in conn.execute(q if part is None else q.where(col.in_(part))):
            out[k].append((lifecycle.parse_time(at) if history else epoch, grade, int(score)))
    return out


def _commitments(conn: Connection, keys: Sequence[str] | None) -> dict[str, list[tuple[datetime, datetime | None]]]:
    c, s = t.commitments.c, t.subjects.c
    q = select(s.party_key, c.published_at, c.valid_until).select_from(t.commitments.join(
        t.subjects, (s.source == c.subject_source) & (s.subject_id == c.subject_id)))
    out: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for part in parts(keys):
        for k, published, until in conn.execute(q if part is None else q.where(s.party_key.in_(part))):
            # in force to the end of its last day in China
            end = lifecycle.parse_time(until[:10] + "T00:00:00+08:00") + timedelta(days=1) if until else None
            out[k].append((lifecycle.parse_time(published), end))
    return out


def _shop_counts(conn: Connection, keys: Sequence[str] | None) -> dict[str, int]:
    sh, s = t.shops.c, t.subjects.c
    q = select(s.party_key, func.count()).select_from(t.shops.join(
        t.subjects, (s.source == sh.operator_source) & (s.subject_id == sh.operator_id))).group_by(s.party_key)
    out: dict[str, int] = {}
    for part in parts(keys):
        out.update((k, int(n)) for k, n in conn.execute(q if part is None else q.where(s.party_key.in_(part))))
    return out


def follow_reports(conn: Connection) -> None:
    """Open memberships of a party key no report has any more (a later registration corrected the USCC: the
    report has a new key) follow their report to its key, unless that key already holds the same membership;
    there they are judged (the others leave as GONE). They stayed on the lists for ever (found by review)."""
    m, s, other = lt.list_memberships.c, t.subjects.c, t.subjects.alias("other").c
    orphans = conn.execute(select(m.id, m.list, m.policy, m.party_key.label("old"), s.party_key).join(
        t.subjects, and_(s.source == m.subject_source, s.subject_id == m.subject_id)).where(
        m.ended_at.is_(None), s.party_key.is_not(None), s.party_key != m.party_key,
        ~select(other.party_key).where(other.party_key == m.party_key).exists())).all()
    moved: dict[str, set[str]] = defaultdict(set)
    for row in orphans:
        if not conn.execute(select(m.id).where(m.party_key == row.party_key, m.list == row.list,
                                               m.policy == row.policy, m.ended_at.is_(None))).first():
            conn.execute(update(lt.list_memberships).where(m.id == row.id).values(party_key=row.party_key))
            moved[row.old].add(row.party_key)
    o = lt.list_overrides.c  # a regulator's overrides follow them, when the old key went to one new key
    for old_key, new in moved.items():
        if len(new) == 1:
            conn.execute(update(lt.list_overrides).where(o.party_key == old_key, o.lifted_at.is_(None))
                         .values(party_key=next(iter(new))))
