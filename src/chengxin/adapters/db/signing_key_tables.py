"""The credit log's key chain: every key that has signed its tree heads, and the rotation statements that hand
the log from one key to the next (domain/key_chain.py, services/key_chain.py, docs/credit-log.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, LargeBinary, Table, Text

from chengxin.adapters.db.tables import T, metadata

# One row per signing key, in the order they took the log over (`from_size`). The first key's row is written by
# the first rotation (until then the node's own key is the whole chain); each later row carries its rotation
# statement, signed by the key before it (`endorsement`) and by itself (`acceptance`).
signing_keys = Table(
    "signing_keys", metadata,
    Column("key_id", T, primary_key=True),
    Column("public_key", LargeBinary, nullable=False),    # raw 32-byte Ed25519 public key
    Column("from_size", BigInteger, nullable=False, unique=True),  # smallest tree size whose head it signs
    Column("added_at", T, nullable=False),
    Column("previous_key_id", T),                         # the key it replaced (null: the first key)
    Column("statement", Text),                            # the rotation statement both keys signed
    Column("endorsement", LargeBinary),                   # the previous key's signature over `statement`
    Column("acceptance", LargeBinary),                    # this key's signature over `statement`
)
