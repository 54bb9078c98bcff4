"""The credit log is tamper-evident: `audit verify` passes on an intact store and names the first bad
record after each kind of tampering a rogue administrator could do."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select, update
from tests.conftest import SAMPLE, ingest_file, ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.domain import merkle
from chengxin.domain.credit import leaf_bytes
from chengxin.services import audit, credit_log
from chengxin.services.audit import _record


@pytest.fixture
def logged(app):
    """The sample ingested in three batches, so there are several signed tree heads."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for part in (lines[:16], lines[16:32], lines[32:]):
        ingest_text(app, "\n".join(part))
    return app


def tamper(cx, stmt):
    with cx.engine.begin() as conn:
        conn.execute(stmt)


def rows(cx):
    with read_connection(cx.engine) as conn:
        return list(conn.execute(select(t.credit_records).order_by(t.credit_records.c.idx)))


def test_intact_store_verifies(logged):
    report = audit.verify(logged)
    assert report.ok, report.problems
    # 23 records stated by the events, then the consequences ingestion draws from them: the repair of the
    # sanction X1 (lifted as repaired) and M1's red-list entry, each appended and signed on its own
    assert report.records == 25 and report.tree_heads == 5 and report.first_bad is None


def test_edited_record_is_named(logged):
    cr = t.credit_records
    tamper(logged, update(cr).where(cr.c.idx == 7).values(payload=json.dumps({"score": 1})))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["index"] == 7 and report.first_bad["problem"] == "altered"


def test_record_rewritten_with_its_leaf_hash_breaks_the_signed_root(logged):
    cr = t.credit_records
    row = rows(logged)[9]
    payload = {**json.loads(row.payload), "score": 1}
    fake = SimpleNamespace(**{**row._asdict(), "payload": json.dumps(payload, sort_keys=True, separators=(",", ":"))})
    leaf = merkle.leaf_hash(leaf_bytes(9, _record(fake), row.event_hash))
    tamper(logged, update(cr).where(cr.c.idx == 9).values(payload=fake.payload, leaf_hash=leaf))
    tamper(logged, update(t.merkle_nodes).where(t.merkle_nodes.c.level == 0, t.merkle_nodes.c.idx == 9)
           .values(hash=leaf))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["problem"] in ("rewritten", "node")
    assert report.first_bad["index"] <= 9


def test_deleted_record_is_named(logged):
    tamper(logged, delete(t.credit_records).where(t.credit_records.c.idx == 12))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad == {**report.first_bad, "index": 12, "problem": "missing"}


def test_deleted_tail_is_detected(logged):
    tamper(logged, delete(t.credit_records).where(t.credit_records.c.idx >= 20))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["index"] == 20


def test_swapped_records_are_detected(logged):
    cr = t.credit_records
    a, b = rows(logged)[3], rows(logged)[4]
    cols = [c.name for c in cr.columns if c.name != "idx"]
    tamper(logged, update(cr).where(cr.c.idx == 3).values(**{c: getattr(b, c) for c in cols}))
    tamper(logged, update(cr).where(cr.c.idx == 4).values(**{c: getattr(a, c) for c in cols}))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["index"] == 3


def test_record_inserted_after_the_last_signed_head_is_detected(logged):
    last = rows(logged)[-1]
    tamper(logged, t.credit_records.insert().values({**last._asdict(), "idx": 25}))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["index"] == 25 and report.first_bad["problem"] == "inserted"


def test_forged_tree_head_signature_is_detected(logged):
    tamper(logged, update(t.tree_heads).where(t.tree_heads.c.size == 25).values(signature=b"\0" * 64))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["problem"] == "bad_signature"


def test_tampered_interior_node_is_detected(logged):
    tamper(logged, update(t.merkle_nodes).where(t.merkle_nodes.c.level == 2, t.merkle_nodes.c.idx == 1)
           .values(hash=b"\1" * 32))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad["problem"] == "node" and report.first_bad["index"] == 4


def test_proofs_from_storage_verify_against_every_signed_head(logged):
    with read_connection(logged.engine) as conn:
        sizes = list(conn.execute(select(t.tree_heads.c.size).order_by(t.tree_heads.c.size)).scalars())
        for size in sizes:
            head = credit_log.head_at(conn, size)
            for index in range(size):
                proof = credit_log.inclusion(conn, logged.keys, index, size)
                leaf = credit_log._lookup(conn, [(0, index)])[(0, index)]
                merkle.verify_inclusion(leaf, index, size, [__import__("base64").b64decode(p)
                                                            for p in proof["proof"]], head.root)
        for first in sizes:
            for second in sizes:
                if first <= second:
                    credit_log.consistency(conn, first, second)  # raises if the heads are inconsistent


def test_log_survives_reingest_without_growing(logged):
    before = audit.verify(logged).records
    ingest_file(logged, SAMPLE)
    with read_connection(logged.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.tree_heads)).scalar_one() == 5
    assert audit.verify(logged).records == before


def test_frontier_cache_is_not_trusted_after_a_rollback_and_another_writer(app):
    """The in-process frontier cache is checked against the stored head before it is reused."""
    from chengxin.adapters.db.engine import write_transaction
    from chengxin.domain.credit import CreditRecord

    def records(tag):
        return [(CreditRecord("inspection", "subject", ("s", f"{tag}{i}"), ("s", f"e{tag}{i}"), "t", {}), "h")
                for i in range(3)]

    ingest_file(app, SAMPLE)
    with pytest.raises(RuntimeError), write_transaction(app.engine) as conn:
        credit_log.append(conn, app.keys, "o", records("a"))
        raise RuntimeError("roll back")
    stale = dict(credit_log._FRONTIERS)  # what this process believes after the rolled-back append
    with write_transaction(app.engine) as conn:  # "another process" appends as many different records
        credit_log.append(conn, app.keys, app.settings.log_origin, records("b"))
    credit_log._FRONTIERS.update(stale)
    with write_transaction(app.engine) as conn:
        credit_log.append(conn, app.keys, app.settings.log_origin, records("c"))
    assert audit.verify(app).ok
