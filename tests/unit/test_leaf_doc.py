"""docs/credit-log.md defines a leaf byte for byte: its reference encoder, written from the rules alone, gives
the code's leaves; its worked example is what the code builds and serves; its key snippet prints the node's key."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from chengxin.adapters import crypto
from chengxin.domain import merkle
from chengxin.domain.credit import CreditRecord, leaf_bytes
from chengxin.domain.events import canonical
from chengxin.services.credit_file import record_view

DOC = (Path(__file__).resolve().parents[2] / "docs" / "credit-log.md").read_text(encoding="utf-8")


def block(info: str) -> str:
    """The fenced block of the doc whose info string is `info`."""
    found = re.search(r"^```" + re.escape(info) + r"\n(.*?)^```$", DOC, re.M | re.S)
    assert found, info
    return found[1]


def run_block(*infos: str) -> dict[str, Any]:
    """Run the doc's blocks in order in one namespace (a later block uses an earlier one's functions)."""
    namespace: dict[str, Any] = {}
    for info in infos:
        exec(compile(block(info), f"docs/credit-log.md:{info}", "exec"), namespace)  # as a reader would run it
    return namespace


REF = run_block("python leaf-reference")

# Any JSON value a payload may hold: integers up to 64 bits, every float (NaN and infinities are written null),
# text of any character but a lone surrogate (keys beyond U+FFFF too, where UTF-16 order differs).
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.floats(), st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                           max_size=4), max_leaves=12)


@given(values)
def test_the_reference_encoder_writes_what_the_code_writes(value: Any) -> None:
    assert REF["canonical"](value).encode() == canonical(value)


@given(st.integers(0, 2**64 - 1))
def test_every_double_is_written_by_the_number_rule(bits: int) -> None:
    x = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
    assert REF["number"](x).encode() == orjson.dumps(x)


@pytest.mark.parametrize(("x", "text"), [(1.0, "1.0"), (100.0, "100.0"), (0.00001, "0.00001"), (1e-6, "1e-6"),
                                          (1e15, "1000000000000000.0"), (1234567890123456.8, "1234567890123456.8"),
                                          (0.5, "0.5"), (1e16, "1e+16"), (1.5e-7, "1.5e-7"), (-0.0, "-0.0"),
                                          (float("nan"), "null")])
def test_the_number_rules_examples(x: float, text: str) -> None:
    assert REF["number"](x) == text and f"`{text}`" in DOC


records = st.builds(CreditRecord, st.text(), st.text(), st.tuples(st.text(), st.text()),
                    st.tuples(st.text(), st.text()), st.text(), st.dictionaries(st.text(), values, max_size=5))


@given(records, st.integers(0, 2**48), st.text())
def test_a_served_records_fields_rebuild_its_leaf(record: CreditRecord, index: int, event_hash: str) -> None:
    """What an outsider rebuilds from a served record (parsed by Python's json, which keeps 1.0 a float) is the
    leaf the log hashed, byte for byte."""
    served = record_view(_row(index, record, event_hash))
    assert REF["leaf_of"](json.loads(json.dumps(served))) == leaf_bytes(index, record, event_hash)
    assert base64.b64decode(served["leaf_bytes"]) == leaf_bytes(index, record, event_hash)


def _row(index: int, record: CreditRecord, event_hash: str) -> SimpleNamespace:
    """A `credit_records` row as an append stores it."""
    return SimpleNamespace(idx=index, kind=record.kind, subject_kind=record.subject_kind,
                           subject_source=record.subject[0], subject_id=record.subject[1],
                           event_source=record.event[0], event_id=record.event[1], event_hash=event_hash,
                           at=record.at, payload=canonical(dict(record.payload)).decode())


def test_the_worked_example() -> None:
    served = json.loads(block("json leaf-example-record"))
    leaf = block("text leaf-example-bytes").removesuffix("\n").encode()
    size = re.search(r"Its leaf is these (\d+) bytes", DOC)
    assert size and int(size[1]) == len(leaf)
    assert REF["leaf_of"](served) == leaf  # rebuilt from the fields by the documented rules
    record = CreditRecord(served["kind"], served["subject"]["kind"],
                          (served["subject"]["source"], served["subject"]["id"]),
                          (served["event"]["source"], served["event"]["id"]), served["at"], served["payload"])
    assert leaf_bytes(served["index"], record, served["event"]["hash"]) == leaf  # what the log hashes
    digest = merkle.leaf_hash(leaf)
    assert digest == hashlib.sha256(b"\0" + leaf).digest()
    assert f"`{digest.hex()}`" in DOC and f"`{base64.b64encode(digest).decode()}`" in DOC
    # and the code serves the record exactly as the doc shows it, with the leaf's bytes
    row = _row(served["index"], record, served["event"]["hash"])
    assert record_view(row) == {**served, "leaf_bytes": base64.b64encode(leaf).decode()}


def test_the_key_snippet_prints_the_nodes_public_key_and_key_id(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = bytes(range(32))
    monkeypatch.setenv("CHENGXIN_SIGNING_KEY", base64.b64encode(secret).decode())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_block("python public-key")
    keys = crypto.Keys(pii=b"", index=b"", signing=Ed25519PrivateKey.from_private_bytes(secret))
    assert out.getvalue().split() == [keys.public_key_b64(), keys.key_id]
