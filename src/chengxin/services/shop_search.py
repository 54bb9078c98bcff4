"""The public credit query: shops by name, shop URL (a pasted item link too: its shop's address), the operator's
registered name (a business's, never a natural person's) or the operator's USCC, each result with what a buyer
looks at first — the public lists its operator is on and its credit grade, as the shop's own page shows them.

Read by the portal's search page and `GET /v1/shops`; the full views are in `parties.py`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.db.query import pair_in
from chengxin.bootstrap import Chengxin
from chengxin.domain import identity
from chengxin.domain import measures as M
from chengxin.domain.projection import name_key
from chengxin.services.credit_file import Ref
from chengxin.services.parties import (
    NATURAL_PERSONS,
    cap_grade,
    closed_join,
    identity_view,
    linked_subjects,
    shop_summary,
    shops_of,
)
from chengxin.services.viewer import ANONYMOUS, REGULATOR, Viewer

PART = 200  # shops per statement when their operators are looked up
MAX_QUERY = 200  # characters a search takes, once a pasted link is cut to its shop's address (`searchable`)
MIN_NAME = 2  # an operator's registered name is searched from this many characters, as `GET /v1/parties?name=`
URL_DEPTH = 6  # path segments of a pasted link tried as a shop's address (`url_forms`)


def search_shops(app: Chengxin, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Public credit query: a shop by name (substring), URL, or its operator's USCC (the first page)."""
    return list(search_page(app, query, limit=limit)["shops"])


def search_page(app: Chengxin, query: str, *, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    """One page of the shops `query` finds, ordered by name (then source and id, so pages neither overlap
    nor skip a shop of the same name): `shops`, `total` (every match), and `next_offset`, the `offset` of the
    next page (None on the last). A hit list cut at `limit` looked complete, and there was no way to the rest
    (found by review)."""
    q = query.strip()
    if not q:
        return _page([], 0, offset)
    with read_connection(app.engine) as conn:
        by_code = _by_uscc(conn, q)
        if by_code is not None:
            found = sorted(by_code, key=lambda s: (s.name, s.source, s.shop_id))
            return _page(_with_standing(conn, [shop_summary(s) for s in found[offset:offset + limit]]),
                         len(found), offset)
        cond = t.shops.c.url.in_(url_forms(q)) | t.shops.c.name_key.contains(name_key(q), autoescape=True)
        if len(q) >= MIN_NAME:
            cond = cond | _operated_by_named(q)
        q_shops = select(t.shops, t.shop_closures.c.closed_at).outerjoin(t.shop_closures, closed_join(conn)).where(
            cond)
        total = conn.execute(select(func.count()).select_from(q_shops.subquery())).scalar_one()
        rows = conn.execute(q_shops.order_by(t.shops.c.name, t.shops.c.source, t.shops.c.shop_id)
                            .offset(offset).limit(limit))
        return _page(_with_standing(conn, [shop_summary(s) for s in rows]), total, offset)


def _operated_by_named(typed: str) -> Any:
    """Shops whose operator is a business (not a natural person) one of whose reports has a registered name
    holding `typed`: the name on its licence, invoices and the black list. A black-listed company searched by
    that name read "no shop found", as if it had no record (found by review). The reports are linked by party
    key, so a name only a regulator reported still finds the shops a platform reported."""
    named, operator = t.subjects.alias("named"), t.subjects.alias("operator")
    persons = sorted(NATURAL_PERSONS)
    keys = select(named.c.party_key).where(_name_cond(named, typed), named.c.kind.not_in(persons))
    return exists().where(operator.c.source == t.shops.c.operator_source,
                          operator.c.subject_id == t.shops.c.operator_id,
                          operator.c.kind.not_in(persons), operator.c.party_key.in_(keys))


def _name_cond(s: Any, typed: str) -> Any:
    """A registered name holding `typed` as written, in NFKC, or with full-width brackets (as names are)."""
    forms = dict.fromkeys((typed, unicodedata.normalize("NFKC", typed), typed.replace("(", "（").replace(")", "）")))
    return or_(*(s.c.name.contains(f, autoescape=True) for f in forms))


def _by_uscc(conn: Connection, q: str) -> list[Any] | None:
    """The shops of the business whose USCC `q` is (None: `q` is no USCC, or one no one reported)."""
    check = identity.check_uscc(q)
    if not (len(check.normalised) == 18 and re.fullmatch(r"[0-9A-Z]{18}", check.normalised)):
        return None
    # by the code as the operator's licence shows it, valid or not: a business whose code fails its check is
    # linked to no one, and was found by no one searching its own code (found by review)
    ops = conn.execute(select(t.subjects.c.source, t.subjects.c.subject_id, t.subjects.c.party_key).where(
        t.subjects.c.uscc == check.normalised)).all()
    refs = list(dict.fromkeys(ref for op in ops for ref in (
        [(s.source, s.subject_id) for s in linked_subjects(conn, op.party_key)] if check.valid
        else [(op.source, op.subject_id)])))
    return shops_of(conn, refs) if refs or check.valid else None


def _page(found: list[dict[str, Any]], total: int, offset: int, name: str = "shops") -> dict[str, Any]:
    end = offset + len(found)
    return {name: found, "total": total, "next_offset": end if found and end < total else None}


# The purpose journaled for a regulator's name search that found natural persons when none was given: the
# search stays open to clients that send no purpose, and the journal says plainly that none was stated
# (docs/security.md, "Name search").
UNSTATED_PURPOSE = "未说明用途 (no purpose stated: name search)"


def search_parties_by_name(app: Chengxin, query: str, viewer: Viewer, *, limit: int = 20,
                           offset: int = 0, purpose: str | None = None) -> dict[str, Any]:
    """Parties (every reporter's report) whose registered name holds `query`, ordered by name, then source and
    id, a page at a time (`total`, `next_offset` as `search_page`): each `source`, `id`, `name`, `kind`, `uscc`
    and verification mark. A credit office starts from a firm's name in a complaint or letter, and logistics
    firms, platforms and shop-less merchants have no shop to search by (found by review). Natural persons are
    found by regulators only (their full names); no one else finds them by name at all. Each natural person a
    regulator's page returns is journaled (`search_name`, with `purpose`, else `UNSTATED_PURPOSE`), as a
    lookup by ID number is: the search gave a person's full name and was journaled nowhere (found by review)."""
    found = _parties_named(app, query, viewer, limit=limit, offset=offset)
    persons = [(p["source"], p["id"]) for p in found["parties"] if p["kind"] in NATURAL_PERSONS]
    if persons:
        _journal_persons(app, viewer, persons, purpose)
    return found


def _journal_persons(app: Chengxin, viewer: Viewer, persons: list[Ref], purpose: str | None) -> None:
    from chengxin.adapters.db.engine import write_transaction
    from chengxin.services.parties import _journal

    with write_transaction(app.engine) as conn:
        _journal(conn, viewer, "search_name", persons, (purpose or "").strip() or UNSTATED_PURPOSE)


def businesses_named(app: Chengxin, query: str, *, limit: int = 20, offset: int = 0) -> dict[str, Any]:
    """The public's name search (the portal's): `search_parties_by_name` as the anonymous public runs it, so
    never a natural person (nothing to journal), each party with its identity mark (`_party_marked`)."""
    return _parties_named(app, query, ANONYMOUS, limit=limit, offset=offset, shape=_party_marked)


def _parties_named(app: Chengxin, query: str, viewer: Viewer, *, limit: int, offset: int,
                   shape: Callable[[Any, bool], dict[str, Any]] | None = None) -> dict[str, Any]:
    typed = query.strip()
    if not typed:
        return _page([], 0, offset)
    s = t.subjects
    cond = _name_cond(s, typed)
    if viewer.role != REGULATOR:
        cond = cond & s.c.kind.not_in(sorted(NATURAL_PERSONS))
    q = select(s).where(cond)
    with read_connection(app.engine) as conn:
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.order_by(s.c.name, s.c.source, s.c.subject_id).offset(offset).limit(limit))
        found = [(shape or _party)(r, viewer.sees_full(r.source)) for r in rows]
    return _page(found, total, offset, "parties")


def _party(subject: Any, full: bool) -> dict[str, Any]:
    """As the party's own view shows it to this viewer (a USCC that is an ID number's shape stays masked)."""
    shown = identity_view(subject, full)
    return {"source": subject.source, "id": subject.subject_id, "name": shown["name"], "kind": subject.kind,
            "uscc": shown.get("uscc") if subject.kind not in NATURAL_PERSONS else None,
            "verified": shown["identity"]["verified"]}


def _party_marked(subject: Any, full: bool) -> dict[str, Any]:
    """`_party` with the mark's validity and reason, as `parties.search_parties` gives them: a portal card says
    why a mark is not ✓ (an invalid code is not merely unverified)."""
    shown = identity_view(subject, full)["identity"]
    return {**_party(subject, full), "identity": {k: shown.get(k) for k in ("valid", "verified", "reason",
                                                                            "reason_zh")}}


def _with_standing(conn: Connection, shops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each result with the public lists (black, red) its operator is on and the operator's grade, as the
    shop's page shows them (capped by a `lower_grade` measure in force): a blacklisted shop looked like any
    other among the results (found by review), and a D-graded one like an A. A natural person's shop shows
    neither here (`score_withheld`; its page says what the public may know); `grade` is None until its operator
    is scored."""
    operators = _business_operators(conn, [(s["source"], s["id"]) for s in shops])
    standing = {key: _standing(conn, key) for key in set(operators.values())}
    out = []
    for s in shops:
        key = operators.get((s["source"], s["id"]))
        out.append({**s, **(standing[key] if key else _PERSONS_SHOP)})
    return out


# A natural person's shop: its operator's score counts every account the ID number links (`parties._withheld`)
_PERSONS_SHOP: dict[str, Any] = {"lists": [], "grade": None, "score_withheld": "natural_person"}


def _business_operators(conn: Connection, refs: list[Ref]) -> dict[Ref, str]:
    """The party key of each shop's operator, for the shops a business operates."""
    sh, sub = t.shops.c, t.subjects.c
    found: dict[Ref, str] = {}
    for i in range(0, len(refs), PART):
        found.update(((r.source, r.shop_id), r.party_key) for r in conn.execute(
            select(sh.source, sh.shop_id, sub.party_key).select_from(t.shops.join(t.subjects, and_(
                sub.source == sh.operator_source, sub.subject_id == sh.operator_id))).where(
                pair_in(sh.source, sh.shop_id, refs[i:i + PART]), sub.kind.not_in(sorted(NATURAL_PERSONS)))))
    return found


def _standing(conn: Connection, party_key: str) -> dict[str, Any]:
    """One business's public lists and its grade as the public sees it."""
    from chengxin.services import lists, scoring
    from chengxin.services.list_measures import in_force
    from chengxin.services.list_views import AUDIENCES
    from chengxin.services.viewer import PUBLIC

    m = lt.list_memberships.c
    held = list(conn.execute(select(lt.list_memberships).where(m.party_key == party_key, m.ended_at.is_(None))))
    public = sorted({r.list for r in held if lists.policies().lists[r.list].public})
    grade = conn.execute(select(st.credit_scores.c.grade).where(st.credit_scores.c.party_key == party_key)).scalar()
    view: dict[str, Any] = {"grade": grade,
                            "measures": list(M.visible(in_force(held), AUDIENCES[PUBLIC]).values())}
    cap_grade(view)
    words = {g: (zh, en) for g, _, zh, en in scoring.score_rules().grades}
    shown: str | None = view["grade"]
    return {"lists": public, "grade": shown, "grade_zh": words[shown][0] if shown else None,
            "grade_en": words[shown][1] if shown else None, "grade_computed": view.get("grade_computed")}


def searchable(query: str) -> str:
    """The query a search runs: as typed, but a pasted link longer than `MAX_QUERY` cut to its host and path
    (then to its host alone): a marketplace's item link with its tracking parameters runs to hundreds of
    characters, and was refused with a bare "422" (found by review). What is not a link is left as typed, for
    the caller to refuse if it is too long."""
    typed = query.strip()
    parts = url_parts(typed)
    if len(typed) <= MAX_QUERY or parts is None:
        return typed
    host, segments = parts
    path = "/".join((host, *segments))
    return path if len(path) <= MAX_QUERY else host


def url_parts(query: str) -> tuple[str, list[str]] | None:
    """A link's host (lower case, without `www.`, a port, user or trailing dot) and its path's segments; the
    query string and fragment dropped. None when `query` is not a link: one with an http(s) scheme or `//`, or
    that starts with a host name holding a dot (`s1.shop.example/item/1`)."""
    rest = unicodedata.normalize("NFKC", query.strip())
    scheme = re.match(r"(?i)^(?:https?:)?//", rest)
    rest = rest[scheme.end():] if scheme else rest
    authority, sep, tail = re.fullmatch(r"([^/?#]*)([/?#]?)(.*)", rest, re.S).groups()  # type: ignore[union-attr]
    host = re.sub(r":\d*$", "", authority.rpartition("@")[2]).lower().rstrip(".").removeprefix("www.")
    # without a scheme only an ASCII host name ending in a top-level domain is taken for a link, not a shop name
    if not re.fullmatch(r"[\w-]+(\.[\w-]+)*" if scheme else r"[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", host):
        return None
    path = re.split(r"[?#]", tail, maxsplit=1)[0] if sep == "/" else ""
    return host, [p for p in path.split("/") if p]


def url_forms(query: str) -> list[str]:
    """The ways a shop's URL may be stored that a visitor's pasted or typed one may mean: the host (in any case,
    without port, user or `www.`) alone and followed by each leading part of the path (up to `URL_DEPTH`
    segments), each with or without the scheme (https, http), `www.` and a trailing slash. `S1.shop.example/`
    found nothing where `https://s1.shop.example` is stored, and neither did a pasted item link
    (`https://s1.shop.example/item/123?spm=a1`, found by review): a shop's address is a prefix of its pages'."""
    forms = [query.strip()]
    parts = url_parts(query)
    if parts is None:
        return forms
    host, segments = parts
    for n in range(min(len(segments), URL_DEPTH) + 1):
        path = "".join("/" + p for p in segments[:n])
        for s in ("https://", "http://"):
            for www in ("", "www."):
                forms += [f"{s}{www}{host}{path}", f"{s}{www}{host}{path}/"]
    return list(dict.fromkeys(forms))
