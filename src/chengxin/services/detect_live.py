"""Live detection at ingestion (issue 5): a new empty parcel is flagged within seconds, not at the next full run.

- `mark(conn, facts)`: ingestion queues each shipment whose delivery (or whose waybill) arrived in the batch,
  in the batch's own transaction.
- `drain(app)`: reads the queued shipments' waybills from the store (a few indexed lookups: the shipments,
  their orders and scans, the products' categories, the other orders on the same tracking numbers), reads
  them with the empty-parcel detector's per-order tells (`domain/detection/empty_parcel.read_live`) using the
  typical unit weights the last full `chengxin detect` learnt (`detector_state`), stores the findings as a
  `live-...` run and publishes them to the review queue (suspected records; a person decides). Roll-ups per
  shop, courier and carrier need the whole population and come with the next full run; the review queue does
  not queue the same order twice.

A drain reads outside the write lock, so data may arrive for a shipment while it is being read: marking it
again moves its `marked_at`, and the drain deletes only the marks whose `marked_at` is still the one it read,
so the next drain reads the shipment again with what arrived (the late waybill's mark was ignored, and the
drain deleted it: the parcel was never read live; found by review).

A backlog beyond `LIVE_MAX` (a bulk load) is read by the full detector instead (`_defer`): the marks it covers
are deleted after it has run, never before, so a failed run or a crash leaves them for the next drain.

Ingestion drains after each load; `chengxin serve`'s scorer process drains continuously.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, func, select, update

from chengxin.adapters.db import bulk, upsert
from chengxin.adapters.db import findings as fd
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.query import pair_in
from chengxin.bootstrap import Chengxin
from chengxin.domain.detection import empty_parcel as EP
from chengxin.services import waybills as WB
from chengxin.services.credit_log import now_utc

Ref = tuple[str, str]
DETECTOR = "empty_parcel"
BATCH = 2000   # shipments per drain pass
LIVE_MAX = 20_000  # a bigger backlog (a bulk load) is a backfill: the full run reads it, with its roll-ups
_CHUNK = 200   # pairs per OR-list query


Marks = tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]  # live_queue rows, live_price_queue rows


def marks_of(facts: Iterable[Any], now: str) -> Marks:
    """The shipments of a batch that were delivered, or whose waybill arrived (it may follow its delivery:
    events come in any order), and the products whose price points arrived, as queue rows marked at `now`.
    No database: a bulk load's second process builds them; ingestion `queue`s them with the batch."""
    facts = list(facts)
    refs = {(f.values["shipment_source"], f.values["shipment_id"]) for f in facts
            if f.table == "shipment_scans" and f.values.get("signed_by") and f.values.get("shipment_id")}
    refs |= {(f.values["source"], f.values["shipment_id"]) for f in facts if f.table == "shipments"}
    products = {(f.values["product_source"], f.values["product_id"]) for f in facts
                if f.table == "price_points" and f.values.get("product_id")}
    # (source, id, marked_at): the queues' column order, checked in tests/integration/test_marks.py
    return [(s, i, now) for s, i in refs], [(s, i, now) for s, i in products]


def queue(conn: Connection, parcels: list[tuple[str, str, str]], prices: list[tuple[str, str, str]]) -> None:
    """Queue the marks, or mark again those queued: their `marked_at` becomes the new one (see the module).
    As many statements as an insert that ignores what is there: one per mark, pipelined, or on PostgreSQL
    a `COPY` and one `INSERT ... SELECT` for a bulk load's many."""
    for table, rows in (("live_queue", parcels), ("live_price_queue", prices)):
        if not rows:
            continue
        if conn.dialect.name == "postgresql" and len(rows) >= bulk.COPY_FROM:
            create, copy, move = _stage_sql(table)
            conn.exec_driver_sql(create)
            bulk.copy_rows(conn, copy, rows)
            conn.exec_driver_sql(move)
        else:
            bulk.executemany(conn, _remark_sql(table, conn.dialect.name), rows)


def _remark_sql(table: str, dialect: str) -> str:
    sql, _ = bulk.insert_sql(table, dialect)
    key, at = _queue_key(table)
    return f"{sql} ON CONFLICT ({key}) DO UPDATE SET {at} = excluded.{at}"


def _stage_sql(table: str) -> tuple[str, str, str]:
    """PostgreSQL: the staging table (`adapters/db/bulk.py`'s, which a group commit may fill more than once in
    one transaction), the `COPY` into it and the move, the newest mark of each key winning."""
    stage, cols = f"cx_stage_{table}", ", ".join(bulk.columns(table))
    key, at = _queue_key(table)
    return (f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS",
            f"COPY {stage} ({cols}) FROM STDIN",
            f"INSERT INTO {table} ({cols}) SELECT DISTINCT ON ({key}) {cols} FROM {stage} ORDER BY {key}, {at} DESC "
            f"ON CONFLICT ({key}) DO UPDATE SET {at} = excluded.{at}")


def _queue_key(table: str) -> tuple[str, str]:
    cols = bulk.columns(table)
    assert cols[2] == "marked_at", cols  # (source, id, marked_at)
    return f"{cols[0]}, {cols[1]}", cols[2]


def save_state(conn: Connection, run_id: str, typical: EP.Typical) -> None:
    """Keep what a full run learnt for the live reader (called by `services/detect.py`)."""
    upsert.insert_or_update(conn, fd.detector_state, [{"detector": DETECTOR, "run_id": run_id,
                                                       "created_at": now_utc(),
                                                       "state": orjson.dumps(typical.as_state()).decode()}])


def drain(app: Chengxin, publish: bool = True) -> dict[str, Any] | None:
    """Read the queued shipments and products; store and publish what they flag. None when both queues are
    empty."""
    parcels, prices = _until_empty(drain_parcels, app, publish), _until_empty(drain_prices, app, publish)
    if not parcels and not prices:
        return None
    return {"empty_parcel": parcels, "price_fraud": prices}


def _until_empty(step: Any, app: Chengxin, publish: bool) -> list[dict[str, Any]]:
    """Drain a queue in passes of BATCH entries until it is empty."""
    passes = []
    while (done := step(app, publish)) is not None:
        passes.append(done)
    return passes


def drain_prices(app: Chengxin, publish: bool = True) -> dict[str, Any] | None:
    """Products whose price points arrived, read against their own history (the full detector's own test:
    a list price raised shortly before a "discount" that leaves the offer where it was)."""
    from chengxin.domain.detection import price_fraud as PF
    from chengxin.services import detect

    q, pp, p = fd.live_price_queue.c, t.price_points.c, t.products.c
    with read_connection(app.engine) as conn:
        backlog = conn.execute(select(func.count()).select_from(fd.live_price_queue)).scalar_one()
        if backlog > LIVE_MAX:
            return _defer(app, backlog, "price_fraud", fd.live_price_queue)
        marks = [tuple(r) for r in conn.execute(
            select(q.product_source, q.product_id, q.marked_at).order_by(q.marked_at).limit(BATCH))]
        refs = [(s, i) for s, i, _ in marks]
        if not refs:
            return None
        points: dict[Ref, list[tuple[float, int, int]]] = defaultdict(list)
        shops: dict[Ref, tuple[Ref | None, str]] = {}
        for i in range(0, len(refs), _CHUNK):
            part = refs[i:i + _CHUNK]
            for src, pid, at, lp, price in conn.execute(select(pp.product_source, pp.product_id, pp.at,
                                                               pp.list_price, pp.price).where(
                    pair_in(pp.product_source, pp.product_id, part))):
                points[(src, pid)].append((WB.epoch(at), int(lp), int(price)))
            for src, pid, s_src, s_id, cat in conn.execute(select(p.source, p.product_id, p.shop_source,
                                                                  p.shop_id, p.category).where(
                    pair_in(p.source, p.product_id, part))):
                shops[(src, pid)] = ((s_src, s_id) if s_id else None, cat)
    data = PF.Prices([PF.Product(ref, *shops.get(ref, (None, "?")),
                                 tuple(PF.Point(at, lp, pr) for at, lp, pr in sorted(points[ref])))
                      for ref in sorted(points)])
    found = PF.detect(data, detect.rules().price_fraud)
    return _store(app, "price_fraud", found, fd.live_price_queue, marks, publish)


def _store(app: Chengxin, detector: str, found: list[Any], queue: Any, marks: list[tuple[str, str, str]],
           publish: bool) -> dict[str, Any]:
    """Store the findings as a live run, publish them to the review queue and delete the marks read, in one
    transaction: stored and unmarked, then published in a second, a crash between left them unpublished for
    good (a plain `review.publish` reads full runs only; found by review)."""
    from chengxin.services import review_publish

    run_id = f"{fd.LIVE_PREFIX}{uuid.uuid4().hex[:12]}"  # never taken for the detector's newest run
    published = None
    with write_transaction(app.engine) as conn:
        if found:
            fd.insert_findings(conn, found, detector=detector, run_id=run_id)
            if publish:
                published = review_publish.publish_in(conn, app, now_utc(), run_id)
        conn.execute(_unmark(queue), [{"s": s, "i": i, "at": at} for s, i, at in marks])
    return {"read": len(marks), "flagged": len(found), "run_id": run_id, "review": published}


def _unmark(queue: Any) -> Any:
    """Delete a mark read at `at`: one marked again since (newer data) stays for the next drain."""
    source, key, at = (queue.c[c] for c in bulk.columns(queue.name))
    return delete(queue).where(source == bindparam("s"), key == bindparam("i"), at == bindparam("at"))


def drain_parcels(app: Chengxin, publish: bool = True) -> dict[str, Any] | None:
    """Read the queued shipments; store and publish the flagged orders. None when the queue is empty."""
    from chengxin.services import detect

    q = fd.live_queue.c
    with read_connection(app.engine) as conn:
        backlog = conn.execute(select(func.count()).select_from(fd.live_queue)).scalar_one()
        if backlog > LIVE_MAX:
            return _defer(app, backlog, DETECTOR, fd.live_queue)
        marks = [tuple(r) for r in conn.execute(
            select(q.shipment_source, q.shipment_id, q.marked_at).order_by(q.marked_at).limit(BATCH))]
        refs = [(s, i) for s, i, _ in marks]
        if not refs:
            return None
        waybills = WB.by_shipments(conn, refs)
        categories = WB.categories_of(conn, list({p for w in waybills for p, _ in w.items}))
        others = WB.others(conn, waybills)  # as the full run counts them: shipments of stored orders
        typical = _typical(conn, categories)
    found = EP.read_live(waybills, typical, others, detect.rules().empty_parcel)
    done = _store(app, DETECTOR, found, fd.live_queue, marks, publish)
    return {**done, "waybills": len(waybills), "typical": typical is not None}


def _defer(app: Chengxin, backlog: int, detector: str, queue: Any) -> dict[str, Any]:
    """A backfill: run the full detector once (findings published as usual), then delete the marks it covered.

    The queue was deleted first, then the detector run: one that failed, or a process that died during the
    run (a bulk load's, minutes long), lost the backlog for good, and its parcels were never read (found by
    review). Now the marks are claimed first: in one write transaction, every mark queued by then gets the
    claim's time as its `marked_at`. A mark stored after the claim (another load, or data for a claimed
    shipment, which marks it again and so moves its `marked_at`) keeps its own, and stays for the next drain;
    after the run, only the marks still claimed are deleted. A claim rather than "marked at or before the run's
    start": `marked_at` is stamped when a batch is prepared, before it waits for the write lock (in a bulk
    load's second process, a batch earlier), so a batch prepared before the run and committed after the
    detector read its tables had marks dated before the start that the run never saw. A crash at any point
    leaves every mark (claimed ones look merely older), and the next drain defers or reads them again."""
    from chengxin.services.detect import detect

    at = queue.c[bulk.columns(queue.name)[2]]
    with write_transaction(app.engine) as conn:  # writers wait: every mark stored so far is in the claim
        claim = now_utc()
        conn.execute(update(queue).values({at: claim}))
    run = detect(app, only=[detector])
    with write_transaction(app.engine) as conn:
        conn.execute(delete(queue).where(at == claim))
    return {"read": backlog, "deferred_to_full_run": run.run_id, "flagged": len(run.findings),
            "review": run.review}


def _typical(conn: Connection, categories: dict[Ref, str]) -> EP.Typical | None:
    row = conn.execute(select(fd.detector_state.c.state).where(fd.detector_state.c.detector == DETECTOR)).scalar()
    return EP.Typical.from_state(orjson.loads(row), categories) if row else None
