"""Queue marks are inserted once: a key already queued, or twice in one batch, is skipped (both databases)."""

from __future__ import annotations

from sqlalchemy import select

from chengxin.adapters.db import bulk
from chengxin.adapters.db import findings as fd
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin


def test_the_queues_take_tuples_in_the_order_their_writers_build() -> None:
    assert bulk.columns("scoring_queue") == ("kind", "a_source", "a_id", "b_source", "b_id")
    assert bulk.columns("live_queue") == ("shipment_source", "shipment_id", "marked_at")
    assert bulk.columns("live_price_queue") == ("product_source", "product_id", "marked_at")


def test_insert_or_ignore_keeps_the_first_mark_of_each_key(app: Chengxin) -> None:
    with write_transaction(app.engine) as conn:
        bulk.insert_or_ignore_tuples(conn, "live_queue", [("P1", "W1", "t1"), ("P1", "W2", "t1")])
    with write_transaction(app.engine) as conn:  # one already there, one twice in the batch, one new
        bulk.insert_or_ignore_tuples(conn, "live_queue", [("P1", "W1", "t2"), ("P1", "W3", "t2"),
                                                          ("P1", "W3", "t3")])
        bulk.insert_or_ignore_tuples(conn, "scoring_queue", [("order", "P1", "O1", "", ""),
                                                             ("order", "P1", "O1", "", "")])
        bulk.insert_or_ignore_tuples(conn, "scoring_queue", [])
    with read_connection(app.engine) as conn:
        live = sorted(tuple(r) for r in conn.execute(select(fd.live_queue)))
        queued = [tuple(r) for r in conn.execute(select(st.scoring_queue))]
    assert live == [("P1", "W1", "t1"), ("P1", "W2", "t1"), ("P1", "W3", "t2")]
    assert queued == [("order", "P1", "O1", "", "")]
