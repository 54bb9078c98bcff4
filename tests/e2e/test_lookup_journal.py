"""Looking a person up by resident ID number takes a purpose and is journaled, as a reveal is (found by review:
the lookup gave the person's name and whole credit file and was journaled nowhere). Never the number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from tests.e2e.test_api import P1, U1_ID, Api, sample_api  # noqa: F401  (the fixture)

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection

LOOKUP = "/v1/parties/lookup"
UNKNOWN_ID = "110101199003074514"


def journal_rows(api: Api) -> list[Any]:
    with read_connection(api.cx.engine) as conn:
        return list(conn.execute(select(t.access_journal).order_by(t.access_journal.c.id)))


def test_a_lookup_needs_a_purpose(sample_api: Api) -> None:  # noqa: F811
    for body, field in (({"id_number": U1_ID}, "body.purpose"), ({"id_number": U1_ID, "purpose": "   "}, "purpose")):
        response = sample_api.client.post(LOOKUP, json=body, headers=sample_api.as_("regulator"))
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(field)
    assert journal_rows(sample_api) == []


def test_a_lookup_is_journaled_with_the_party_and_purpose_never_the_number(sample_api: Api) -> None:  # noqa: F811
    found = sample_api.client.post(LOOKUP, json={"id_number": U1_ID, "purpose": "complaint 2026-311: fraud"},
                                   headers=sample_api.as_("regulator"))
    assert found.status_code == 200 and [p["id"] for p in found.json()["parties"]] == ["U1"]
    (entry,) = sample_api.get("/v1/access-journal", "regulator")["entries"]
    assert (entry["action"], entry["party"], entry["purpose"]) == (
        "lookup_id_number", {"source": P1, "id": "U1"}, "complaint 2026-311: fraud")
    assert entry["key_id"] and U1_ID not in str(journal_rows(sample_api)) and U1_ID[-6:] not in str(entry)


def test_a_lookup_that_finds_nothing_is_journaled_naming_no_party(sample_api: Api) -> None:  # noqa: F811
    for who, number in (("regulator", UNKNOWN_ID), ("p2", U1_ID)):  # unknown; known, not P2's to see
        response = sample_api.client.post(LOOKUP, json={"id_number": number, "purpose": "probe"},
                                          headers=sample_api.as_(who))
        assert response.status_code == 404
    entries = sample_api.get("/v1/access-journal", "regulator")["entries"]
    assert [(e["action"], e["party"], e["purpose"]) for e in entries] == [("lookup_id_number", None, "probe")] * 2
    assert UNKNOWN_ID not in str(journal_rows(sample_api)) and U1_ID not in str(journal_rows(sample_api))
