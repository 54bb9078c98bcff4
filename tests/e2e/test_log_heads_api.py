"""Past signed tree heads are listed (`GET /v1/log/heads`, newest first, paged) and a consistency proof carries
both signed heads: an auditor joining late picks a listed head, checks its signature and proves the log grew
from it. Found by review: only the newest head was served, and the proof's roots were unsigned."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from tests.e2e.test_api import SAMPLE_LINES, Api, api, verify_head  # noqa: F401  (the fixture)

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.domain import merkle


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def grown(api: Api) -> list[int]:  # noqa: F811
    """The sample sent in four requests: a head per request that logged records (and per consequence)."""
    for part in range(0, 48, 12):
        api.post_events("senders", SAMPLE_LINES[part:part + 12])
    with read_connection(api.cx.engine) as conn:
        return sorted((r.size for r in conn.execute(select(t.tree_heads.c.size))), reverse=True)


def every_head(api: Api, limit: int) -> list[dict[str, Any]]:  # noqa: F811
    heads: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        page = api.get(f"/v1/log/heads?limit={limit}" + (f"&before={before}" if before else ""))
        heads += page["heads"]
        assert page["public_key"] == api.get("/v1/log/head")["public_key"] and page["algorithm"] == "Ed25519"
        if page["next_before"] is None:
            return heads
        before = page["next_before"]
        assert before == heads[-1]["size"]


def test_every_signed_head_is_listed_newest_first_page_by_page(api: Api) -> None:  # noqa: F811
    assert api.get("/v1/log/heads") == {"heads": [], "next_before": None, "public_key": api.get(
        "/v1/log/head")["public_key"], "algorithm": "Ed25519"}
    sizes = grown(api)
    assert len(sizes) >= 4
    for limit in (1, 2, 1000):
        heads = every_head(api, limit)
        assert [h["size"] for h in heads] == sizes
    key = api.get("/v1/log/head")["public_key"]
    for head in every_head(api, 100):
        verify_head({**head, "public_key": key})
    assert every_head(api, 100)[0] == {k: v for k, v in api.get("/v1/log/head").items()  # each with its own key
                                       if k != "algorithm"}
    assert api.client.get("/v1/log/heads?before=0").status_code == 422
    assert api.client.get("/v1/log/heads?limit=1001").status_code == 422


def test_a_listed_head_proves_consistent_with_the_newest_by_its_signature(api: Api) -> None:  # noqa: F811
    grown(api)
    listed = api.get("/v1/log/heads")
    newest, earlier = listed["heads"][0], listed["heads"][2]  # a head the auditor never saved
    proof = api.get(f"/v1/log/consistency?first={earlier['size']}&second={newest['size']}")
    assert (proof["first_head"], proof["second_head"]) == (earlier, newest)
    key = Ed25519PublicKey.from_public_bytes(b64(proof["public_key"]))
    for head in (proof["first_head"], proof["second_head"]):  # the roots are the signed ones
        key.verify(b64(head["signature"]), head["note"].encode())
        assert head["note"].split("\n")[1:3] == [str(head["size"]), head["root"]]
    merkle.verify_consistency(earlier["size"], newest["size"], b64(proof["first_head"]["root"]),
                              b64(proof["second_head"]["root"]), [b64(p) for p in proof["proof"]])
    assert (proof["first_root"], proof["second_root"]) == (earlier["root"], newest["root"])
