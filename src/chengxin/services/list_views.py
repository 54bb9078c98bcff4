"""Reading lists and measures, and a regulator's overrides: what the portal, API and CLI show.

Who sees what: public lists (red, black) and public measures are for anyone; a natural person on a public
list is shown masked (PIPL art. 25) with the shops it operates; the watch list and the measures meant for
platforms need a platform's or regulator's key; regulator-only measures (inspection frequency) a regulator's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, and_, func, select, true, update

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain import lifecycle as L
from chengxin.domain import measures as M
from chengxin.domain.redact import redact_tree
from chengxin.exc import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services import lifecycle, list_measures, list_overrides, lists
from chengxin.services.parties import NATURAL_PERSONS, identity_view
from chengxin.services.viewer import PLATFORM, PUBLIC, REGULATOR, Viewer

Ref = tuple[str, str]
AUDIENCES = {PUBLIC: ("public",), PLATFORM: ("public", "platforms"), REGULATOR: M.AUDIENCES}


def _may_see_list(name: str, viewer: Viewer) -> bool:
    return lists.policies().lists[name].public or viewer.role != PUBLIC


def _check_list(name: str) -> None:
    if name not in lists.policies().lists:
        raise NotFound(f"no list {name!r}; lists: {', '.join(lists.policies().lists)}")


def catalog_view() -> dict[str, Any]:
    """The lists, their policies and remedies, and the measures catalog: what SHSC art. 25 says to publish."""
    ps = lists.policies()
    return {"version": ps.version,
            "lists": [{"name": d.name, "zh": d.zh, "en": d.en, "public": d.public, "review_days": d.review_days,
                       "measures": dict(d.measures), "remedy": dict(d.remedy),
                       "policies": [p.as_dict() for p in ps.policies if p.list == d.name]}
                      for d in ps.lists.values()],
            "measures": [{"measure": m.name, "zh": m.zh, "en": m.en, "kind": m.kind, "audience": m.audience,
                          "applies_to": m.applies_to, "basis": m.basis} for m in list_measures.catalog().values()]}


def members(app: Chengxin, name: str, viewer: Viewer, *, limit: int = 100, after: int | None = None,
            since: str | None = None) -> dict[str, Any]:
    """Current members of a list, newest entry first, paged by membership id (`after`: ids below it)."""
    _check_list(name)
    if not _may_see_list(name, viewer):
        raise NotAuthenticated(f"the {name} list is not public; it needs a platform or regulator key")
    m = lt.list_memberships.c
    shown = [m.list == name, m.ended_at.is_(None)]
    if not lists.policies().lists[name].public:
        # another platform's persons on a list that is not public are left out, as from the feed, and from
        # `total` too (counted, they told a platform that such persons are listed); a public list shows
        # them to everyone, masked
        shown.append(_not_others_person(viewer))
    q = select(lt.list_memberships).where(*shown).order_by(m.id.desc()).limit(limit + 1)
    if after is not None:
        q = q.where(m.id < after)
    if since:
        q = q.where(m.started_at >= since)
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(q))
        total = conn.execute(select(func.count()).select_from(lt.list_memberships).where(*shown)).scalar_one()
        own = own_accounts(conn, rows[:limit], viewer)
        page = [_renamed(r, own.get(r.party_key)) for r in rows[:limit]]
        subjects, shops = _prefetch(conn, page)  # two queries for the page, not two per member
        items = [member_view(conn, r, viewer, subjects.get((r.subject_source, r.subject_id)),
                             shops.get(r.party_key, [])) for r in page]
    d = lists.policies().lists[name]
    return {"list": {"name": name, "zh": d.zh, "en": d.en, "public": d.public, "remedy": dict(d.remedy)},
            "total": total, "members": items, "next_after": rows[limit - 1].id if len(rows) > limit else None}


def _not_others_person(viewer: Viewer) -> ColumnElement[bool]:
    """A membership's condition, in SQL, of `withheld_persons` (regulators see all; the public no natural
    person)."""
    m, s, d = lt.list_memberships.c, t.subjects.c, lt.dishonesty_records.c
    if viewer.role == REGULATOR:
        return true()
    person = select(s.subject_id).where(s.party_key == m.party_key, s.kind.in_(sorted(NATURAL_PERSONS))).exists()
    if viewer.role != PLATFORM:
        return ~person
    mine = select(s.subject_id).where(s.party_key == m.party_key, s.source == viewer.source).exists()
    theirs = select(d.id).where(d.party_key == m.party_key, d.state.in_(sorted(L.IN_FORCE)),
                                d.subject_source != viewer.source).exists()
    return ~person | (mine & ~theirs)


def _prefetch(conn: Connection, rows: Sequence[Any]) -> tuple[dict[Ref, Any], dict[str, list[Any]]]:
    from chengxin.adapters.db.query import pair_in

    s, sh = t.subjects.c, t.shops.c
    refs = list({(r.subject_source, r.subject_id) for r in rows})
    subjects: dict[Ref, Any] = {}
    for i in range(0, len(refs), 200):
        subjects.update({(x.source, x.subject_id): x for x in conn.execute(select(t.subjects).where(
            pair_in(s.source, s.subject_id, refs[i:i + 200])))})
    keys = list({r.party_key for r in rows})
    shops: dict[str, list[Any]] = {}
    for i in range(0, len(keys), 500):
        for x in conn.execute(select(t.shops, s.party_key).join(t.subjects, (s.source == sh.operator_source)
                                                                & (s.subject_id == sh.operator_id)).where(
                s.party_key.in_(keys[i:i + 500])).order_by(sh.source, sh.shop_id)):
            if len(shops.setdefault(x.party_key, [])) < 20:
                shops[x.party_key].append(x)
    return subjects, shops


def member_view(conn: Connection, r: Any, viewer: Viewer, subject: Any = None,
                shop_rows: list[Any] | None = None) -> dict[str, Any]:
    if subject is None:
        subject = conn.execute(select(t.subjects).where(t.subjects.c.source == r.subject_source,
                                                        t.subjects.c.subject_id == r.subject_id)).first()
    full = viewer.role == REGULATOR or viewer.owns(r.subject_source)
    who = identity_view(subject, full) if subject is not None else {}
    found = shop_rows if shop_rows is not None else _shops_of_party(conn, r)
    shops = [{"source": s.source, "id": s.shop_id, "name": s.name, "url": s.url} for s in found]
    return {"membership": r.id, "party": {"source": r.subject_source, "id": r.subject_id,
                                          "name": who.get("name"), "kind": who.get("kind"),
                                          "uscc": who.get("uscc"), "region_name": who.get("region_name")},
            "shops": shops, "list": r.list, "policy": r.policy, "reason": _said(orjson.loads(r.reason), full),
            "basis": _said(r.basis, full),
            "by": r.by if r.by == "policy" or full else "regulator", "started_at": r.started_at,
            "review_at": r.review_at, "ended_at": r.ended_at, "end_reason": r.end_reason,
            "credit_record": r.credit_idx}


def _said(value: Any, full: bool) -> Any:
    """A reason or basis as a viewer may read it: a regulator's override is free text, which may quote a phone
    or ID number; others read it masked (`domain/redact.py`), as the portal and the public records do (the API
    served it whole: found by review)."""
    return value if full else redact_tree(value)


def _shops_of_party(conn: Connection, r: Any) -> list[Any]:
    s, sh = t.subjects.c, t.shops.c
    return list(conn.execute(select(t.shops).join(t.subjects, (s.source == sh.operator_source)
                                                  & (s.subject_id == sh.operator_id)).where(
        s.party_key == r.party_key).order_by(sh.source, sh.shop_id).limit(20)))


def resolve(conn: Connection, ref: Ref) -> tuple[str, Any]:
    """The party key and subject row behind a shop or subject report; NotFound otherwise."""
    for kind in ("shop", "subject"):
        key = lifecycle.party_key_of(conn, ref, kind)
        if key is not None:
            break
    else:
        raise NotFound(f"no party or shop {ref[1]!r} reported by {ref[0]!r}")
    subject = conn.execute(select(t.subjects).where(t.subjects.c.party_key == key)
                           .order_by(t.subjects.c.registered_at)).first()
    return key, subject


def party_lists(conn: Connection, key: str, viewer: Viewer, subject: Any = None) -> dict[str, Any]:
    """The lists a party is on and the measures in force, as this viewer may see them (party and shop views).
    A natural person's lists are not shown to the public except public-list memberships by their shop."""
    m = lt.list_memberships.c
    if viewer.role == PLATFORM and key in withheld_persons(conn, [key], viewer):
        viewer = Viewer()  # its own account of a person another platform also reported: as the public sees it
    held = list(conn.execute(select(lt.list_memberships).where(m.party_key == key, m.ended_at.is_(None))
                             .order_by(m.id)))
    shown = [r for r in held if _may_see_list(r.list, viewer)]
    natural = subject is not None and subject.kind in NATURAL_PERSONS
    measures = M.visible(list_measures.person_measures(conn, key, held) if natural else list_measures.in_force(held),
                         AUDIENCES[viewer.role])
    if "restrict_persons" in measures:  # whom the platform must apply it to (persons of record)
        measures["restrict_persons"] = {**measures["restrict_persons"], "persons": [
            {"source": s, "id": i} for s, i in list_measures.representatives(conn, key)]}
    full = viewer.role == REGULATOR
    return {"lists": [{"list": r.list, "zh": lists.policies().lists[r.list].zh, "policy": r.policy,
                       "reason": _said(orjson.loads(r.reason), full), "basis": _said(r.basis, full),
                       "started_at": r.started_at,
                       "review_at": r.review_at} for r in shown],
            "measures": list(measures.values())}


def measures_of(app: Chengxin, ref: Ref, viewer: Viewer) -> dict[str, Any]:
    """`GET /v1/measures/{party}`: what a platform asks before it ranks or admits a shop or account."""
    with read_connection(app.engine) as conn:
        key, subject = resolve(conn, ref)
        subject = _asked_account(conn, ref) or subject
        if subject is not None and subject.kind in NATURAL_PERSONS and viewer.role != REGULATOR \
                and not viewer.owns(subject.source):
            viewer = Viewer()  # another platform's account: a platform must not learn what that platform's
            # lists hold about a person; it asks about its own account of the person (linked by ID number),
            # and learns nothing that rests on another platform's records there either (`party_lists`)
        view = party_lists(conn, key, viewer, subject)
        feed = conn.execute(select(func.max(lt.measure_changes.c.seq)).where(
            lt.measure_changes.c.party_key == key)).scalar()
    natural = subject is not None and subject.kind in NATURAL_PERSONS
    return {"party": {"source": ref[0], "id": ref[1]}, "natural_person": natural, **view,
            "as_of": datetime.now(UTC).isoformat(timespec="seconds"), "last_change": feed}


def _asked_account(conn: Connection, ref: Ref) -> Any:
    """The subject report asked about: the subject itself, or the shop's operator. Not the party's oldest
    report, which another platform could make its own by sending a backdated registration with the same ID
    number (found by review)."""
    s, sh = t.subjects.c, t.shops.c
    own = conn.execute(select(t.subjects).where(s.source == ref[0], s.subject_id == ref[1])).first()
    if own is not None:
        return own
    return conn.execute(select(t.subjects).join(t.shops, and_(sh.operator_source == s.source,
                                                              sh.operator_id == s.subject_id))
                        .where(sh.source == ref[0], sh.shop_id == ref[1])).first()


def change_view(r: Any, viewer: Viewer | None, who: dict[str, Any] | None = None) -> dict[str, Any]:
    """One feed entry as `viewer` may see it (None: everything, for the node's own stream): measures meant
    for other audiences are left out of `measures`, `added` and `removed` alike. `who`: the party's USCC and
    shops as the viewer may see them (`who`)."""
    measures = orjson.loads(r.measures)
    added, removed = orjson.loads(r.added), orjson.loads(r.removed)
    if viewer is not None:
        allowed = set(AUDIENCES[viewer.role])
        measures = M.visible(measures, allowed)
        catalog = list_measures.catalog()
        added = [n for n in added if n in catalog and catalog[n].audience in allowed]
        removed = [n for n in removed if n in catalog and catalog[n].audience in allowed]
    return {"seq": r.seq, "party": {"source": r.subject_source, "id": r.subject_id}, "at": r.at,
            **(who or {}), "measures": list(measures.values()), "added": added, "removed": removed,
            "cause": orjson.loads(r.cause)}


def changes(app: Chengxin, viewer: Viewer, since: str | None = None, limit: int = 500) -> dict[str, Any]:
    """The measures feed: changes after a cursor (`since`: a feed sequence number, or an ISO time)."""
    if viewer.role == PUBLIC:
        raise NotAuthenticated("the measures feed needs a platform or regulator API key")
    c = lt.measure_changes.c
    q = select(lt.measure_changes).order_by(c.seq).limit(limit + 1)
    cursor = _seq(since) if since and since.isascii() and since.isdigit() else None
    if since:
        q = q.where(c.seq > cursor) if cursor is not None else q.where(c.at > _iso(since))
    with read_connection(app.engine) as conn:
        newest = conn.execute(select(func.max(c.seq))).scalar() or 0
        if cursor is not None and cursor > newest:
            # handed back as `next`, it would pass every change up to it by, silently (found by review). The
            # node's newest seq, not the viewer's newest visible one: `next` may stand on a change the viewer
            # does not see, and the number is only a counter
            raise InvalidInput(f"changed_since: {cursor} is past the feed's newest change ({newest}); a cursor "
                               "is the `next` of an earlier answer")
        rows = list(conn.execute(q))
        page = rows[:limit]
        hidden = withheld_persons(conn, [r.party_key for r in page], viewer)
        named = who(conn, [r.party_key for r in page], viewer)
        own = own_accounts(conn, [r for r in page if r.party_key not in hidden], viewer)
    # nothing after a time: the cursor is the newest change read, so that polling goes on by cursor (handing the
    # time back, a time ahead passed by every change made before it came)
    after = str(page[-1].seq) if page else str(newest) if since and cursor is None else since
    return {"changes": [change_view(_renamed(r, own.get(r.party_key)), viewer, named.get(r.party_key))
                        for r in page if r.party_key not in hidden],
            "next": after, "more": len(rows) > limit}


NODE = Viewer(REGULATOR, key_id="node")  # the node's own stream: what a regulator's key reads


def who(conn: Connection, keys: list[str], viewer: Viewer) -> dict[str, dict[str, Any]]:
    """Each party's USCC (a business's, as its licence shows it) and shops, so that a platform can act on a
    measure without a lookup per entry: an entry named the party only by another platform's own id, which
    says nothing to the platform that must refuse its entry or hide its shop (found by review). A natural
    person's shops are listed only from the viewer's own reports (PIPL: another platform's view of a person
    is not shared)."""
    s, sh = t.subjects.c, t.shops.c
    out: dict[str, dict[str, Any]] = {k: {"uscc": None, "shops": []} for k in keys}
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), 500):
        rows = conn.execute(select(s.party_key, s.kind, s.uscc, sh.source, sh.shop_id, sh.name).select_from(
            t.subjects.outerjoin(t.shops, and_(sh.operator_source == s.source, sh.operator_id == s.subject_id))).where(
            s.party_key.in_(wanted[i:i + 500])).order_by(s.party_key, sh.source, sh.shop_id))
        for r in rows:
            entry, natural = out[r.party_key], r.kind in NATURAL_PERSONS
            if not natural and r.party_key.startswith("uscc:"):
                entry["uscc"] = r.party_key.removeprefix("uscc:")
            if r.shop_id is not None and (not natural or viewer.role == REGULATOR or viewer.owns(r.source)):
                entry["shops"].append({"source": r.source, "id": r.shop_id, "name": r.name})
    return out


def _renamed(r: Any, own: Ref | None) -> Any:
    """A membership or change row naming the viewer's own account of the person (`own_accounts`)."""
    if own is None or (r.subject_source, r.subject_id) == own:
        return r
    return SimpleNamespace(**{**r._asdict(), "subject_source": own[0], "subject_id": own[1]})


def own_accounts(conn: Connection, rows: Sequence[Any], viewer: Viewer) -> dict[str, Ref]:
    """For a platform, its own account of each natural person (by party key) that another source's account
    names in these rows (memberships or feed changes): the entry names the account the platform knows, never another
    platform's (a platform acts on its own account, as `who` lists a business's shops of every platform)."""
    if viewer.role != PLATFORM:
        return {}
    s = t.subjects.c
    theirs = [r for r in rows if r.subject_source != viewer.source]
    keys = sorted({r.party_key for r in theirs})
    mine: dict[str, Ref] = {}
    for i in range(0, len(keys), 500):
        for x in conn.execute(select(s.party_key, s.source, s.subject_id).where(
                s.party_key.in_(keys[i:i + 500]), s.source == viewer.source, s.kind.in_(sorted(NATURAL_PERSONS)))
                .order_by(s.registered_at.desc(), s.subject_id.desc())):
            mine[x.party_key] = (x.source, x.subject_id)  # the earliest registered is the last written
    return mine


def withheld_persons(conn: Connection, keys: Sequence[str], viewer: Viewer) -> set[str]:
    """Party keys of natural persons whose non-public lists and measures this viewer may not read: for a
    platform, those it reported no account of, and those with a record in force about another source's account
    (another platform's measure, its review decision, a breach of a commitment made there). A person's
    memberships are judged on every account the ID number links, so one resting on another platform's record
    told the platform, through its own account, what that platform knows of the person (the party view hides
    such records): the lookup showed it, while the feed and the watch list, which looked only at the account
    a membership names (the first registered), hid it, or showed it when the platform's account happened to be
    the first (found by review). Regulators read all; the public, no person's."""
    if viewer.role == REGULATOR or not keys:
        return set()
    s, d, out = t.subjects.c, lt.dishonesty_records.c, set()
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), 500):
        part = wanted[i:i + 500]
        natural = set(conn.execute(select(s.party_key).where(s.party_key.in_(part),
                                                             s.kind.in_(sorted(NATURAL_PERSONS)))).scalars())
        if viewer.role != PLATFORM or not natural:
            out |= natural
            continue
        mine = set(conn.execute(select(s.party_key).where(s.party_key.in_(sorted(natural)),
                                                          s.source == viewer.source)).scalars())
        out |= (natural - mine) | set(conn.execute(select(d.party_key).where(
            d.party_key.in_(sorted(mine)), d.state.in_(sorted(L.IN_FORCE)),
            d.subject_source != viewer.source)).scalars())
    return out


MAX_SEQ = 2**62  # the API's bound on cursors: a larger number overflowed the driver's 64-bit integers (a 500)


def _seq(text: str) -> int:
    if len(text) > len(str(MAX_SEQ)) or int(text) > MAX_SEQ:  # no int() of a megabyte of digits either
        raise InvalidInput(f"changed_since: a feed sequence number is at most {MAX_SEQ}, got {text[:30]!r}")
    return int(text)


def _iso(text: str) -> str:
    try:
        return lifecycle._stamp(lifecycle.parse_time(text if "T" in text else f"{text}T00:00:00Z"))
    except (ValueError, OverflowError) as e:  # not a time; a time beyond year 1..9999 once in UTC
        raise InvalidInput(f"changed_since: expected a feed sequence number or an ISO time, got {text!r}") from e


# --- a regulator's overrides ----------------------------------------------------------------------------------
def override(app: Chengxin, name: str, ref: Ref, action: str, viewer: Viewer, reason: str, basis: str,
             until: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A regulator adds a party to a list or removes it, with reason and legal basis, until a review date
    (default: the list's review period); then the party is re-evaluated at once."""
    if viewer.role != REGULATOR:
        raise Forbidden("only a regulator adds or removes list members by hand") if viewer.role != PUBLIC else \
            NotAuthenticated("list overrides need a regulator's key")
    _check_list(name)
    if action not in ("add", "remove"):
        raise InvalidInput("action: expected add or remove")
    reason, basis = (reason or "").strip(), (basis or "").strip()
    if not reason or not basis:
        raise InvalidInput("reason and basis: both are required (SHSC art. 32: a measure states its basis)")
    at = now or datetime.now(UTC)
    review = _review_date(name, until, lifecycle.day_of(at))
    with write_transaction(app.engine) as conn:
        key, subject = resolve(conn, ref)
        if action == "add" and lists.policies().lists[name].public and subject is not None and \
                subject.kind in NATURAL_PERSONS and not _shops_of_party(conn, subject):
            raise InvalidInput(f"the {name} list is public: a natural person who operates no shop is not "
                               "published on it (PIPL art. 25); use the watch list")
        if action == "add":
            _not_excluded(conn, key, name, ref)
        o = lt.list_overrides.c
        replaced = list(conn.execute(select(o.id).where(o.party_key == key, o.list == name, o.lifted_at.is_(None))
                                     .order_by(o.id)).scalars())
        conn.execute(update(lt.list_overrides).where(o.id.in_(replaced)).values(lifted_at=lifecycle._stamp(at)))
        row: dict[str, Any] = {"party_key": key, "list": name, "action": action, "reason": reason,
                               "basis": basis, "by": lifecycle.who(viewer), "at": lifecycle._stamp(at),
                               "until": review.isoformat()}
        row["id"] = int(conn.execute(lt.list_overrides.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]
        idx = list_overrides.log(conn, app, key, row, replaced, lists.policies().lists[name].public, at)
    result = lists.evaluate(app, [key], at)
    return {"override": {"id": row["id"], "list": name, "action": action, "party": {"source": ref[0], "id": ref[1]},
                         "reason": reason, "basis": basis, "until": review.isoformat(), "credit_record": idx},
            "evaluation": result}


def _not_excluded(conn: Connection, key: str, name: str, ref: Ref) -> None:
    """An addition to a list that a list the party is on excludes (the black list excludes the red) would be
    recorded and have no effect: the answer said 200 and nothing moved (found by review). Conflict, naming the
    excluding list: remove the party from it first, if that is the decision."""
    m, ps = lt.list_memberships.c, lists.policies()
    held = set(conn.execute(select(m.list).where(m.party_key == key, m.ended_at.is_(None))).scalars())
    blocking = sorted(x for x in held if x in ps.lists and name in ps.lists[x].excludes) if name not in held else []
    if blocking:
        raise Conflict(f"{ref[1]} ({ref[0]}) is on the {' and '.join(blocking)} list, which excludes the {name} "
                       f"list: the addition would have no effect (remove it from the {blocking[0]} list first)")


def _review_date(name: str, until: date | None, today: date) -> date:
    """The override's review date: `until`, or the list's review period from today. Neither past (a lapsed
    override would end the ones in force) nor beyond that period: a membership is reviewed at least that
    often, and an `until` of 2999 kept a party on the public black list for ~970 years (both found by review)."""
    days = lists.policies().lists[name].review_days
    latest = today + timedelta(days=days)
    review = until or latest
    if review < today:
        raise InvalidInput(f"until: {review.isoformat()} is past (today is {today.isoformat()} in China): an "
                           "override runs to a review date to come")
    if review > latest:
        raise InvalidInput(f"until: {review.isoformat()} is beyond the {name} list's review period of {days} days; "
                           f"the latest allowed is {latest.isoformat()} (renew the override when it is reviewed)")
    return review


def history(conn: Connection, key: str) -> list[dict[str, Any]]:
    """Every membership of a party, open and ended (for regulators)."""
    m = lt.list_memberships.c
    return [{"list": r.list, "policy": r.policy, "started_at": r.started_at, "ended_at": r.ended_at,
             "end_reason": r.end_reason, "reason": orjson.loads(r.reason), "basis": r.basis}
            for r in conn.execute(select(lt.list_memberships).where(m.party_key == key).order_by(m.id))]


def ended_list_records(conn: Connection, refs: Sequence[Ref]) -> list[int]:
    """Log indexes of public list entries whose membership ended: the list shows who is on it now."""
    m = lt.list_memberships.c
    from chengxin.adapters.db.query import pair_in

    return [int(i) for i in conn.execute(select(m.credit_idx).where(
        m.ended_at.is_not(None), m.credit_idx.is_not(None), pair_in(m.subject_source, m.subject_id, list(refs))))
        .scalars()]
