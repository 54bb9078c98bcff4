"""The credit log's key chain, pure: which key signs the head of each tree size, and the rotation statements
that hand the log from one key to the next.

A chain is the log's signing keys in order. The first signs the heads of sizes 1 and up; each later key took
over at a rotation, when the log had `size` records, and signs the heads of sizes `size + 1` and up (the head
that covers its own rotation record first). Its rotation statement names the log, that size and its root, and
both keys; the old key signs it (`endorsement`: the old key hands the log over) and so does the new one
(`acceptance`: whoever stole the old key cannot name a key of its own choosing without its private half, and a
chain forked that way shows two statements where an auditor saved one). Signatures are checked by a function
passed in, so this module stays free of cryptography libraries.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

HEADER = "chengxin signing-key rotation v1"
Verify = Callable[[bytes, bytes, bytes], bool]  # (raw public key, signature, message) -> valid


def key_id(public_key: bytes) -> str:
    """The id a tree head names its key by: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class Rotation:
    """What a rotation statement says: at `size` records (root `root`) the log passed from `old` to `new`."""

    origin: str
    size: int
    root: bytes
    old_id: str
    old_key: bytes
    new_id: str
    new_key: bytes
    at: str

    def text(self) -> str:
        b64 = base64.b64encode
        return (f"{HEADER}\n{self.origin}\n{self.size}\n{b64(self.root).decode()}\n"
                f"{self.old_id} {b64(self.old_key).decode()}\n{self.new_id} {b64(self.new_key).decode()}\n{self.at}\n")


def parse_statement(text: str) -> Rotation:
    """The rotation a statement's text says (ValueError if it is not one)."""
    lines = text.split("\n")
    if len(lines) != 8 or lines[0] != HEADER or lines[7] != "":
        raise ValueError("not a rotation statement")
    old_id, old_key = lines[4].split(" ")
    new_id, new_key = lines[5].split(" ")
    if not lines[2].isdigit():
        raise ValueError("the size is not a number")
    decode = base64.b64decode
    rotation = Rotation(lines[1], int(lines[2]), decode(lines[3], validate=True), old_id,
                        decode(old_key, validate=True), new_id, decode(new_key, validate=True), lines[6])
    if rotation.text() != text:
        raise ValueError("not in canonical form")
    return rotation


@dataclass(frozen=True)
class ChainKey:
    """One key of the chain, as stored (`statement`, `endorsement`, `acceptance` are None for the first)."""

    key_id: str
    public_key: bytes
    from_size: int
    added_at: str
    previous_key_id: str | None = None
    statement: str | None = None
    endorsement: bytes | None = None
    acceptance: bytes | None = None

    @property
    def rotation_index(self) -> int:
        """The log index of the record of the rotation that brought this key in (the head that covers it is the
        first this key signs)."""
        return self.from_size - 1


def in_force(chain: Sequence[ChainKey], size: int) -> ChainKey:
    """The key that signs the head of `size`: the last whose `from_size` is at most `size`."""
    found = chain[0]
    for k in chain:
        if k.from_size <= size:
            found = k
    return found


def head_key_problem(chain: Sequence[ChainKey], size: int, named: str) -> tuple[str, str] | None:
    """What is wrong with a head of `size` naming key `named`, as (problem, detail), or None when the key it names
    is the one in force at its size: `unknown_key` (no key of the chain), `retired_key` (a key the log had
    already been handed on from: a stolen old key signing after its retirement), `wrong_key` (a key that signs
    only later sizes)."""
    due = in_force(chain, size)
    if named == due.key_id:
        return None
    position = {k.key_id: i for i, k in enumerate(chain)}
    if named not in position:
        return "unknown_key", (f"tree head of size {size} names key {named!r}, which is not in the log's key chain "
                               f"(the key in force at that size is {due.key_id})")
    if position[named] < position[due.key_id]:
        successor = chain[position[named] + 1]
        return "retired_key", (f"tree head of size {size} is signed by key {named}, retired when the log passed to "
                               f"key {successor.key_id} at size {successor.rotation_index} (from size "
                               f"{successor.from_size} on, heads are {due.key_id}'s)")
    return "wrong_key", (f"tree head of size {size} names key {named}, which signs only heads of size "
                         f"{chain[position[named]].from_size} and up (the key in force at size {size} is "
                         f"{due.key_id})")


def chain_problems(chain: Sequence[ChainKey], origin: str, verify: Verify) -> list[tuple[ChainKey, str]]:
    """Each key of the chain whose place in it does not hold, with why: the first key must sign from size 1 and
    carry no statement; each later key must carry a statement of this log handing it over from the key before,
    at the size before its own `from_size`, signed by both keys. Every key's id must be its public key's."""
    out: list[tuple[ChainKey, str]] = []
    for i, k in enumerate(chain):
        if len(k.public_key) != 32 or key_id(k.public_key) != k.key_id:
            out.append((k, f"key {k.key_id}: its id is not that of its public key"))
        elif i == 0:
            if k.from_size != 1 or k.statement is not None or k.previous_key_id is not None:
                out.append((k, f"key {k.key_id}, the chain's first, must sign from size 1 with no rotation "
                               f"statement (it signs from {k.from_size})"))
        elif (why := _link_problem(chain[i - 1], k, origin, verify)) is not None:
            out.append((k, f"rotation to key {k.key_id} at size {k.rotation_index}: {why}"))
    return out


def _link_problem(old: ChainKey, new: ChainKey, origin: str, verify: Verify) -> str | None:
    if new.statement is None or new.endorsement is None or new.acceptance is None:
        return "no rotation statement, or a signature missing"
    try:
        said = parse_statement(new.statement)
    except ValueError as e:
        return f"the statement is malformed ({e})"
    wanted = (origin, new.rotation_index, old.key_id, old.public_key, new.key_id, new.public_key)
    if (said.origin, said.size, said.old_id, said.old_key, said.new_id, said.new_key) != wanted or \
            new.previous_key_id != old.key_id:
        return (f"the statement does not hand this log ({origin}) from key {old.key_id} to key {new.key_id} at "
                f"size {new.rotation_index}")
    message = new.statement.encode()
    if not verify(old.public_key, new.endorsement, message):
        return f"the endorsement does not verify with the previous key {old.key_id}"
    if not verify(new.public_key, new.acceptance, message):
        return f"the acceptance does not verify with the new key {new.key_id}"
    return None
