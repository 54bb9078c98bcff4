"""A request body in a content coding the API does not decode is refused whole (415, naming the coding); a
JSON body FastAPI cannot read is the documented 400 `bad_request`. Found by review: a gzipped batch of events
was "rejected" line by line for surrogates, and a JSON route answered an undocumented `400 http_error`."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.e2e.test_api import P1, SAMPLE_LINES, Api, make_api

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app

VERDICT = b'{"verdict": "genuine", "reason": "test it"}'


@pytest.fixture
def node(app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


def stored(node: Api) -> int:
    with read_connection(node.cx.engine) as conn:
        return conn.execute(select(func.count()).select_from(t.events)).scalar_one()


def post(node: Api, url: str, body: bytes, **headers: str) -> Any:
    return node.client.post(url, content=body, headers={**node.as_("p1"), **headers})


@pytest.mark.parametrize("coding", ["gzip", "GZIP", "identity, gzip", "br"])
def test_a_compressed_batch_of_events_is_refused_whole_naming_the_coding(node: Api, coding: str) -> None:
    body = gzip.compress(b"\n".join(SAMPLE_LINES[:3]))
    response = post(node, "/v1/events", body, **{"Content-Encoding": coding,
                                                 "Content-Type": "application/x-ndjson"})
    assert response.status_code == 415, response.text
    answer = response.json()
    assert answer["error"] == "unsupported_encoding"
    assert coding.split(",")[-1].strip().lower() in answer["detail"] and "identity" in answer["detail"]
    assert response.headers["Accept-Encoding"] == "identity"
    assert response.headers["Cache-Control"] == "no-store"
    assert stored(node) == 0


def test_identity_is_the_body_as_it_is(node: Api) -> None:
    response = post(node, "/v1/events", b"\n".join(SAMPLE_LINES[:3]), **{"Content-Encoding": "identity"})
    assert response.status_code == 200 and response.json()["accepted"] == 3


def test_a_compressed_json_body_is_415_and_unreadable_json_the_documented_400(node: Api) -> None:
    url = f"/v1/orders/O1/verdict?source={P1}"
    refused = post(node, url, gzip.compress(VERDICT), **{"Content-Encoding": "gzip",
                                                         "Content-Type": "application/json"})
    assert refused.status_code == 415 and refused.json()["error"] == "unsupported_encoding"
    # the same bytes sent without saying they are compressed: FastAPI cannot read them as text
    unreadable = post(node, url, gzip.compress(VERDICT), **{"Content-Type": "application/json"})
    assert unreadable.status_code == 400, unreadable.text
    assert unreadable.json() == {"error": "bad_request", "detail": (
        "body: not UTF-8 text (byte 0x8b at position 1); send JSON in UTF-8, uncompressed")}


def test_the_portal_refuses_a_compressed_form_too(node: Api) -> None:
    response = node.client.post("/search", content=gzip.compress(b"q=x"), headers={"Content-Encoding": "gzip"})
    assert response.status_code == 415 and "gzip" in response.text


def test_the_document_names_400_and_415_with_the_error_body(node: Api) -> None:
    spec = node.client.get("/openapi.json").json()
    schema = spec["components"]["schemas"]["ErrorBody"]
    assert "`bad_request` (400)" in schema["properties"]["error"]["description"]
    assert "`unsupported_encoding` (415)" in schema["properties"]["error"]["description"]
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    verdict = spec["paths"]["/v1/orders/{order_id}/verdict"]["post"]["responses"]
    assert {s: verdict[s]["content"]["application/json"]["schema"] for s in ("400", "415")} == {"400": ref,
                                                                                              "415": ref}
    events = spec["paths"]["/v1/events"]["post"]["responses"]
    assert events["415"]["content"]["application/json"]["schema"] == ref and "400" not in events
    assert "415" not in spec["paths"]["/v1/log/head"]["get"]["responses"]
