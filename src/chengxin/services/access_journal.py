"""The access journal read back: who read whose personal data or credit report (`reveal_id_number`,
`lookup_id_number`, `search_name`, `agency_report`, ...), when and why, newest first, filtered by party, key
and action (agency review, finding 9: a party filter was silently ignored, and a subject could not learn who
had queried it).

Who reads what:
- a regulator: every entry, with the key that made it and who holds that key (`by`: role and source);
- a platform: the entries about the parties it reports (their source is its own), made by a credit agency's
  key or by its own keys, so it can answer its user's request to know and to see how their data was used
  (个人信息保护法 第四十四条、第四十五条; 上海市社会信用条例 第三十四条: 信息主体有权知晓与其本人社会信用信息
  相关的采集、使用等情况). Never an entry about another platform's report, never another key's id (which is
  part of that key's secret, `cx_<key id>_...`), only who holds it; and not a regulator's reads, which the
  subject asks the regulator about: telling them through the platform could hinder an investigation (第四十五条
  excepts 第十八条、第三十五条; 上海 第三十四条: 法律、法规另有规定的除外). A platform filters by its own
  parties and keys only: a filter by another source's party would tell it which of its reports are the same
  person (linked reports).

A party filter takes the party's linked reports too (`linked`, default: the same `party_key`, and the shops
each of them runs), since a subject's request is about the person, whichever account was queried.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.exc import Forbidden, NotAuthenticated
from chengxin.services.credit_file import Ref
from chengxin.services.viewer import AGENCY, PLATFORM, REGULATOR, Viewer

# The object: source, subject id and purpose joined by U+001F, which ingestion refuses in sources and ids. They
# were joined by "|", which both may hold: a reveal of `U|1` reported by `P` was read back as subject `U` and
# purpose `1|...` (found by review); entries written so are still read that way.
JOURNAL_SEP = "\x1f"
_OLD_SEP = "|"


def read(app: Chengxin, viewer: Viewer, *, party: Ref | None = None, linked: bool = True, key: str | None = None,
         action: str | None = None, before: int | None = None, limit: int = 100) -> dict[str, Any]:
    """A page of the journal as `viewer` may read it, newest first; `before`: the cursor of the next page."""
    if viewer.role not in (REGULATOR, PLATFORM):
        raise (Forbidden if viewer.role == AGENCY else NotAuthenticated)(
            "the access journal is for regulators, and for platforms about the parties they report")
    j, k = t.access_journal.c, t.api_keys.c
    q = select(t.access_journal, k.role, k.source.label("key_source")).outerjoin(
        t.api_keys, k.key_id == j.key_id).order_by(j.id.desc()).limit(limit + 1)
    with read_connection(app.engine) as conn:
        if viewer.role == PLATFORM:
            q = _platform_scope(conn, viewer, q, party, key)
        if party is not None:
            q = q.where(_about(_targets(conn, party, linked, viewer)))
        for column, value in ((j.key_id, key), (j.action, action), (j.id, before)):
            if value is not None:
                q = q.where(column < value if column is j.id else column == value)
        rows = list(conn.execute(q))
    return {"entries": [_entry(r, viewer) for r in rows[:limit]],
            "next_before": rows[limit - 1].id if len(rows) > limit else None}


def _platform_scope(conn: Any, viewer: Viewer, q: Select[Any], party: Ref | None, key: str | None) -> Select[Any]:
    """A platform's part: an agency's entries about its own parties, and its own keys' entries."""
    j, k = t.access_journal.c, t.api_keys.c
    own = str(viewer.source)
    if party is not None and party[0] != own:
        raise Forbidden(f"a platform reads the journal about the parties it reports: source must be {own!r}")
    own_keys = select(k.key_id).where(k.role == PLATFORM, k.source == own)
    if key is not None and conn.execute(own_keys.where(k.key_id == key)).first() is None:
        raise Forbidden("a platform filters the journal by its own keys only")
    agencies = select(k.key_id).where(k.role == AGENCY)
    return q.where(or_(j.key_id.in_(own_keys), and_(j.key_id.in_(agencies), _source_is(own))))


def _source_is(source: str) -> Any:
    """Entries whose party was reported by `source` (either way of joining the object)."""
    j = t.access_journal.c
    return or_(_starts(j.object, source + JOURNAL_SEP),
               and_(_starts(j.object, source + _OLD_SEP), ~j.object.contains(JOURNAL_SEP)))


def _targets(conn: Any, party: Ref, linked: bool, viewer: Viewer) -> set[Ref]:
    """The party and, when `linked`, its linked reports (same `party_key`; a shop: its operator's) and the shops
    they run; a platform's, of its own source only."""
    found = {party}
    if linked:
        s, sh = t.subjects.c, t.shops.c
        operator = conn.execute(select(sh.operator_source, sh.operator_id).where(
            sh.source == party[0], sh.shop_id == party[1])).first()
        subject = tuple(operator) if operator is not None else party
        key_of = select(s.party_key).where(s.source == subject[0], s.subject_id == subject[1]).scalar_subquery()
        people = {(r.source, r.subject_id) for r in conn.execute(
            select(s.source, s.subject_id).where(s.party_key == key_of))} | {subject}
        found |= people
        for r in conn.execute(select(sh.source, sh.shop_id, sh.operator_source, sh.operator_id).where(
                sh.operator_source.in_({p[0] for p in people}))):
            if (r.operator_source, r.operator_id) in people:
                found.add((r.source, r.shop_id))
    return {p for p in found if viewer.role != PLATFORM or p[0] == viewer.source}


def _about(targets: set[Ref]) -> Any:
    """Entries naming one of `targets` (exact: SQLite's LIKE ignores case, so the prefix is compared whole)."""
    j = t.access_journal.c
    new = [_starts(j.object, JOURNAL_SEP.join((s, i, ""))) for s, i in sorted(targets)]
    old = [_starts(j.object, _OLD_SEP.join((s, i, ""))) for s, i in sorted(targets)]
    return or_(false(), *new, and_(or_(false(), *old), ~j.object.contains(JOURNAL_SEP)))


def _starts(column: Any, prefix: str) -> Any:
    return func.substr(column, 1, len(prefix)) == prefix


def _entry(r: Any, viewer: Viewer) -> dict[str, Any]:
    sep = JOURNAL_SEP if JOURNAL_SEP in r.object else _OLD_SEP
    source, _, rest = r.object.partition(sep)  # as `parties._journal` writes it
    subject, _, purpose = rest.partition(sep)
    mine = viewer.role == REGULATOR or (r.role == PLATFORM and r.key_source == viewer.source)
    return {"id": r.id, "at": r.at, "key_id": r.key_id if mine else None, "action": r.action,
            "by": {"role": r.role, "source": r.key_source} if r.role else None,
            "party": {"source": source, "id": subject} if source or subject else None, "purpose": purpose}
