"""The credit records of a party or shop: which of them a viewer sees, newest first, paged by log index.

Records are read from the append-only credit log, so a page is addressed by a cursor on the log index
(`before`: records with a smaller index), which stays stable while new records are appended. A sanction record
carries whether its sanction was lifted, and leaves the public view when its disclosure ends
(`domain/disclosure.py`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, or_, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import bound_pair_in, pair_in, pair_params
from chengxin.domain import disclosure
from chengxin.domain import lifecycle as lifecycle_rules
from chengxin.domain.credit import FREE_TEXT, LEAF_VERSION, CreditRecord, leaf_bytes
from chengxin.domain.redact import redact_tree
from chengxin.exc import IntegrityFailure
from chengxin.services import credit_log

# Record kinds the public sees for businesses; complaint *filings* are allegations and stay internal
# until resolved (the outcome is public).
# points_retracted/restored: a confirmed fake order's rating points taken back (or given back on appeal):
# a decided dishonesty record of the shop, public like a sanction
# confirmed: a detection finding a regulator or the reporting platform confirmed, with a reason (services/review.py);
# the machine's `suspected` records and `dismissed` ones are not public
# list_entered: joining a public list (red, black), shown while the membership lasts (services/lists.py);
# commitment_breach: a confirmed record broke a published commitment, shown while that record is public.
# A confirmed record, sanction or breach leaves public view when repaired, expired or overturned
# (services/record_views.py `hidden_credit_records`); the log keeps it.
PUBLIC_KINDS = frozenset({"identity", "licence", "rating", "complaint_outcome", "commitment", "sanction",
                          "sanction_lifted", "inspection", "points_retracted", "points_restored", "confirmed",
                          "list_entered", "commitment_breach"})
SANCTION_KINDS = frozenset({"sanction", "sanction_lifted"})
Ref = tuple[str, str]


def today() -> date:
    """The current date in China (CST), for licence validity and disclosure periods: a period's last day ends
    at midnight in China, not 8 hours later at UTC midnight (found by review)."""
    from chengxin.services import lifecycle

    return lifecycle.today()


@dataclass(frozen=True)
class SanctionState:
    """What decides whether a sanction is public: its disclosure period and its lifting, if any."""

    disclose_until: str | None
    lifted_at: str | None
    lift_reason: str | None
    record_state: str | None = None  # its dishonesty record's (services/lifecycle.py), if one was opened
    record_until: str | None = None

    @property
    def lifted(self) -> dict[str, Any] | None:
        return {"at": self.lifted_at, "reason": self.lift_reason} if self.lift_reason else None

    def public(self, on: date) -> bool:
        shown = None if self.record_state is None else lifecycle_rules.publicly_shown(
            self.record_state, date.fromisoformat(self.record_until) if self.record_until else None, on)
        return disclosure.publicly_disclosed(self.disclose_until, self.lift_reason, on, record_shown=shown)


def credit_records_view(conn: Connection, refs: list[Ref], full: bool, limit: int,
                        before: int | None = None, others: list[Ref] | None = None) -> dict[str, Any]:
    """The credit records about these entities, newest first, at most `limit` with a log index below
    `before`; public kinds and disclosed sanctions only unless `full`. `others`: more entities whose records
    are shown as the public sees them whatever `full` says (another platform's reports of the same party).
    `credit_records_next_before` is the cursor of the next (older) page, None on the last page; the total
    counts every page."""
    groups = [_Group("", refs, full, conn)] + ([_Group("o", others, False, conn)] if others else [])
    states = {k: st for g in groups for k, st in g.states.items()}
    count, page_of = _record_statements(tuple(g.shape for g in groups))
    params: dict[str, Any] = {"before": _NO_CURSOR if before is None else before, "rows": limit + 1}
    for g in groups:
        params.update(g.params)
    total = conn.execute(count, params).scalar_one()
    rows = list(conn.execute(page_of, params))
    head = credit_log.latest_head(conn)
    sanction_of = {idx: key for g in groups for idx, key in g.sanction_of.items()}

    def state(idx: int) -> SanctionState | None:
        key = sanction_of.get(idx)
        return states.get(key) if key else None

    in_full = set(refs) if full else set()  # the others' records are shown as the public sees them
    return {"credit_records": [record_view(r, state(r.idx)) if (r.subject_source, r.subject_id) in in_full
                               else public_record(record_view(r, state(r.idx))) for r in rows[:limit]],
            "credit_records_total": total,
            "credit_records_next_before": rows[limit - 1].idx if len(rows) > limit else None,
            "tree_size": head.size if head else 0}


class _Group:
    """Entities whose records are shown alike (in full, or as the public sees them): their complaints, the
    sanctions shown, the records hidden, and the statement's parameters under `prefix`."""

    def __init__(self, prefix: str, refs: list[Ref], full: bool, conn: Connection) -> None:
        self.sanction_of = sanction_keys_of_records(conn, _sanction_records(conn, refs))
        self.states = sanction_states(conn, [*self.sanction_of.values(), *_sanction_keys_about(conn, refs)])
        shown = self.states if full else {k: s for k, s in self.states.items() if s.public(today())}
        hidden = [] if full else [idx for idx, key in self.sanction_of.items()
                                  if key in self.states and key not in shown] + withdrawn_records(conn, refs)
        complaints = _complaint_ids(conn, refs)
        self.shape = (prefix, len(refs), len(complaints), len(shown), full)
        self.params = {**pair_params(f"{prefix}r", refs), **pair_params(f"{prefix}c", complaints),
                       **pair_params(f"{prefix}k", list(shown)), f"{prefix}hidden": hidden}


def withdrawn_records(conn: Connection, refs: list[Ref]) -> list[int]:
    """Log indexes the public no longer sees: records repaired, expired or overturned, list entries whose
    membership ended, and point retractions whose finding is no longer disclosed."""
    from chengxin.services import lifecycle, list_views, point_disclosure, record_views

    on = lifecycle.today()
    return record_views.hidden_credit_records(conn, refs, on) + list_views.ended_list_records(conn, refs) + \
        point_disclosure.hidden_point_changes(conn, refs, on)


_NO_CURSOR = 1 << 62  # `before` when there is none: above every log index


@lru_cache(maxsize=512)
def _record_statements(shapes: tuple[tuple[str, int, int, int, bool], ...]) -> tuple[Any, Any]:
    """The count and page statements for one shape of credit file, built once (see query.bound_pair_in):
    the records of each group of entities (`_Group.shape`), any of them."""
    cr = t.credit_records
    cond = or_(*(_group_cond(*shape) for shape in shapes))
    count = select(func.count()).select_from(cr).where(cond)
    page = select(cr).where(cond & (cr.c.idx < bindparam("before"))).order_by(cr.c.idx.desc()) \
        .limit(bindparam("rows"))
    return count, page


def _group_cond(prefix: str, refs: int, complaints: int, sanctions: int, full: bool) -> Any:
    """Records about the entities themselves, the complaints against them, and the liftings of their shown
    sanctions; the public sees public kinds only, and not the sanctions whose disclosure has ended."""
    cr = t.credit_records
    src, sid = cr.c.subject_source, cr.c.subject_id
    cond: Any = cr.c.subject_kind.in_(("subject", "shop", "party")) & bound_pair_in(src, sid, f"{prefix}r", refs)
    if complaints:
        cond = or_(cond, (cr.c.subject_kind == "complaint") & bound_pair_in(src, sid, f"{prefix}c", complaints))
    if sanctions:
        cond = or_(cond, (cr.c.subject_kind == "sanction") & bound_pair_in(src, sid, f"{prefix}k", sanctions))
    if not full:
        cond = cond & cr.c.kind.in_(sorted(PUBLIC_KINDS)) & cr.c.idx.not_in(bindparam(f"{prefix}hidden",
                                                                                      expanding=True))
    return cond


@lru_cache(maxsize=64)
def _complaints_stmt(n: int) -> Any:
    c = t.complaints
    return select(c.c.source, c.c.complaint_id).where(bound_pair_in(c.c.target_source, c.c.target_id, "r", n))


def _complaint_ids(conn: Connection, refs: list[Ref]) -> list[Ref]:
    return [(r.source, r.complaint_id) for r in conn.execute(_complaints_stmt(len(refs)), pair_params("r", refs))]


@lru_cache(maxsize=64)
def _sanctions_about_stmt(n: int) -> Any:
    s = t.sanctions
    return select(s.c.source, s.c.sanction_id).where(bound_pair_in(s.c.subject_source, s.c.subject_id, "r", n))


def _sanction_keys_about(conn: Connection, refs: list[Ref]) -> list[Ref]:
    rows = conn.execute(_sanctions_about_stmt(len(refs)), pair_params("r", refs))
    return [(r.source, r.sanction_id) for r in rows]


@lru_cache(maxsize=64)
def _sanction_records_stmt(n: int) -> Any:
    cr = t.credit_records
    return select(cr.c.idx, cr.c.kind, cr.c.event_source, cr.c.event_id).where(
        cr.c.kind == "sanction", cr.c.subject_kind == "subject",
        bound_pair_in(cr.c.subject_source, cr.c.subject_id, "r", n))


def _sanction_records(conn: Connection, refs: list[Ref]) -> list[Any]:
    return list(conn.execute(_sanction_records_stmt(len(refs)), pair_params("r", refs)))


def sanction_keys_of_records(conn: Connection, rows: Iterable[Any]) -> dict[int, Ref]:
    """The sanction, (source, sanction_id), each `sanction` record imposed; read from its event as received,
    so a record stays tied to its sanction even after a later event corrected the sanction."""
    wanted = {(r.event_source, r.event_id): r.idx for r in rows if r.kind == "sanction"}
    if not wanted:
        return {}
    e = t.events
    found = conn.execute(select(e.c.source, e.c.event_id, e.c.body).where(
        pair_in(e.c.source, e.c.event_id, list(wanted))))
    return {wanted[(r.source, r.event_id)]: (r.source, str(orjson.loads(r.body)["data"]["sanction_id"]))
            for r in found}


def sanction_states(conn: Connection, keys: Iterable[Ref]) -> dict[Ref, SanctionState]:
    """Disclosure period and lifting of each sanction."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    from chengxin.services.lifecycle import SEP

    s, lift, d = t.sanctions, t.sanction_lifts, lt.dishonesty_records
    q = select(s.c.source, s.c.sanction_id, s.c.disclose_until, lift.c.at, lift.c.reason, d.c.state,
               d.c.disclose_until.label("record_until")).outerjoin(
        lift, (lift.c.source == s.c.source) & (lift.c.sanction_id == s.c.sanction_id),
    ).outerjoin(d, d.c.record_key == (f"sanction{SEP}" + s.c.source + SEP + s.c.sanction_id)).where(
        pair_in(s.c.source, s.c.sanction_id, wanted))
    return {(r.source, r.sanction_id): SanctionState(r.disclose_until, r.at, r.reason, r.state, r.record_until)
            for r in conn.execute(q)}


def sanction_state_of(conn: Connection, row: Any) -> SanctionState | None:
    """The sanction a `sanction` record imposed or a `sanction_lifted` record lifted (None for other records,
    or when the sanction is not known)."""
    if row.kind == "sanction_lifted":
        key: Ref | None = (row.subject_source, row.subject_id)
    else:
        key = sanction_keys_of_records(conn, [row]).get(row.idx)
    return sanction_states(conn, [key]).get(key) if key else None


def record_view(r: Any, sanction: SanctionState | None = None) -> dict[str, Any]:
    """One credit record as served; a `sanction` record says whether its sanction was lifted.

    It carries every field its leaf covers (`leaf_version`, `event.hash`) and the leaf's exact bytes
    (`leaf_bytes`, base64), so anyone can hash the record they were shown: a verifier in JavaScript cannot
    re-encode a float's canonical JSON (`1.0` parses to 1), but it can check that the bytes parse to the
    record and hash to the proven leaf (docs/credit-log.md "Leaves")."""
    payload = _payload(r)
    view = {"index": r.idx, "kind": r.kind, "at": r.at, "payload": payload,
            "subject": {"kind": r.subject_kind, "source": r.subject_source, "id": r.subject_id},
            "event": {"source": r.event_source, "id": r.event_id, "hash": r.event_hash},
            "leaf_version": LEAF_VERSION, "leaf_bytes": base64.b64encode(leaf_of(r, payload)).decode()}
    if r.kind == "sanction":
        view["lifted"] = sanction.lifted if sanction else None
    return view


def leaf_of(r: Any, payload: Any = None) -> bytes:
    """The leaf bytes of a stored record row, recomputed from its columns (not the stored leaf hash): what
    a served record is checked against."""
    record = CreditRecord(r.kind, r.subject_kind, (r.subject_source, r.subject_id), (r.event_source, r.event_id),
                          r.at, _payload(r) if payload is None else payload)
    try:
        return leaf_bytes(r.idx, record, r.event_hash)
    except (TypeError, ValueError) as e:  # a column no append writes (SQLite keeps any type)
        raise IntegrityFailure(f"credit record {r.idx} does not encode as a leaf ({e}); "
                               "run `chengxin audit verify`") from None


def _payload(r: Any) -> Any:
    try:
        return orjson.loads(r.payload)
    except (TypeError, orjson.JSONDecodeError) as e:
        raise IntegrityFailure(f"credit record {r.idx} has a payload that is not JSON ({e}); "
                               "run `chengxin audit verify`") from None


def public_payload(payload: Any) -> Any:
    """A record's payload as the public reads it: a regulator's decision (`decided_by` of a review or a verdict,
    `by` of a list entry) says `regulator`, not `regulator:<key id>` (the prefix of the key's secret) nor the CLI
    officer's name (found by review); phone, resident ID and bank card numbers in its free text (`FREE_TEXT`)
    are masked (`domain/redact.py`: an owner's phone quoted in a decision's reason was published, found by
    review). Records logged since `credit.logged_payload` have their numbers masked in the log itself; this
    masks those logged before."""
    if not isinstance(payload, dict):
        return payload
    return {k: "regulator" if _regulators(k, v) else redact_tree(v) if k in FREE_TEXT else v
            for k, v in payload.items()}


def public_record(view: dict[str, Any]) -> dict[str, Any]:
    """A record in the credit file as the public reads it (`public_payload`). Only the view: the log keeps what
    was hashed, and the regulator and the reporting platform see that (a key id, an officer's name, and in
    records logged before `credit.logged_payload` the personal numbers in free text).

    A record the masking changed names its masked fields (`masked`) and comes without `leaf_bytes`: the leaf
    holds what was logged, the key id or the number, which the public does not see (docs/security.md, "What
    the public sees of a logged record"). Its page proves the leaf's hash is in the log, and the server that
    the record is that leaf (`records.record_with_proof`)."""
    payload = view.get("payload")
    shown = public_payload(payload)
    if shown == payload or not isinstance(payload, dict):
        return view
    masked = sorted(k for k in payload if shown[k] != payload[k])
    return {**{k: v for k, v in view.items() if k != "leaf_bytes"}, "payload": shown, "masked": masked}


def _regulators(key: str, value: Any) -> bool:
    return key in ("decided_by", "by") and isinstance(value, str) and value.startswith("regulator:")
