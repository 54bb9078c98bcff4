"""The `agency` role (credit agencies, 信用服务机构: R11, R16) across the `/v1` API.

Every cell of the access matrix (`test_api_matrix.MATRIX`: every route x the sample's own and others' objects)
is asked with an agency's key: refused (403, naming the report route and the law) unless the route reads no
party's or record's credit file (`deps.AGENCY_ROUTES`), so a route added later is refused to agencies until
listed, and every read of a party or record goes through the journaled credit report. Then the report itself:
a business's non-public records, the five-year query period (上海市社会信用条例 第三十五条), a natural person's
authorization (浙江省公共信用信息管理条例 第十九条), the journal (第二十条).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import BACKENDS, SAMPLE, ingest_file, make_database
from tests.e2e.test_api_matrix import (
    L1,
    MATRIX,
    P1,
    PLAIN_IDS,
    REG_SOURCE,
    WRITING_ROUTES,
    Call,
    Env,
    make_env,
    queue_two_findings,
    v1_routes,
)

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.api.deps import AGENCY_ROUTES
from chengxin.services import agency_report, keys
from chengxin.settings import Settings

AGENCY_SOURCE = "urn:cx:agency:ZX001"
REPORTS = ("POST", "/v1/reports/{entity_id}")
SEARCHES = {("GET", "/v1/shops"), ("GET", "/v1/parties")}  # as the public's, journaled (services/agency_search.py)
PURPOSE = "loan application 2026-88: credit check of the borrower"
AUTH = {"sha256": "5f" * 32, "signed_on": "2026-11-01"}


def with_agency(env: Env) -> Env:
    key_id, secret = keys.create_key(env.cx, "agency", "matrix agency", AGENCY_SOURCE)
    env.headers["agency"] = {"Authorization": f"Bearer {secret}"}
    env.key_ids["agency"] = key_id
    return env


@pytest.fixture(scope="module", params=BACKENDS)
def agency_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
               pg_template: str | None) -> Iterator[Env]:
    """One sample node per backend for the cells that write nothing (refusals, routes without a credit file)."""
    tmp = tmp_path_factory.mktemp("agency")
    url, cleanup = make_database(str(request.param), tmp, sqlite_template, pg_template)
    cx = bootstrap(Settings(database_url=url, keys_file=tmp / "keys.json", batch_size=1000))
    try:
        assert ingest_file(cx, SAMPLE).accepted == 48
        with TestClient(create_app(cx)) as client:
            yield with_agency(make_env(cx, client))
    finally:
        cx.engine.dispose()
        cleanup()  # type: ignore[operator]


@pytest.fixture
def env(sample_app: Chengxin) -> Iterator[Env]:
    with TestClient(create_app(sample_app)) as client:
        yield with_agency(make_env(sample_app, client))


def matrix_cells() -> Iterator[Any]:
    for (method, path), objects in MATRIX.items():
        if (method, path) == REPORTS:
            continue  # the report's own cells are below
        for obj, (call, _) in objects.items():
            yield pytest.param(method, path, call, id=f"{method} {path} [{obj}] agency")


def counts(env: Env) -> list[int]:
    with read_connection(env.cx.engine) as conn:
        return [conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (t.events, t.credit_records, t.access_journal)]


@pytest.mark.parametrize(("method", "path", "call"), list(matrix_cells()))
def test_agency_on_every_route_and_object(agency_env: Env, method: str, path: str, call: Call) -> None:
    """Own (P1's) and others' objects alike: an agency owns nothing. Allowed routes answer as to the public;
    every other route is 403 before any lookup, saying where to go; nothing is stored or journaled."""
    if call.prepare is not None and (method, path) in AGENCY_ROUTES - SEARCHES:  # a search's prepares nothing
        pytest.fail("a route that needs a prepared node is not expected among the agency's routes")
    before = counts(agency_env)
    got = agency_env.call("agency", call)
    searched = (method, path) in SEARCHES
    if (method, path) in AGENCY_ROUTES:
        assert got.status_code == 200, got.text
        assert got.json() == agency_env.call("anonymous", call).json() or path == "/v1/health"
        if searched:  # journaled (one entry per party or shop found), never the query's text
            assert counts(agency_env)[:2] == before[:2] and counts(agency_env)[2] > before[2]
            entries = journal(agency_env)[:counts(agency_env)[2] - before[2]]
            assert {e["action"] for e in entries} == {"agency_search"}
            assert all(e["key_id"] == agency_env.key_ids["agency"] and e["purpose"].startswith("search: ")
                       for e in entries)
            assert all(call.url.split("=")[-1] not in e["purpose"] for e in entries)
            return
    else:
        assert got.status_code == 403, got.text
        detail = got.json()["detail"]
        if path == "/v1/events":
            assert "never submits events" in detail and "第三十五条" in detail
        else:
            assert "POST /v1/reports/{entity_id}" in detail and "浙江省公共信用信息管理条例 第二十条" in detail
    assert counts(agency_env) == before
    for number in PLAIN_IDS:
        assert number not in got.text


def test_every_v1_route_has_agency_cells(app: Chengxin) -> None:
    routes = v1_routes(create_app(app))
    assert REPORTS in routes and routes <= MATRIX.keys()  # so `matrix_cells` asks every route
    assert AGENCY_ROUTES.issubset(routes)  # no stale entry
    assert ("POST", "/v1/events") not in AGENCY_ROUTES
    assert not AGENCY_ROUTES & WRITING_ROUTES - {REPORTS}


# --- the report -----------------------------------------------------------------------------------------

def report(env: Env, entity: str, source: str, viewer: str = "agency", **body: Any) -> Any:
    return env.client.post(f"/v1/reports/{entity}?source={source}", json={"purpose": PURPOSE, **body},
                           headers=env.headers[viewer])


def journal(env: Env) -> list[dict[str, Any]]:
    got = env.client.get("/v1/access-journal", headers=env.headers["regulator"])
    assert got.status_code == 200
    return list(got.json()["entries"])


def indexes(body: Any) -> list[int]:
    return [r["index"] for r in body["records"]]


# S2 is run by M2, which the regulator reports as E-M2: the public file is #20 #19 #17 #15 #2 (and the public
# parts of M2); a report adds the complaint filings #16 #18, about the business. Nothing is about a person. The
# sanction #21 was repaired: it, its lifting #22 and the dishonesty record's move #23 are deleted from what may
# be provided (上海市社会信用条例 第三十八条; they were reported, found by review).
S2_REPORT = [20, 19, 18, 17, 16, 15, 2]
REPAIRED_SANCTION = [21, 22, 23]


def test_a_business_report_adds_its_non_public_records_and_is_journaled(env: Env) -> None:
    got = report(env, "S2", P1)
    assert got.status_code == 200, got.text
    body = got.json()
    assert indexes(body) == S2_REPORT
    public = env.client.get(f"/v1/parties/S2?source={P1}").json()
    assert {r["index"] for r in public["credit_records"]} < set(S2_REPORT)  # more than the public sees
    assert body["records_withdrawn"]["count"] == len(REPAIRED_SANCTION)
    inspection = next(r for r in body["records"] if r["index"] == 20)
    assert inspection["negative"] and inspection["query_period"] == {
        "from": "2026-03-05", "until": "2031-03-05", "act_ended": False, "in_force": False,
        "basis": "上海市社会信用条例 第三十五条"}
    assert body["credit"]["grade"] == public["grade"] and body["credit"]["reasons"] == public["reasons"]
    assert body["subject"]["identity"]["operator"]["name"] == "杭州西湖区示例日用品店"
    assert body["report"]["requested_by"] == {"key_id": env.key_ids["agency"], "agency": AGENCY_SOURCE}
    (entry,) = journal(env)
    assert (entry["action"], entry["key_id"], entry["party"], entry["purpose"]) == (
        "agency_report", env.key_ids["agency"], {"source": P1, "id": "S2"}, PURPOSE)


def test_the_regulators_report_of_the_same_business_reads_alike(env: Env) -> None:
    body = report(env, "E-M2", REG_SOURCE).json()
    assert {16, 18} <= set(indexes(body)) and not set(REPAIRED_SANCTION) & set(indexes(body))
    assert body["subject"]["natural_person"] is False


@pytest.mark.parametrize(("today", "shown"), [
    (date(2031, 3, 5), True),    # the fifth anniversary of the inspection (no dishonesty record: its own day)
    (date(2031, 3, 6), False),   # the day after: no longer provided (第三十五条: 不得提供查询)
])
def test_negative_records_are_provided_five_years(
        env: Env, monkeypatch: pytest.MonkeyPatch, today: date, shown: bool) -> None:
    monkeypatch.setattr(agency_report, "today", lambda: today)
    body = report(env, "S2", P1).json()
    assert (20 in indexes(body)) is shown
    # the complaint filings (2026-02-18 and -25) and the upheld complaint are past it on each of these days
    assert not {16, 17, 18} & set(indexes(body))
    assert {19, 15, 2} <= set(indexes(body))  # identity and ratings are not negative: no period
    assert body["records_withheld_past_window"] == (3 if shown else 4)
    assert body["records_withdrawn"]["count"] == 3  # the repaired sanction, whatever the day


def _sanction_record(env: Env) -> dict[str, Any]:
    whole = env.client.get(f"/v1/parties/S2?source={P1}", headers=env.headers["regulator"]).json()
    return next(r for r in whole["credit_records"] if r["index"] == 21)


def test_the_period_runs_from_the_acts_end_and_not_while_in_force(env: Env) -> None:
    """An expired record's act ended with its period: a 2018 penalty whose period ended 2021-03-01, expired by
    the node only today, was offered until 2031 (counted from the node's bookkeeping; found by review). One still
    in force runs no period and is provided (a 2019 listing never lifted was withheld as past the window). A
    revoked one is never provided (第三十七条)."""
    record = _sanction_record(env)
    key = ("index", 21)
    expired = agency_report._Act("expired", "2026-11-28T19:14:37Z", "2021-03-01")
    shown = agency_report._windowed(record, {key: expired}, date(2026, 3, 1))
    assert isinstance(shown, dict) and shown["query_period"]["from"] == "2021-03-01"
    assert shown["query_period"]["until"] == "2026-03-01"
    assert agency_report._windowed(record, {key: expired}, date(2026, 3, 2)) == "past_window"
    in_force = agency_report._Act("confirmed", None, None)
    kept = agency_report._windowed(record, {key: in_force}, date(2040, 1, 1))
    assert isinstance(kept, dict) and kept["query_period"]["in_force"] is True
    for state in ("overturned", "repaired"):
        assert agency_report._windowed(record, {key: agency_report._Act(state, "2026-05-01T00:00:00Z", None)},
                                       date(2026, 6, 1)) == "withdrawn"


@pytest.mark.parametrize(("entity", "source"), [("U1", P1), ("C1", L1)])
def test_a_natural_person_needs_the_persons_authorization(env: Env, entity: str, source: str) -> None:
    refused = report(env, entity, source)
    assert refused.status_code == 403
    assert "浙江省公共信用信息管理条例 第十九条" in refused.json()["detail"]
    got = report(env, entity, source, authorization=AUTH)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["subject"]["natural_person"] is True
    assert body["subject"]["identity"]["name"].endswith("*") and "id_number" not in body["subject"]["identity"]
    assert "ric:" not in got.text  # no keyed ID hash, in a payload or in leaf bytes
    for number in PLAIN_IDS:
        assert number not in got.text and number[-4:] + '"' not in got.text
    second, first = journal(env)[:2]  # newest first
    assert (first["action"], second["action"]) == ("agency_report_refused", "agency_report")
    assert second["purpose"] == f"{PURPOSE} [authorization sha256:{AUTH['sha256']} signed 2026-11-01]"
    assert first["party"] == second["party"] == {"source": source, "id": entity}


def test_a_person_operators_shop_needs_authorization_too(env: Env) -> None:
    from tests.conftest import ingest_text

    shop = ('{"specversion":"1.0","id":"a-1","source":"urn:cx:platform:P1","type":"cx.shop.opened",'
            '"time":"2026-04-01T09:00:00+08:00","data":{"shop_id":"S9","operator_id":"U1","name":"个人小店",'
            '"url":"https://s9.shop.example","categories":["general"]}}')
    assert ingest_text(env.cx, shop).accepted == 1
    assert report(env, "S9", P1).status_code == 403
    assert report(env, "S9", P1, authorization=AUTH).status_code == 200


def test_refusals_of_the_request_itself(env: Env) -> None:
    assert env.client.post(f"/v1/reports/S2?source={P1}", json={}, headers=env.headers["agency"]).status_code == 422
    future = {**AUTH, "signed_on": "2099-01-01"}
    assert report(env, "U1", P1, authorization=future).status_code == 422
    assert report(env, "U1", P1, authorization={**AUTH, "sha256": "xyz"}).status_code == 422
    unknown = report(env, "NOPE", P1)
    assert unknown.status_code == 404
    assert journal(env)[0]["action"] == "agency_report_not_found"
    for viewer, status in (("anonymous", 401), ("p1", 403), ("regulator", 403)):
        assert report(env, "S2", P1, viewer).status_code == status


def test_an_agency_key_never_submits_events(env: Env) -> None:
    line = b'{"specversion":"1.0","id":"z-1","source":"urn:cx:agency:ZX001","type":"cx.order.completed",' \
           b'"time":"2026-04-01T09:00:00+08:00","data":{"order_id":"O9"}}'
    before = counts(env)
    got = env.client.post("/v1/events", content=line, headers=env.headers["agency"])
    assert got.status_code == 403 and "never submits events" in got.json()["detail"]
    assert counts(env) == before


def test_the_machines_suspicions_never_reach_a_report(env: Env) -> None:
    """Publishing a finding appends a `suspected` record about S1 (not public, not decided): the regulator sees
    it in the credit file, an agency's report does not carry it."""
    queue_two_findings(env)
    whole = env.client.get(f"/v1/parties/S1?source={P1}", headers=env.headers["regulator"]).json()
    assert "suspected" in {r["kind"] for r in whole["credit_records"]}
    body = report(env, "S1", P1).json()
    assert "suspected" not in {r["kind"] for r in body["records"]}
    assert {r["index"] for r in body["records"]} >= {r["index"] for r in
                                                    env.client.get(f"/v1/parties/S1?source={P1}").json()["credit_records"]}
