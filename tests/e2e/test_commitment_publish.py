"""`POST /v1/commitments` answers what happened (platform review, finding 7): a retry is the same commitment (a
duplicate, not a "conflict" once the clock's second rolled over), a refused event is 422 naming the field (it
was 200 with `commitment: null`), another commitment under the same id is 409, a platform naming another
source is 422 (it was ignored), and a `valid_until` already past is refused (it was published, never in
force)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.test_api_review import Api

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import keys

P1 = "urn:cx:platform:P1"
SAMR = "urn:cx:regulator:330106"


@pytest.fixture
def api(sample_app: Chengxin) -> Iterator[Api]:
    made = {"p1": keys.create_key(sample_app, "platform", "commitments P1", P1)[1],
            "regulator": keys.create_key(sample_app, "regulator", "commitments regulator")[1],
            "bound": keys.create_key(sample_app, "regulator", "commitments SAMR", SAMR)[1]}
    with TestClient(create_app(sample_app)) as client:
        yield Api(client, made)


def _publish(api: Api, who: str = "p1", status: int = 200, **extra: Any) -> Any:
    body = {"subject_id": "M1", "template": "merchant-standard-v1", **extra}
    return api.call("POST", "/v1/commitments", who, status=status, json=body)


def test_a_retry_is_the_same_commitment(api: Api) -> None:
    first = _publish(api, valid_until="2027-12-31")
    assert first["ingest"]["accepted"] == 1 and first["commitment"]["valid_until"] == "2027-12-31"
    time.sleep(1.1)  # the event's time was the request's: a retry a second later was a conflict
    again = _publish(api, valid_until="2027-12-31")
    assert (again["ingest"]["accepted"], again["ingest"]["duplicates"], again["ingest"]["conflicts"]) == (0, 1, 0)
    assert again["commitment"] == first["commitment"]


def test_what_is_not_kept_is_an_error_naming_the_field(api: Api) -> None:
    refused = _publish(api, status=422, commitment_id="K\u0001")
    assert refused["error"] == "invalid_input" and "control character U+0001" in refused["detail"]
    assert "id" in refused["detail"].split(":")[0]
    _publish(api, commitment_id="K-77", valid_until="2027-12-31")
    taken = _publish(api, status=409, commitment_id="K-77", valid_until="2027-06-30")
    assert taken["detail"].startswith("commitment_id: K-77 is already published with other terms")


def test_a_platform_publishes_under_its_own_source_only(api: Api) -> None:
    refused = _publish(api, status=422, source="urn:cx:platform:T2")
    assert refused["detail"] == f"source: a platform publishes under its own source ({P1}), not 'urn:cx:platform:T2'"
    assert _publish(api, source=P1)["commitment"]["source"] == P1  # its own, named: fine


def test_a_validity_already_past_is_refused(api: Api) -> None:
    refused = _publish(api, status=422, valid_until="2020-01-01")
    assert refused["detail"].startswith("valid_until: 2020-01-01 is past (today is ")


def test_a_regulator_publishes_under_its_authority_not_the_platforms(api: Api, sample_app: Chengxin) -> None:
    """A regulator's commitment was stored as an event of P1's source, as if P1 had reported it: a regulator
    key wrote in a platform's name (found by review). It is now the authority's event, naming P1's subject by
    reference, beside (not instead of) what P1 published."""
    mine = _publish(api, valid_until="2027-12-31")["commitment"]
    made = _publish(api, "bound", valid_until="2027-12-31", source=P1)
    assert made["ingest"]["accepted"] == 1 and made["commitment"]["source"] == SAMR
    assert made["commitment"]["id"] != mine["id"]
    with read_connection(sample_app.engine) as conn:
        body = orjson.loads(conn.execute(select(t.events.c.body).where(
            t.events.c.source == SAMR, t.events.c.event_id == f"commitment-{made['commitment']['id']}")).scalar_one())
        assert conn.execute(select(t.events.c.event_id).where(
            t.events.c.source == P1, t.events.c.event_id.like("commitment-%"))).scalars().all() == [
            f"commitment-{mine['id']}"]
    assert body["data"]["subject_id"] == {"source": P1, "id": "M1"}
    # a retry is the same commitment, and both show on the subject
    assert _publish(api, "bound", valid_until="2027-12-31", source=P1)["ingest"]["duplicates"] == 1
    view = api.call("GET", f"/v1/parties/M1?source={P1}", "p1")
    assert {(c["source"], c["id"]) for c in view["commitments"]} >= {(P1, mine["id"]), (SAMR, made["commitment"]["id"])}


def test_a_regulator_names_the_authority_it_acts_for(api: Api) -> None:
    unbound = _publish(api, "regulator", status=422, source=P1)
    assert unbound["detail"].startswith("authority: a regulator key bound to no authority names")
    forged = _publish(api, "regulator", status=422, source=P1, authority=P1)
    assert forged["detail"] == f"authority: {P1!r} is not a regulator's source (urn:cx:regulator:…)"
    other = _publish(api, "bound", status=422, source=P1, authority="urn:cx:regulator:310000")
    assert other["detail"].startswith(f"authority: this key publishes for its own authority ({SAMR})")
    named = _publish(api, "regulator", source=P1, authority=SAMR, valid_until="2027-12-31")
    assert named["commitment"]["source"] == SAMR
    # the bound key's commitment of the same terms is that one
    assert _publish(api, "bound", source=P1, valid_until="2027-12-31")["ingest"]["duplicates"] == 1
