"""The review queue through `/v1` on every storage backend: a simulated marketplace's detected empty parcels
queued, a shop's confirmed (its points and grade move, the record is public), decided once; bad bodies; the
OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import SAMPLE, ingest_file, ingest_text

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import audit, keys, lifecycle, review
from chengxin.services.detect import detect
from chengxin.simulate import Simulator, make_params

CONFIRM = {"decision": "confirm", "reason": "parcels of 30 g for goods of a kilo, no transit scans",
           "basis": "电子商务法 第十七条"}


@dataclass
class Api:
    client: TestClient
    secrets: dict[str, str]

    def call(self, method: str, url: str, who: str, status: int = 200, json: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.secrets[who]}"} if who != "anonymous" else {}
        response = self.client.request(method, url, headers=headers, json=json)
        assert response.status_code == status, response.text
        return response.json()


def _api(cx: Chengxin) -> Iterator[Api]:
    made = {"regulator": keys.create_key(cx, "regulator", "review regulator")[1]}
    with TestClient(create_app(cx)) as client:
        yield Api(client, made)


@pytest.fixture
def marketplace(app: Chengxin) -> Iterator[Api]:
    params = make_params(None, seed=11, days=24, shops=25, buyers=300, orders_per_day=50, couriers=4, rings=2,
                         ring_workers=(6, 9), fake_delivery_couriers=1)
    assert ingest_text(app, b"".join(Simulator(params).lines()).decode()).rejected == 0
    # the detector this test knows (others add items of their own kinds); published below, not by detect
    detect(app, only=["empty_parcel"], publish=False)
    yield from _api(app)


@pytest.fixture
def sample(sample_app: Chengxin) -> Iterator[Api]:
    yield from _api(sample_app)


def test_confirming_a_detected_shop_moves_its_points_and_grade(marketplace: Api, app: Chengxin) -> None:
    assert review.publish(app)["published"] > 0
    queue = marketplace.call("GET", "/v1/review?status=open&limit=500", "regulator")["items"]
    shops = [i for i in queue if i["level"] == "shop"]
    assert shops and {i["kind"] for i in queue} == {"empty_parcel"}
    assert {i["level"] for i in queue} == {"order", "order_delivery", "shop", "courier"}
    item = max(shops, key=lambda i: len(i["orders"]))
    (shop,) = item["parties"]
    assert shop["kind"] == "shop" and item["evidence"]["level"] == "shop" and item["summary"]["flagged"] > 0
    url = f"/v1/parties/{shop['id']}?source={shop['source']}&limit=200"
    before = marketplace.call("GET", url, "anonymous")
    assert "suspected" not in {r["kind"] for r in before["credit_records"]}  # not public
    assert "suspected" in {r["kind"] for r in marketplace.call("GET", url, "regulator")["credit_records"]}

    done = marketplace.call("POST", f"/v1/review/{item['id']}/decision", "regulator", json=CONFIRM)
    assert done["item"]["status"] == "confirmed" and done["order_verdicts"] == len(item["orders"])
    (moved,) = done["standing"]
    assert moved["after"]["points"] < moved["before"]["points"]
    assert (moved["after"]["score"], moved["after"]["grade"]) != (moved["before"]["score"], moved["before"]["grade"])
    after = marketplace.call("GET", url, "anonymous")
    assert after["points"] == moved["after"]["points"] < before["points"]
    assert after["score"] < before["score"]
    (confirmed,) = [r for r in after["credit_records"] if r["kind"] == "confirmed"]
    # the logged basis is the record's: the category's statutes and the officer's, each once
    basis = lifecycle.review_basis(item["kind"], CONFIRM["basis"])
    assert basis is not None and basis.startswith(CONFIRM["basis"])
    assert confirmed["payload"]["reason"] == CONFIRM["reason"] and confirmed["payload"]["basis"] == basis
    assert confirmed["payload"]["item"] == item["id"] and confirmed["payload"]["summary"] == item["summary"]
    assert any(r["kind"] == "points_retracted" for r in after["credit_records"])

    again = marketplace.call("POST", f"/v1/review/{item['id']}/decision", "regulator", 409,
                             json={**CONFIRM, "decision": "dismiss"})
    assert again["error"] == "conflict" and "already confirmed" in again["detail"]
    assert [i["id"] for i in marketplace.call("GET", "/v1/review?status=confirmed", "regulator")["items"]] == \
        [item["id"]]
    assert audit.verify(app).ok

    # the platform that reported an order cannot undo the regulator's finding that it was fake (an appeal
    # does): it got the points back that way (found by review)
    order = item["orders"][0]
    marketplace.secrets["platform"] = keys.create_key(app, "platform", "the shop's platform", order["source"])[1]
    refused = marketplace.call("POST", f"/v1/orders/{order['id']}/verdict?source={order['source']}", "platform",
                               403, json={"verdict": "genuine", "reason": "the buyer says it was real"})
    assert "only a regulator, or an appeal, changes that" in refused["detail"]
    # nor by agreeing first, which made the verdict its own, and then changing it (found by review)
    verdict_url = f"/v1/orders/{order['id']}/verdict?source={order['source']}"
    marketplace.call("POST", verdict_url, "platform", json={"verdict": "fake", "reason": "we agree, it was fake"})
    marketplace.call("POST", verdict_url, "platform", 403, json={"verdict": "genuine", "reason": "on second thought"})
    assert marketplace.call("GET", url, "anonymous")["points"] == after["points"]


@pytest.mark.parametrize(("body", "field"), [
    ({"decision": "punish", "reason": "because"}, "decision"),
    ({"decision": "confirm", "reason": "  "}, "reason"),
    ({"decision": "confirm"}, "reason"),
    ({"decision": "confirm", "reason": "because", "fine": 100}, "fine"),
])
def test_a_bad_decision_body_names_the_field(sample: Api, sample_app: Chengxin, body: Any, field: str) -> None:
    out = sample.call("POST", "/v1/review/1/decision", "regulator", 422, json=body)
    assert out["error"] == "invalid_input" and field in out["detail"]


def test_status_must_be_known(sample: Api) -> None:
    assert sample.call("GET", "/v1/review?status=pending", "regulator", 422)["error"] == "invalid_input"


def test_the_queue_filters_over_http(sample: Api) -> None:
    assert sample.call("GET", "/v1/review?kind=fake_order_ring&min_score=0.5", "regulator")["items"] == []
    assert sample.call("GET", "/v1/review?min_score=2", "regulator", 422)["error"] == "invalid_input"
    body = sample.call("GET", "/v1/review?party=S1", "regulator", 422)  # a party needs its source
    assert body["error"] == "invalid_input" and "party_source" in body["detail"]


def test_the_review_routes_are_documented(sample: Api) -> None:
    spec = sample.client.get("/openapi.json").json()
    listing, decision = spec["paths"]["/v1/review"]["get"], spec["paths"]["/v1/review/{item}/decision"]["post"]
    assert listing["tags"] == ["review"] and "platform" in listing["description"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "limit", "after"}
    assert "409" in decision["description"] and "points_retracted" in decision["description"]
    schema = spec["components"]["schemas"]["DecisionRequest"]
    assert set(schema["properties"]) == {"decision", "reason", "basis"} and set(schema["required"]) == \
        {"decision", "reason"}


def test_publishing_twice_over_the_sample_adds_nothing(sample_app: Chengxin) -> None:
    assert ingest_file(sample_app, SAMPLE).accepted == 0
    assert review.publish(sample_app)["findings"] == 0  # no detect run yet: nothing to queue
