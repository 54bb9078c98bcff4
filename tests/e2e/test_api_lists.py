"""Consequences through `/v1` on every storage backend: a simulated ring is detected and confirmed → its shop's
operator enters the black list → `GET /v1/measures/{shop}` shows ranking weight 0 and the shop hidden, the
feed carries the change → a repair after the period leaves public view while the log audits. Also: who may do
what, lists and policies published, commitments from templates, shadow reports, the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.conftest import ingest_text
from tests.e2e.test_api_review import Api

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import audit, keys, review
from chengxin.services.detect import detect
from chengxin.simulate import Simulator, make_params

ALL_MET = {"penalty_fulfilled": True, "harm_removed": True, "repair_commitment": True}


def _api(cx: Chengxin, platform: str) -> Iterator[Api]:
    made = {"regulator": keys.create_key(cx, "regulator", "lists regulator")[1],
            "platform": keys.create_key(cx, "platform", "lists platform", platform)[1],
            "other": keys.create_key(cx, "platform", "another platform", "urn:cx:platform:ZZ")[1]}
    with TestClient(create_app(cx)) as client:
        yield Api(client, made)


@pytest.fixture
def ringed(app: Chengxin) -> Iterator[Api]:
    params = make_params(None, seed=5, days=30, shops=25, buyers=300, orders_per_day=60, rings=1,
                         ring_workers=(8, 10), couriers=3)
    assert ingest_text(app, b"".join(Simulator(params).lines()).decode()).rejected == 0
    detect(app, only=["fake_order_ring"], publish=False)
    review.publish(app)
    yield from _api(app, "urn:cx:platform:P1")


def _ring_item(api: Api) -> dict[str, Any]:
    queue = api.call("GET", "/v1/review?status=open&limit=200", "regulator")["items"]
    rings = [i for i in queue if i["kind"] == "fake_order_ring" and any(p["kind"] == "shop" for p in i["parties"])]
    assert rings, "the planted ring was not detected"
    return max(rings, key=lambda i: i["score"] or 0)


def test_ring_to_black_list_to_measures_to_repair(ringed: Api, app: Chengxin) -> None:
    api = ringed
    item = _ring_item(api)
    shop = next(p for p in item["parties"] if p["kind"] == "shop")
    measures_url = f"/v1/measures/{shop['id']}?source={shop['source']}"
    assert api.call("GET", measures_url, "platform")["measures"] == []
    done = api.call("POST", f"/v1/review/{item['id']}/decision", "regulator",
                    json={"decision": "confirm", "reason": "orders in lockstep from shared devices",
                          "basis": "电子商务法 第十七条"})
    assert {"move": "entered", "list": "black"} in [{k: m[k] for k in ("move", "list")} for m in done["lists"]]

    measures = {m["measure"]: m for m in api.call("GET", measures_url, "platform")["measures"]}
    assert measures["search_ranking_weight"]["value"] == 0.0 and measures["hide_shop"]["value"] is True
    assert measures["hide_shop"]["because"][0]["list"] == "black"
    public = api.call("GET", measures_url, "anonymous")
    assert "search_ranking_weight" not in {m["measure"] for m in public["measures"]}
    assert [x["list"] for x in public["lists"]] == ["black"]

    black = api.call("GET", "/v1/lists/black", "anonymous")
    member = next(m for m in black["members"] if shop["id"] in {s["id"] for s in m["shops"]})
    assert member["reason"]["en"].startswith("confirmed fake orders") and "第十七条" in member["basis"]

    feed = api.call("GET", "/v1/measures", "platform")
    change = next(c for c in feed["changes"] if "hide_shop" in c["added"])
    assert api.call("GET", f"/v1/measures?changed_since={feed['next']}", "platform")["changes"] == []
    assert change["cause"][0]["entered"] in ("black", "watch")
    api.call("GET", "/v1/measures", "anonymous", status=401)

    # the record, and a repair once its minimum publicity period is over (moved back in time here)
    shop_view = api.call("GET", f"/v1/parties/{shop['id']}?source={shop['source']}&limit=200", "regulator")
    assert [x["list"] for x in shop_view["lists"]][:1] == ["black"]
    record_id = _record_id(app, shop)
    rec = api.call("GET", f"/v1/records/{record_id}", "regulator")
    assert rec["state"] == "confirmed" and rec["category"] == "fake_order"
    filed = api.call("POST", f"/v1/records/{record_id}/applications", "regulator",
                     json={"kind": "repair", "grounds": "corrected, fine paid", "conditions": ALL_MET})
    app_id = filed["application"]["id"]
    refused = api.call("POST", f"/v1/applications/{app_id}/decision", "regulator", status=409,
                       json={"decision": "grant", "reason": "conditions met"})
    assert "minimum publicity period is not over: a repair may be granted from" in refused["detail"]
    # every state the lifecycle gives an application may be asked for (`moot` was refused: found by review)
    for status in ("pending", "upheld", "overturned", "granted", "refused", "moot"):
        api.call("GET", f"/v1/applications?status={status}", "regulator")
    _age_record(app, record_id, days=400)
    refused = api.call("POST", f"/v1/applications/{app_id}/decision", "regulator", status=409,
                       json={"decision": "grant", "reason": "conditions met"})
    assert "repair commitment not on file" in refused["detail"]  # declared, but none published
    operator = shop_view["operator"]
    api.call("POST", "/v1/commitments", "regulator", json={"subject_id": operator["id"], "source": operator["source"],
                                                           "template": "repair-commitment-v1",
                                                           "authority": "urn:cx:regulator:310000"})
    granted = api.call("POST", f"/v1/applications/{app_id}/decision", "regulator",
                       json={"decision": "grant", "reason": "conditions met", "basis": "沪市监信修〔2027〕1号"})
    assert granted["record"]["state"] == "repaired"
    after = api.call("GET", measures_url, "anonymous")
    assert "black" not in [x["list"] for x in after["lists"]]
    public_file = api.call("GET", f"/v1/parties/{shop['id']}?source={shop['source']}&limit=200", "anonymous")
    assert not {"confirmed", "list_entered"} & {r["kind"] for r in public_file["credit_records"]}
    assert shop["id"] not in {s["id"] for m in api.call("GET", "/v1/lists/black", "anonymous")["members"]
                              for s in m["shops"]}
    assert audit.verify(app).as_dict()["ok"]


def _record_id(app: Chengxin, shop: dict[str, Any]) -> int:
    from sqlalchemy import select

    from chengxin.adapters.db.engine import read_connection

    with read_connection(app.engine) as conn:
        d = lt.dishonesty_records.c
        return int(conn.execute(select(d.id).where(d.subject_source == shop["source"], d.subject_id == shop["id"],
                                                   d.origin == "review")).scalar_one())


def _age_record(app: Chengxin, record_id: int, days: int) -> None:
    """Move a record's dates back, as if confirmed `days` ago (the API acts at the present time)."""
    then = datetime.now(UTC) - timedelta(days=days)
    with write_transaction(app.engine) as conn:
        conn.execute(update(lt.dishonesty_records).where(lt.dishonesty_records.c.id == record_id).values(
            confirmed_at=then.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), repair_from=(then + timedelta(365)).date().isoformat(),
            disclose_until=(then + timedelta(1095)).date().isoformat()))


@pytest.fixture
def sample(sample_app: Chengxin) -> Iterator[Api]:
    yield from _api(sample_app, "urn:cx:platform:P1")


def test_lists_policies_and_measures_are_published(sample: Api) -> None:
    doc = sample.call("GET", "/v1/lists", "anonymous")
    names = [x["name"] for x in doc["lists"]]
    assert names == ["black", "watch", "red"]
    black = doc["lists"][0]
    assert black["remedy"]["zh"] and all(p["basis"] and p["when"] for p in black["policies"])
    assert {m["measure"] for m in doc["measures"]} >= {"search_ranking_weight", "hide_shop", "restrict_logistics"}
    sample.call("GET", "/v1/lists/watch", "anonymous", status=401)
    assert sample.call("GET", "/v1/lists/watch", "platform")["list"]["public"] is False
    sample.call("GET", "/v1/lists/grey", "anonymous", status=404)


def test_overrides_are_a_regulators(sample: Api) -> None:
    body = {"source": "urn:cx:platform:P1", "id": "S2", "action": "add", "reason": "court judgment",
            "basis": "某法院判决书"}
    sample.call("POST", "/v1/lists/black/overrides", "anonymous", status=401, json=body)
    sample.call("POST", "/v1/lists/black/overrides", "platform", status=403, json=body)
    sample.call("POST", "/v1/lists/black/overrides", "regulator", status=422, json={**body, "reason": ""})
    done = sample.call("POST", "/v1/lists/black/overrides", "regulator", json=body)
    assert [m["list"] for m in done["evaluation"]["moves"] if m["move"] == "entered"] == ["black"]
    view = sample.call("GET", "/v1/measures/S2?source=urn:cx:platform:P1", "anonymous")
    assert [x["list"] for x in view["lists"]] == ["black"] and view["lists"][0]["policy"] == "manual"


def test_commitments_from_templates(sample: Api) -> None:
    templates = sample.call("GET", "/v1/commitments/templates", "anonymous")["templates"]
    assert "merchant-standard-v1" in {x["id"] for x in templates}
    body = {"subject_id": "M2", "template": "merchant-standard-v1", "valid_until": "2027-12-31",
            "commitment_id": "K-API-1"}
    sample.call("POST", "/v1/commitments", "anonymous", status=401, json=body)
    sample.call("POST", "/v1/commitments", "platform", status=422, json={**body, "template": "nope"})
    done = sample.call("POST", "/v1/commitments", "platform", json=body)
    assert done["ingest"]["accepted"] == 1 and done["commitment"]["standard"]
    assert len(done["commitment"]["clauses"]) == 5
    again = sample.call("POST", "/v1/commitments", "platform", json=body)
    assert again["ingest"]["accepted"] == 0  # the same commitment twice is a no-op
    shop = sample.call("GET", "/v1/parties/S2?source=urn:cx:platform:P1", "anonymous")
    assert "K-API-1" in {c["id"] for c in shop["commitments"]}


def test_shadow_report_changes_nothing(sample: Api) -> None:
    sample.call("GET", "/v1/policies/shadow", "anonymous", status=401)
    before = sample.call("GET", "/v1/lists/red", "anonymous")["total"]
    report = sample.call("GET", "/v1/policies/shadow", "regulator")
    assert report["effect"].startswith("none")
    assert sample.call("GET", "/v1/lists/red", "anonymous")["total"] == before


def test_openapi_documents_the_new_routes(sample: Api) -> None:
    paths = sample.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/lists", "/v1/lists/{name}", "/v1/lists/{name}/overrides", "/v1/measures",
                 "/v1/measures/{entity_id}", "/v1/records/{record}", "/v1/records/{record}/applications",
                 "/v1/applications/{application}/decision", "/v1/commitments", "/v1/commitments/templates",
                 "/v1/policies/shadow"):
        assert path in paths, path


def test_a_commitment_template_must_suit_the_party(sample: Api) -> None:
    body = {"subject_id": "U1", "template": "merchant-standard-v1"}
    refused = sample.call("POST", "/v1/commitments", "platform", status=422, json=body)
    assert "not a person" in refused["detail"]


def _event(n: str, source: str, typ: str, data: dict[str, Any], time: str = "2026-04-01T09:00:00+08:00") -> str:
    import json

    return json.dumps({"specversion": "1.0", "id": n, "source": source, "type": typ, "time": time, "data": data},
                      ensure_ascii=False)


def test_a_persons_lists_reach_no_other_platform_through_a_shop_or_a_backdated_account(sample: Api,
                                                                                       sample_app: Chengxin) -> None:
    # P1's person U1 runs a shop and is on the (non-public) watch list. Another platform saw the entry through
    # the shop's page, and, having sent a backdated registration with U1's ID number, through U1's measures
    # (found by review); P1 itself then saw nothing of its own account.
    p1, zz = "urn:cx:platform:P1", "urn:cx:platform:ZZ"
    assert ingest_text(sample_app, _event("x-1", p1, "cx.shop.opened", {
        "shop_id": "S9", "operator_id": "U1", "name": "张三的小店", "url": "https://s9.example",
        "categories": ["daily_goods"]})).accepted == 1
    sample.call("POST", "/v1/lists/watch/overrides", "regulator", json={
        "source": p1, "id": "U1", "action": "add", "reason": "repeated complaints", "basis": "监管决定"})
    assert ingest_text(sample_app, _event("x-2", zz, "cx.subject.registered", {
        "subject_id": "V9", "kind": "person", "name": "张三", "id_number": "31010419900307123X",
        "region": "310104"}, time="2025-12-01T09:00:00+08:00")).accepted == 1
    public = sample.call("GET", f"/v1/parties/S9?source={p1}", "anonymous")
    other = sample.call("GET", f"/v1/parties/S9?source={p1}", "other")
    assert (other["lists"], other["measures"], other["dishonesty_records"]) == (
        public["lists"], public["measures"], public["dishonesty_records"]) and other["lists"] == []
    assert [x["list"] for x in sample.call("GET", f"/v1/parties/S9?source={p1}", "platform")["lists"]] == ["watch"]
    for asked in ("U1", "S9"):
        assert sample.call("GET", f"/v1/measures/{asked}?source={p1}", "other")["lists"] == []
        assert [x["list"] for x in sample.call("GET", f"/v1/measures/{asked}?source={p1}", "platform")["lists"]] \
            == ["watch"]


def test_a_platforms_shadow_report_reads_its_own_parties_and_one_runs_at_a_time(sample: Api) -> None:
    # Any platform key made the node read every party; in a loop it held every request thread (found by
    # review). A platform's report reads the parties it reported; one report at a time per process.
    from chengxin.services import policy

    everyone = sample.call("GET", "/v1/policies/shadow", "regulator")["parties"]
    own = sample.call("GET", "/v1/policies/shadow", "platform")["parties"]
    assert 0 < own < everyone and sample.call("GET", "/v1/policies/shadow", "other")["parties"] == 0
    with policy._ONE_AT_A_TIME:
        busy = sample.call("GET", "/v1/policies/shadow", "regulator", status=503)
    assert busy["error"] == "busy" and "try again" in busy["detail"]  # its own reason, not "cannot reach the
    # database" (found by review)
