"""The measures list memberships impose (`vocab/measures.yaml`, `catalog`): the memberships in force, the
measures each imposes (its list's and its policy's own), and those of the persons behind an enterprise (EIPR
art. 17; SHSC art. 31, 33), which its representatives bear too.

Neighbours: `services/lists.py` decides the memberships, `services/list_feed.py` records each change of the
measures in force, `services/list_views.py` shows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.resources import vocab_text
from chengxin.domain import measures as M
from chengxin.services.list_facts import parts
from chengxin.services.list_overrides import MANUAL

Ref = tuple[str, str]


@cache
def catalog() -> dict[str, M.MeasureDef]:
    return M.load_catalog(vocab_text("measures.yaml"), "vocab/measures.yaml")


def open_memberships(conn: Connection, keys: Sequence[str] | None) -> dict[str, list[Any]]:
    """The memberships in force of these parties (of everyone when None), by party key."""
    m = lt.list_memberships.c
    out: dict[str, list[Any]] = defaultdict(list)
    for part in parts(keys):
        q = select(lt.list_memberships).where(m.ended_at.is_(None))
        for r in conn.execute(q if part is None else q.where(m.party_key.in_(part))):
            out[r.party_key].append(r)
    return out


def becauses(memberships: Iterable[Any]) -> list[M.Because]:
    """The measures each open membership imposes: its list's, plus its policy's own."""
    from chengxin.services import lists  # the enforced policies (lists imports this module: imported here)

    ps, out = lists.policies(), []
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
