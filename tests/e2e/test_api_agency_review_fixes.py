"""A credit agency's review (findings 7, 8, 10, 11, 13): the public searches with the agency's key, journaled;
the report as full as the public view (the score's dimensions, shops, licences, each record's state); the
non-public watch list kept out; a complaint filing not negative; what changed since an earlier report; a
person's authorization checked. Each backend (the `env` fixture's sample node)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.conftest import ingest_text
from tests.e2e.test_api_agency_matrix import AUTH, indexes, journal, report, with_agency
from tests.e2e.test_api_matrix import APPEAL, L1, P1, Env, confirmed_by, courier_case, make_env

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import agency_report


@pytest.fixture
def env(sample_app: Chengxin) -> Iterator[Env]:
    with TestClient(create_app(sample_app)) as client:
        yield with_agency(make_env(sample_app, client))

LG_USCC = "91310000MA1K3R5T2F"  # the sample's logistics firm LG: it runs no shop


# --- finding 7: the public searches, journaled ---------------------------------------------------------------

def test_an_agency_finds_a_business_by_uscc_and_name_as_the_public_does_journaled(env: Env) -> None:
    by_uscc = env.client.get(f"/v1/parties?uscc={LG_USCC}", headers=env.headers["agency"])
    assert by_uscc.status_code == 200, by_uscc.text
    assert by_uscc.json() == env.client.get(f"/v1/parties?uscc={LG_USCC}").json()
    assert {(p["source"], p["id"]) for p in by_uscc.json()["parties"]} == {(P1, "LG"), (L1, "LG")}
    found = journal(env)
    assert [e["action"] for e in found] == ["agency_search"] * 2
    assert {(e["party"]["source"], e["party"]["id"]) for e in found} == {(P1, "LG"), (L1, "LG")}
    assert all(e["key_id"] == env.key_ids["agency"] and LG_USCC not in e["purpose"] for e in found)
    assert found[0]["purpose"] == "search: parties by uscc, 2 found"
    by_name = env.client.get("/v1/parties?name=示例速递", headers=env.headers["agency"])
    assert by_name.json() == env.client.get("/v1/parties?name=示例速递").json()
    assert journal(env)[0]["purpose"] == "search: parties by name, 2 found"
    shops = env.client.get("/v1/shops?q=9233 0106 MA2B 7C4D 1W", headers=env.headers["agency"])
    assert [s["id"] for s in shops.json()["shops"]] == ["S2"]
    assert journal(env)[0]["purpose"] == "search: shops by uscc, 1 found"


def test_an_agency_never_finds_a_person_by_name_and_the_name_is_not_journaled(env: Env) -> None:
    got = env.client.get("/v1/parties?name=张三", headers=env.headers["agency"])
    assert got.status_code == 200 and got.json()["parties"] == []
    (entry,) = journal(env)
    assert (entry["action"], entry["party"], entry["purpose"]) == ("agency_search", None,
                                                                    "search: parties by name, 0 found")
    assert "张" not in str(entry)
    unknown = env.client.get("/v1/parties?uscc=91310000MA1K3R5T2X", headers=env.headers["agency"])
    assert unknown.status_code == 404 and journal(env)[0]["purpose"] == "search: parties by uscc, 0 found"


# --- finding 11: as full as the public view ------------------------------------------------------------------

def test_the_report_carries_the_scores_dimensions_shops_and_licences(env: Env) -> None:
    public = env.client.get(f"/v1/parties/M2?source={P1}").json()
    body = report(env, "M2", P1).json()
    credit = body["credit"]
    assert credit["dimensions"] == public["credit"]["dimensions"] and len(credit["dimensions"]) == 6
    assert all(d["zh"] and d["en"] and "facts" in d for d in credit["dimensions"])
    assert (credit["score"], credit["grade"], credit["reasons"]) == (public["score"], public["grade"],
                                                                     public["reasons"])
    assert "grade_capped_by" in credit and credit["positive_rate"] == public["positive_rate"]
    assert body["shops"] == public["shops"] and [s["id"] for s in body["shops"]] == ["S2"]
    assert body["licences"] == public["licences"]
    assert all("state" in r and "disputed" in r for r in body["records"])


def test_a_disputed_record_is_marked_and_the_objection_is_not_negative(env: Env) -> None:
    """Dishonesty record 2 (S1's empty parcel) confirmed, then appealed (异议, 上海市社会信用条例 第三十六条)."""
    confirmed_by("regulator", appeal_by="regulator")(env)
    body = report(env, "S1", P1).json()
    confirmed = next(r for r in body["records"] if r["kind"] == "confirmed")
    assert (confirmed["state"], confirmed["disputed"], confirmed["negative"]) == ("appealed", True, True)
    objection = next(r for r in body["records"] if r["kind"] == "record_appealed")
    assert objection["negative"] is False and "query_period" not in objection


# --- finding 13: the watch list, complaint filings -----------------------------------------------------------

def test_the_non_public_watch_list_is_in_neither_lists_nor_records(env: Env) -> None:
    """The courier case puts C1 on the watch list (record #30, `list_entered_private`): the list is for
    regulators and platforms (vocab/list_policies.yaml `public: false`); the report carried the entry in
    `records` while `lists` said none (found by review)."""
    ingest_text(env.cx, courier_case())
    whole = env.client.get(f"/v1/parties/C1?source={L1}", headers=env.headers["regulator"]).json()
    assert "list_entered_private" in {r["kind"] for r in whole["credit_records"]}
    body = report(env, "C1", L1, authorization=AUTH).json()
    assert body["lists"] == []
    assert not {"list_entered_private", "list_left_private"} & {r["kind"] for r in body["records"]}


def test_a_complaint_filing_with_no_outcome_is_alleged_not_negative(env: Env) -> None:
    body = report(env, "S2", P1).json()
    filing = next(r for r in body["records"] if r["index"] == 18)  # a 12315 complaint, no outcome
    assert filing["kind"] == "complaint" and filing["negative"] is False and filing["alleged"] is True
    assert filing["query_period"]["until"]  # still credit information: provided five years only
    outcome = next(r for r in body["records"] if r["kind"] == "complaint_outcome")
    assert outcome["negative"] is True and outcome["alleged"] is False


# --- finding 8: what changed since an earlier report ---------------------------------------------------------

def test_since_size_gives_what_was_appended_and_what_was_withdrawn(env: Env) -> None:
    first = report(env, "S1", P1).json()
    size = first["log"]["tree_size"]
    assert size == env.client.get("/v1/log/head").json()["size"]  # every record is under the signed head here
    assert report(env, "S1", P1, since_size=size).json()["records"] == []  # nothing new
    confirmed_by("regulator")(env)  # review item 1 confirmed: dishonesty record 2 about S1
    second = report(env, "S1", P1, since_size=size).json()
    new = indexes(second)
    assert new and all(i >= size for i in new) and "confirmed" in {r["kind"] for r in second["records"]}
    assert second["records_withdrawn"]["since"] == {"count": 0, "indexes": []}
    cut = second["log"]["tree_size"]
    assert env.client.post("/v1/records/2/applications", json=APPEAL,
                           headers=env.headers["regulator"]).status_code == 200
    overturned = env.client.post("/v1/applications/1/decision", headers=env.headers["regulator"],
                                 json={"decision": "overturn", "reason": "the scale was wrong"})
    assert overturned.status_code == 200, overturned.text
    third = report(env, "S1", P1, since_size=cut).json()
    gone = third["records_withdrawn"]["since"]
    confirmed = [r["index"] for r in second["records"] if r["kind"] == "confirmed"]
    assert gone["count"] >= 1 and set(confirmed) <= set(gone["indexes"]) and all(i < cut for i in gone["indexes"])
    assert not set(confirmed) & set(indexes(third))
    too_far = report(env, "S1", P1, since_size=third["log"]["tree_size"] + 1)
    assert too_far.status_code == 422 and "since_size" in too_far.json()["detail"]


# --- finding 10: the person's authorization ------------------------------------------------------------------

def _refused(env: Env, status: int, said: str, entity: str = "U1", source: str = P1, **auth: str) -> None:
    got = report(env, entity, source, authorization={**AUTH, **auth})
    assert got.status_code == status, got.text
    assert said in got.json()["detail"] or said in got.text
    assert journal(env)[0]["action"] == "agency_report_refused"


def test_a_degenerate_or_stale_authorization_is_refused_and_journaled(env: Env) -> None:
    _refused(env, 422, "one digit repeated", sha256="0" * 64)
    stale = (agency_report.today() - timedelta(days=366)).isoformat()
    _refused(env, 422, "more than 365 days ago", signed_on=stale)
    assert report(env, "U1", P1, authorization={**AUTH, "signed_on": (
        agency_report.today() - timedelta(days=365)).isoformat()}).status_code == 200


def test_an_authorization_signed_before_the_person_was_born_is_refused(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """U1 was born 1990-03-07 (the sample's ID number); the validity check is moved out of the way by judging
    on a day in 1990, so that the birth check is what refuses (the birth date is never said)."""
    monkeypatch.setattr(agency_report, "today", lambda: date(1990, 6, 1))
    _refused(env, 403, "before the person was born", signed_on="1990-03-06")
    assert "1990-03-07" not in journal(env)[0]["purpose"]
    assert report(env, "U1", P1, authorization={**AUTH, "signed_on": "1990-03-07"}).status_code == 200


def test_one_authorization_is_one_persons(env: Env) -> None:
    assert report(env, "U1", P1, authorization=AUTH).status_code == 200
    assert report(env, "U1", P1, authorization=AUTH).status_code == 200  # the same person again: fine
    _refused(env, 403, "another person", entity="C1", source=L1)
    shop = ('{"specversion":"1.0","id":"a-1","source":"urn:cx:platform:P1","type":"cx.shop.opened",'
            '"time":"2026-04-01T09:00:00+08:00","data":{"shop_id":"S9","operator_id":"U1","name":"个人小店",'
            '"url":"https://s9.shop.example","categories":["general"]}}')
    assert ingest_text(env.cx, shop).accepted == 1
    assert report(env, "S9", P1, authorization=AUTH).status_code == 200  # U1's own shop: the same person

