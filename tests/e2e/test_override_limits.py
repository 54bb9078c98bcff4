"""Bounds the regulator review found missing. A list override's `until` beyond the list's review period
(2999: a public black-list entry for ~970 years) is refused naming `until` and the latest date allowed,
through the API (422) and the CLI (exit 65); the default review date stays the list's period. The measures
feed refuses a cursor past its newest change (422)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.conftest import SAMPLE
from tests.e2e.cli import run
from tests.e2e.test_api_review import Api

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import keys, lifecycle

P1 = "urn:cx:platform:P1"


def _in(days: int) -> str:
    return (lifecycle.day_of(datetime.now(UTC)) + timedelta(days=days)).isoformat()


@pytest.fixture
def api(sample_app: Chengxin) -> Iterator[Api]:
    made = {"regulator": keys.create_key(sample_app, "regulator", "override regulator")[1]}
    with TestClient(create_app(sample_app)) as client:
        yield Api(client, made)


def _override(api: Api, name: str, status: int = 200, **extra: str) -> dict:
    body = {"source": P1, "id": "M1", "action": "add", "reason": "court judgment", "basis": "电子商务法 第十七条",
            **extra}
    return api.call("POST", f"/v1/lists/{name}/overrides", "regulator", status=status, json=body)


def test_an_until_beyond_the_review_period_is_refused(api: Api) -> None:
    refused = _override(api, "black", 422, until="2999-01-01")
    assert refused["detail"] == (f"until: 2999-01-01 is beyond the black list's review period of 365 days; the "
                                 f"latest allowed is {_in(365)} (renew the override when it is reviewed)")
    assert _override(api, "watch", 422, until=_in(181))["detail"].startswith(f"until: {_in(181)} is beyond the "
                                                                              "watch list's review period of 180")
    # nothing was recorded: the party is not on the black list
    assert "black" not in [x["list"] for x in api.call("GET", f"/v1/measures/S1?source={P1}", "regulator")["lists"]]
    assert _override(api, "black", until=_in(365))["override"]["until"] == _in(365)  # the last day allowed
    assert _override(api, "black", action="remove")["override"]["until"] == _in(365)  # default: the period
    assert "is past" in _override(api, "black", 422, until="2020-01-01")["detail"]


def test_the_cli_refuses_it_too(env: dict[str, str]) -> None:
    run(env, "ingest", str(SAMPLE))
    done = run(env, "lists", "override", "black", "--source", P1, "--id", "M1", "--add", "--reason", "court judgment",
               "--basis", "电子商务法 第十七条", "--until", "2999-01-01", check=False)
    assert done.returncode == 65, done.stderr
    assert "until: 2999-01-01 is beyond the black list's review period of 365 days; the latest allowed is " \
        f"{_in(365)}" in " ".join(done.stderr.split())
    ok = run(env, "lists", "override", "black", "--source", P1, "--id", "M1", "--add", "--reason", "court judgment",
             "--basis", "电子商务法 第十七条", "--until", _in(30))
    assert f"override recorded until {_in(30)}" in ok.stderr


def test_the_feed_refuses_a_cursor_past_its_newest_change(api: Api) -> None:
    """The same bound on the measures feed's cursor (finding 6): 422 naming it and the newest seq."""
    newest = int(api.call("GET", "/v1/measures", "regulator")["next"] or 0)
    refused = api.call("GET", "/v1/measures?changed_since=99999", "regulator", status=422)
    assert refused["detail"].startswith(f"changed_since: 99999 is past the feed's newest change ({newest})")
    assert api.call("GET", f"/v1/measures?changed_since={newest}", "regulator")["next"] == str(newest)


def test_an_addition_a_held_list_excludes_is_refused_naming_it(api: Api) -> None:
    """A red-list addition for a black-listed party answered 200, override recorded, and nothing moved
    (finding 4): 409 naming the excluding list; nothing is recorded."""
    assert _override(api, "black", reason="court judgment")["evaluation"]["moves"]
    refused = _override(api, "red", 409, reason="trustworthy by decision")
    assert refused["detail"] == (f"M1 ({P1}) is on the black list, which excludes the red list: the addition would "
                                 "have no effect (remove it from the black list first)")
    lists_now = [x["list"] for x in api.call("GET", f"/v1/measures/S1?source={P1}", "regulator")["lists"]]
    assert lists_now == ["black"]
    assert _override(api, "red", action="remove")["override"]["action"] == "remove"  # a removal is no addition
