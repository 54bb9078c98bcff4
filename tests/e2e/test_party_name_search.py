"""`GET /v1/parties?name=`: a party by part of its registered name (found by review: a credit office starts from
a firm's name; logistics firms, platforms and shop-less merchants have no shop to search by). Natural persons
are found by regulators only, and no one else learns their names from it."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_api import L1, P1, REG_SOURCE, Api, sample_api  # noqa: F401  (the fixture)


def search(api: Api, who: str, **params: Any) -> Any:
    response = api.client.get("/v1/parties", params=params, headers=api.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_businesses_of_every_kind_by_name_for_everyone(sample_api: Api) -> None:  # noqa: F811
    for who in ("anonymous", "p2", "regulator"):
        found = search(sample_api, who, name="示例")
        kinds = {p["kind"] for p in found["parties"]}
        assert kinds == {"platform", "enterprise", "individual_business", "logistics"}, who
        assert found["total"] == len(found["parties"]) == 6 and found["next_offset"] is None
    platform = search(sample_api, "anonymous", name="电商平台")["parties"]
    assert platform == [{"source": P1, "id": "PLAT", "name": "示例电商平台有限公司", "kind": "platform",
                         "uscc": "91330100MA27XK9L0C", "verified": True}]


def test_pages_follow_next_offset_without_overlap(sample_api: Api) -> None:  # noqa: F811
    seen, offset = [], 0
    while offset is not None:
        page = search(sample_api, "anonymous", name="示例", limit=4, offset=offset)
        assert page["total"] == 6
        seen += [(p["source"], p["id"]) for p in page["parties"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == 6
    assert (REG_SOURCE, "E-M2") in seen and (L1, "LG") in seen


def test_natural_persons_by_name_for_regulators_only(sample_api: Api) -> None:  # noqa: F811
    for who in ("anonymous", "p1", "p2"):  # P1 reported U1, yet finds no person by name
        found = search(sample_api, who, name="张三")
        assert found == {"parties": [], "total": 0, "next_offset": None}
    (u1,) = search(sample_api, "regulator", name="张三")["parties"]
    assert (u1["source"], u1["id"], u1["name"], u1["kind"], u1["uscc"]) == (P1, "U1", "张三", "person", None)
    assert "31010419900307123X" not in str(u1)


def test_one_of_uscc_or_name(sample_api: Api) -> None:  # noqa: F811
    for params in ({}, {"uscc": "91310104MA1FL8XQ36", "name": "示例"}):
        response = sample_api.client.get("/v1/parties", params=params)
        assert response.status_code == 422 and "uscc or name" in response.json()["detail"]
    assert sample_api.client.get("/v1/parties", params={"name": "示"}).status_code == 422  # too short
    by_code = search(sample_api, "anonymous", uscc="91310104MA1FL8XQ36")["parties"]
    assert [(p["source"], p["id"]) for p in by_code] == [(P1, "M1")]
