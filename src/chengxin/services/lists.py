"""Red, black and watch lists and the joint measures they impose (issue 6, items 3 to 5).

- `evaluate(app, keys)`: re-evaluate the enforced policies of `vocab/list_policies.yaml` (and a regulator's
  overrides) for these parties, or everyone; enter and leave lists, each move a membership row and a credit
  record; record every change of the measures in force in the feed (`measure_changes`), published to NATS
  JetStream when configured. Shadow policies are evaluated beside and only reported.
- `mark(conn, keys)` queues parties whose profile changed (a record opened or moved, a grade changed);
  `drain(app)` evaluates the queue. Ingestion, review decisions, lifecycle moves and the scorer call it.
- `override(...)`: a regulator adds or removes a party by hand, with a reason, until a review date.
Reading: `members`, `party_lists`, `measures_of`, `changes` (`services/list_views.py` renders them).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, union, update

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import read_connection, require_serialised, write_transaction
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import lifecycle as L
from chengxin.domain import lists as LS
from chengxin.domain import measures as M
from chengxin.exc import InvalidInput
from chengxin.services import credit_log, lifecycle, list_facts, list_overrides

Ref = tuple[str, str]


LISTS_SOURCE = "urn:cx:chengxin:lists"
MANUAL = list_overrides.MANUAL  # the policy of a membership a regulator's addition imposes
GONE = {"reason": "no report of the party has this party key any more (its identification changed)"}


@cache
def catalog() -> dict[str, M.MeasureDef]:
    return M.load_catalog(vocab_text("measures.yaml"), "vocab/measures.yaml")


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


# --- gathering facts (services/list_facts.py) -----------------------------------------------------------------
gather, _parts = list_facts.gather, list_facts.parts


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
        held = _open_memberships(conn, keys)
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
            changed.update({k: [{"policies": policies().version}] for k in _stale_feed(conn, keys, changed)})
        total["changed"] += _record_changes(conn, changed, held, first, stamp, compare_feed=full)
        total["parties"] += len(facts)
        for part in _parts(keys):
            conn.execute(delete(lt.list_queue).where(lt.list_queue.c.party_key.in_(part or [])))


def _open_memberships(conn: Connection, keys: Sequence[str] | None) -> dict[str, list[Any]]:
    m = lt.list_memberships.c
    out: dict[str, list[Any]] = defaultdict(list)
    for part in _parts(keys):
        q = select(lt.list_memberships).where(m.ended_at.is_(None))
        for r in conn.execute(q if part is None else q.where(m.party_key.in_(part))):
            out[r.party_key].append(r)
    return out


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


# --- measures -------------------------------------------------------------------------------------------------
def becauses(memberships: Iterable[Any]) -> list[M.Because]:
    """The measures each open membership imposes: its list's, plus its policy's own."""
    ps, out = policies(), []
    for m in memberships:
        values = dict(ps.lists[m.list].measures)
        if m.policy != MANUAL and any(p.id == m.policy for p in ps.policies):
            values.update(ps.by_id(m.policy).measures)
        out.append(M.Because(m.list, m.policy, m.basis, values))
    return out


def in_force(memberships: Iterable[Any]) -> dict[str, dict[str, Any]]:
    return M.in_force(catalog(), becauses(memberships))


# --- the persons behind an enterprise (EIPR art. 17; SHSC art. 31, 33) ----------------------------------------
def representatives(conn: Connection, party_key: str) -> list[Ref]:
    """The persons of record (legal representative, directors) named by the party's reports, each as the
    (source, subject id) the reporter gave."""
    s = t.subjects.c
    out: list[Ref] = []
    for source, named in conn.execute(select(s.source, s.representatives).where(
            s.party_key == party_key, s.representatives.is_not(None))):
        out += [(source, str(p)) for p in orjson.loads(named)]
    return list(dict.fromkeys(out))


def represented(conn: Connection, person_key: str) -> list[Any]:
    """The enterprises whose reports name one of this person's reports as a representative (a prefilter on
    the JSON text, then an exact check)."""
    s = t.subjects.c
    found: dict[str, Any] = {}
    for source, sid in conn.execute(select(s.source, s.subject_id).where(s.party_key == person_key)).all():
        token = orjson.dumps(sid).decode()
        for row in conn.execute(select(t.subjects).where(s.source == source, s.representatives.is_not(None),
                                                         s.representatives.contains(token))):
            if sid in orjson.loads(row.representatives):
                found.setdefault(row.party_key, row)
    return list(found.values())


def person_measures(conn: Connection, person_key: str, own: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """A person's measures: its own memberships', and the `persons` measures of the enterprises it
    represents (each reason names the enterprise)."""
    out = in_force(own)
    m = lt.list_memberships.c
    for firm in represented(conn, person_key):
        held = list(conn.execute(select(lt.list_memberships).where(m.party_key == firm.party_key,
                                                                   m.ended_at.is_(None))))
        for name, entry in in_force(held).items():
            if entry["applies_to"] != "persons":
                continue
            via = {"via": {"source": firm.source, "id": firm.subject_id, "name": firm.name}}
            mine = out.setdefault(name, {**entry, "because": []})
            mine["because"] = [*mine["because"], *({**b, **via} for b in entry["because"])]
    return out


def _stale_feed(conn: Connection, keys: list[str], changed: dict[str, Any]) -> list[str]:
    """Parties (not moved now) with open memberships or a feed entry: their measures are compared with the
    last feed entry, in case the policy file's measures changed."""
    m, c = lt.list_memberships.c, lt.measure_changes.c
    out: set[str] = set()
    for part in _parts(keys):
        out.update(conn.execute(select(m.party_key).where(m.party_key.in_(part or []), m.ended_at.is_(None)))
                   .scalars())
        out.update(conn.execute(select(c.party_key).where(c.party_key.in_(part or []))).scalars())
    return sorted(out - set(changed))


def _last_fed(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    c = lt.measure_changes.c
    out: dict[str, dict[str, Any]] = {}
    for part in _parts(keys):
        last = select(func.max(c.seq)).where(c.party_key.in_(part or [])).group_by(c.party_key)
        for key, measures in conn.execute(select(c.party_key, c.measures).where(c.seq.in_(last))):
            out[key] = orjson.loads(measures)
    return out


def _record_changes(conn: Connection, changed: dict[str, list[dict[str, Any]]], held: dict[str, list[Any]],
                    first: dict[str, Any], stamp: str, compare_feed: bool = False) -> int:
    """Append a feed row for each party whose measures in force changed (against its memberships before, or,
    `compare_feed`, against its last feed entry); returns how many."""
    if not changed:
        return 0
    after = _open_memberships(conn, list(changed))
    fed = _last_fed(conn, list(changed)) if compare_feed else {}

    def measures(key: str, own: list[Any]) -> dict[str, Any]:
        # a person's include those of the enterprises it represents: compared without them, a full evaluation
        # fed "restrict_persons removed" for a representative whose firm still bore it (found by review)
        return person_measures(conn, key, own) if not key.startswith("uscc:") else in_force(own)

    rows = [row for key, cause in changed.items()
            if (row := _feed_row(key, (first[key].source, first[key].subject_id), stamp,
                                 fed[key] if key in fed else measures(key, held.get(key, [])),
                                 measures(key, after.get(key, [])), cause))]
    rows += _person_rows(conn, [r for r in rows if _touches_persons(r)], stamp)
    if rows:
        # the feed's cursor is `seq`: numbers must become visible in order, which holds only while writers
        # are serialised (a `write_transaction`; adapters/db/engine.py): else a poller could pass one by
        require_serialised(conn)
        conn.execute(lt.measure_changes.insert(), rows)
    return len(rows)


def _feed_row(key: str, ref: Ref, stamp: str, old: dict[str, Any], new: dict[str, Any],
              cause: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A `measure_changes` row when the measures' values differ, else None."""
    if {k: v["value"] for k, v in old.items()} == {k: v["value"] for k, v in new.items()}:
        return None
    return {"party_key": key, "subject_source": ref[0], "subject_id": ref[1], "at": stamp,
            "measures": orjson.dumps(new).decode(), "added": orjson.dumps(sorted(set(new) - set(old))).decode(),
            "removed": orjson.dumps(sorted(set(old) - set(new))).decode(), "cause": orjson.dumps(cause).decode()}


def _touches_persons(row: dict[str, Any]) -> bool:
    names = {*orjson.loads(row["added"]), *orjson.loads(row["removed"])}
    return any(catalog()[n].applies_to == "persons" for n in names if n in catalog())


def _person_rows(conn: Connection, firm_rows: list[dict[str, Any]], stamp: str) -> list[dict[str, Any]]:
    """Feed rows for the representatives of firms whose `persons` measures changed: a platform admitting a
    new shop must learn that its operator is restricted."""
    out = []
    for firm in firm_rows:
        for source, sid in representatives(conn, firm["party_key"]):
            key = lifecycle.party_key_of(conn, (source, sid))
            if key is None:
                continue
            m = lt.list_memberships.c
            own = list(conn.execute(select(lt.list_memberships).where(m.party_key == key, m.ended_at.is_(None))))
            via = [{"via": {"source": firm["subject_source"], "id": firm["subject_id"]}}]
            row = _feed_row(key, (source, sid), stamp, _last_fed(conn, [key]).get(key, in_force(own)),
                            person_measures(conn, key, own), via)
            if row:
                out.append(row)
    return out


def publish_feed(app: Chengxin, limit: int = 1000) -> dict[str, Any]:
    """Publish unpublished measure changes to NATS JetStream, oldest first, marking those acknowledged; a
    failure leaves the rest for the next call (the store's feed is the source of truth)."""
    from chengxin.adapters import streams
    from chengxin.services import list_views

    s = app.settings
    assert s.nats_url
    mc = lt.measure_changes.c
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(select(lt.measure_changes).where(mc.published_at.is_(None)).order_by(mc.seq)
                                 .limit(limit)))
        # named as a regulator's key reads them (USCC and every shop: they named neither, found by review):
        # the stream is the node's own, every audience's measures included; platforms read the API's feed
        who = list_views.who(conn, [r.party_key for r in rows], list_views.NODE)
    messages = [streams.Message(f"{s.log_origin}/{r.seq}", f"{s.nats_subject}.{_subject_token(r)}",
                                orjson.dumps(list_views.change_view(r, None, who.get(r.party_key))))
                for r in rows]
    try:
        acked, error = set(streams.publish(s.nats_url, s.nats_stream, f"{s.nats_subject}.>", messages)), None
    except streams.StreamUnavailable as e:  # the feed stays in the store; the rest is retried next time
        acked, error = set(e.acked), e.detail
    done = [r.seq for r, m in zip(rows, messages, strict=True) if m.msg_id in acked]
    if done:
        with write_transaction(app.engine) as conn:
            conn.execute(update(lt.measure_changes).where(mc.seq.in_(done)).values(published_at=credit_log.now_utc()))
    return {"published": len(done), "pending": len(rows) - len(done), "error": error}


def _subject_token(r: Any) -> str:
    """A NATS-safe token for the party (subjects may not hold dots or spaces): a short digest."""
    return hashlib.sha256(f"{r.subject_source}\x00{r.subject_id}".encode()).hexdigest()[:16]


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
    held = _open_memberships(conn, [party_key]).get(party_key, [])
    want = _wanted(prof, held, _active_overrides(conn, [party_key], at).get(party_key, []), lifecycle.day_of(at))
    barring = lifecycle.rules().repair.not_while_sanctioned
    return sorted({name for name, _ in want} | {k for k in barring if prof["sanctions"].get(k)})
