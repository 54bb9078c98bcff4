"""A regulator's name search that returns natural persons is journaled, as a lookup by ID number is (PIPL: the
search gave a person's full name and was journaled nowhere, found by review): one `search_name` entry per person
on the page, with the purpose given, or one saying none was stated. Businesses found leave no entry, and no one
else finds persons by name at all."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_api import L1, P1, Api, sample_api  # noqa: F401  (the fixture)
from tests.e2e.test_lookup_journal import journal_rows

from chengxin.services.shop_search import UNSTATED_PURPOSE


def search(api: Api, who: str, **params: Any) -> Any:
    response = api.client.get("/v1/parties", params=params, headers=api.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


def entries(api: Api) -> list[tuple[str, Any, str]]:
    return [(e["action"], e["party"], e["purpose"])
            for e in reversed(api.get("/v1/access-journal", "regulator")["entries"])]


def test_persons_found_by_a_regulator_are_journaled_with_the_purpose(sample_api: Api) -> None:  # noqa: F811
    found = search(sample_api, "regulator", name="张三", purpose="complaint 2026-311: fraud")
    assert [(p["source"], p["id"]) for p in found["parties"]] == [(P1, "U1")]
    assert entries(sample_api) == [("search_name", {"source": P1, "id": "U1"}, "complaint 2026-311: fraud")]
    (row,) = journal_rows(sample_api)
    assert row.key_id and "张三" not in row.object  # the name typed is not journaled, the party found is


def test_without_a_purpose_the_journal_says_none_was_stated(sample_api: Api) -> None:  # noqa: F811
    search(sample_api, "regulator", name="王五")  # a client that sends no purpose keeps working
    assert entries(sample_api) == [("search_name", {"source": L1, "id": "C1"}, UNSTATED_PURPOSE)]


def test_businesses_and_other_viewers_leave_no_entry(sample_api: Api) -> None:  # noqa: F811
    assert search(sample_api, "regulator", name="示例速递")["total"] == 2  # logistics firms: businesses
    for who in ("anonymous", "p1", "p2"):
        assert search(sample_api, who, name="张三", purpose="curious")["parties"] == []
    assert journal_rows(sample_api) == []


def test_a_purpose_too_short_is_refused(sample_api: Api) -> None:  # noqa: F811
    response = sample_api.client.get("/v1/parties", params={"name": "张三", "purpose": "x"},
                                     headers=sample_api.as_("regulator"))
    assert response.status_code == 422 and "purpose" in response.json()["detail"]
    assert journal_rows(sample_api) == []
