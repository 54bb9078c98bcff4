"""The credit log's key chain in storage: which public key verifies each head, for serving, auditing and the
node's own start-up check (domain/key_chain.py holds the rules; `key_rotation.py` adds keys).

Until the first rotation nothing is stored: the node's own key is the whole chain, from size 1. The first
rotation stores that key as the chain's first, then the new one with its statement.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, select

from chengxin.adapters import crypto
from chengxin.adapters.db.signing_key_tables import signing_keys
from chengxin.domain import key_chain as kc
from chengxin.exc import ConfigError


def stored(conn: Connection) -> list[kc.ChainKey]:
    """The stored chain in order (empty before the first rotation)."""
    c = signing_keys.c
    rows = conn.execute(select(signing_keys).order_by(c.from_size))
    return [kc.ChainKey(r.key_id, r.public_key, r.from_size, r.added_at, r.previous_key_id, r.statement,
                        r.endorsement, r.acceptance) for r in rows]


def own_key(keys: crypto.Keys) -> kc.ChainKey:
    """The node's key as the first of a chain (before any rotation, the whole of it)."""
    return kc.ChainKey(keys.key_id, crypto.public_bytes(keys), 1, "")


def chain(conn: Connection, keys: crypto.Keys) -> list[kc.ChainKey]:
    """The chain that verifies this log's heads: the stored one, or the node's own key alone."""
    return stored(conn) or [own_key(keys)]


def public_keys(conn: Connection, keys: crypto.Keys) -> dict[str, bytes]:
    """Raw public key by key id, for every key of the chain."""
    return {k.key_id: k.public_key for k in chain(conn, keys)}


def verify(public_key: bytes, signature: Any, message: bytes) -> bool:
    """Whether `signature` over `message` verifies with the raw Ed25519 `public_key` (False for a malformed
    key or signature: a column no append writes)."""
    if not (isinstance(public_key, bytes) and len(public_key) == 32 and isinstance(signature, bytes)):
        return False
    return crypto.verify_signature(Ed25519PublicKey.from_public_bytes(public_key), signature, message)


def served_head(head_dict: dict[str, Any], keys_by_id: dict[str, bytes]) -> dict[str, Any]:
    """A head as served, with the public key of its own `key_id` (null for a key not in the chain): a head
    signed before a rotation verifies with the key that signed it, not with the node's key of today."""
    key = keys_by_id.get(head_dict["key_id"])
    return {**head_dict, "public_key": base64.b64encode(key).decode() if key is not None else None}


def chain_view(conn: Connection, keys: crypto.Keys, origin: str) -> dict[str, Any]:
    """`GET /v1/log/keys`: every key of the chain, the sizes it signs, and its rotation statement with both
    signatures, so a verifier elsewhere can check each head with its key and each key from the first."""
    ring = chain(conn, keys)
    out = []
    for i, k in enumerate(ring):
        until = ring[i + 1].from_size - 1 if i + 1 < len(ring) else None
        b64 = _b64
        out.append({"key_id": k.key_id, "public_key": b64(k.public_key), "algorithm": "Ed25519",
                    "from_size": k.from_size, "until_size": until, "added_at": k.added_at or None,
                    "previous_key_id": k.previous_key_id,
                    "rotation": None if k.statement is None else {
                        "log_index": k.rotation_index, "statement": k.statement,
                        "endorsement": b64(k.endorsement), "acceptance": b64(k.acceptance)}})
    return {"origin": origin, "keys": out, "current_key_id": ring[-1].key_id}


def _b64(value: bytes | None) -> str | None:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else None


def refuse_retired(conn: Connection, keys: crypto.Keys) -> bool:
    """Refuse (ConfigError) a node configured with a key the log was handed on from by a rotation: the node must
    sign with the chain's newest key. True when the node's key is that newest key (so a newest head naming
    another is tampering, for the audit to name); False when no chain is stored, or the node's key is not in it
    (left to the caller's check of the newest head: a chain row deleted under a node running its rightful key
    is the audit's to name too, not a setting)."""
    ring = stored(conn)
    ids = [k.key_id for k in ring]
    if keys.key_id not in ids[:-1]:
        return bool(ids) and ids[-1] == keys.key_id
    successor, newest = ring[ids.index(keys.key_id) + 1], ring[-1]
    raise ConfigError(f"this node's signing key {keys.key_id} was retired: the credit log was handed to key "
                      f"{successor.key_id} at size {successor.rotation_index} ({successor.added_at}), and its "
                      f"signing key is now {newest.key_id}. Configure that key (CHENGXIN_SIGNING_KEY, as "
                      "`chengxin log rotate-key` printed it); a retired key signs nothing more")
