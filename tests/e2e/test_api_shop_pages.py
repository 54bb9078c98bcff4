"""`GET /v1/shops` pages: `total` counts every match and `next_offset` leads to the rest (found by review: a
hit list cut at 20 looked complete, and there was no way past 100)."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.test_api import P1, Api, sample_api  # noqa: F401  (the fixture)

M1_USCC = "91310104MA1FL8XQ36"


def opened(shop_id: str, name: str) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"open-{shop_id}", "source": P1, "type": "cx.shop.opened",
                       "time": "2026-11-01T09:00:00+08:00", "data": {
                           "shop_id": shop_id, "operator_id": "M1", "name": name,
                           "url": f"https://{shop_id.lower()}.pages.example", "categories": ["daily_goods"]}},
                      ensure_ascii=False).encode()


def every_page(api: Api, query: str, limit: int) -> tuple[list[tuple[str, str]], set[int]]:
    """The shops of every page, in order, following `next_offset`; and the totals the pages gave."""
    found: list[tuple[str, str]] = []
    totals, offset = set(), 0
    while True:
        page: Any = api.client.get("/v1/shops", params={"q": query, "limit": limit, "offset": offset}).json()
        found += [(s["id"], s["name"]) for s in page["shops"]]
        totals.add(page["total"])
        if page["next_offset"] is None:
            return found, totals
        assert page["next_offset"] == offset + limit
        offset = page["next_offset"]


def test_a_search_pages_through_every_shop_it_finds(sample_api: Api) -> None:  # noqa: F811
    shops = [opened(f"T{i:02d}", f"分页测试店{i:02d}") for i in range(25)]
    shops += [opened(f"D{i}", "分页测试店同名") for i in range(3)]  # one name: pages must still not overlap
    assert sample_api.post_events("p1", shops)["accepted"] == 28
    first = sample_api.client.get("/v1/shops", params={"q": "分页测试店", "limit": 10}).json()
    assert (len(first["shops"]), first["total"], first["next_offset"]) == (10, 28, 10)
    for limit in (10, 1, 28, 100):
        found, totals = every_page(sample_api, "分页测试店", limit)
        assert totals == {28} and len(found) == len(set(found)) == 28
        assert [name for _, name in found] == sorted(name for _, name in found)
    past = sample_api.client.get("/v1/shops", params={"q": "分页测试店", "offset": 28}).json()
    assert past == {"shops": [], "total": 28, "next_offset": None}


def test_a_search_by_uscc_pages_too(sample_api: Api) -> None:  # noqa: F811
    everything = sample_api.client.get("/v1/shops", params={"q": M1_USCC, "limit": 100}).json()
    assert everything["total"] == len(everything["shops"]) >= 1 and everything["next_offset"] is None
    assert sample_api.post_events("p1", [opened(f"U{i}", f"统一代码店{i}") for i in range(3)])["accepted"] == 3
    found, totals = every_page(sample_api, M1_USCC, 2)
    assert totals == {everything["total"] + 3} and len(set(found)) == everything["total"] + 3


def test_nothing_found_is_a_total_of_none(sample_api: Api) -> None:  # noqa: F811
    assert sample_api.client.get("/v1/shops", params={"q": "没有这家店"}).json() == {
        "shops": [], "total": 0, "next_offset": None}
    assert sample_api.client.get("/v1/shops", params={"q": "店", "offset": -1}).status_code == 422


def test_the_document_names_the_page_fields(sample_api: Api) -> None:  # noqa: F811
    spec = sample_api.client.get("/openapi.json").json()
    op = spec["paths"]["/v1/shops"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"q", "limit", "offset"}
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    page = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert set(page["properties"]) == {"shops", "total", "next_offset"}
