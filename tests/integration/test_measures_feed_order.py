"""The measures feed's cursor (`measure_changes.seq`) becomes visible in order on every backend: a poller that
follows `next` never passes a change by. On PostgreSQL two transactions could take seq 10 and 11 and commit 11
first; they cannot, because every writer holds the writers' lock (the `log_state` row) from its first
statement to its commit, and the feed's writer refuses a transaction that does not (`require_serialised`)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, event, func, select, text, update
from sqlalchemy.exc import OperationalError
from tests.integration.test_lists import REGULATOR, RING_S2, confirm

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import NotSerialised, read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import list_views, lists


def _row(key: str) -> dict[str, Any]:
    return {"party_key": key, "subject_source": "urn:cx:platform:P1", "subject_id": key,
            "at": "2026-05-01T00:00:00.000000Z", "measures": "{}", "added": "[]", "removed": "[]", "cause": "[]"}


def _poll(cx: Chengxin, cursor: str | None, seen: list[int]) -> str | None:
    page = list_views.changes(cx, REGULATOR, cursor)
    seen += [c["seq"] for c in page["changes"]]
    return page["next"]


def test_a_later_writer_s_change_never_shows_before_an_earlier_one_s(app: Chengxin) -> None:
    """Writer 1 takes its seq and holds its transaction open; writer 2 starts meanwhile. A poller reading
    in between, then after both committed, must have read both changes, in seq order."""
    inserted1, release1, inserted2 = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with write_transaction(app.engine) as conn:
                conn.execute(lt.measure_changes.insert(), [_row("K1")])
                inserted1.set()
                release1.wait(10)
        except BaseException as e:  # reported by the test thread
            errors.append(e)

    def second() -> None:
        try:
            with write_transaction(app.engine) as conn:
                conn.execute(lt.measure_changes.insert(), [_row("K2")])
            inserted2.set()  # and committed
        except BaseException as e:
            errors.append(e)

    one, two = threading.Thread(target=first), threading.Thread(target=second)
    one.start()
    try:
        assert inserted1.wait(10)
        two.start()
        overtook = inserted2.wait(1.0)  # writer 2 queues behind writer 1: it cannot insert, let alone commit
        seen: list[int] = []
        cursor = _poll(app, None, seen)  # a platform polls while writer 1 is still open
    finally:
        release1.set()
        one.join(10)
        if two.ident is not None:  # started
            two.join(10)
    assert not errors, errors
    cursor = _poll(app, cursor, seen)  # and polls again from its cursor after both committed
    with read_connection(app.engine) as conn:
        c = lt.measure_changes.c
        stored = [(r.seq, r.party_key) for r in conn.execute(select(c.seq, c.party_key).order_by(c.seq))]
    assert [k for _, k in stored] == ["K1", "K2"]  # seq in the order the writers started
    assert seen == [s for s, _ in stored], "the poller passed a change by"
    assert not overtook


@contextmanager
def _probe(cx: Chengxin) -> Iterator[Any]:
    """A function saying whether another transaction could take the writers' lock now (it must not, while a
    writer inserts feed rows), on a connection of its own."""
    if cx.engine.dialect.name == "postgresql":
        other = create_engine(cx.engine.url.render_as_string(hide_password=False))

        def free() -> bool:
            try:
                with other.connect() as conn, conn.begin():
                    conn.execute(text("SELECT size FROM log_state WHERE id = 1 FOR UPDATE NOWAIT"))
                return True
            except OperationalError as e:
                assert getattr(e.orig, "sqlstate", None) == "55P03", e  # lock_not_available
                return False

        yield free
        other.dispose()
        return
    path = cx.engine.url.database

    def free_sqlite() -> bool:
        conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError as e:
            assert "locked" in str(e), e
            return False
        finally:
            conn.close()

    yield free_sqlite


def test_every_feed_row_is_written_while_its_writer_holds_the_writers_lock(sample_app: Chengxin) -> None:
    """Through the real writers: at each INSERT into measure_changes, another transaction cannot take the
    writers' lock. A list move appends a credit record first (which updates `log_state` too); a full
    evaluation that finds a party's measures changed with the policy file writes a feed row and nothing else,
    so there only the writers' lock of `write_transaction` holds the order."""
    cx, free_at_insert = sample_app, []
    c = lt.measure_changes.c
    with _probe(cx) as free:
        def check(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO MEASURE_CHANGES"):
                free_at_insert.append(free())

        event.listen(cx.engine, "before_cursor_execute", check)
        try:
            lists.drain(cx)  # the sample's sanction opens its record
            confirm(cx, RING_S2, "run-s2")  # M2 enters the black list: a move, a credit record, a feed row
            with write_transaction(cx.engine) as conn:  # as if the policy file's measures had changed since
                last = conn.execute(select(func.max(c.seq)).where(c.subject_id == "M2")).scalar()
                conn.execute(update(lt.measure_changes).where(c.seq == last).values(measures="{}"))
            lists.evaluate(cx)  # a full evaluation: M2's feed row again, no move
        finally:
            event.remove(cx.engine, "before_cursor_execute", check)
    with read_connection(cx.engine) as conn:
        newest = conn.execute(select(lt.measure_changes).order_by(c.seq.desc()).limit(1)).one()
    assert newest.subject_id == "M2" and "policies" in newest.cause and newest.seq > last
    assert len(free_at_insert) >= 2 and not any(free_at_insert), free_at_insert


def test_the_feed_writer_refuses_a_transaction_without_the_writers_lock(sample_app: Chengxin,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Were list evaluation moved to a transaction that skipped the writers' lock, its feed rows could become
    visible out of order: the writer refuses such a transaction rather than write them."""
    cx = sample_app

    @contextmanager
    def unserialised(engine: Any, **_: Any) -> Iterator[Connection]:
        with engine.connect() as conn, conn.begin():
            yield conn

    lists.drain(cx)
    monkeypatch.setattr(lists, "write_transaction", unserialised)
    with pytest.raises(NotSerialised):
        confirm(cx, RING_S2, "run-s2")
    with read_connection(cx.engine) as conn:
        assert conn.execute(select(lt.measure_changes.c.seq).where(
            lt.measure_changes.c.subject_id == "M2")).first() is None
