"""A regulator's list overrides in the credit log (SHSC art. 32: a measure states its basis).

An override (`list_views.override`) adds a party to a list or takes it off, whatever the policies say, until a
review date. Each one is a credit record, written in the transaction that stores it: `list_override` (or
`list_override_private` for a list that is not public) names the override, the list, the action, who, why, on
what basis, until when, and the earlier overrides of the same list it replaces. A membership that ends because
of a removal names the override and its basis in its `list_left` record; before, the log said only "the
condition no longer holds" and the overrides themselves were in no record (found by review).

- `active(conn, keys, at)`: the overrides in force for these parties, oldest first.
- `log(conn, app, key, row, replaced, at)`: the credit record of a new override.
- `left_because(name, policy, overrides)`: the payload of a `list_left`: why the membership ends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.bootstrap import Chengxin
from chengxin.services import lifecycle, list_facts

MANUAL = "manual"  # the policy of a membership an addition imposes (as services.lists.MANUAL)


def active(conn: Connection, keys: Sequence[str] | None, at: datetime) -> dict[str, list[Any]]:
    """The overrides not lifted whose review date (a day in China) is not past, by party, oldest first."""
    o = lt.list_overrides.c
    q = select(lt.list_overrides).where(o.lifted_at.is_(None), o.until >= lifecycle.day_of(at).isoformat())
    out: dict[str, list[Any]] = defaultdict(list)
    for part in list_facts.parts(keys):
        for r in conn.execute((q if part is None else q.where(o.party_key.in_(part))).order_by(o.id)):
            out[r.party_key].append(r)
    return out


def log(conn: Connection, app: Chengxin, key: str, row: dict[str, Any], replaced: list[int], public: bool,
        at: datetime) -> int:
    """Append the credit record of a new override (`row`: its stored values and `id`), about the party's first
    report, as list moves are; returns its log index."""
    from chengxin.services.lists import LISTS_SOURCE

    s = t.subjects.c
    first = conn.execute(select(s.source, s.subject_id).where(s.party_key == key).order_by(
        s.registered_at, s.source, s.subject_id).limit(1)).one()
    payload = {"override": row["id"], "list": row["list"], "action": row["action"], "by": row["by"],
               "reason": row["reason"], "basis": row["basis"], "until": row["until"], "replaces": replaced}
    kind = "list_override" if public else "list_override_private"
    return lifecycle.append_record(conn, app, kind, ("subject", (first.source, first.subject_id)), payload, at,
                                   LISTS_SOURCE, {"party": key, "at": at.isoformat()})


def left_because(name: str, policy: str, overrides: Sequence[Any]) -> dict[str, Any]:
    """Why a membership of `name` by `policy` ends: a removal in force names itself, its reason and basis; an
    addition no longer in force lapsed; otherwise the policy's condition no longer holds."""
    last = next((o for o in reversed(overrides) if o.list == name), None)
    if last is not None and last.action == "remove":
        return {"reason": f"removed by a regulator's override: {last.reason}", "basis": last.basis,
                "override": {"id": last.id, "by": last.by, "reason": last.reason, "until": last.until}}
    if policy == MANUAL and last is None:
        return {"reason": "the regulator's addition lapsed"}
    return {"reason": "the condition no longer holds"}
