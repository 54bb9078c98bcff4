"""An append signs a new head only over a frontier that gives the newest signed head's root, and only under
the key that signed it: storage edited under the log must not make the node sign a fork (found by review)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import delete, func, select, update
from tests.conftest import SAMPLE, ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.domain.credit import CreditRecord
from chengxin.exc import ConfigError, IntegrityFailure
from chengxin.services import audit, credit_log


@pytest.fixture
def logged(app):
    """The sample ingested in three batches (heads of sizes ..., 25), as a new process would find it."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for part in (lines[:16], lines[16:32], lines[32:]):
        ingest_text(app, "\n".join(part))
    credit_log._FRONTIERS.clear()  # the next append reads its frontier from storage
    return app


def tamper(cx, stmt):
    with cx.engine.begin() as conn:
        conn.execute(stmt)


def append(cx, keys=None):
    record = CreditRecord("inspection", "subject", ("s", "x"), ("s", "ex"), "2026-01-01T00:00:00Z", {})
    with write_transaction(cx.engine) as conn:
        return credit_log.append(conn, keys or cx.keys, cx.settings.log_origin, [(record, "h")])


def state(cx):
    with read_connection(cx.engine) as conn:
        return [conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (t.credit_records, t.tree_heads, t.merkle_nodes)]


def test_an_intact_log_appends_from_stored_nodes(logged):
    assert append(logged).size == 26
    assert audit.verify(logged).ok


def test_a_replaced_frontier_node_stops_the_append_before_it_signs(logged):
    """Node (4, 0) overwritten: the next append signed head 26 inconsistent with head 25, and `audit verify`
    blamed the new record."""
    n = t.merkle_nodes
    tamper(logged, update(n).where(n.c.level == 4, n.c.idx == 0).values(hash=os.urandom(32)))
    before = state(logged)
    with pytest.raises(IntegrityFailure, match="do not give the root of its newest signed tree head"):
        append(logged)
    assert state(logged) == before
    report = audit.verify(logged)
    assert report.first_bad == {**report.first_bad, "index": 0, "problem": "node"}


def test_a_replaced_frontier_node_is_caught_with_a_cached_frontier_too(logged):
    """The cache holds the frontier of the last append: it is used only while the newest head's root is its."""
    append(logged)
    th = t.tree_heads
    tamper(logged, update(th).where(th.c.size == 26).values(root=os.urandom(32)))
    with pytest.raises(IntegrityFailure):
        append(logged)


@pytest.mark.parametrize("newest", [True, False])
def test_a_deleted_newest_head_or_edited_log_size_stops_the_append(logged, newest):
    if newest:
        tamper(logged, delete(t.tree_heads).where(t.tree_heads.c.size == 25))
    else:
        tamper(logged, update(t.log_state).values(size=24))
    before = state(logged)
    with pytest.raises(IntegrityFailure, match="newest signed tree head is of size"):
        append(logged)
    assert state(logged) == before


def test_another_key_cannot_append_when_the_newest_head_is_deleted(logged, tmp_path):
    """The key guard read the head of the log's size: with that row deleted it was skipped, and a foreign key
    signed the next head."""
    from chengxin.bootstrap import bootstrap

    other = bootstrap(logged.settings.model_copy(update={"keys_file": tmp_path / "another-keys.json"}))
    with pytest.raises(ConfigError, match="signed by key"):
        append(logged, other.keys)
    tamper(logged, delete(t.tree_heads).where(t.tree_heads.c.size == 25))
    before = state(logged)
    with pytest.raises((IntegrityFailure, ConfigError)):
        append(logged, other.keys)
    assert state(logged) == before
    with read_connection(logged.engine) as conn:
        assert set(conn.execute(select(t.tree_heads.c.key_id)).scalars()) == {logged.keys.key_id}
