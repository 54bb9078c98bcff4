"""The record page's script, `verify.js`, against transparency-dev's RFC 6962 inclusion vectors (the copy in
tests/data/vectors, as `domain/merkle.py` is in tests/unit/test_merkle_vectors.py), in Debian's chromium: it
accepted the wantErr vector inclusion/single-entry/empty-root-and-leaf.json (an empty leaf hash and root).

verify.js checks inclusion only (the page proves one record against one signed head): the consistency vectors
have no counterpart in it, and the test says so rather than skip them silently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route
from tests.conftest import VECTORS

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[2] / "src" / "chengxin" / "entrypoints" / "web" / "static" / "verify.js"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))

# Each vector as the page's proof data: the leaf hash the server derived, folded with the proof to the root.
RUN = """async (vectors) => {
  const out = {};
  for (const [name, v] of Object.entries(vectors)) {
    const d = {record: {index: v.leafIdx, masked: ["x"]}, size: v.treeSize, leaf_hash: v.leafHash || "",
               proof: v.proof || [], root: v.root || ""};
    try {
      const r = await window.chengxinVerify.checkLeafHash(d);
      out[name] = r.ok ? "ok" : r.problem.code;
    } catch (e) {
      out[name] = e.code || ("error: " + e.message);
    }
  }
  return out;
}"""


def _answer(route: Route) -> None:
    """A page that loads verify.js, answered here: no server, no network."""
    if route.request.url.endswith("/verify.js"):
        route.fulfill(content_type="text/javascript", body=SCRIPT.read_text(encoding="utf-8"))
    else:
        route.fulfill(content_type="text/html", body="<!doctype html><title>verify.js</title>"
                                                     "<script src='/verify.js'></script>")


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.route("http://localhost/**", _answer)  # localhost is a secure context, as WebCrypto needs
    page = context.new_page()
    page.goto("http://localhost/")
    page.wait_for_function("!!window.chengxinVerify")
    assert page.evaluate("window.isSecureContext && !!crypto.subtle")
    yield page
    context.close()


def test_vector_sets_are_present() -> None:
    assert len(INCLUSION) == 98 and len(CONSISTENCY) == 98  # a moved directory must not leave zero tests


def test_every_inclusion_vector(page: Page) -> None:
    vectors = {p.relative_to(VECTORS).as_posix(): json.loads(p.read_text()) for p in INCLUSION}
    got = page.evaluate(RUN, vectors)
    wrong = {name: got[name] for name, v in vectors.items() if (got[name] == "ok") == bool(v["wantErr"])}
    assert not wrong, wrong
    assert sum(1 for v in vectors.values() if not v["wantErr"]) > 0  # some vectors prove, some must fail
    assert got["inclusion/single-entry/empty-root-and-leaf.json"] == "hash"


@pytest.mark.parametrize(("leaf", "root", "code"), [
    (b"", b"", "hash"),  # the reviewer's case: accepted before
    (b"\1" * 31, b"\1" * 31, "hash"),  # a short leaf and root that are equal still prove nothing
    (b"\1" * 32, b"\1" * 33, "hash"),
], ids=["empty", "31-bytes", "long-root"])
def test_a_leaf_hash_or_root_that_is_not_32_bytes_fails(page: Page, leaf: bytes, root: bytes, code: str) -> None:
    import base64

    vector = {"leafIdx": 0, "treeSize": 1, "leafHash": base64.b64encode(leaf).decode(), "proof": [],
              "root": base64.b64encode(root).decode()}
    assert page.evaluate(RUN, {"v": vector}) == {"v": code}
