"""The key chain's pure rules (domain/key_chain.py): which key signs each size, what a head naming another key
is called, and when a rotation statement holds."""

from __future__ import annotations

import dataclasses
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chengxin.domain import key_chain as kc

ORIGIN = "credit.example.gov.cn/log"


def raw(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def verify(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def rotated(old: Ed25519PrivateKey, new: Ed25519PrivateKey, size: int, *, origin: str = ORIGIN,
            endorser: Ed25519PrivateKey | None = None) -> kc.ChainKey:
    """The chain key of `new`, handed over from `old` at `size` (endorsed by `endorser`, default `old`)."""
    r = kc.Rotation(origin, size, os.urandom(32), kc.key_id(raw(old)), raw(old), kc.key_id(raw(new)), raw(new),
                    "2026-11-28T00:00:00.000000Z")
    text = r.text()
    return kc.ChainKey(r.new_id, raw(new), size + 1, r.at, r.old_id, text,
                       (endorser or old).sign(text.encode()), new.sign(text.encode()))


@pytest.fixture
def chain():
    a, b, c = (Ed25519PrivateKey.generate() for _ in range(3))
    first = kc.ChainKey(kc.key_id(raw(a)), raw(a), 1, "2026-01-01T00:00:00.000000Z")
    return [first, rotated(a, b, 10), rotated(b, c, 20)], (a, b, c)


def test_the_key_in_force_is_the_last_that_took_over_at_or_below_the_size(chain):
    keys, _ = chain
    assert [kc.in_force(keys, s).key_id for s in (1, 10, 11, 20, 21, 999)] == \
        [keys[0].key_id, keys[0].key_id, keys[1].key_id, keys[1].key_id, keys[2].key_id, keys[2].key_id]


def test_a_head_naming_another_key_than_the_one_in_force_is_named(chain):
    keys, _ = chain
    assert kc.head_key_problem(keys, 15, keys[1].key_id) is None
    assert kc.head_key_problem(keys, 15, keys[0].key_id)[0] == "retired_key"  # old key signing after retirement
    assert "retired when the log passed to key" in kc.head_key_problem(keys, 25, keys[0].key_id)[1]
    assert kc.head_key_problem(keys, 5, keys[2].key_id)[0] == "wrong_key"  # a later key before it took over
    assert kc.head_key_problem(keys, 5, "0123456789abcdef")[0] == "unknown_key"


def test_an_intact_chain_has_no_problem(chain):
    keys, _ = chain
    assert kc.chain_problems(keys, ORIGIN, verify) == []


def test_a_statement_parses_back_to_what_it_says_and_nothing_else_parses(chain):
    keys, _ = chain
    said = kc.parse_statement(keys[1].statement)
    assert (said.size, said.old_id, said.new_id) == (10, keys[0].key_id, keys[1].key_id)
    for bad in ("", keys[1].statement.replace("\n10\n", "\n+10\n"), keys[1].statement + "x",
                keys[1].statement.replace("rotation v1", "rotation v2")):
        with pytest.raises(ValueError):
            kc.parse_statement(bad)


def test_each_broken_link_is_named(chain):
    keys, (a, b, _) = chain
    stranger = Ed25519PrivateKey.generate()
    cases = {
        "endorsement does not verify": [keys[0], rotated(a, b, 10, endorser=stranger), keys[2]],
        "acceptance does not verify": [keys[0], dataclasses.replace(keys[1], acceptance=keys[1].endorsement),
                                       keys[2]],
        "does not hand this log": [keys[0], rotated(a, b, 10, origin="other.example/log"), keys[2]],
        "at size 11: the statement does not hand": [keys[0], dataclasses.replace(keys[1], from_size=12), keys[2]],
        "malformed": [keys[0], dataclasses.replace(keys[1], statement="x"), keys[2]],
        "its id is not that of its public key": [keys[0], dataclasses.replace(keys[1], key_id="0" * 16), keys[2]],
        "must sign from size 1": [dataclasses.replace(keys[0], from_size=5), *keys[1:]],
    }
    for why, broken in cases.items():
        found = kc.chain_problems(broken, ORIGIN, verify)
        assert found and why in found[0][1], (why, found)
    # a link skipped: c's statement hands over from b, not from a
    skipped = kc.chain_problems([keys[0], keys[2]], ORIGIN, verify)
    assert skipped and "does not hand this log" in skipped[0][1]
