"""Trying policies before they bite (issue 6, item 5): shadow reports and backtests. Nothing here writes.

- `shadow_report(app, viewer, text=None)`: evaluate candidate policies now against every party's profile and
  say who would enter or leave which list compared with the memberships in force. Without a file, the
  candidates are the node's own policies with its `mode: shadow` ones switched on.
- `backtest(app, text, since=None)`: replay the history of every party under the current policies and under
  a candidate file (`domain.lists.replay`), and report, per list, who would have been listed differently,
  from when, and how many entries each policy would have made.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import lists as LS
from chengxin.exc import Busy, NotAuthenticated
from chengxin.services import lifecycle, list_measures, lists
from chengxin.services.viewer import PUBLIC, REGULATOR, Viewer

SHOWN = 200  # parties named per list and direction in a report (counts are always complete)


def candidate(text: str | None, source: str = "<file>") -> LS.PolicySet:
    """A policy file (checked like the node's own), or the node's policies with shadow ones enforced."""
    if text is not None:
        return lists.load_policy_text(text, source)
    ps = lists.policies()
    return LS.PolicySet(ps.version, ps.lists, tuple(replace(p, mode=LS.ENFORCE) for p in ps.policies))


def shadow_report(app: Chengxin, viewer: Viewer, text: str | None = None, source: str = "<file>",
                  now: datetime | None = None) -> dict[str, Any]:
    if viewer.role == PUBLIC:
        raise NotAuthenticated("shadow reports need a platform or regulator API key")
    ps, at = candidate(text, source), now or datetime.now(UTC)
    if not _ONE_AT_A_TIME.acquire(blocking=False):  # it reads every party: one at a time per process, so that
        # a key calling it in a loop cannot hold every request thread (found by review)
        raise Busy("a shadow report is being computed in this process; try again in a few seconds")
    try:
        with read_connection(app.engine) as conn:
            keys = None if viewer.role == REGULATOR else _reported_by(conn, viewer.source or "")
            facts, first = lists.gather(conn, keys, at)
            held = list_measures.open_memberships(conn, keys)
            overrides = lists._active_overrides(conn, keys, at)
    finally:
        _ONE_AT_A_TIME.release()
    report: dict[str, dict[str, list[dict[str, Any]]]] = {}
    counts: dict[str, dict[str, int]] = {}
    for key, f in facts.items():
        if viewer.role != REGULATOR and not viewer.owns(first[key].source):
            continue  # a platform sees what the candidates would do to the parties it reported
        prof, members = lists.profile(f, at), held.get(key, [])
        now_on = {m.list: m.policy for m in members}
        # the same path as enforcement: exclusions, a regulator's overrides, the natural-person rule
        would = {name: pid for name, pid in lists._wanted(prof, members, overrides.get(key, []),
                                                          lifecycle.day_of(at), ps)}
        for name in set(would) ^ set(now_on):
            move = "would_enter" if name in would else "would_leave"
            counts.setdefault(name, {"would_enter": 0, "would_leave": 0})[move] += 1
            bucket = report.setdefault(name, {"would_enter": [], "would_leave": []})[move]
            if len(bucket) < SHOWN:
                bucket.append({"party": {"source": first[key].source, "id": first[key].subject_id},
                               "policy": would.get(name) or now_on.get(name)})
    return {"as_of": at.isoformat(timespec="seconds"), "parties": len(facts), "counts": counts, "lists": report,
            "policies": [p.id for p in ps.enforced()], "effect": "none: a shadow report changes nothing"}


_ONE_AT_A_TIME = threading.Lock()


def _reported_by(conn: Connection, source: str) -> list[str]:
    """The parties a platform reported (a platform's report reads only those, not the whole store)."""
    s = t.subjects.c
    return list(conn.execute(select(s.party_key).where(s.source == source).distinct()).scalars())


def backtest(app: Chengxin, text: str, source: str = "<file>", since: datetime | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """Replay history under the current policies and under `text`; compare."""
    new, old, at = candidate(text, source), lists.policies(), now or datetime.now(UTC)
    r = lifecycle.rules()
    cats, kinds = list(r.categories), list(r.sanctions)
    with read_connection(app.engine) as conn:
        facts, first = lists.gather(conn, None, at, history=True)
    entries: dict[str, dict[str, int]] = {"current": {}, "candidate": {}}
    diff: dict[str, dict[str, list[dict[str, Any]]]] = {}
    totals: dict[str, dict[str, int]] = {}
    for key, f in facts.items():
        runs = {"current": LS.replay(old.enforced(), f, at, cats, kinds, since, old.lists),
                "candidate": LS.replay(new.enforced(), f, at, cats, kinds, since, new.lists)}
        listed: dict[str, dict[str, str]] = {"current": {}, "candidate": {}}
        for label, intervals in runs.items():
            ps = old if label == "current" else new
            for i in intervals:
                entries[label][i.policy] = entries[label].get(i.policy, 0) + 1
                name = ps.by_id(i.policy).list
                listed[label].setdefault(name, i.start.isoformat(timespec="seconds"))
        for name in set(listed["current"]) | set(listed["candidate"]):
            a, b = listed["current"].get(name), listed["candidate"].get(name)
            if a == b:
                continue
            move = "only_candidate" if a is None else "only_current" if b is None else "different_start"
            totals.setdefault(name, {}).setdefault(move, 0)
            totals[name][move] += 1
            bucket = diff.setdefault(name, {}).setdefault(move, [])
            if len(bucket) < SHOWN:
                bucket.append({"party": {"source": first[key].source, "id": first[key].subject_id},
                               "current_from": a, "candidate_from": b})
    return {"as_of": at.isoformat(timespec="seconds"), "since": since.isoformat() if since else None,
            "parties": len(facts), "entries_by_policy": entries, "differences": totals, "parties_differing": diff,
            "grid_days": LS.GRID_DAYS, "effect": "none: a backtest changes nothing"}
