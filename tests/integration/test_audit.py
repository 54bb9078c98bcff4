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
    # its level-0 node rewritten too: the node above it, (1, 4), still holds the old leaf
    assert report.first_bad == {**report.first_bad, "index": 8, "problem": "rewritten"}
    assert "one of records 8..9" in report.first_bad["detail"]


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


# --- tampering that crashed the audit, a junk node, decoys, gaps, and checkpoints saved by an auditor ---------

def log_head(cx):
    """The newest signed head exactly as `GET /v1/log/head` serves it: what an auditor saves."""
    from chengxin.entrypoints.api.routes import log_head as route

    return route(cx)


def restore_nodes(cx):
    """Make every stored node agree with the stored leaf hashes, as a careful forger would."""
    nodes, _ = merkle.append_leaves(0, [], [r.leaf_hash for r in rows(cx)])
    n = t.merkle_nodes
    with cx.engine.begin() as conn:
        for level, idx, h in nodes:
            conn.execute(update(n).where(n.c.level == level, n.c.idx == idx).values(hash=h))


def rewrite(cx, index, nodes_too=True):
    """Rewrite record `index` with its leaf hash and every node above it: only the signed roots can tell.
    Without `nodes_too`, the stored nodes keep the old leaf."""
    cr, row = t.credit_records, rows(cx)[index]
    payload = json.dumps({**json.loads(row.payload), "forged": True}, sort_keys=True, separators=(",", ":"))
    leaf = merkle.leaf_hash(leaf_bytes(index, _record(SimpleNamespace(**{**row._asdict(), "payload": payload})),
                                       row.event_hash))
    tamper(cx, update(cr).where(cr.c.idx == index).values(payload=payload, leaf_hash=leaf))
    if nodes_too:
        restore_nodes(cx)


def sign_again(cx):
    """Sign every stored head anew over the stored leaves: what only a holder of the signing key can do."""
    leaves, th = [r.leaf_hash for r in rows(cx)], t.tree_heads
    with cx.engine.begin() as conn:
        for size in list(conn.execute(select(th.c.size)).scalars()):
            head = credit_log.sign_head(cx.keys, cx.settings.log_origin, size, merkle.root(leaves[:size]))
            conn.execute(update(th).where(th.c.size == size).values(
                root=head.root, signed_at=head.signed_at, signature=head.signature))


@pytest.mark.parametrize(("stmt", "index", "problem", "says"), [
    ("UPDATE credit_records SET payload = 'x' WHERE idx = 7", 7, "altered", "payload that is not JSON"),
    ("UPDATE credit_records SET leaf_hash = 'abc' WHERE idx = 7", 7, "altered", "not 32 bytes"),  # TEXT on SQLite
    (update(t.credit_records).where(t.credit_records.c.idx == 7).values(leaf_hash=b"\0"), 7, "altered",
     "leaf hash of 1 bytes"),
    (f"UPDATE merkle_nodes SET hash = '{'x' * 32}' WHERE level = 1 AND idx = 3", 6, "node", "(1, 3)"),
    ("UPDATE tree_heads SET root = 'abc' WHERE size = 16", 15, "bad_signature", "size 16"),
    ("DELETE FROM log_state", 25, "size", "log size says None"),
])
def test_tampering_that_crashed_the_audit_is_named_instead(logged, stmt, index, problem, says):
    """Each of these raised out of `verify` (a traceback from `audit verify --json`); each is one problem."""
    from sqlalchemy import text

    tamper(logged, text(stmt) if isinstance(stmt, str) else stmt)
    report = audit.verify(logged)
    assert not report.ok and (report.first_bad["index"], report.first_bad["problem"]) == (index, problem)
    assert says in report.first_bad["detail"] and report.problems == [report.first_bad["detail"]]


def test_head_whose_size_is_not_a_number_is_named(logged, backend):
    if backend != "sqlite":
        pytest.skip("only SQLite keeps a text in an integer column")
    from sqlalchemy import text

    tamper(logged, text("UPDATE tree_heads SET size = 'x' WHERE size = 16"))
    report = audit.verify(logged)
    assert report.first_bad == {**report.first_bad, "index": None, "problem": "bad_signature"}
    assert report.problems == ["tree head of size 'x': not a size"]


def test_junk_node_in_place_of_a_real_one_is_named(logged):
    """The node count stays right, and (1, 10**9) has no children to be checked against: recomputing every
    node from the leaves names the missing real one and the junk one."""
    n = t.merkle_nodes
    tamper(logged, delete(n).where(n.c.level == 1, n.c.idx == 2))
    tamper(logged, n.insert().values(level=1, idx=10**9, hash=b"\7" * 32))
    report = audit.verify(logged)
    assert not report.ok and report.first_bad == {**report.first_bad, "index": 4, "problem": "node"}
    assert "(1, 2) is missing" in report.first_bad["detail"]
    assert any("(1, 1000000000) lies beyond" in p for p in report.problems)


@pytest.mark.parametrize("nodes_too", [True, False])
def test_rewritten_record_is_not_hidden_behind_a_later_altered_decoy(logged, nodes_too):
    """Record 5 rewritten with its leaf hash (and every node above it, or not), record 9 carelessly edited,
    both under the head of size 11: the audit named 9 and never 5. With the nodes rewritten too, only the
    signed root can tell, and it names its range; with the nodes left, the level-0 node names record 5."""
    rewrite(logged, 5, nodes_too)
    cr = t.credit_records
    tamper(logged, update(cr).where(cr.c.idx == 9).values(payload=json.dumps({"score": 1})))
    report = audit.verify(logged)
    assert report.first_bad == {**report.first_bad, "index": 0 if nodes_too else 5, "problem": "rewritten"}
    assert "records 0..10" in report.first_bad["detail"] and any("record 9 " in p for p in report.problems)


def sparse(app):
    """The sample in one batch: one head for the 23 records it states (then one for each consequence)."""
    ingest_file(app, SAMPLE)
    with read_connection(app.engine) as conn:
        assert list(conn.execute(select(t.tree_heads.c.size).order_by(t.tree_heads.c.size)).scalars()) == [23, 24, 25]
    return app


def test_record_rewritten_with_its_leaf_hash_under_a_sparse_head_is_named(app):
    """Record 13 and its leaf hash rewritten, the nodes left: the audit named record 0 ("records 0..22") and
    listed node (0, 13) only among its problems (found by review)."""
    rewrite(sparse(app), 13, nodes_too=False)
    report = audit.verify(app)
    assert report.first_bad == {**report.first_bad, "index": 13, "problem": "rewritten"}
    assert "record 13 was rewritten" in report.first_bad["detail"] and "records 0..22" in report.first_bad["detail"]


def test_record_inserted_in_the_middle_is_named(app):
    """A record inserted at 13, the later ones moved up and every leaf hash recomputed (no key needed): the
    audit named record 0."""
    sparse(app)
    cr, old = t.credit_records, rows(app)
    new = {**old[13]._asdict(), "subject_id": "SX", "event_id": "eX"}
    moved = [new] + [{**r._asdict(), "idx": r.idx + 1} for r in old[13:]]
    tamper(app, delete(cr).where(cr.c.idx >= 13))
    for r in moved:
        leaf = merkle.leaf_hash(leaf_bytes(r["idx"], _record(SimpleNamespace(**r)), r["event_hash"]))
        tamper(app, cr.insert().values({**r, "leaf_hash": leaf}))
    report = audit.verify(app)
    assert report.first_bad == {**report.first_bad, "index": 13, "problem": "rewritten"}


def test_edited_leaf_hash_is_altered_not_rewritten(logged):
    """The recomputed leaf gives the signed root: the edited leaf hash explains the mismatch, nothing more."""
    cr = t.credit_records
    tamper(logged, update(cr).where(cr.c.idx == 7).values(leaf_hash=b"\5" * 32))
    report = audit.verify(logged)
    assert report.first_bad == {**report.first_bad, "index": 7, "problem": "altered"}
    assert not any("rewritten" in p for p in report.problems)


def test_gap_names_the_missing_record_and_nothing_spurious(logged):
    tamper(logged, delete(t.credit_records).where(t.credit_records.c.idx == 12))
    report = audit.verify(logged)
    assert report.records == 24 and report.first_bad["index"] == 12 and len(report.problems) == 1


def test_saved_checkpoints_hold_on_an_intact_log(app, tmp_path):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    empty = audit.checkpoint(app, log_head(app), "empty")  # the empty log's head: every log extends it
    ingest_text(app, "\n".join(lines[:32]))
    path = tmp_path / "head.json"
    path.write_text(json.dumps(log_head(app)))
    ingest_text(app, "\n".join(lines[32:]))
    saved = [empty, audit.load_checkpoint(app, path), audit.checkpoint(app, log_head(app), "now")]
    assert [c.size for c in saved] == [0, 16, 25]
    report = audit.verify(app, saved)
    assert report.ok, report.problems


def test_truncated_tail_passes_alone_and_fails_against_a_saved_checkpoint(logged):
    saved = audit.checkpoint(logged, log_head(logged), "saved.json")
    m, n = 16, t.merkle_nodes
    tamper(logged, delete(t.credit_records).where(t.credit_records.c.idx >= m))
    tamper(logged, delete(t.tree_heads).where(t.tree_heads.c.size > m))
    for level in range(6):  # the nodes completed after m leaves
        tamper(logged, delete(n).where(n.c.level == level, n.c.idx >= m >> level))
    tamper(logged, update(t.log_state).values(size=m))
    alone = audit.verify(logged)  # the sample's sanction record, still stored, says its log records are gone
    assert alone.problems and all(p.startswith("dishonesty record 1 ") for p in alone.problems)
    from chengxin.adapters.db import lists_tables as lt

    tamper(logged, delete(lt.record_transitions))  # rolled back with it, the log and what it states agree:
    tamper(logged, delete(lt.dishonesty_records))
    assert audit.verify(logged).ok  # a clean rollback is consistent: nothing inside the node can tell
    report = audit.verify(logged, [saved])
    assert not report.ok and report.first_bad == {**report.first_bad, "index": m, "problem": "truncated"}


def test_deleted_intermediate_head_fails_against_a_checkpoint_of_its_size(app):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    ingest_text(app, "\n".join(lines[:32]))
    saved = audit.checkpoint(app, log_head(app), "saved.json")
    ingest_text(app, "\n".join(lines[32:]))
    tamper(app, delete(t.tree_heads).where(t.tree_heads.c.size == saved.size))
    assert audit.verify(app).ok  # nothing stored says a head of that size was ever signed
    report = audit.verify(app, [saved])
    assert report.first_bad == {**report.first_bad, "index": saved.size - 1, "problem": "missing_head"}


def test_log_rewritten_and_signed_again_fails_against_a_saved_checkpoint(logged):
    saved = audit.checkpoint(logged, log_head(logged), "saved.json")
    rewrite(logged, 9)
    sign_again(logged)
    assert audit.verify(logged).ok  # the key holder's rewrite is consistent with itself
    report = audit.verify(logged, [saved])
    assert report.first_bad == {**report.first_bad, "index": 0, "problem": "inconsistent"}


def test_a_checkpoint_must_be_a_head_of_this_log_signed_by_its_key(logged, tmp_path):
    from chengxin.exc import InvalidInput

    head = log_head(logged)
    cases = {
        "not JSON": "{",
        "signature does not verify": json.dumps({**head, "size": head["size"] + 1}),
        "not of": json.dumps({**head, "origin": "elsewhere"}),
        "not a signed tree head": json.dumps({**head, "root": "!!"}),
    }
    for says, content in cases.items():
        path = tmp_path / "head.json"
        path.write_text(content)
        with pytest.raises(InvalidInput, match=says):
            audit.load_checkpoint(logged, path)


def test_a_node_with_another_signing_key_refuses_to_append(logged, tmp_path):
    # A demo key file is found relative to the working directory: a command started elsewhere made a new key
    # and kept signing heads under it, and every later audit failed (found by review). It is refused now.
    from chengxin.bootstrap import bootstrap
    from chengxin.exc import ConfigError

    other = bootstrap(logged.settings.model_copy(update={"keys_file": tmp_path / "another-keys.json"}))
    assert other.keys.key_id != logged.keys.key_id
    before = rows(logged)
    with pytest.raises(ConfigError, match="signed by key"):
        ingest_text(other, SAMPLE.read_text(encoding="utf-8").replace('"id": "s-0', '"id": "t-0'))
    assert rows(logged) == before and audit.verify(logged).ok
