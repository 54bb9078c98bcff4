"""A served record is tied to its proof: the server recomputes the leaf from the record it serves, so a record
edited in the database fails the check; every served record (credit file, record route) carries its leaf; an
auditor holding the key out of band checks a served record with docs/credit-log.md's code alone."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.unit.test_leaf_doc import run_block

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import merkle
from chengxin.entrypoints.api.app import create_app
from chengxin.services import records
from chengxin.services.viewer import REGULATOR, Viewer

P1 = "urn:cx:platform:P1"
LICENCE = 9  # the sample's food business permit of M1: public, shown on the portal
AUDITOR = run_block("python leaf-reference", "python leaf-check")
cr = t.credit_records


def check_served(cx: Chengxin, served: dict[str, Any]) -> None:
    """docs/credit-log.md's check, with the node's key as an auditor would pin it (not the one served)."""
    raw = cx.keys.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    AUDITOR["check_served"](served, raw, cx.settings.log_origin)


def tamper(cx: Chengxin, index: int, **values: Any) -> None:
    with cx.engine.begin() as conn:
        conn.execute(update(cr).where(cr.c.idx == index).values(**values))


def stored_leaves(cx: Chengxin) -> dict[int, bytes]:
    with read_connection(cx.engine) as conn:
        return {idx: leaf for idx, leaf in conn.execute(select(cr.c.idx, cr.c.leaf_hash))}


@pytest.fixture
def api(sample_app: Chengxin) -> Iterator[TestClient]:
    with TestClient(create_app(sample_app)) as client:
        yield client


def test_every_served_record_is_its_logged_leaf(sample_app: Chengxin) -> None:
    leaves = stored_leaves(sample_app)
    for index in sorted(leaves):
        served = records.record_with_proof(sample_app, index, Viewer(REGULATOR, key_id="k"))
        leaf = base64.b64decode(served["record"]["leaf_bytes"])
        assert merkle.leaf_hash(leaf) == leaves[index] == base64.b64decode(served["proof"]["leaf_hash"])
        assert served["checks"] == {"inclusion": True, "signature": True}
        check_served(sample_app, json.loads(json.dumps(served)))  # through JSON, as an auditor receives it


@pytest.mark.parametrize("edit", [
    {"payload": json.dumps({"licence_type": "food_business", "number": "JY13101049999999"})},
    {"at": "2020-01-01T00:00:00+08:00"}, {"subject_id": "S2"}, {"event_id": "someone-else"},
    {"event_hash": "0" * 64}])
def test_a_record_edited_in_the_database_fails_the_servers_check(sample_app: Chengxin, edit: dict[str, Any]) -> None:
    tamper(sample_app, LICENCE, **edit)
    served = records.record_with_proof(sample_app, LICENCE, Viewer(REGULATOR, key_id="k"))
    assert served["checks"] == {"inclusion": False, "signature": True}
    shown = {"payload": served["record"]["payload"], "at": served["record"]["at"],
             "subject_id": served["record"]["subject"]["id"], "event_id": served["record"]["event"]["id"],
             "event_hash": served["record"]["event"]["hash"]}
    column = next(iter(edit))
    assert shown[column] == (json.loads(edit[column]) if column == "payload" else edit[column])  # as it now reads
    assert base64.b64decode(served["proof"]["leaf_hash"]) != stored_leaves(sample_app)[LICENCE]
    with pytest.raises(ValueError, match="not in the signed tree"):
        check_served(sample_app, served)
    other = records.record_with_proof(sample_app, LICENCE + 1, Viewer(REGULATOR, key_id="k"))
    assert other["checks"]["inclusion"] is True  # the same proof path, an untouched record


def test_the_record_route_serves_an_edited_record_as_failing(sample_app: Chengxin, api: TestClient) -> None:
    before = api.get(f"/v1/log/records/{LICENCE}").json()  # public: a business's licence
    assert before["checks"]["inclusion"] is True and before["record"]["event"]["hash"]
    check_served(sample_app, before)
    tamper(sample_app, LICENCE, payload=json.dumps({"licence_type": "food_business", "number": "forged"}))
    after = api.get(f"/v1/log/records/{LICENCE}")
    assert after.status_code == 200 and after.json()["checks"]["inclusion"] is False
    assert after.json()["record"]["payload"]["number"] == "forged"
    with pytest.raises(ValueError):
        check_served(sample_app, after.json())


def test_a_credit_file_serves_each_records_leaf(sample_app: Chengxin, api: TestClient) -> None:
    """The API's credit file (public view) carries, for every record, the fields and bytes of its leaf."""
    leaves = stored_leaves(sample_app)
    body = api.get("/v1/parties/S1", params={"source": P1}).json()
    assert body["credit_records"]
    for record in body["credit_records"]:
        leaf = base64.b64decode(record["leaf_bytes"])
        assert merkle.leaf_hash(leaf) == leaves[record["index"]]
        assert AUDITOR["leaf_of"](record) == leaf  # rebuilt from the served fields alone


def test_a_payload_that_is_not_json_is_an_integrity_error(sample_app: Chengxin, api: TestClient) -> None:
    tamper(sample_app, LICENCE, payload="x")
    response = api.get(f"/v1/log/records/{LICENCE}")
    assert response.status_code == 500 and response.json()["error"] == "integrity_failure"
    assert "audit verify" in response.json()["detail"]
