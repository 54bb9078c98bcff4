"""Credit commitments (R9): the standard templates, publishing one through the API, and showing them in full.

A commitment is an event (`cx.commitment.published`) like any other: a platform may send it in its feed, or
`publish` builds it from a standard template for the party and ingests it under the platform's own source (a
regulator's: under the authority's source, naming the platform's subject by reference), so it is kept, hashed
and logged exactly as if it had been sent. A breach is recorded by
`services/lifecycle.py` when a confirmed record falls in a committed area.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import pair_in
from chengxin.bootstrap import Chengxin
from chengxin.domain.vocabulary import source_kind
from chengxin.exc import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services import ingest, lifecycle
from chengxin.services.viewer import PLATFORM, PUBLIC, REGULATOR, Viewer

Ref = tuple[str, str]


def templates_view() -> dict[str, Any]:
    tpl = lifecycle.templates()
    return {"version": tpl.version, "templates": [x.as_dict() for x in tpl.templates.values()],
            "penalties": [{"name": p.name, "zh": p.zh, "en": p.en} for p in tpl.penalties.values()]}


def publish(app: Chengxin, viewer: Viewer, subject_id: str, template: str, *, valid_until: date | None = None,
            commitment_id: str | None = None, source: str | None = None,
            authority: str | None = None) -> dict[str, Any]:
    """Publish a standard commitment for a subject: a platform for a subject it reported (its own source); a
    regulator for a subject `source` reported, made to the regulator (`authority`: the key's own authority, or
    for a key bound to none, the `urn:cx:regulator:` source named). Returns the ingestion result and the
    commitment as stored."""
    if viewer.role == PUBLIC:
        raise NotAuthenticated("publishing a commitment needs a platform or regulator API key")
    if viewer.role not in (PLATFORM, REGULATOR):
        raise Forbidden("only platforms and regulators publish commitments")
    src = _subject_source(viewer, source, authority)
    publisher = src if viewer.role == PLATFORM else _authority(viewer, authority, src)
    found = lifecycle.templates().templates.get(template)
    if found is None:
        raise InvalidInput(f"template: unknown {template!r}; see GET /v1/commitments/templates")
    today = lifecycle.today()
    if valid_until is not None and valid_until < today:  # published, logged and never in force (found by review)
        raise InvalidInput(f"valid_until: {valid_until.isoformat()} is past (today is {today.isoformat()} in "
                           "China): a commitment runs to a day to come")
    # derived from what is committed, so a retried request is the same commitment (a no-op), not a second one;
    # one made to an authority is another commitment than the same terms published by the platform
    key = f"{src}\x00{subject_id}\x00{template}\x00{valid_until}" + ("" if publisher == src else f"\x00{publisher}")
    cid = commitment_id or "K-" + hashlib.sha256(key.encode()).hexdigest()[:12]
    data: dict[str, Any] = {"commitment_id": cid, "template": template, "clauses": [c.zh for c in found.clauses],
                            "subject_id": subject_id if publisher == src else {"source": src, "id": subject_id}}
    if valid_until:
        data["valid_until"] = valid_until.isoformat()
    kind, time = _subject_kind_and_retry(app, src, subject_id, publisher, cid)
    if kind is None:
        raise NotFound(f"no subject {subject_id!r} reported by {src!r}")
    if kind not in found.parties:
        raise InvalidInput(f"template: {template} is for {', '.join(found.parties)}, not a {kind}")
    event = {"specversion": "1.0", "id": f"commitment-{cid}", "source": publisher, "type": "cx.commitment.published",
             "time": time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    report = ingest.ingest_batch(app, [("api", 1, orjson.dumps(event))], origin=f"api:{viewer.key_id}",
                                 actor=viewer.key_id or "?", own_source=publisher)
    _refused(report, cid)
    with _reading(app) as conn:
        shown = of_refs(conn, [(src, subject_id)])
    return {"ingest": report.as_dict(),
            "commitment": next((c for c in shown if c["id"] == cid and c["source"] == publisher), None)}


def _subject_source(viewer: Viewer, source: str | None, authority: str | None) -> str:
    """The source that reported the subject: a platform's own; the one a regulator names."""
    if viewer.role == PLATFORM and source is not None and source != viewer.source:
        # as `POST /v1/events` refuses a line of another source; it was ignored without a word (found by review)
        raise InvalidInput(f"source: a platform publishes under its own source ({viewer.source}), not {source!r}")
    if viewer.role == PLATFORM and authority is not None:
        raise InvalidInput(f"authority: a platform publishes under its own source ({viewer.source}); only a "
                           "regulator names the authority it acts for")
    src = viewer.source if viewer.role == PLATFORM else source
    if not src:
        raise InvalidInput("source: a regulator names the source that reported the subject")
    return src


def _authority(viewer: Viewer, authority: str | None, src: str) -> str:
    """The authority a regulator's commitment is made to, and published under. It was published under the
    platform's source, as if the platform had reported it: a regulator key wrote in a platform's name (found
    by review). A bound key's own authority; an unbound key (issued before keys could be bound) names one,
    or, for a subject an authority reported, is taken to act for that authority (as it may send its events)."""
    if viewer.source:
        if authority is not None and authority != viewer.source:
            raise InvalidInput(f"authority: this key publishes for its own authority ({viewer.source}), "
                               f"not {authority!r}")
        return viewer.source
    if not authority and source_kind(src) == "regulator":
        return src
    if not authority:
        raise InvalidInput("authority: a regulator key bound to no authority names the urn:cx:regulator: "
                           "source the commitment is made to")
    if source_kind(authority) != "regulator":
        raise InvalidInput(f"authority: {authority!r} is not a regulator's source (urn:cx:regulator:…)")
    return authority


def _subject_kind_and_retry(app: Chengxin, src: str, subject_id: str, publisher: str,
                            cid: str) -> tuple[str | None, str | None]:
    """The subject's kind, and the time of this commitment's event if it is already stored: a retry carries
    the time of the event first stored (with each request's own, a retry a second later was a "conflict";
    found by review)."""
    with _reading(app) as conn:
        kind = conn.execute(select(t.subjects.c.kind).where(t.subjects.c.source == src,
                                                            t.subjects.c.subject_id == subject_id)).scalar()
        stored = conn.execute(select(t.events.c.body).where(t.events.c.source == publisher,
                                                            t.events.c.event_id == f"commitment-{cid}")).scalar()
    return kind, (orjson.loads(stored).get("time") if stored else None)


def _refused(report: ingest.IngestReport, cid: str) -> None:
    """A commitment the ingestion did not keep is an error, not a 200 with `commitment: null` (found by
    review): a rejected event names its field (422); another commitment stored under the id, 409."""
    if report.rejected:
        raise InvalidInput("; ".join(str(r["reason"]) for r in report.rejects))
    if report.conflicts:
        raise Conflict(f"commitment_id: {cid} is already published with other terms (template, validity or "
                       "clauses); the first is kept: choose another commitment_id")


def _reading(app: Chengxin) -> Any:
    from chengxin.adapters.db.engine import read_connection

    return read_connection(app.engine)


def of_refs(conn: Connection, refs: Sequence[Ref]) -> list[dict[str, Any]]:
    """The commitments of these subject reports, newest first, each in full with its template's clauses."""
    if not refs:
        return []
    c = t.commitments.c
    rows = conn.execute(select(t.commitments).where(pair_in(c.subject_source, c.subject_id, list(refs)))
                        .order_by(c.published_at.desc())).all()
    today = lifecycle.today().isoformat()  # a commitment's last day is a day in China
    broken = breaches_of(conn, [(r.source, r.commitment_id) for r in rows])
    return [{**_view(r, today), **_broken_view(broken.get((r.source, r.commitment_id), []))} for r in rows]


def _broken_view(breaches: list[dict[str, Any]]) -> dict[str, Any]:
    """`broken` and the breach records in force that say so: a commitment read "有效" beside the record of its
    breach (public review finding 5)."""
    return {"broken": bool(breaches), "breaches": breaches}


def breaches_of(conn: Connection, keys: list[Ref]) -> dict[Ref, list[dict[str, Any]]]:
    """The public breach records in force of these commitments (source, id): each record's id, the act's
    category and the clause (the template's number, and the merchant's own when its text carries it)."""
    from chengxin.adapters.db import lists_tables as lt
    from chengxin.domain import lifecycle as L
    from chengxin.services import record_views

    if not keys:
        return {}
    d, wanted, today = lt.dishonesty_records.c, set(keys), lifecycle.today()
    found: dict[Ref, list[dict[str, Any]]] = {}
    ends = or_(*(d.record_key.endswith(lifecycle.SEP.join(("", *k)), autoescape=True) for k in wanted))
    for r in conn.execute(select(lt.dishonesty_records).where(  # keyed breach / act / commitment's source / id
            d.origin == "breach", d.state.in_(sorted(L.IN_FORCE)), ends).order_by(d.id)):
        breaks = orjson.loads(r.details).get("breaks", {})
        key = tuple(breaks.get("commitment") or ())
        if key in wanted and record_views.record_view(r, today, public=True)["public"]:
            found.setdefault((key[0], key[1]), []).append(
                {"record": r.id, "category": r.category, "clause": breaks.get("clause"),
                 "own_clause": breaks.get("own_clause")})
    return found


def _view(r: Any, today: str) -> dict[str, Any]:
    tpl = lifecycle.templates().templates.get(r.template)
    clauses = orjson.loads(r.clauses)
    return {"source": r.source, "id": r.commitment_id, "template": r.template,
            "title": {"zh": tpl.zh, "en": tpl.en} if tpl else None, "type": tpl.type if tpl else None,
            "standard": tpl is not None, "clauses": clauses,
            "clause_terms": tpl.as_dict()["clauses"] if tpl else None, "basis": tpl.basis if tpl else None,
            "published_at": r.published_at, "valid_until": r.valid_until,
            "in_force": r.valid_until is None or r.valid_until[:10] >= today}
