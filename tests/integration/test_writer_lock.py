"""SQLite writers queue on a kernel lock beside the database file, across processes and threads."""

from __future__ import annotations

import fcntl
import threading

import pytest

from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin


def test_a_writer_waits_for_the_lock_file_and_starts_when_it_is_released(app: Chengxin) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL serialises writers on the log_state row")
    entered = threading.Event()

    def write() -> None:
        with write_transaction(app.engine):
            entered.set()

    with open(f"{app.engine.url.database}-writer.lock", "a+b") as held:  # another process's writer, say
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        writer = threading.Thread(target=write)
        writer.start()
        assert not entered.wait(0.5)  # queued behind the holder
    assert entered.wait(5)  # the lock was let go: the writer goes at once
    writer.join(5)


def test_writers_in_one_process_queue_one_after_the_other(app: Chengxin) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL serialises writers on the log_state row")
    inside, most = [0], [0]
    guard = threading.Lock()

    def write() -> None:
        for _ in range(20):
            with write_transaction(app.engine):
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert most[0] == 1
