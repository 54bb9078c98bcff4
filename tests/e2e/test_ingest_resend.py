"""A re-send that means what is stored (a null for an absent optional field or attribute, `.000` on a time,
the same instant in another offset) is a duplicate, not a conflict; a real conflict names the fields that
differ, never their values. Found by review: every such retry was a conflict with a reason naming nothing.
Through the service (against the store, within one batch, in the second process of a bulk load) and
`POST /v1/events`; stored content hashes are untouched (the first sending's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.test_api import SAMPLE_LINES, Api, make_api

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import ingest_apart
from chengxin.services.ingest import ingest, read_lines

LISTED: dict[str, Any] = {
    "specversion": "1.0", "id": "nul-1", "source": "urn:cx:platform:P1", "type": "cx.product.listed",
    "time": "2026-11-05T09:00:00+08:00",
    "data": {"product_id": "G9", "shop_id": "S1", "title": "米", "category": "food", "list_price": 100, "price": 90}}
SAME = [
    {**LISTED, "data": {**LISTED["data"], "gtin": None}},
    {**LISTED, "subject": None},
    {**LISTED, "time": "2026-11-05T09:00:00.000+08:00"},
    {**LISTED, "time": "2026-11-05T01:00:00Z"},
    {**LISTED, "time": "2026-11-05T01:00:00.000000Z", "dataschema": None, "data": {**LISTED["data"], "gtin": None}},
]
OTHER = [
    ({**LISTED, "data": {**LISTED["data"], "price": 95}}, "data.price"),
    ({**LISTED, "time": "2026-11-05T09:00:01+08:00", "data": {**LISTED["data"], "title": "大米"}}, "time, data.title"),
    ({**LISTED, "subject": "G9"}, "subject"),
]
PERSON = json.loads(SAMPLE_LINES[3])  # U1, with an ID number: its stored body holds it encrypted


def line(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def why(fields: str) -> str:
    return f"same (source, id) as an earlier event with different content ({fields}); the first is kept"


def hash_of(cx: Chengxin, event_id: str) -> str:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(t.events.c.content_hash).where(t.events.c.event_id == event_id)).scalar_one()


def load(cx: Chengxin, events: list[dict[str, Any]], name: str) -> Any:
    return ingest(cx, read_lines(name, [line(e) for e in events]), origin=name, expected_lines=len(events))


@pytest.mark.parametrize("apart", [False, True])
def test_a_resend_that_means_the_same_is_a_duplicate(app: Chengxin, monkeypatch, apart: bool) -> None:
    if apart:
        monkeypatch.setattr(ingest_apart, "APART_FROM", 0)
    first = load(app, [LISTED, PERSON], "first.jsonl")
    assert first.accepted == 2
    stored = hash_of(app, "nul-1")
    again = load(app, [*SAME, {**PERSON, "subject": None}], "again.jsonl")
    assert (again.accepted, again.duplicates, again.conflicts) == (0, len(SAME) + 1, 0), again.conflict_details
    assert hash_of(app, "nul-1") == stored


def test_within_one_batch_too(app: Chengxin) -> None:
    report = load(app, [LISTED, *SAME], "batch.jsonl")
    assert (report.accepted, report.duplicates, report.conflicts) == (1, len(SAME), 0)


def test_a_real_conflict_names_the_fields_not_the_values(app: Chengxin) -> None:
    load(app, [LISTED, PERSON], "first.jsonl")
    report = load(app, [e for e, _ in OTHER] + [{**PERSON, "data": {**PERSON["data"], "name": "张三丰"}}], "x.jsonl")
    assert report.conflicts == len(OTHER) + 1
    assert [c["reason"] for c in report.conflict_details] == [*(why(f) for _, f in OTHER), why("data.name")]
    assert not any("张三" in c["reason"] or "95" in c["reason"] for c in report.conflict_details)


@pytest.fixture
def node(app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


def test_the_api_answers_duplicates_and_named_conflicts(node: Api) -> None:
    assert node.post_events("p1", [line(LISTED)])["accepted"] == 1
    for event in SAME:
        report = node.post_events("p1", [line(event)])
        assert (report["duplicates"], report["conflicts"]) == (1, 0), report
    report = node.post_events("p1", [line(OTHER[0][0])])
    assert report["conflict_details"][0]["reason"] == why("data.price")
