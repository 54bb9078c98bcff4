"""A regulator API key sends its authority's events only (found by review: it closed a platform's shop as P2).

Bound to a source (`chengxin keys create --role regulator --source urn:cx:regulator:...`): that source only,
with the foreign-reference checks a platform key gets. Bound to none (keys issued before): any
`urn:cx:regulator:` source, never a platform's or a logistics firm's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.e2e.cli import run
from tests.e2e.test_api import P1, REG_SOURCE, Api, make_api

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.exc import InvalidInput
from chengxin.services import keys

OTHER_BUREAU = "urn:cx:regulator:310104"


@pytest.fixture
def node(sample_app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(sample_app)) as client:
        yield make_api(sample_app, client)


def line(source: str, event_id: str, type_: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": source, "type": type_,
                       "time": "2026-11-03T09:00:00+08:00", "data": data}, ensure_ascii=False).encode()


def closing(source: str, event_id: str, shop: Any) -> bytes:
    return line(source, event_id, "cx.shop.closed", {"shop_id": shop, "reason": "posing"})


def sanction(source: str, sanction_id: str) -> bytes:
    return line(source, f"imposed-{sanction_id}", "cx.sanction.imposed", {
        "sanction_id": sanction_id, "subject_id": {"source": P1, "id": "M1"}, "kind": "administrative_penalty",
        "authority": "某市监局", "decision_no": sanction_id, "legal_basis": "价格法", "category": "price_fraud"})


def test_an_unbound_regulator_key_cannot_post_as_a_platform(node: Api) -> None:
    report = node.post_events("regulator", [closing(P1, "forge-1", "S1"), sanction(REG_SOURCE, "XA"),
                                            sanction(OTHER_BUREAU, "XB")])
    assert (report["accepted"], report["rejected"]) == (2, 1)
    (reject,) = report["rejects"]
    assert reject["line"] == 1 and reject["reason"].startswith(f"source {P1!r} is not a regulator's")
    assert node.get(f"/v1/parties/S1?source={P1}")["closed"] is None  # the platform's shop stays open


def test_an_unbound_regulator_key_names_other_sources_entities_only_where_an_authority_may(node: Api) -> None:
    """Each line is checked as its own authority's: it sanctions P1's merchant, but closes no shop of P1's."""
    report = node.post_events("regulator", [closing(REG_SOURCE, "reach-1", {"source": P1, "id": "S2"})])
    assert report["accepted"] == 0 and report["rejects"][0]["reason"].startswith("data.shop_id: names")


def test_a_bound_regulator_key_sends_its_own_source_only(node: Api) -> None:
    node.secrets["bound"] = keys.create_key(node.cx, "regulator", "bureau 310000", REG_SOURCE)[1]
    report = node.post_events("bound", [sanction(REG_SOURCE, "XC"), sanction(OTHER_BUREAU, "XD"),
                                        closing(P1, "forge-2", "S2"),
                                        closing(REG_SOURCE, "reach-2", {"source": P1, "id": "S2"})])
    assert report["accepted"] == 1
    assert [(r["line"], r["reason"].split(" ")[0]) for r in report["rejects"]] == [
        (2, "source"), (3, "source"), (4, "data.shop_id:")]
    assert f"this key reports as {REG_SOURCE!r}" in report["rejects"][0]["reason"]


def test_a_regulator_key_is_bound_to_an_authority_source_or_none(app: Chengxin) -> None:
    for wrong in (P1, "urn:cx:logistics:L1", " urn:cx:regulator:310000", "urn:cx:regulator:31|0"):
        with pytest.raises(InvalidInput, match="source"):
            keys.create_key(app, "regulator", "x", wrong)
    key_id, _ = keys.create_key(app, "regulator", "bureau", REG_SOURCE)
    assert [k["source"] for k in keys.list_keys(app) if k["key_id"] == key_id] == [REG_SOURCE]


def test_keys_create_takes_a_regulator_source(env: dict[str, str]) -> None:
    made = json.loads(run(env, "keys", "create", "--role", "regulator", "--label", "bureau", "--source", REG_SOURCE,
                          "--json").stdout)
    assert (made["role"], made["source"]) == ("regulator", REG_SOURCE)
    listed = json.loads(run(env, "keys", "list", "--json").stdout)
    assert [(k["role"], k["source"]) for k in listed] == [("regulator", REG_SOURCE)]
    posing = run(env, "keys", "create", "--role", "regulator", "--label", "x", "--source", P1, check=False)
    assert posing.returncode == 65 and "an authority's source" in posing.stderr
