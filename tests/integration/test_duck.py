"""DuckDB over the SQLite store (adapters/db/duck.py): same rows as SQLite gives, errors
named, and the writer's locks left alone (DuckDB runs in a child process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, literal_column, select
from tests.conftest import SAMPLE, ingest_file, make_database

from chengxin.adapters.db import duck
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.settings import Settings


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_template: Path) -> Chengxin:
    url, _ = make_database("sqlite", tmp_path, sqlite_template, None)
    cx = bootstrap(Settings(database_url=url, keys_file=tmp_path / "keys.json"))
    assert ingest_file(cx, SAMPLE).accepted == 48
    return cx


def test_duckdb_reads_what_sqlite_reads(sqlite_app):
    e = t.events
    stmt = select(e.c.source, e.c.type, func.count().label("n")).where(
        e.c.type.in_(["cx.order.placed", "cx.order.paid"]), e.c.source != bindparam("skip")).group_by(
        e.c.source, e.c.type).order_by(e.c.source, e.c.type)
    with read_connection(sqlite_app.engine) as conn:
        want = [tuple(r) for r in conn.execute(stmt, {"skip": "nobody"})]
    with duck.reader(sqlite_app.engine) as reader:
        got = reader.rows(stmt, {"skip": "nobody"})
        assert [tuple(r) for r in got] == want and len(want) >= 2
        assert got[0].n == want[0][2]  # rows are named by their columns
        with pytest.raises(RuntimeError, match=r"DuckDB: .*no_such_column"):
            reader.rows(select(literal_column("no_such_column").label("x")).select_from(e))
        assert reader.rows(stmt, {"skip": want[0][0]}) == [r for r in got if r.source != want[0][0]]  # still up


def test_a_writer_keeps_its_locks_while_duckdb_reads(sqlite_app):
    # DuckDB carries its own SQLite: in one process the two would drop each other's POSIX locks, and the
    # writer's next statement would fail with "locking protocol"
    jobs = select(func.count().label("n")).select_from(lt.job_runs).where(lt.job_runs.c.job == "test")
    with duck.reader(sqlite_app.engine) as reader:
        with write_transaction(sqlite_app.engine) as conn:
            n = reader.rows(select(func.count().label("n")).select_from(t.events))[0].n
            conn.execute(lt.job_runs.insert().values(job="test", finished_at="2026-11-26T00:00:00.000000Z"))
            assert reader.rows(jobs)[0].n == 0  # DuckDB sees what is committed, not this transaction
        assert reader.rows(jobs)[0].n == 1
    assert n == 48 and duck.available(sqlite_app.engine)
