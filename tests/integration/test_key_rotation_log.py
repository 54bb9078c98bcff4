"""Rotating the credit log's signing key (services/key_rotation.py): the log goes on under the new key, every
head still verifies with the key in force at its size, the old key is refused, and each way of tampering with
the chain is named by `audit verify` (both databases)."""

from __future__ import annotations

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update
from tests.conftest import SAMPLE, ingest_text

from chengxin.adapters import crypto
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.signing_key_tables import signing_keys
from chengxin.bootstrap import bootstrap
from chengxin.domain.credit import CreditRecord
from chengxin.exc import ConfigError, InvalidInput
from chengxin.services import audit, credit_log, key_chain, key_rotation, records
from chengxin.services.viewer import REGULATOR, Viewer


@pytest.fixture
def logged(app):
    """The sample ingested in three batches: heads of three sizes, the newest 25, under the first key."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for part in (lines[:16], lines[16:32], lines[32:]):
        ingest_text(app, "\n".join(part))
    return app


def append(cx, keys=None):
    record = CreditRecord("inspection", "subject", ("s", "x"), ("s", "ex"), "2026-01-01T00:00:00Z", {})
    with write_transaction(cx.engine) as conn:
        return credit_log.append(conn, keys or cx.keys, cx.settings.log_origin, [(record, "h")])


def rotate(cx):
    """Rotate, and the node as started afterwards (the demo key file now holds the new key)."""
    done = key_rotation.rotate(cx, key_rotation.new_seed(None))
    return done, bootstrap(cx.settings)


def tamper(cx, stmt):
    with cx.engine.begin() as conn:
        conn.execute(stmt)


def first_bad(cx):
    report = audit.verify(cx)
    assert not report.ok
    return report.first_bad


@pytest.fixture
def rotated(logged):
    """`logged` rotated at size 25 (record 25 is the rotation, head 26 the new key's first) and one record more
    appended under the new key (head 27)."""
    done, node = rotate(logged)
    assert append(node).size == 27
    return logged, node, done


def test_rotate_append_and_verify(rotated):
    old, new, done = rotated
    assert (done.old_key_id, done.new_key_id, done.size, done.head.size) == (old.keys.key_id, new.keys.key_id, 25, 26)
    assert done.head.key_id == new.keys.key_id and done.demo_file_updated
    assert json.loads(old.settings.keys_file.read_text())["signing_key"] == done.new_signing_key
    report = audit.verify(new)
    assert report.ok, report.first_bad
    with read_connection(new.engine) as conn:
        signers = dict(conn.execute(select(t.tree_heads.c.size, t.tree_heads.c.key_id)).tuples().all())
        chain = key_chain.stored(conn)
        rotation = conn.execute(select(t.credit_records).where(t.credit_records.c.idx == 25)).one()
    assert len(signers) >= 5 and all(k == (old.keys.key_id if s <= 25 else new.keys.key_id)
                                     for s, k in signers.items())
    assert [(k.key_id, k.from_size) for k in chain] == [(old.keys.key_id, 1), (new.keys.key_id, 26)]
    assert rotation.kind == "signing_key_rotated"
    payload = json.loads(rotation.payload)
    assert payload["from_key"]["id"] == old.keys.key_id and payload["to_key"]["id"] == new.keys.key_id
    assert payload["endorsement"] == base64.b64encode(chain[1].endorsement).decode()


def test_proofs_and_heads_serve_each_heads_own_key(rotated):
    old, new, _ = rotated
    with read_connection(new.engine) as conn:
        first = min(conn.execute(select(t.tree_heads.c.size)).scalars())
    regulator = Viewer(role=REGULATOR, key_id="t")
    before = records.record_with_proof(new, 0, regulator, size=first)
    after = records.record_with_proof(new, 0, regulator)
    assert before["tree_head"]["key_id"] == old.keys.key_id and before["checks"]["signature"]
    assert before["tree_head"]["public_key"] == old.keys.public_key_b64()
    assert after["tree_head"]["key_id"] == new.keys.key_id and after["checks"]["signature"]
    assert after["tree_head"]["public_key"] == new.keys.public_key_b64()
    with read_connection(new.engine) as conn:
        proof = credit_log.consistency(conn, first, 27, new.settings.log_origin)  # across the rotation
    assert proof["first_head"]["key_id"] == old.keys.key_id and proof["second_head"]["key_id"] == new.keys.key_id


def test_a_checkpoint_saved_before_the_rotation_still_holds(logged):
    with read_connection(logged.engine) as conn:
        saved = credit_log.latest_head(conn).as_dict(logged.settings.log_origin)
    _, node = rotate(logged)
    append(node)
    checkpoint = audit.checkpoint(node, saved, "before.json")
    assert audit.verify(node, [checkpoint]).ok
    forged = {**saved, "signature": base64.b64encode(node.keys.signing.sign(saved["note"].encode())).decode()}
    with pytest.raises(InvalidInput, match="in force at size 25"):  # signed by the new key: not the key of then
        audit.checkpoint(node, forged, "forged.json")


def test_the_old_key_is_refused_after_the_rotation(rotated):
    old, new, done = rotated
    with read_connection(old.engine) as conn, pytest.raises(ConfigError, match=r"was retired.*handed to key"):
        credit_log.require_own_key(conn, old.keys, old.settings.log_origin)
    with pytest.raises(ConfigError, match=rf"was retired.*signing key is now {done.new_key_id}"):
        append(old)
    with pytest.raises(ConfigError, match="was retired"):
        audit.verify(old)
    stranger = old.keys.with_signing_key(os.urandom(32))
    with read_connection(old.engine) as conn, pytest.raises(ConfigError, match="signed by key"):
        credit_log.require_own_key(conn, stranger, old.settings.log_origin)
    with pytest.raises(ConfigError, match="retired"):  # nor can the old key rotate the log again (a fork)
        key_rotation.rotate(old, os.urandom(32))
    assert audit.verify(new).ok


def test_an_empty_log_needs_no_rotation(app):
    with pytest.raises(InvalidInput, match="the credit log is empty"):
        key_rotation.rotate(app, os.urandom(32))


def test_two_rotations_in_a_row(logged):
    _, second = rotate(logged)
    _, third = rotate(second)
    append(third)
    assert audit.verify(third).ok
    with read_connection(third.engine) as conn:
        assert [k.from_size for k in key_chain.stored(conn)] == [1, 26, 27]
    with pytest.raises(InvalidInput, match="has signed this log already"):
        key_rotation.rotate(third, base64.b64decode(crypto.signing_seed_b64(second.keys)))


# --- tampering, each way, named -------------------------------------------------------------------------------

def resign(cx, size, private):
    """Sign the stored head of `size` again with `private`, naming its key: what a holder of that key can do."""
    th = t.tree_heads
    with read_connection(cx.engine) as conn:
        head = conn.execute(select(th).where(th.c.size == size)).one()
    note = crypto.checkpoint_note(cx.settings.log_origin, size, head.root, head.signed_at)
    key = cx.keys.with_signing_key(private.private_bytes_raw())
    tamper(cx, update(th).where(th.c.size == size).values(key_id=key.key_id, signature=crypto.sign(key, note)))


def test_a_head_signed_by_the_retired_key_after_its_retirement_is_named(rotated):
    old, new, _ = rotated
    resign(new, 27, old.keys.signing)
    assert first_bad(new) == {**first_bad(new), "index": 26, "problem": "retired_key"}


def test_a_head_naming_an_unknown_key_is_named(rotated):
    _, new, _ = rotated
    resign(new, 27, Ed25519PrivateKey.generate())
    assert first_bad(new) == {**first_bad(new), "index": 26, "problem": "unknown_key"}


def test_a_broken_endorsement_is_named_at_the_rotation(rotated):
    _, new, done = rotated
    k = signing_keys.c
    tamper(new, update(signing_keys).where(k.key_id == done.new_key_id).values(endorsement=os.urandom(64)))
    bad = first_bad(new)
    assert bad == {**bad, "index": 25, "problem": "endorsement"} and "endorsement does not verify" in bad["detail"]


def test_a_chain_forked_with_the_stolen_old_key_is_named(rotated):
    """Whoever holds the old key endorses a key of its own in place of the real one: its statement verifies,
    but the log's record of the rotation names the real key, and the heads under it are not the thief's."""
    old, new, done = rotated
    thief = Ed25519PrivateKey.generate()
    with read_connection(new.engine) as conn:
        row = conn.execute(select(signing_keys).where(signing_keys.c.key_id == done.new_key_id)).one()
    said = key_chain.kc.parse_statement(row.statement)
    forged = key_chain.kc.Rotation(said.origin, said.size, said.root, said.old_id, said.old_key,
                                   key_chain.kc.key_id(thief.public_key().public_bytes_raw()),
                                   thief.public_key().public_bytes_raw(), said.at).text()
    tamper(new, update(signing_keys).where(signing_keys.c.key_id == done.new_key_id).values(
        key_id=key_chain.kc.key_id(thief.public_key().public_bytes_raw()),
        public_key=thief.public_key().public_bytes_raw(), statement=forged,
        endorsement=old.keys.signing.sign(forged.encode()), acceptance=thief.sign(forged.encode())))
    bad = first_bad(new)
    assert bad["index"] == 25 and bad["problem"] in {"unknown_key", "endorsement"}
    assert any("does not say what the key chain says" in p for p in audit.verify(new).problems)


@pytest.mark.parametrize("what", ["chain row", "handed-over head"])
def test_a_deleted_chain_row_or_handed_over_head_is_named(rotated, what):
    _, new, done = rotated
    if what == "chain row":
        tamper(new, delete(signing_keys).where(signing_keys.c.key_id == done.new_key_id))
    else:
        tamper(new, delete(t.tree_heads).where(t.tree_heads.c.size == 25))
    bad = first_bad(new)
    assert bad["index"] == 25 and bad["problem"] in {"unknown_key", "endorsement"}, bad
    if what == "handed-over head":
        assert "the head of size 25 it hands over is not stored" in bad["detail"]
