"""RFC 6962 / 9162 conformance: transparency-dev's vectors (a copy in tests/data/vectors, Apache-2.0) and the CT
reference roots."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from chengxin.domain import merkle

VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors" / "rfc6962"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))


def _id(path: Path) -> str:
    return path.relative_to(VECTORS).as_posix()


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(data: dict[str, Any]) -> list[bytes]:
    # Some files spell an empty proof as null.
    return [_b64(p) for p in data["proof"] or []]


def test_vector_sets_are_present() -> None:
    # Guard against a moved directory silently turning the parametrized tests into zero tests.
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98


@pytest.mark.parametrize("path", INCLUSION, ids=_id)
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    args = (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY, ids=_id)
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    args = (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), _proof(v))
    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


# RFC 6962 test tree used by google/certificate-transparency (python/ct/crypto/merkle_test.py).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_empty_root() -> None:
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.root([]) == merkle.EMPTY_ROOT
    assert merkle.frontier_root([]) == merkle.EMPTY_ROOT
    assert merkle.RootStream().root() == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_roots(size: int) -> None:
    hashes = [merkle.leaf_hash(e) for e in CT_LEAVES[:size]]
    assert merkle.root(hashes).hex() == CT_ROOTS[size - 1]
    stream = merkle.RootStream()
    stream.extend(hashes)
    assert stream.root().hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(
    ("size1", "size2", "proof"),
    [
        (1, 8, [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]),
        (6, 8, [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]),
        (2, 5, [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]),
    ],
)  # fmt: skip
def test_ct_consistency_proofs(size1: int, size2: int, proof: list[str]) -> None:
    hashes = [merkle.leaf_hash(e) for e in CT_LEAVES]
    expected = [bytes.fromhex(p) for p in proof]
    assert merkle.consistency_proof(hashes, size1, size2) == expected
    r1, r2 = bytes.fromhex(CT_ROOTS[size1 - 1]), bytes.fromhex(CT_ROOTS[size2 - 1])
    merkle.verify_consistency(size1, size2, r1, r2, expected)
