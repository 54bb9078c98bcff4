"""The scoring queue: what ingestion marks stale in ratings and scores (`marks_of`, `queue`: a rating's pair; an
order whose payment, completion or verdict changed; a party; an entity resolved to its party when settled), in
the batch's own transaction, and how a drain looks at it, takes marks and deletes them once settled.

Neighbours: `services/standing.py` (the overview), `services/standing_drain.py` settles the marks,
`services/standing_touched.py` says what a mark names (pairs, orders, parties).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, bindparam, cast, delete, exists, literal, select

from chengxin.adapters.db import bulk, direct
from chengxin.adapters.db import standing_tables as st
from chengxin.domain.projection import Fact
from chengxin.services import trade

Ref = tuple[str, str]
Pair = tuple[Ref, Ref]  # (target, author)


# --- marking (inside the ingest transaction) ------------------------------------------------------------
# table -> (queue kind, columns naming what the fact touches): a pair of a rating; an order (its ratings,
# its shop's and buyer's parties); a party (subject or shop); an entity resolved to its party at drain time
_MARKS: dict[str, tuple[str, str, str]] = {
    "order_updates": ("order", "order_source", "order_id"), "orders": ("order", "source", "order_id"),
    "shipments": ("order", "order_source", "order_id"), "returns": ("order", "order_source", "order_id"),
    "return_resolutions": ("return", "source", "return_id"),
    "complaints": ("party", "target_source", "target_id"),
    "complaint_resolutions": ("complaint", "source", "complaint_id"),
    "sanctions": ("party", "subject_source", "subject_id"), "sanction_lifts": ("sanction", "source", "sanction_id"),
    "licences": ("party", "subject_source", "subject_id"), "commitments": ("party", "subject_source", "subject_id"),
    "subjects": ("party", "source", "subject_id"), "shops": ("party", "source", "shop_id"),
    "shop_closures": ("party", "source", "shop_id"),
}


def marks_of(facts: Iterable[Fact]) -> list[tuple[str, str, str, str, str]]:
    """The `scoring_queue` rows these facts call for (what they make stale), each once. No database: a bulk
    load's second process builds them; ingestion `queue`s them in the batch's own transaction."""
    rows: dict[tuple[str, str, str, str, str], None] = {}
    for f in facts:
        v = f.values
        if f.table == "reviews":
            if v["target_id"] is not None and v["author_id"] is not None:
                rows[("pair", v["target_source"], v["target_id"], v["author_source"], v["author_id"])] = None
        elif f.table == "shipment_scans":  # a signature delivers the parcel: its order's figures change
            if v.get("signed_by") is not None and v.get("shipment_id") is not None:
                rows[("shipment", v["shipment_source"], v["shipment_id"], "", "")] = None
        elif (how := _MARKS.get(f.table)) is not None and v.get(how[2]) is not None:
            rows[(how[0], v[how[1]], v[how[2]], "", "")] = None
    return list(rows)


def queue(conn: Connection, rows: list[tuple[str, str, str, str, str]]) -> None:
    assert bulk.columns("scoring_queue") == ("kind", "a_source", "a_id", "b_source", "b_id")
    bulk.insert_or_ignore_tuples(conn, "scoring_queue", rows)


# --- taking marks (a drain: services/standing_drain.py) ----------------------------------------------------
class Mark(NamedTuple):
    """A row of `scoring_queue`: what is stale (`kind`) and its reference (a pair's second one in `b_*`)."""
    kind: str
    a_source: str
    a_id: str
    b_source: str
    b_id: str


class BulkBacklog(Exception):
    """The first transaction of a drain found more marks than its `rebuild_beyond`: rolled back, for a rebuild."""


def queued(conn: Connection, most: int, skip: set[tuple[Any, ...]]) -> int:
    """How many marks are queued, up to `most`, not counting those set aside."""
    if not skip:
        return len(direct.rows(conn, _PEEK, {"n": most}))
    return len([m for m in direct.rows(conn, _TAKE, {"n": most + len(skip)}) if tuple(m) not in skip][:most])


def take(conn: Connection, size: int, skip: set[tuple[Any, ...]], most: int | None) -> tuple[list[Any], bool]:
    """The next `size` marks, not those set aside (they stay queued: as many more are taken, and left), and
    whether any mark's failures are counted (`scoring_failures`); `BulkBacklog` when `most` or more are queued
    besides those. Whether the kept figures are built comes with them (`trade.built`, asked by the recount,
    the figures and the profiles), and so does the failures' flag: no statement of their own."""
    found = direct.rows(conn, _TAKE_NOTING, {"n": max(size, most or 0) + len(skip)})
    if found:
        trade.note_built(conn, bool(found[0][-2]))
    marks = [m for m in (Mark(*r[:-2]) for r in found) if not skip or tuple(m) not in skip]
    if most is not None and len(marks) >= most:
        raise BulkBacklog
    return marks[:size], bool(found and found[0][-1])


def unmark(conn: Connection, marks: Iterable[Any]) -> None:
    """Delete these marks from the queue (in the transaction that did the work they asked for)."""
    for m in marks:
        direct.execute(conn, _UNMARK, dict(zip(_QUEUE_KEY, m, strict=True)))


# The queue's statements, built once (`adapters/db/direct.py`: a lone event's step is ~20 small statements)
_QUEUE_KEY = ("kind", "a_source", "a_id", "b_source", "b_id")
_PEEK = select(st.scoring_queue.c.kind).limit(bindparam("n"))
_TAKE = select(*(st.scoring_queue.c[k] for k in _QUEUE_KEY)).limit(bindparam("n"))
_TAKE_NOTING = _TAKE.add_columns(cast(exists().where(st.trade_state.c.name == "trade"), Integer),  # integers:
                                  cast(select(literal(1)).select_from(st.scoring_failures).exists(), Integer))
# a boolean needs SQLAlchemy's processing on SQLite (adapters/db/direct.py)
_UNMARK = delete(st.scoring_queue).where(*(st.scoring_queue.c[k] == bindparam(k) for k in _QUEUE_KEY))
