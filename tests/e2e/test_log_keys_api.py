"""The API across a signing-key rotation, checked as a verifier elsewhere would: `GET /v1/log/keys` gives the
chain, which it checks from the first key; every head served verifies with the key in force at its size;
consistency proofs and record proofs run across the rotation, each head with its own key."""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from tests.e2e.test_api import Api, make_api, verify_head

from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.domain import merkle
from chengxin.domain.credit import CreditRecord
from chengxin.entrypoints.api.app import create_app
from chengxin.services import credit_log, key_rotation


def b64(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.fixture
def rotated(sample_app: Chengxin) -> Iterator[tuple[Api, Chengxin]]:
    """The sample's node after a rotation (record 25, the new key's first head 26) and one record more (27), served
    with the new key; and the node as it was before."""
    key_rotation.rotate(sample_app, key_rotation.new_seed(None))
    node = bootstrap(sample_app.settings)
    record = CreditRecord("inspection", "subject", ("s", "x"), ("s", "ex"), "2026-01-01T00:00:00Z", {})
    with write_transaction(node.engine) as conn:
        credit_log.append(conn, node.keys, node.settings.log_origin, [(record, "h")])
    with TestClient(create_app(node)) as client:
        yield make_api(node, client), sample_app
    node.engine.dispose()


def checked_chain(view: dict[str, Any], origin: str) -> list[dict[str, Any]]:
    """The chain of `GET /v1/log/keys`, checked link by link from its first key as an outside verifier does."""
    keys = view["keys"]
    assert keys[0]["from_size"] == 1 and keys[0]["rotation"] is None
    for before, key in itertools.pairwise(keys):
        raw = b64(key["public_key"])
        assert hashlib.sha256(raw).hexdigest()[:16] == key["key_id"] and key["previous_key_id"] == before["key_id"]
        r = key["rotation"]
        lines = r["statement"].split("\n")
        assert lines[1:3] == [origin, str(key["from_size"] - 1)] == [origin, str(r["log_index"])]
        assert lines[4:6] == [f"{before['key_id']} {before['public_key']}", f"{key['key_id']} {key['public_key']}"]
        Ed25519PublicKey.from_public_bytes(b64(before["public_key"])).verify(b64(r["endorsement"]),
                                                                             r["statement"].encode())
        Ed25519PublicKey.from_public_bytes(raw).verify(b64(r["acceptance"]), r["statement"].encode())
        assert before["until_size"] == key["from_size"] - 1
    return keys


def in_force(keys: list[dict[str, Any]], size: int) -> dict[str, Any]:
    return [k for k in keys if k["from_size"] <= size][-1]


def test_before_any_rotation_the_chain_is_the_nodes_key(sample_app: Chengxin) -> None:
    with TestClient(create_app(sample_app)) as client:
        view = client.get("/v1/log/keys").json()
    assert view["current_key_id"] == sample_app.keys.key_id
    assert [(k["key_id"], k["public_key"], k["from_size"], k["until_size"], k["rotation"]) for k in view["keys"]] == \
        [(sample_app.keys.key_id, sample_app.keys.public_key_b64(), 1, None, None)]


def test_every_head_verifies_with_the_key_in_force_at_its_size(rotated: tuple[Api, Chengxin]) -> None:
    api, old = rotated
    keys = checked_chain(api.get("/v1/log/keys"), api.cx.settings.log_origin)
    assert [k["key_id"] for k in keys] == [old.keys.key_id, api.cx.keys.key_id]
    heads = api.get("/v1/log/heads")
    assert heads["public_key"] == api.cx.keys.public_key_b64()  # the node's current key
    for head in heads["heads"]:
        due = in_force(keys, head["size"])
        assert (head["key_id"], head["public_key"]) == (due["key_id"], due["public_key"])
        verify_head(head)
    assert {h["key_id"] for h in heads["heads"]} == {old.keys.key_id, api.cx.keys.key_id}
    newest = api.get("/v1/log/head")
    assert newest["size"] == 27 and newest["public_key"] == api.cx.keys.public_key_b64()
    verify_head(newest)


def test_consistency_and_record_proofs_run_across_the_rotation(rotated: tuple[Api, Chengxin]) -> None:
    api, old = rotated
    sizes = sorted(h["size"] for h in api.get("/v1/log/heads")["heads"])
    proof = api.get(f"/v1/log/consistency?first={sizes[0]}&second={sizes[-1]}")
    first, second = proof["first_head"], proof["second_head"]
    assert (first["key_id"], second["key_id"]) == (old.keys.key_id, api.cx.keys.key_id)
    verify_head(first)
    verify_head(second)
    merkle.verify_consistency(sizes[0], sizes[-1], b64(first["root"]), b64(second["root"]),
                              [b64(p) for p in proof["proof"]])
    for size, signer in ((sizes[0], old.keys), (None, api.cx.keys)):
        served = api.get("/v1/log/records/0" + (f"?size={size}" if size else ""), "regulator")
        assert served["checks"] == {"inclusion": True, "signature": True}
        assert served["tree_head"]["public_key"] == signer.public_key_b64()
        verify_head(served["tree_head"])
    rotation = api.get("/v1/log/records/25", "regulator")["record"]  # the rotation, in the log itself
    assert rotation["kind"] == "signing_key_rotated" and rotation["payload"]["to_key"]["id"] == api.cx.keys.key_id
