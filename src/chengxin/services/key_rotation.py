"""`chengxin log rotate-key`: hand the credit log from the node's signing key to a new one.

In one write transaction, under the log lock: the rotation statement (domain/key_chain.py) naming this log, its
size and root, and both keys is signed by the old key (its endorsement) and the new (its acceptance); the chain
stores the old key (as its first, before any earlier rotation) and the new one with the statement; and the
statement is appended to the log itself as a `signing_key_rotated` record, whose head is the first the new key
signs. The log therefore commits to its own rotations: a chain row deleted or replaced later disagrees with a
record under every later signed root (`key_chain_audit.py`).

The new key exists only in this command's output until the operator configures it: a node started afterwards
with the old key is refused (`key_chain.refuse_retired`). Give a key made beforehand (`--new-key-file`) to keep
it safe before the log depends on it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from chengxin.adapters import crypto
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.adapters.db.signing_key_tables import signing_keys
from chengxin.bootstrap import Chengxin
from chengxin.domain import key_chain as kc
from chengxin.domain.credit import CreditRecord
from chengxin.exc import InvalidInput
from chengxin.services import credit_log, key_chain

KIND = "signing_key_rotated"  # the credit record of a rotation
SOURCE = "urn:cx:chengxin:log"  # its subject and event source: the log itself, no party


@dataclass(frozen=True)
class Rotated:
    """A rotation done: the keys, the size handed over, the new key's first head, and its secret (base64 seed)."""

    old_key_id: str
    new_key_id: str
    size: int
    head: credit_log.TreeHead
    new_signing_key: str
    demo_file_updated: bool

    def as_dict(self, origin: str) -> dict[str, Any]:
        return {"old_key_id": self.old_key_id, "new_key_id": self.new_key_id, "handed_over_at_size": self.size,
                "tree_head": self.head.as_dict(origin), "demo_key_file_updated": self.demo_file_updated}


def new_seed(given: str | None) -> bytes:
    """The new key's 32-byte seed: `given` (base64, as CHENGXIN_SIGNING_KEY holds it), else fresh."""
    if given is None:
        return os.urandom(32)
    try:
        seed = base64.b64decode(given.strip(), validate=True)
    except ValueError:
        raise InvalidInput("the new signing key is not valid base64") from None
    if len(seed) != 32 or len(set(seed)) == 1:
        raise InvalidInput("the new signing key must be 32 random bytes, base64-encoded (`chengxin keys generate`)")
    return seed


def rotate(app: Chengxin, seed: bytes) -> Rotated:
    """Hand the log from the node's key to the key of `seed` (see the module)."""
    old, origin = app.keys, app.settings.log_origin
    new = old.with_signing_key(seed)
    with write_transaction(app.engine) as conn:
        credit_log.require_own_key(conn, old, origin)
        ring = key_chain.stored(conn)
        if new.key_id == old.key_id or new.key_id in {k.key_id for k in ring}:
            raise InvalidInput(f"key {new.key_id} has signed this log already: a rotation needs a new key")
        head = credit_log.latest_head(conn)
        if head is None:  # nothing signed yet, nothing for an auditor to follow: the new key is simply the first
            raise InvalidInput("the credit log is empty: configure the new signing key directly, no rotation needed")
        size, root = head.size, head.root
        statement = kc.Rotation(origin, size, root, old.key_id, crypto.public_bytes(old), new.key_id,
                                crypto.public_bytes(new), credit_log.now_utc())
        text = statement.text()
        endorsement, acceptance = crypto.sign(old, text.encode()), crypto.sign(new, text.encode())
        if not ring:  # the first key joins the chain as signing from its first head (or from now, on an empty log)
            first = conn.execute(select(t.tree_heads.c.signed_at).order_by(t.tree_heads.c.size).limit(1)).scalar()
            conn.execute(insert(signing_keys).values(key_id=old.key_id, public_key=crypto.public_bytes(old),
                                                     from_size=1, added_at=first or statement.at))
        conn.execute(insert(signing_keys).values(
            key_id=new.key_id, public_key=crypto.public_bytes(new), from_size=size + 1, added_at=statement.at,
            previous_key_id=old.key_id, statement=text, endorsement=endorsement, acceptance=acceptance))
        signed = credit_log.append(conn, new, origin, [(_record(statement, endorsement, acceptance),
                                                        hashlib.sha256(text.encode()).hexdigest())],
                                   handing_over_from=old.key_id)
    assert signed is not None
    seed_b64 = base64.b64encode(seed).decode()
    updated = app.settings.env == "demo" and app.settings.signing_key is None and \
        crypto.replace_demo_signing_key(app.settings.keys_file, seed_b64)
    return Rotated(old.key_id, new.key_id, size, signed, seed_b64, updated)


def _record(r: kc.Rotation, endorsement: bytes, acceptance: bytes) -> CreditRecord:
    """The rotation as a credit record: everything its statement says, and both signatures."""
    b64 = base64.b64encode
    payload = {"size": r.size, "root": b64(r.root).decode(), "rotated_at": r.at,
               "from_key": {"id": r.old_id, "public_key": b64(r.old_key).decode()},
               "to_key": {"id": r.new_id, "public_key": b64(r.new_key).decode()},
               "endorsement": b64(endorsement).decode(), "acceptance": b64(acceptance).decode()}
    return CreditRecord(KIND, "log", (SOURCE, r.origin), (SOURCE, r.new_id), r.at, payload)
