"""Read models of parties and shops: identity, licences and the credit file, masked by who is asking.

The credit records themselves (paging, sanctions leaving the public view) are in `credit_file.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache, lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Integer, and_, bindparam, func, or_, select

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.db.query import bound_pair_in, pair_in, pair_params
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain import identity, licensing
from chengxin.domain.redact import redact
from chengxin.exc import NotFound
from chengxin.services import access_journal as journal
from chengxin.services import complaint_counts, credit_log
from chengxin.services.access_journal import JOURNAL_SEP
from chengxin.services.credit_file import Ref, credit_records_view, today
from chengxin.services.viewer import ANONYMOUS, REGULATOR, Viewer

NATURAL_PERSONS = frozenset({"person", "courier"})


@cache
def key_categories() -> licensing.KeyCategories:
    """The licence rules of key categories (packaged YAML, read once)."""
    return licensing.load_key_categories(vocab_text("key_categories.yaml"), "vocab/key_categories.yaml")


def show(app: Chengxin, source: str, entity_id: str, viewer: Viewer, *, limit: int = 100,
         before: int | None = None) -> dict[str, Any]:
    """A party or shop by (source, id), as `viewer` may see it, with the newest `limit` credit records whose
    log index is below `before` (the view's `credit_records_next_before` is the cursor of the next page)."""
    page = (limit, before)
    with read_connection(app.engine) as conn:
        shop = conn.execute(_SHOP, {"s": source, "i": entity_id}).first()
        if shop is not None:
            return _shop_view(conn, shop, viewer, page)
        subject = _subject(conn, source, entity_id)
        if subject is None:
            raise NotFound(f"no party or shop {entity_id!r} reported by {source!r}")
        return _party_view(conn, subject, viewer, page)


# The shop page's fixed statements, built once (the page is the hot read path; see query.bound_pair_in).
_SHOP = select(t.shops).where(t.shops.c.source == bindparam("s"), t.shops.c.shop_id == bindparam("i"))
_SUBJECT = select(t.subjects).where(t.subjects.c.source == bindparam("s"), t.subjects.c.subject_id == bindparam("i"))
_LINKED = select(t.subjects).where(t.subjects.c.party_key == bindparam("k")).order_by(t.subjects.c.registered_at)
_CLOSURE = select(t.shop_closures).where(t.shop_closures.c.source == bindparam("s"),
                                        t.shop_closures.c.shop_id == bindparam("i"))


def _subject(conn: Connection, source: str, subject_id: str) -> Any:
    return conn.execute(_SUBJECT, {"s": source, "i": subject_id}).first()


def linked_subjects(conn: Connection, party_key: str) -> list[Any]:
    """All reports of one party (same legal identifier), oldest registration first."""
    return list(conn.execute(_LINKED, {"k": party_key}))


def _party_view(conn: Connection, subject: Any, viewer: Viewer, page: tuple[int, int | None]) -> dict[str, Any]:
    full = viewer.sees_full(subject.source)
    if subject.kind in NATURAL_PERSONS and not full:
        # A natural person's credit file, reports and licences are not public (PIPL art. 13, 25).
        return {"entity": "party", "source": subject.source, "id": subject.subject_id,
                **identity_view(subject, full), "credit_records": [], "credit_records_total": 0}
    linked = linked_subjects(conn, subject.party_key)
    subjects = _visible_reports(linked, subject, viewer)
    refs = [(s.source, s.subject_id) for s in subjects]
    shops = shops_of(conn, refs)
    view: dict[str, Any] = {
        "entity": "party", "source": subject.source, "id": subject.subject_id,
        **identity_view(subject, full),
        "reports": [{"source": s.source, "id": s.subject_id} for s in subjects],
        "shops": [shop_summary(s) for s in shops],
        "licences": licences_view(conn, refs),
    }
    view.update(_party_standing(conn, subject, refs, [(s.source, s.shop_id) for s in shops],
                                scored=score_shown(linked, viewer)))
    complaint_counts.restate(conn, view, subject.party_key, viewer, full=full)  # the filings it may see
    view.update(_consequences(conn, subject.party_key, refs, viewer))
    cap_grade(view)
    refs += [(s.source, s.shop_id) for s in shops]
    mine, others = _split_reporters(refs, viewer, full)
    view.update(credit_records_view(conn, mine, full, *page, others=others))
    return view


def _split_reporters(refs: list[Ref], viewer: Viewer, full: bool) -> tuple[list[Ref], list[Ref]]:
    """A party's reports and shops: those shown as `full` says, and other reporters' that a full view shows
    as the public does (`Viewer.sees_full_beside_own`)."""
    if not full:
        return refs, []
    mine: list[Ref] = []
    theirs: list[Ref] = []
    for r in refs:
        (mine if viewer.sees_full_beside_own(r[0]) else theirs).append(r)
    return mine, theirs


def _party_standing(conn: Connection, subject: Any, reports: list[Ref], shops: list[Ref], *,
                    scored: bool) -> dict[str, Any]:
    """Credit points and level (a merchant's: its shops' seller credit; a person's: buyer credit), its buyer
    credit apart (`buyer_credit`: the same as `points` for a party without shops), and the party's score,
    grade and reasons, unless not `scored` (`_withheld`)."""
    from chengxin.domain.ratings import level_for
    from chengxin.services import scoring, standing, standing_views

    rules = standing.rules()
    points = standing_views.points_of(conn, shops or reports)
    level = level_for(points, rules)
    # a party that runs shops and also buys has two credits, as Taobao shows them: `points` was its shops'
    # alone, and a person's buyer credit was nowhere (found by review)
    buyer = standing_views.points_of(conn, reports) if shops else points
    buyer_level = level_for(buyer, rules)
    # its positive rate and DSR as its points are (its shops', or as a buyer or carrier rated): `party show` of
    # a party gave neither, only a shop's did (found by review); DSR against a category its shops all share
    credit = {"points": points, "level": level.as_dict() if level else None,
              "buyer_credit": {"points": buyer, "level": buyer_level.as_dict() if buyer_level else None}}
    # no hearts for a carrier, platform or agency without shops: seller levels are for sellers (public review 9)
    return {**(credit if standing_views.earns_points(subject.kind, shops) else {}),
            **standing_views.rates_of(conn, shops or reports, category=_one_category(conn, shops)),
            **(scoring.credit_view(conn, subject.party_key) if scored else _withheld())}


def _one_category(conn: Connection, shops: list[Ref]) -> str | None:
    """The first category every one of these shops has (a shop's DSR is shown against it), else None."""
    if not shops:
        return None
    s = t.shops.c
    firsts = {(orjson.loads(c) or [None])[0] for c in conn.execute(select(s.categories).where(
        pair_in(s.source, s.shop_id, shops))).scalars()}
    return next(iter(firsts)) if len(firsts) == 1 else None


def _withheld() -> dict[str, Any]:
    """A person's score where the viewer sees only some of the person's reports. The score is computed over
    every report linked by the ID number (other platforms' orders, complaints, sanctions): its grade, reasons,
    dimensions and history would tell a platform what another platform knows of the person."""
    return {"score": None, "grade": None, "reasons": [], "credit": None, "score_withheld": "other_reporters"}


def _consequences(conn: Connection, party_key: str, refs: list[Ref], viewer: Viewer) -> dict[str, Any]:
    """Lists the party is on and the measures in force (as the viewer may see them), and its commitments in
    full (R9: a commitment is public)."""
    from chengxin.services import commitments, list_views, record_views

    rows = record_views.records_of(conn, party_key)
    if viewer.role != REGULATOR:
        natural = bool(rows) and _is_natural(conn, party_key)
        # the public sees records in force (of businesses); a platform also those about what it reported,
        # and of a natural person only those (it must not learn what another platform knows of a person)
        rows = [r for r in rows if viewer.owns(r.subject_source) or (not natural and _shown(r))]
    records = [record_views.record_view(r, public=not (viewer.role == REGULATOR or viewer.owns(r.subject_source)))
               for r in rows]
    return {**list_views.party_lists(conn, party_key, viewer), "commitments": commitments.of_refs(conn, refs),
            "dishonesty_records": records}


def _is_natural(conn: Connection, party_key: str) -> bool:
    kinds = set(conn.execute(select(t.subjects.c.kind).where(t.subjects.c.party_key == party_key)).scalars())
    return bool(kinds & NATURAL_PERSONS)


def _shown(row: Any) -> bool:
    from chengxin.services import record_views

    return bool(record_views.record_view(row)["public"])


def cap_grade(view: dict[str, Any]) -> None:
    """A `lower_grade` measure in force caps the grade shown (the score and its reasons stay as computed;
    `grade_computed` keeps the uncapped grade and `grade_capped_by` says which lists capped it)."""
    cap = next((m for m in view.get("measures", []) if m["measure"] == "lower_grade"), None)
    grade = view.get("grade")
    if cap is None or cap["value"] == "none" or grade is None or grade >= cap["value"]:
        return
    view["grade_computed"], view["grade"] = grade, cap["value"]
    view["grade_capped_by"] = cap["because"]
    if view.get("credit"):  # the card the portal draws: capped too, saying from what
        from chengxin.services import lists, scoring

        zh, en = next((z, e) for g, _, z, e in scoring.score_rules().grades if g == cap["value"])
        named = [lists.policies().lists[x] for x in dict.fromkeys(b["list"] for b in cap["because"])]
        view["credit"] = {**view["credit"], "grade": cap["value"], "grade_zh": zh, "grade_en": en,
                          "grade_computed": grade, "grade_capped_by": cap["because"],
                          "grade_capped_lists": {"zh": "、".join(d.zh for d in named),
                                                 "en": ", ".join(d.en for d in named)}}


def score_shown(linked: Sequence[Any], viewer: Viewer) -> bool:
    """Whether the viewer sees the score of the party with these reports. A person's score counts every
    account the ID number links, so it goes to a regulator, or to a platform that reported every one of those
    accounts (it counted another platform's orders, complaints and sanctions: found by review); a business's
    score to everyone. The one rule for party pages, shop pages and review decisions."""
    return (viewer.may_reveal_pii or not any(s.kind in NATURAL_PERSONS for s in linked)
            or all(viewer.owns(s.source) for s in linked))


def _visible_reports(subjects: list[Any], asked: Any, viewer: Viewer) -> list[Any]:
    """Which reports of one party the viewer may join: all of a business's (its file is public), but of a
    natural person only those the viewer itself made (a platform must not learn what another platform
    knows about a person), and all of them for a regulator."""
    if asked.kind not in NATURAL_PERSONS or viewer.may_reveal_pii:
        return subjects
    return [s for s in subjects if viewer.owns(s.source)] or [asked]


def identity_view(subject: Any, full: bool) -> dict[str, Any]:
    """Identity and real-name verification of one subject. A natural person seen by someone without `full`
    access is minimised: masked name, kind, verification mark and province only (no ID number, not even
    masked, no party key, no reason that could carry part of the ID number)."""
    if subject.kind in NATURAL_PERSONS and not full:
        province = subject.region[:2] + "0000"
        return {"kind": subject.kind, "name": identity.mask_name(subject.name), "region": province,
                "region_name": identity.region_name(province),
                "identity": {"valid": bool(subject.identity_valid), "verified": subject.verified_at is not None},
                "flags": _identity_flags(subject)}
    reason = identity.current_reason(subject.identity_reason) if subject.identity_reason else None
    return {
        "kind": subject.kind, "name": subject.name, "uscc": subject.uscc,
        # a resident ID number is a natural person's whatever the subject's kind (an individual business's
        # operator): not shown outside a full view, not even masked (its party key is then its USCC's)
        "id_number": subject.id_masked if full else None,
        "region": subject.region, "region_name": identity.region_name(subject.region),
        "party_key": subject.party_key,
        "identity": {"scheme": subject.identity_scheme, "valid": bool(subject.identity_valid),
                     "reason": reason, "reason_zh": identity.reason_zh(reason) if reason else None,
                     "verified": subject.verified_at is not None, "verified_at": subject.verified_at},
        "flags": _identity_flags(subject),
    }


def _identity_flags(subject: Any) -> list[str]:
    return ["identity_invalid"] if not subject.identity_valid else []


def shops_of(conn: Connection, operators: list[Ref]) -> list[Any]:
    if not operators:
        return []
    q = select(t.shops, t.shop_closures.c.closed_at, t.shop_closures.c.reason.label("close_reason")).outerjoin(
        t.shop_closures, closed_join(conn),
    ).where(pair_in(t.shops.c.operator_source, t.shops.c.operator_id, operators))
    return list(conn.execute(q))


def closed_join(conn: Connection) -> Any:
    """Join condition of a shop's closure that still holds: one later (by event order) than the shop's latest
    opening, since a shop re-opened after a closure is open. `ord` compares by code point, as everywhere
    (PostgreSQL: in the "C" collation, whatever the database's)."""
    c, s = t.shop_closures.c, t.shops.c
    later = c.ord.collate("C") > s.ord if conn.dialect.name == "postgresql" else c.ord > s.ord
    return (c.source == s.source) & (c.shop_id == s.shop_id) & later


def _closure_of(conn: Connection, shop: Any) -> Any:
    """The shop's closure, if it is later than the shop's latest opening (None: the shop is open)."""
    closure = conn.execute(_CLOSURE, {"s": shop.source, "i": shop.shop_id}).first()
    return closure if closure is not None and closure.ord > shop.ord else None


def shop_summary(s: Any) -> dict[str, Any]:
    return {"source": s.source, "id": s.shop_id, "name": s.name, "url": s.url,
            "categories": orjson.loads(s.categories), "opened_at": s.opened_at,
            "closed_at": getattr(s, "closed_at", None)}


@lru_cache(maxsize=64)
def _licences_stmt(n: int) -> Any:
    lic = t.licences
    return select(lic).where(bound_pair_in(lic.c.subject_source, lic.c.subject_id, "r", n)).order_by(lic.c.valid_from)


def licence_rows(conn: Connection, refs: list[Ref]) -> list[Any]:
    """The licences reported for these subjects, oldest first."""
    return list(conn.execute(_licences_stmt(len(refs)), pair_params("r", refs))) if refs else []


def licences_view(conn: Connection, refs: list[Ref], rows: list[Any] | None = None) -> list[dict[str, Any]]:
    """The licences of these subjects (or the given rows), each with whether it is valid today."""
    rules = key_categories()
    out = []
    for lic in licence_rows(conn, refs) if rows is None else rows:
        label = rules.licence_types.get(lic.licence_type)
        out.append({"type": lic.licence_type, "label_zh": label.zh if label else lic.licence_type,
                    "label_en": label.en if label else lic.licence_type, "number": lic.number,
                    "issuer": lic.issuer, "valid_from": lic.valid_from, "valid_until": lic.valid_until,
                    "valid_now": _licence(lic).valid_at(today()), "reported_by": lic.source})
    return out


def _licence(lic: Any) -> licensing.Licence:
    until = date.fromisoformat(lic.valid_until) if lic.valid_until else None
    return licensing.Licence(lic.licence_type, lic.number, date.fromisoformat(lic.valid_from), until)


def licence_gaps(categories: list[str], rows: list[Any]) -> list[dict[str, Any]]:
    """Key categories the shop sells in without a valid matching licence among `rows` (R3)."""
    gaps = licensing.licence_gaps(key_categories(), categories, [_licence(r) for r in rows], today())
    return [{"category": g.category, "needed": list(g.needed), "status": g.status, "reason": g.reason,
             "reason_zh": g.reason_zh} for g in gaps]


def _shop_view(conn: Connection, shop: Any, viewer: Viewer, page: tuple[int, int | None]) -> dict[str, Any]:
    closure = _closure_of(conn, shop)
    operator = _subject(conn, shop.operator_source, shop.operator_id)
    subjects = linked_subjects(conn, operator.party_key) if operator is not None else []
    op_refs = [(s.source, s.subject_id) for s in subjects] or [(shop.operator_source, shop.operator_id)]
    full = viewer.sees_full(shop.source)
    person = operator is not None and operator.kind in NATURAL_PERSONS
    # A person reported by another source is that source's personal data: the shop's own platform does not
    # see it in full through the shop (it would learn the name, party key and file of another's account).
    op_full = full and (not person or viewer.sees_full(operator.source))
    scored = score_shown(subjects, viewer)
    if person:
        subjects = _visible_reports(subjects, operator, viewer)
        op_refs = [(s.source, s.subject_id) for s in subjects if op_full] or []
    categories = orjson.loads(shop.categories)
    # a person operator's licences are looked up by the shop's reported operator (op_refs may be empty)
    licences = licence_rows(conn, op_refs or [(shop.operator_source, shop.operator_id)])
    view: dict[str, Any] = {
        "entity": "shop", "source": shop.source, "id": shop.shop_id, "name": shop.name, "url": shop.url,
        "categories": categories, "opened_at": shop.opened_at,
        # free text: masked but for the reporting platform and regulators (found by review)
        "closed": {"at": closure.closed_at, "reason": closure.reason if full else redact(closure.reason)}
        if closure else None,
        "operator": ({"source": operator.source, "id": operator.subject_id, **identity_view(operator, op_full)}
                     if operator is not None else {"source": shop.operator_source, "id": shop.operator_id,
                                                   "unknown": True}),
        "licences": licences_view(conn, [], licences),
        "licence_gaps": licence_gaps(categories, licences),
        "ratings": rating_summary(conn, (shop.source, shop.shop_id)),
    }
    view.update(_shop_standing(conn, shop, operator, categories, op_full, scored=scored))
    if operator is not None:
        complaint_counts.restate(conn, view, operator.party_key, viewer, full=full)
    if operator is not None:  # another source's person: their lists and records as the public sees them (a
        # platform read a person's watch-list entry through the shop: found by review)
        view.update(_consequences(conn, operator.party_key, op_refs, viewer if op_full or not person else ANONYMOUS))
        cap_grade(view)
    view["flags"] = (["licence_missing"] if view["licence_gaps"] else []) + (
        ["operator_identity_invalid"] if operator is not None and not operator.identity_valid else [])
    mine, others = _split_reporters([(shop.source, shop.shop_id), *op_refs], viewer, full)
    view.update(credit_records_view(conn, mine, full, *page, others=others))
    return view


def _shop_standing(conn: Connection, shop: Any, operator: Any, categories: list[str], full: bool, *,
                   scored: bool) -> dict[str, Any]:
    """The shop's seller credit (points, level, positive rate, DSR against its category) and its operator's
    score, grade and reasons: not shown when the operator is a natural person and the viewer may not see
    that person's file (a person's score is personal data), nor when the viewer sees only some of the
    person's reports (not `scored`: `_withheld`)."""
    from chengxin.services import scoring, standing_views

    category = categories[0] if categories else None
    shown = standing_views.standing_view(conn, (shop.source, shop.shop_id), category=category)
    if operator is None or (operator.kind in NATURAL_PERSONS and not full):
        return {**shown, "score": None, "grade": None, "reasons": [], "credit": None}
    return {**shown, **(scoring.credit_view(conn, operator.party_key) if scored else _withheld())}


# buyers' first ratings, less those the ledger found not to count (of a fake, unpaid or unknown order, or by
# strangers: they showed in the shop's all-time average, found by review); one the scorer has not judged
# yet shows until it has
_R, _L = t.reviews, st.rating_ledger
_RATINGS = select(func.count(), func.avg(_R.c.score), func.sum((_R.c.score >= 4).cast(Integer))).select_from(
    _R.outerjoin(_L, and_(_L.c.source == _R.c.source, _L.c.review_id == _R.c.review_id))).where(
    _R.c.target_source == bindparam("s"), _R.c.target_id == bindparam("i"), _R.c.direction == "buyer_to_seller",
    _R.c.follows_id.is_(None), or_(_L.c.review_id.is_(None), _L.c.eligible.is_(True)))


def rating_summary(conn: Connection, shop: Ref) -> dict[str, Any]:
    """Plain counts of the buyer ratings that count, all time (the weighted credit score is computed
    elsewhere)."""
    n, avg, positive = conn.execute(_RATINGS, {"s": shop[0], "i": shop[1]}).one()
    return {"count": n, "average": round(float(avg), 2) if avg is not None else None,
            "positive_rate": round(positive / n, 4) if n else None}


def reveal_id_number(app: Chengxin, source: str, subject_id: str, viewer: Viewer, purpose: str) -> str | None:
    """The unmasked ID number, for an authorised regulator only; every reveal is journaled."""
    from chengxin.adapters.db.engine import write_transaction
    from chengxin.exc import Forbidden, InvalidInput
    from chengxin.services.identity import reveal_id_number as decrypt_id

    if not viewer.may_reveal_pii:
        raise Forbidden("only a regulator may see an unmasked ID number")
    if not purpose.strip():
        raise InvalidInput("purpose: say why; revealing an ID number needs a purpose, which is journaled")
    with write_transaction(app.engine) as conn:
        row = _subject(conn, source, subject_id)
        if row is None:
            raise NotFound(f"no party {subject_id!r} reported by {source!r}")
        if row.id_cipher is None:
            raise NotFound("this party has no resident ID number on file")
        _journal(conn, viewer, "reveal_id_number", [(source, subject_id)], purpose)
        return decrypt_id(app.keys, row._asdict())


def _journal(conn: Any, viewer: Viewer, action: str, parties: list[tuple[str, str]], purpose: str) -> None:
    """One access-journal entry per party reached, or one naming none when nothing was found (probing ID
    numbers leaves a trace too). Never the ID number itself."""
    conn.execute(t.access_journal.insert(), [
        {"at": credit_log.now_utc(), "key_id": viewer.key_id or "?", "action": action,
         "object": JOURNAL_SEP.join((source, subject_id, purpose[:200]))}
        for source, subject_id in parties or [("", "")]])


def access_journal(app: Chengxin, viewer: Viewer, *, party: Ref | None = None, linked: bool = True,
                   key: str | None = None, action: str | None = None, before: int | None = None,
                   limit: int = 100) -> dict[str, Any]:
    """Who read whose personal data or credit report, when and why, newest first, filtered by party (with its
    linked reports), key and action: every entry for a regulator (the audit of its officers, PIPL art. 51, 54),
    the agencies' queries about its own parties for a platform (`services/access_journal.py`)."""
    return journal.read(app, viewer, party=party, linked=linked, key=key, action=action, before=before,
                        limit=limit)


def search_parties(app: Chengxin, uscc: str, viewer: Viewer) -> list[dict[str, Any]]:
    """Light search results: every report of the party with this USCC as name, kind, verification mark and
    USCC, with the (source, id) a link needs. No licences or credit records are read; an empty list when
    none matches. A natural person is masked as in `identity_view`."""
    code = identity.normalise(uscc)
    s = t.subjects
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(select(s).where(s.c.uscc == code).order_by(
            s.c.registered_at, s.c.source, s.c.subject_id)))
    return [_party_summary(r, viewer.sees_full(r.source)) for r in rows]


def _party_summary(subject: Any, full: bool) -> dict[str, Any]:
    shown = identity_view(subject, full)
    mark = shown["identity"]
    return {"source": subject.source, "id": subject.subject_id, "name": shown["name"], "kind": subject.kind,
            "uscc": shown.get("uscc"), "verified": mark["verified"],
            "identity": {k: mark.get(k) for k in ("valid", "verified", "reason", "reason_zh")}}


def find_by_uscc(app: Chengxin, uscc: str, viewer: Viewer) -> list[dict[str, Any]]:
    """Every report of the enterprise with this USCC, each as `viewer` may see it."""
    code = identity.normalise(uscc)
    with read_connection(app.engine) as conn:
        rows = list(conn.execute(select(t.subjects).where(t.subjects.c.uscc == code)))
    if not rows:
        raise NotFound("no party with that unified social credit code")
    return [show(app, r.source, r.subject_id, viewer, limit=20) for r in rows]


def find_by_id_number(app: Chengxin, id_number: str, viewer: Viewer, purpose: str) -> list[dict[str, Any]]:
    """Reports of the person with this ID number, found by keyed hash (the number is never stored plain).
    Platforms see only their own reports. Journaled with the purpose, as a reveal is: it confirms that the
    person is a party and gives the whole credit file, and was journaled nowhere (found by review); a lookup
    that finds nothing is journaled too, naming no party. The number itself is never journaled."""
    from chengxin.adapters.crypto import keyed_hash
    from chengxin.adapters.db.engine import write_transaction
    from chengxin.exc import InvalidInput

    if not purpose.strip():
        raise InvalidInput("purpose: say why; looking a person up by ID number needs a purpose, which is journaled")
    digest = keyed_hash(app.keys, "ric", identity.normalise(id_number))
    with write_transaction(app.engine) as conn:
        rows = [r for r in conn.execute(select(t.subjects).where(t.subjects.c.id_hmac == digest))
                if viewer.sees_full(r.source)]
        _journal(conn, viewer, "lookup_id_number", [(r.source, r.subject_id) for r in rows], purpose)
    if not rows:
        raise NotFound("no party with that ID number visible to you")
    return [show(app, r.source, r.subject_id, viewer, limit=20) for r in rows]
