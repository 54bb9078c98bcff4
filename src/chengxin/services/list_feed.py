"""The measures feed (`measure_changes`): a row for each party whose measures in force changed in an evaluation
(and for the representatives of an enterprise whose `persons` measures changed), and its publication to NATS
JetStream. The feed's cursor is `seq`, so its rows are written only by serialised writers.

Neighbours: `services/lists.py` (the evaluation that calls `record_changes`), `services/list_measures.py` (the
measures compared), `services/list_views.py` (the feed as served).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection, require_serialised, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import credit_log, lifecycle
from chengxin.services.list_facts import parts
from chengxin.services.list_measures import catalog, in_force, open_memberships, person_measures, representatives

Ref = tuple[str, str]


def stale_feed(conn: Connection, keys: list[str], changed: dict[str, Any]) -> list[str]:
    """Parties (not moved now) with open memberships or a feed entry: their measures are compared with the
    last feed entry, in case the policy file's measures changed."""
    m, c = lt.list_memberships.c, lt.measure_changes.c
    out: set[str] = set()
    for part in parts(keys):
        out.update(conn.execute(select(m.party_key).where(m.party_key.in_(part or []), m.ended_at.is_(None)))
                   .scalars())
        out.update(conn.execute(select(c.party_key).where(c.party_key.in_(part or []))).scalars())
    return sorted(out - set(changed))


def _last_fed(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    c = lt.measure_changes.c
    out: dict[str, dict[str, Any]] = {}
    for part in parts(keys):
        last = select(func.max(c.seq)).where(c.party_key.in_(part or [])).group_by(c.party_key)
        for key, measures in conn.execute(select(c.party_key, c.measures).where(c.seq.in_(last))):
            out[key] = orjson.loads(measures)
    return out


def record_changes(conn: Connection, changed: dict[str, list[dict[str, Any]]], held: dict[str, list[Any]],
                    first: dict[str, Any], stamp: str, compare_feed: bool = False) -> int:
    """Append a feed row for each party whose measures in force changed (against its memberships before, or,
    `compare_feed`, against its last feed entry); returns how many."""
    if not changed:
        return 0
    after = open_memberships(conn, list(changed))
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
