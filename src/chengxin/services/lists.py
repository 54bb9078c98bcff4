"""Red, black and watch lists and the joint measures they impose (issue 6, items 3 to 5): the policies this node
enforces (`policies`, `vocab/list_policies.yaml`) and the evaluation that applies them.

- `evaluate(app, keys)`: re-evaluate the enforced policies (and a regulator's overrides) for these parties, or
  everyone; enter and leave lists, each move a membership row and a credit record; record every change of the
  measures in force in the feed (`services/list_feed.py`: `measure_changes`, published to NATS JetStream when
  configured). Shadow policies are evaluated beside and only reported.
- `drain(app)` evaluates the queued parties (`services/list_queue.py`: `mark`, `queue_supervision`).
  Ingestion, review decisions, lifecycle moves and the scorer call it.
- `lists_without`: the lists a party would be on without one record (repair checks).

Neighbours: `services/list_facts.py` reads each party's facts, `services/list_overrides.py` a regulator's
overrides, `services/list_measures.py` the measures memberships impose, `services/list_views.py` reads and
renders (`members`, `party_lists`, `measures_of`, `changes`), `services/policy.py` replays policies (shadow
reports, backtests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, union, update

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import lifecycle as L
from chengxin.domain import lists as LS
from chengxin.domain import measures as M
from chengxin.exc import InvalidInput
from chengxin.services import lifecycle, list_facts, list_overrides
from chengxin.services.list_feed import publish_feed, record_changes, stale_feed
from chengxin.services.list_measures import catalog, open_memberships
from chengxin.services.list_queue import drain as drain  # callers (many) find `drain` here

Ref = tuple[str, str]


LISTS_SOURCE = "urn:cx:chengxin:lists"
MANUAL = list_overrides.MANUAL  # the policy of a membership a regulator's addition imposes
GONE = {"reason": "no report of the party has this party key any more (its identification changed)"}


def load_policy_text(text: str, source: str) -> LS.PolicySet:
    """Parse and check a policy file against this node's categories, sanction kinds and measures."""
    r = lifecycle.rules()
    found = LS.load_policies(text, source, r.categories, r.sanctions, catalog())
    L.check_lists(r, found.lists, "vocab/lifecycle.yaml", source)  # the repair bar names lists of this file
    for name, d in found.lists.items():
        M.check_values(catalog(), f"lists.{name}.measures", d.measures, source)
    for p in found.policies:
        M.check_values(catalog(), f"policies.{p.id}.measures", p.measures, source)
    return found


@cache
def policies() -> LS.PolicySet:
    return load_policy_text(vocab_text("list_policies.yaml"), "vocab/list_policies.yaml")


# --- gathering facts (services/list_facts.py) -----------------------------------------------------------------
gather, parts = list_facts.gather, list_facts.parts


def profile(f: LS.ListFacts, at: datetime, without: int | None = None) -> dict[str, Any]:
    r = lifecycle.rules()
    return LS.profile_at(f, at, r.categories, r.sanctions, without)


# --- evaluation -----------------------------------------------------------------------------------------------
FULL_JOB = "lists.evaluate"  # the job_runs row of a full re-evaluation


def full_due(app: Chengxin, every: timedelta, now: datetime | None = None) -> bool:
    """Whether the last full re-evaluation (by any process: the scorer, `chengxin lists evaluate`) finished
    longer than `every` ago, or never ran. Kept in the store, so restarting a server does not redo it."""
    with read_connection(app.engine) as conn:
        last = conn.execute(select(lt.job_runs.c.finished_at).where(lt.job_runs.c.job == FULL_JOB)).scalar()
    return last is None or datetime.fromisoformat(last) <= (now or datetime.now(UTC)) - every


def _finished(app: Chengxin, job: str, at: datetime) -> None:
    with write_transaction(app.engine) as conn:
        upsert.insert_or_update(conn, lt.job_runs, [{"job": job, "finished_at": at.isoformat()}])


CHUNK_PARTIES = 2000  # parties per transaction in a full evaluation: the write lock is held briefly


def refuse_going_back(app: Chengxin, at: datetime) -> None:
    """Refuse (InvalidInput) a full evaluation as of a time before the newest list change: its moves would be
    applied to today's memberships, undoing later ones (`lists evaluate --at` ten minutes back took 62 parties
    off the watch list whose records were in force; found by review)."""
    with read_connection(app.engine) as conn:
        newest = conn.execute(select(func.max(lt.measure_changes.c.at))).scalar()
    if newest is not None and lifecycle._stamp(at) < newest:
        raise InvalidInput(f"at: {lifecycle._stamp(at)} is before the newest list change ({newest}): an evaluation "
                           "replays forward from there, never back")


def evaluate(app: Chengxin, keys: Sequence[str] | None = None, now: datetime | None = None,
             publish: bool = True) -> dict[str, Any]:
    """Re-evaluate lists for these parties (everyone when None, after expiring records whose disclosure
    ended): apply entries and exits, record measure changes; report what shadow policies would do. Works in
    transactions of CHUNK_PARTIES parties. Returns counts and the moves."""
    at, full = now or datetime.now(UTC), keys is None
    if keys is None:
        with write_transaction(app.engine) as conn:
            lifecycle.expire_due(conn, app, at)
            list_facts.follow_reports(conn)
        with read_connection(app.engine) as conn:  # and keys no report has any more, to end their memberships
            keys = list(conn.execute(union(select(t.subjects.c.party_key), select(lt.list_memberships.c.party_key)
                                           .where(lt.list_memberships.c.ended_at.is_(None)))).scalars())
    total: dict[str, Any] = {"parties": 0, "moves": {"entered": [], "left": []}, "changed": 0,
                             "shadow": {"would_enter": [], "would_leave": []}}
    for i in range(0, len(keys), CHUNK_PARTIES):
        _evaluate_chunk(app, list(keys[i:i + CHUNK_PARTIES]), at, total, full)
    published = publish_feed(app) if publish and app.settings.nats_url else None
    if full:
        _finished(app, FULL_JOB, at)
    moves = total["moves"]
    return {"parties": total["parties"], "entered": len(moves["entered"]), "left": len(moves["left"]),
            "moves": moves["entered"] + moves["left"], "measure_changes": total["changed"],
            "shadow": total["shadow"], "published": published}


def _evaluate_chunk(app: Chengxin, keys: list[str], at: datetime, total: dict[str, Any], full: bool = False) -> None:
    stamp = lifecycle._stamp(at)
    shadow_set = with_shadow() if policies().shadow() else None
    with write_transaction(app.engine) as conn:
        facts, first = gather(conn, keys, at)
        held = open_memberships(conn, keys)
        overrides = _active_overrides(conn, keys, at)
        changed: dict[str, list[dict[str, Any]]] = {}
        for key, f in facts.items():
            prof = profile(f, at)
            want = _wanted(prof, held.get(key, []), overrides.get(key, []), lifecycle.day_of(at))
            cause = _apply(conn, app, key, first[key], held.get(key, []), want, overrides.get(key, []), at,
                           total["moves"])
            if cause:
                changed[key] = cause
            if shadow_set is not None:
                candidates = _wanted(prof, held.get(key, []), overrides.get(key, []), lifecycle.day_of(at), shadow_set)
                _shadow(first[key], want, candidates, total["shadow"])
        for key in [k for k in held if k not in facts]:  # no report has this key any more (a corrected USCC
            first[key] = list_facts.Report(held[key][0].subject_source, held[key][0].subject_id)  # gave them another):
            changed[key] = _apply(conn, app, key, first[key], held[key], {}, None, at, total["moves"])  # it leaves
        if full:  # members whose measures changed with the policy file, not with a move: the feed says so too
            changed.update({k: [{"policies": policies().version}] for k in stale_feed(conn, keys, changed)})
        total["changed"] += record_changes(conn, changed, held, first, stamp, compare_feed=full)
        total["parties"] += len(facts)
        for part in parts(keys):
            conn.execute(delete(lt.list_queue).where(lt.list_queue.c.party_key.in_(part or [])))


_active_overrides = list_overrides.active  # a regulator's overrides in force (services/policy.py reads them too)


def _wanted(prof: dict[str, Any], held: list[Any], overrides: list[Any], on: date,
            ps: LS.PolicySet | None = None) -> dict[tuple[str, str], Any]:
    """(list, policy) → what justifies it: a policy that holds, or a regulator's addition; a regulator's
    removal takes a list away whatever its policies say (until the override's review date). `ps`: the
    candidate policies of a shadow report (default: this node's enforced ones)."""
    ps = ps or policies()
    members = [m.policy for m in held]
    want: dict[tuple[str, str], Any] = {(ps.by_id(pid).list, pid): ps.by_id(pid)
                                        for pid in LS.evaluate(ps.enforced(), prof, members, on)}
    for o in overrides:  # oldest first: a later override of the same list wins
        if o.action == "add":
            want[(o.list, MANUAL)] = o
        else:
            want = {k: v for k, v in want.items() if k[0] != o.list}
    keep = LS.kept_lists(ps.lists, {name for name, _ in want}, prof)  # a person who sells nothing: no public list
    return {k: v for k, v in want.items() if k[0] in keep}


def _apply(conn: Connection, app: Chengxin, key: str, first: Any, held: list[Any], want: dict[tuple[str, str], Any],
           overrides: list[Any] | None, at: datetime, moves: dict[str, list[Any]]) -> list[Any]:
    """Enter and leave lists as `want` says; `overrides` None: the party key has no report any more."""
    have, stamp = {(m.list, m.policy): m for m in held}, lifecycle._stamp(at)
    cause: list[dict[str, Any]] = []
    for pair in [p for p in have if p not in want]:
        m = have[pair]
        why = list_overrides.left_because(m.list, m.policy, overrides) if overrides is not None else GONE
        _log(conn, app, key, first, "list_left", m.list, m.policy, {**why, "membership": m.id}, at)
        conn.execute(update(lt.list_memberships).where(lt.list_memberships.c.id == m.id).values(
            ended_at=stamp, end_reason=why["reason"]))
        moves["left"].append(_move_view("left", m.list, m.policy, first, why["reason"]))
        cause.append({"left": m.list, "policy": m.policy})
    for pair in [p for p in want if p not in have]:
        why = want[pair]
        entry = _entry(pair, why, at)
        idx = _log(conn, app, key, first, "list_entered", pair[0], pair[1], entry, at)
        conn.execute(lt.list_memberships.insert().values(
            party_key=key, list=pair[0], policy=pair[1], subject_source=first.source, subject_id=first.subject_id,
            started_at=stamp, review_at=entry["review_at"], reason=orjson.dumps(entry["reason"]).decode(),
            basis=entry["basis"], by=entry["by"], credit_idx=idx))
        moves["entered"].append(_move_view("entered", pair[0], pair[1], first, entry["reason"]["en"]))
        cause.append({"entered": pair[0], "policy": pair[1]})
    return cause


def _entry(pair: tuple[str, str], why: Any, at: datetime) -> dict[str, Any]:
    d = policies().lists[pair[0]]
    if pair[1] == MANUAL:
        return {"reason": {"zh": why.reason, "en": why.reason}, "basis": why.basis, "by": why.by,
                "review_at": why.until, "override": why.id}
    review = (lifecycle.day_of(at) + timedelta(days=d.review_days)).isoformat()
    return {"reason": {"zh": why.zh, "en": why.en}, "basis": why.basis, "by": "policy", "review_at": review}


def _move_view(move: str, name: str, policy: str, first: Any, reason: str) -> dict[str, Any]:
    return {"move": move, "list": name, "policy": policy, "party": {"source": first.source, "id": first.subject_id},
            "reason": reason}


def _log(conn: Connection, app: Chengxin, key: str, first: Any, kind: str, name: str, policy: str,
         payload: dict[str, Any], at: datetime) -> int:
    """A list move as a credit record about the party's first report; private lists get private kinds."""
    kind = kind if policies().lists[name].public else f"{kind}_private"
    return lifecycle.append_record(conn, app, kind, ("subject", (first.source, first.subject_id)),
                                   {"list": name, "policy": policy, **payload}, at, LISTS_SOURCE,
                                   {"party": key, "at": at.isoformat()})


@cache
def with_shadow() -> LS.PolicySet:
    """This node's policies with the shadow ones switched on: what a shadow report compares with."""
    ps = policies()
    return LS.PolicySet(ps.version, ps.lists, tuple(replace(p, mode=LS.ENFORCE) for p in ps.policies))


def _shadow(first: Any, want: dict[tuple[str, str], Any], candidates: dict[tuple[str, str], Any],
            out: dict[str, list[dict[str, Any]]]) -> None:
    """Lists the party would enter or leave if the shadow policies were enforced (exclusions, overrides and
    the natural-person rule applied as for real)."""
    now_on = {name: pid for name, pid in want}
    then_on = {name: pid for name, pid in candidates}
    for name in sorted(set(then_on) - set(now_on)):
        out["would_enter"].append(_move_view("would_enter", name, then_on[name], first, ""))
    for name in sorted(set(now_on) - set(then_on)):
        out["would_leave"].append(_move_view("would_leave", name, now_on[name], first, ""))


# --- lists without one record (for repair checks) ------------------------------------------------------------
def lists_without(conn: Connection, party_key: str, record_id: int, at: datetime) -> list[str]:
    """The lists the party would be on if this record did not exist: this node's lists as an evaluation
    decides them (a regulator's overrides applied: an addition bars repair, a removal lifts the bar), and the
    authorities' lists it is on by a sanction in force that `repair.not_while_sanctioned` names (PPD art. 14
    (4): not while on the abnormal-operation or serious-illegality list), named by the sanction kind."""
    facts, _ = gather(conn, [party_key], at)
    f = facts.get(party_key)
    if f is None:
        return []
    prof = profile(f, at, record_id)
    held = open_memberships(conn, [party_key]).get(party_key, [])
    want = _wanted(prof, held, _active_overrides(conn, [party_key], at).get(party_key, []), lifecycle.day_of(at))
    barring = lifecycle.rules().repair.not_while_sanctioned
    return sorted({name for name, _ in want} | {k for k in barring if prof["sanctions"].get(k)})
