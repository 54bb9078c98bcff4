"""The standing endpoints of `/v1` on every storage backend: a shop's ratings with what each counts and why, and
order verdicts (who may give one, what a bad body says, and that a fake order's points leave the shop)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.e2e.standing_feed import P1, S1_ORDERS, standing_lines

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import keys
from chengxin.services.ingest import ingest, read_lines

P2 = "urn:cx:platform:P2"
FAKE = {"verdict": "fake", "reason": "paid by the shop's own staff, nothing shipped", "basis": "case 2026-88"}
GENUINE = {"verdict": "genuine", "reason": "appeal upheld: delivery proven"}


@dataclass
class Api:
    cx: Chengxin
    client: TestClient
    secrets: dict[str, str]
    key_ids: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[who]}"} if who != "anonymous" else {}

    def get(self, url: str, who: str = "anonymous", status: int = 200) -> Any:
        response = self.client.get(url, headers=self.headers(who))
        assert response.status_code == status, response.text
        return response.json()

    def verdict(self, order: str, body: Any, who: str, status: int = 200, source: str = P1) -> Any:
        response = self.client.post(f"/v1/orders/{order}/verdict", params={"source": source} if source else None,
                                    json=body, headers=self.headers(who))
        assert response.status_code == status, response.text
        return response.json()

    def shop(self, who: str = "anonymous") -> Any:
        return self.get(f"/v1/parties/S1?source={P1}", who)


@pytest.fixture
def api(app: Chengxin) -> Iterator[Api]:
    assert ingest(app, read_lines("standing", standing_lines()), origin="standing").rejected == 0
    made = {"p1": keys.create_key(app, "platform", "standing p1", P1),
            "p2": keys.create_key(app, "platform", "standing p2", P2),
            "regulator": keys.create_key(app, "regulator", "standing regulator")}
    with TestClient(create_app(app)) as client:
        yield Api(app, client, {k: v[1] for k, v in made.items()}, {k: v[0] for k, v in made.items()})


def test_a_shops_ratings_say_what_each_counts_and_why(api: Api) -> None:
    body = api.get(f"/v1/parties/S1/ratings?source={P1}")
    assert (body["entity"], body["source"], body["id"]) == ("shop", P1, "S1")
    ratings = body["ratings"]
    assert [r["review"]["id"] for r in ratings] == [f"R{o}" for o in reversed(S1_ORDERS)]  # newest first
    assert all(r["points"] == 1 and r["why"]["code"] == "counted" for r in ratings)
    assert {r["why"]["zh"] for r in ratings} == {"计分"} and ratings[0]["score"] == 5 and ratings[0]["at"]
    assert [r["review"]["id"] for r in api.get(f"/v1/parties/S1/ratings?source={P1}&limit=2")["ratings"]] == \
        ["RO5", "RO4"]
    assert api.get(f"/v1/parties/S1/ratings?source={P1}", "p2") == body  # public: the same for everyone


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("p2", 403), ("p1", 200), ("regulator", 200)])
def test_the_ratings_a_person_received_are_for_its_reporter_and_regulators(api: Api, who: str, status: int) -> None:
    body = api.get(f"/v1/parties/U1/ratings?source={P1}", who, status)
    if status == 200:
        (rating,) = body["ratings"]
        assert rating["review"]["id"] == "RB1" and rating["points"] == 1
    else:
        assert body["error"] == ("not_authenticated" if status == 401 else "forbidden")


@pytest.mark.parametrize(("url", "status", "field"), [
    (f"/v1/parties/S1/ratings?source={P1}&limit=0", 422, "query.limit"),
    (f"/v1/parties/S1/ratings?source={P1}&limit=201", 422, "query.limit"),
    ("/v1/parties/S1/ratings", 422, "query.source"),
    (f"/v1/parties/NOPE/ratings?source={P1}", 404, None),
])
def test_bad_ratings_requests(api: Api, url: str, status: int, field: str | None) -> None:
    body = api.get(url, "regulator", status)
    if field:
        assert body["error"] == "invalid_input" and field in body["detail"]
        assert field in [e["field"] for e in body["errors"]]
    else:
        assert body["error"] == "not_found"


@pytest.mark.parametrize(("who", "status", "error"), [
    ("anonymous", 401, "not_authenticated"), ("p2", 403, "forbidden")])
def test_only_a_regulator_or_the_reporting_platform_may_give_a_verdict(api: Api, who: str, status: int,
                                                                      error: str) -> None:
    assert api.verdict("O5", FAKE, who, status)["error"] == error
    assert api.shop()["points"] == 5  # nothing changed
    assert api.get(f"/v1/parties/S1/ratings?source={P1}&limit=1")["ratings"][0]["why"]["code"] == "counted"


@pytest.mark.parametrize(("body", "field"), [
    ({"verdict": "maybe", "reason": "unsure"}, "body.verdict"),
    ({"verdict": "fake"}, "body.reason"),
    ({"verdict": "fake", "reason": "     "}, "body.reason"),
    ({"verdict": "fake", "reason": "x" * 501}, "body.reason"),
    ({**FAKE, "points": -5}, "body.points"),
    ({"verdict": "fake", "reason": "why not", "basis": "b" * 501}, "body.basis"),
])
def test_a_bad_verdict_body_is_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.verdict("O5", body, "regulator", 422)
    assert answer["error"] == "invalid_input" and field in answer["detail"], answer
    assert api.shop()["points"] == 5


def test_a_verdict_needs_the_source_and_a_known_order(api: Api) -> None:
    answer = api.verdict("O5", FAKE, "regulator", 422, source="")
    assert "query.source" in answer["detail"]
    assert api.verdict("NOPE", FAKE, "regulator", 404)["error"] == "not_found"
    assert api.verdict("NOPE", FAKE, "p1", 404)["error"] == "not_found"


def test_a_fake_verdict_takes_the_points_back_and_an_appeal_restores_them(api: Api) -> None:
    before = api.shop()
    assert before["points"] == 5 and before["level"]["label_en"] == "1 heart"
    assert before["positive_rate"]["positive"] == 5

    done = api.verdict("O5", FAKE, "p1")  # the platform that reported the order
    assert done["order"] == {"source": P1, "id": "O5"} and done["verdict"] == "fake"
    assert done["credit_records"] == 1 and done["decided_at"]
    after = api.shop()
    assert after["points"] == 4 and after["level"]["label_en"] == "1 heart"
    assert after["positive_rate"]["positive"] == 4  # a fake order's rating no longer counts at all
    assert after["dsr"]["count"] == 4
    newest = api.get(f"/v1/parties/S1/ratings?source={P1}&limit=1")["ratings"][0]
    assert newest["review"]["id"] == "RO5" and newest["points"] == 0
    assert newest["why"]["code"] == "retracted_fake_order" and "虚假交易" in newest["why"]["zh"]
    merchant = api.get(f"/v1/parties/M1?source={P1}")
    assert merchant["points"] == 4 and "RATINGS_RETRACTED" in [r["code"] for r in merchant["reasons"]]
    assert merchant["credit"]["history"][0]["previous_score"] is not None  # the move is in the history
    (record,) = [r for r in api.shop("p1")["credit_records"] if r["kind"] == "points_retracted"]
    assert record["payload"]["order"] == [P1, "O5"] and record["payload"]["points"] == -1
    assert record["payload"]["decided_by"] == P1

    again = api.verdict("O5", GENUINE, "regulator")  # on appeal, by a regulator
    assert again["verdict"] == "genuine" and again["credit_records"] == 1
    assert api.shop()["points"] == 5
    (restored,) = [r for r in api.shop("regulator")["credit_records"] if r["kind"] == "points_restored"]
    assert restored["payload"]["points"] == 1
    assert restored["payload"]["decided_by"] == f"regulator:{api.key_ids['regulator']}"


def test_the_standing_endpoints_are_documented(api: Api) -> None:
    paths = api.get("/openapi.json")["paths"]
    ratings = paths["/v1/parties/{entity_id}/ratings"]["get"]
    verdict = paths["/v1/orders/{order_id}/verdict"]["post"]
    assert "retracted_fake_order" in ratings["description"] and "personal data" in ratings["description"]
    assert "points_retracted" in verdict["description"] and "regulator" in verdict["description"]
    schema = api.get("/openapi.json")["components"]["schemas"]["VerdictRequest"]
    assert schema["properties"]["verdict"]["enum"] == ["fake", "genuine"] and schema["required"] == [
        "verdict", "reason"]
