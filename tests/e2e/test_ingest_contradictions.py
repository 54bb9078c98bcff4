"""Fields that contradict each other are rejected for their line, naming them: `data_base64` beside `data`
(CloudEvents makes them exclusive), a review that follows itself, a licence that ends before it begins. All
were stored without a word (found by review). Through parse_line (both validation paths: the fast one must
not let them by) and `POST /v1/events`, the lines around them stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.e2e.test_api import SAMPLE_LINES, Api, make_api

from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import Chengxin
from chengxin.domain.events import Event, Rejected, parse_line
from chengxin.domain.fastcheck import quick_check
from chengxin.entrypoints.api.app import create_app

P1 = "urn:cx:platform:P1"
VOCAB = event_vocabulary()


def event(event_id: str, type_: str, data: dict[str, Any], **more: Any) -> bytes:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": P1, "type": type_,
                       "time": "2026-11-06T09:00:00+08:00", "data": data, **more}, ensure_ascii=False).encode()


REVIEW = {"review_id": "RS12", "order_id": "O1", "author_id": "U1", "target_id": "S1",
          "direction": "buyer_to_seller", "score": 5}
LICENCE = {"subject_id": "M1", "licence_type": "food_business", "number": "JY1", "issuer": "x",
           "valid_from": "2027-01-01", "valid_until": "2026-01-01"}
TRAFFIC = {"shop_id": "S1", "date": "2026-11-06", "visits": 1, "unique_visitors": 5, "orders": 0}
CASES = [
    (event("m-7", "cx.order.completed", {"order_id": "O1"}, data_base64="AAAA"),
     "data_base64 beside data: CloudEvents allows one of them; send the event in data"),
    (event("sem-12", "cx.review.posted", {**REVIEW, "follows": "RS12"}),
     "data.follows names the review itself: a follow-up follows an earlier review"),
    (event("sem-12b", "cx.review.posted", {**REVIEW, "follows": {"source": P1, "id": "RS12"}}),
     "data.follows names the review itself: a follow-up follows an earlier review"),
    (event("sem-10", "cx.licence.published", LICENCE),
     "data.valid_until is before data.valid_from: the licence would end before it begins"),
]
FINE = [
    event("ok-1", "cx.order.completed", {"order_id": "O1"}, data_base64=None),
    event("ok-2", "cx.review.posted", {**REVIEW, "review_id": "RS13", "follows": "RS12"}),
    event("ok-3", "cx.review.posted", {**REVIEW, "review_id": "RS14", "follows": {"source": "urn:cx:platform:P2",
                                                                                  "id": "RS14"}}),
    event("ok-4", "cx.licence.published", {**LICENCE, "valid_until": "2027-01-01"}),  # a one-day licence
    # more unique visitors than visits is left alone: the simulator writes such reports (visits 0, 1 visitor)
    event("ok-5", "cx.traffic.reported", TRAFFIC),
]


@pytest.mark.parametrize(("raw", "why"), CASES)
def test_a_contradiction_is_rejected_on_either_path(raw: bytes, why: str) -> None:
    assert parse_line(raw, VOCAB) == Rejected(why)
    assert parse_line(raw.decode(), VOCAB) == Rejected(why)


def test_the_fast_path_leaves_data_base64_to_the_slow_one() -> None:
    assert quick_check(CASES[0][0], VOCAB) is None


@pytest.mark.parametrize("raw", FINE)
def test_what_does_not_contradict_itself_is_taken(raw: bytes) -> None:
    assert isinstance(parse_line(raw, VOCAB), Event)


@pytest.fixture
def node(app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


def test_the_api_rejects_them_by_line(node: Api) -> None:
    own = [x for x in SAMPLE_LINES if json.loads(x)["source"] == P1]
    fine = [FINE[0], FINE[1], *FINE[3:]]  # not the follow-up of another platform's review: a P1 key may not
    report = node.post_events("p1", [*own[:2], *(raw for raw, _ in CASES), *own[2:], *fine])
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [(3 + k, why) for k, (_, why) in enumerate(CASES)]
    assert report["accepted"] == len(own) + len(fine)
