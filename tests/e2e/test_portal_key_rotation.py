"""The record page's proof after a signing-key rotation, in Debian's chromium: a record proven against a head the
old key signed (`?size=`) verifies in the browser with the old key, and against the newest head with the new
one. The page embeds the public key of the head's own key; with the node's current key beside an old head,
every browser check of a signature failed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.e2e.conftest import make_portal_cx, serve_in_thread

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.entrypoints.api.app import create_app
from chengxin.services import key_rotation

pytestmark = pytest.mark.browser
LICENCE = 9  # the sample's food business permit of M1
PROOF_DATA = re.compile(r'<script type="application/json" id="proof-data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chengxin, Chengxin]]:
    """The sample's store, before and after its key was rotated (the demo key file holds the new key)."""
    old = make_portal_cx(tmp_path_factory.mktemp("rotation-browser"))
    key_rotation.rotate(old, key_rotation.new_seed(None))
    new = bootstrap(old.settings)
    yield old, new
    old.engine.dispose()
    new.engine.dispose()


@pytest.fixture(scope="module")
def server(nodes: tuple[Chengxin, Chengxin]) -> Iterator[str]:
    yield from serve_in_thread(create_app(nodes[1]), "rotation-uvicorn")


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="en")
    yield context.new_page()
    context.close()


def old_head_size(cx: Chengxin) -> int:
    with read_connection(cx.engine) as conn:
        return int(min(conn.execute(select(t.tree_heads.c.size)).scalars()))


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_record_verifies_against_heads_of_either_key(page: Page, nodes: tuple[Chengxin, Chengxin],
                                                       when: str) -> None:
    old, new = nodes
    page.goto(f"/records/{LICENCE}" + (f"?size={old_head_size(new)}" if when == "before" else ""))
    for check in ("verify-result", "signature-result", "server-result"):
        expect(page.get_by_test_id(check)).to_have_attribute("data-state", "verified")
    shown = json.loads(PROOF_DATA.search(page.content())[1])  # type: ignore[index]
    signer = old.keys if when == "before" else new.keys
    assert (shown["key_id"], shown["public_key"]) == (signer.key_id, signer.public_key_b64())
