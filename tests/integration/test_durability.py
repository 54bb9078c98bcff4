"""Which commits wait for the disk (both databases): every write but the scorer's, whose transactions hold
only derived data; the credit log never commits without waiting, and a scorer's chunk that would append to it
is redone durably."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from tests.conftest import ingest_text
from tests.integration.test_scoring import Feed, P, ledger, points

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import NotDurable, read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord
from chengxin.services import audit, credit_log, standing
from chengxin.services.ingest import ingest, read_lines


def _setting(conn: Any) -> str:
    """What the open transaction's commit will do: SQLite's `synchronous` level, PostgreSQL's setting."""
    if conn.dialect.name == "sqlite":
        return {1: "NORMAL", 2: "FULL"}[conn.exec_driver_sql("PRAGMA synchronous").scalar()]
    return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())


def test_only_a_transaction_that_asks_commits_without_waiting_and_the_next_one_waits_again(app: Chengxin) -> None:
    durable, derived = ("FULL", "NORMAL") if app.engine.dialect.name == "sqlite" else ("on", "off")
    seen = []
    for how in (True, False, True, False):
        with write_transaction(app.engine, durable=how) as conn:
            seen.append(_setting(conn))
        with read_connection(app.engine) as conn:  # a pooled connection is handed on as it should be
            seen.append(_setting(conn))
    with app.engine.begin() as conn:  # a writer that does not go through write_transaction
        seen.append(_setting(conn))
    assert seen == [durable, durable, derived, durable, durable, durable, derived, durable, durable]


def test_the_credit_log_refuses_a_transaction_that_does_not_wait_and_nothing_of_it_lands(app: Chengxin) -> None:
    record = CreditRecord("identity_flag", "subject", (P, "M1"), (P, "e-1"), "2026-03-01T00:00:00Z", {})
    with pytest.raises(NotDurable), write_transaction(app.engine, durable=False) as conn:
        conn.execute(insert(st.scoring_queue).values(kind="party", a_source=P, a_id="M1", b_source="",
                                                     b_id=""))
        credit_log.append(conn, app.keys, app.settings.log_origin, [(record, "00" * 32)])
    with read_connection(app.engine) as conn:
        assert conn.execute(select(t.log_state.c.size)).scalar_one() == 0
        assert conn.execute(select(st.scoring_queue)).first() is None  # rolled back whole


def test_the_scorer_commits_without_waiting_for_the_disk(app: Chengxin) -> None:
    ingest(app, read_lines("t", Feed().parties().order("O1", "2026-03-02").text().encode().splitlines()),
           origin="t", defer=True)  # stored and marked, not yet scored
    with recorded(app) as statements:
        standing.drain(app)
    assert points(app) == 1
    if app.engine.dialect.name == "sqlite":  # its level is set before its BEGIN (not allowed after)
        assert statements[statements.index("BEGIN IMMEDIATE") - 1] == "PRAGMA synchronous=NORMAL"
    else:
        assert "SET LOCAL synchronous_commit TO OFF" in statements


@contextmanager
def recorded(app: Chengxin) -> Iterator[list[str]]:
    """The statements run on the engine's connections meanwhile: SQLite's own trace (it sees what is run on
    the driver's connection directly), else what SQLAlchemy's cursor runs."""
    seen: list[str] = []

    def checkout(dbapi: Any, _record: Any, _proxy: Any) -> None:
        dbapi.set_trace_callback(seen.append)

    def cursor(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    sqlite = app.engine.dialect.name == "sqlite"
    name, listener = ("checkout", checkout) if sqlite else ("before_cursor_execute", cursor)
    event.listen(app.engine, name, listener)
    try:
        yield seen
    finally:
        event.remove(app.engine, name, listener)


def test_a_scorer_chunk_that_would_append_to_the_credit_log_is_redone_durably(app: Chengxin) -> None:
    ingest_text(app, Feed().parties().order("O1", "2026-03-02").order("O2", "2026-05-02").text())
    assert points(app) == 2
    # a verdict stored without its recount (as an older version did): the scorer's next recount of the order
    # takes its points back, which is a credit record
    with write_transaction(app.engine) as conn:
        conn.execute(insert(st.order_verdicts).values(
            order_source=P, order_id="O2", verdict="fake", decided_by="regulator:test",
            decided_at="2026-06-01T00:00:00.000000Z", reason="never shipped", basis=None))
        conn.execute(insert(st.scoring_queue).values(kind="order", a_source=P, a_id="O2", b_source="", b_id=""))
    done = standing.drain(app)
    assert done["pairs"] == 1 and points(app) == 1 and ledger(app)["RO2"] == (0, "retracted_fake_order")
    with read_connection(app.engine) as conn:
        kinds = [k for (k,) in conn.execute(select(t.credit_records.c.kind))]
        assert conn.execute(select(st.scoring_queue)).first() is None
    assert "points_retracted" in kinds and audit.verify(app).ok
