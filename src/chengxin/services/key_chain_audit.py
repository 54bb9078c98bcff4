"""The key chain's part of `chengxin audit verify`: each head is checked with the key in force at its size, and
the chain itself from its first key (domain/key_chain.py).

Named problems, each at a record index as the rest of the audit names them:
- `unknown_key` (a head naming a key the chain lacks), `retired_key` (a head of a size the log had already been
  handed on from that key: a stolen old key signing on), `wrong_key` (a head signed by a later key before it
  took over): at the head's last record;
- `endorsement`, at the rotation's own log record: a rotation statement that is malformed, does not hand this
  log from the key before at that size, or whose endorsement (old key) or acceptance (new key) does not verify;
  the root it names not the one signed at that size; a chain key with no `signing_key_rotated` record in the
  log, or such a record that no chain key matches (a chain row deleted, inserted or replaced).
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection

from chengxin.adapters import crypto
from chengxin.domain import key_chain as kc
from chengxin.domain import merkle
from chengxin.services import key_chain
from chengxin.services.key_rotation import KIND


class _Report(Protocol):
    def fail(self, index: int | None, problem: str, detail: str) -> None: ...


class ChainAudit:
    """Loads the chain, checks its links, gives each head its key, and collects the log's rotation records."""

    def __init__(self, conn: Connection, keys: crypto.Keys, origin: str, report: _Report) -> None:
        self.report, self.origin = report, origin
        self.chain = key_chain.chain(conn, keys)
        self.logged: dict[int, Any] = {}  # log index -> payload of a signing_key_rotated record (None: not JSON)
        for k, why in kc.chain_problems(self.chain, origin, key_chain.verify):
            report.fail(k.rotation_index, "endorsement", why)

    def key_for(self, size: int, named: Any) -> bytes | None:
        """The public key that must verify the head of `size` naming key `named`; None (reported) when it names
        a key other than the one in force at its size."""
        problem = kc.head_key_problem(self.chain, size, str(named))
        if problem is not None:
            self.report.fail(size - 1, *problem)
            return None
        return kc.in_force(self.chain, size).public_key

    def see(self, row: Any) -> None:
        if row.kind == KIND:
            try:
                self.logged[int(row.idx)] = orjson.loads(row.payload)
            except ValueError:
                self.logged[int(row.idx)] = None  # an altered payload: the walk names it too

    def finish(self, heads: list[Any]) -> None:
        """Hold each rotation to the log: its record, and the root it names to the head signed at that size."""
        roots = {h.size: h.root for h in heads}
        expected = {k.rotation_index: k for k in self.chain[1:]}
        for index, k in expected.items():
            why = _record_problem(k, self.logged.get(index, "missing")) or self._root_problem(k, roots)
            if why:
                self.report.fail(index, "endorsement", f"rotation to key {k.key_id} at size {index}: {why}")
        for index in sorted(set(self.logged) - set(expected)):
            self.report.fail(index, "endorsement", f"log record {index} hands the log to another key, which the key "
                                                   "chain does not hold at that size: the chain was changed")

    def _root_problem(self, k: kc.ChainKey, roots: dict[int, Any]) -> str | None:
        try:
            said = kc.parse_statement(str(k.statement)).root
        except ValueError:
            return None  # named by chain_problems
        size = k.rotation_index
        signed = roots.get(size) if size else merkle.EMPTY_ROOT
        if signed is None:
            return f"the head of size {size} it hands over is not stored"
        return None if signed == said else f"the root it names is not the one signed at size {size}"


def _record_problem(k: kc.ChainKey, payload: Any) -> str | None:
    """Whether the log's record of the rotation says what the chain row does (both signatures included)."""
    if payload == "missing":
        return "the log holds no signing_key_rotated record of it at that index"
    b64 = base64.b64encode
    try:
        fits = (payload["to_key"]["id"] == k.key_id and payload["size"] == k.rotation_index
                and payload["to_key"]["public_key"] == b64(k.public_key).decode()
                and payload["endorsement"] == b64(k.endorsement or b"").decode()
                and payload["acceptance"] == b64(k.acceptance or b"").decode())
    except (KeyError, TypeError):
        fits = False
    return None if fits else "the log's record of it does not say what the key chain says"
