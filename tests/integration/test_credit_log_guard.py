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


# --- heads are signed in order of time ----------------------------------------------------------------------

def resign(cx, size, signed_at):
    """Sign the stored head of `size` again with another time: what a holder of the key can do."""
    from chengxin.adapters import crypto

    th = t.tree_heads
    with read_connection(cx.engine) as conn:
        root = conn.execute(select(th.c.root).where(th.c.size == size)).scalar_one()
    note = crypto.checkpoint_note(cx.settings.log_origin, size, root, signed_at)
    tamper(cx, update(th).where(th.c.size == size).values(signed_at=signed_at,
                                                           signature=crypto.sign(cx.keys, note)))


def test_a_head_signed_before_a_smaller_one_is_named(logged):
    with read_connection(logged.engine) as conn:
        sizes = list(conn.execute(select(t.tree_heads.c.size).order_by(t.tree_heads.c.size)).scalars())
    resign(logged, sizes[1], "2020-01-01T00:00:00.000000Z")
    report = audit.verify(logged)
    assert report.first_bad == {**report.first_bad, "index": sizes[1] - 1, "problem": "time"}
    assert f"before the head of size {sizes[0]}" in report.first_bad["detail"]


def test_a_clock_a_little_behind_the_newest_head_signs_at_its_time(logged):
    from datetime import UTC, datetime, timedelta

    ahead = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    resign(logged, 25, ahead)
    assert append(logged).signed_at == ahead
    assert audit.verify(logged).ok
    far = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    resign(logged, 26, far)
    before = state(logged)
    with pytest.raises(ConfigError, match="set the clock right"):
        append(logged)
    assert state(logged) == before


# --- another signing key: a setting to fix, not a bad record ------------------------------------------------

def test_audit_with_another_signing_key_is_a_configuration_error_not_record_0(logged, tmp_path):
    """A new CHENGXIN_SIGNING_KEY made `audit verify` report record 0 `bad_signature`."""
    from chengxin.bootstrap import bootstrap

    other = bootstrap(logged.settings.model_copy(update={"keys_file": tmp_path / "another-keys.json"}))
    with pytest.raises(ConfigError, match=f"signed by key {logged.keys.key_id}.*Use the log's own key"):
        audit.verify(other)
    with read_connection(logged.engine) as conn, pytest.raises(ConfigError, match="signed by key"):
        credit_log.require_own_key(conn, other.keys, other.settings.log_origin)
    assert audit.verify(logged).ok


def test_an_edited_key_id_is_tampering_named_by_the_audit_not_a_setting(logged):
    tamper(logged, update(t.tree_heads).where(t.tree_heads.c.size == 25).values(key_id="0123456789abcdef"))
    with read_connection(logged.engine) as conn:
        credit_log.require_own_key(conn, logged.keys, logged.settings.log_origin)  # the signature is this key's
    report = audit.verify(logged)  # the key chain names the key it does not hold (docs/credit-log.md)
    assert report.first_bad == {**report.first_bad, "index": 24, "problem": "unknown_key"}
