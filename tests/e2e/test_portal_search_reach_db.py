"""The portal's search by an operator's registered name and by an item link, on SQLite and on PostgreSQL
(`CHENGXIN_TEST_DATABASE_URL`): the operator's name is matched through a correlated EXISTS over the subjects
linked by party key, which each database plans in its own way."""

from __future__ import annotations

import re
from html import unescape

from tests.e2e.test_api import Api, sample_api  # noqa: F401  (the fixture)


def _names(api: Api, q: str, testid: str) -> list[str]:
    r = api.client.get("/search", params={"q": q, "lang": "zh"}, headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    return re.findall(rf'data-testid="{testid}">([^<]+)<', unescape(r.text))


def test_operator_name_and_item_link_on_each_database(sample_api: Api) -> None:  # noqa: F811
    assert _names(sample_api, "示例食品有限", "result-link") == ["示例食品旗舰店"]
    assert _names(sample_api, "示例食品有限", "party-link") == ["上海示例食品有限公司"]
    # the individual business's platform and regulator reports, and its shop
    assert _names(sample_api, "西湖区示例日用品", "result-link") == ["示例日用小店"]
    assert len(_names(sample_api, "西湖区示例日用品", "party-link")) == 1  # one business, its two reports
    assert len(_names(sample_api, "西湖区示例日用品", "party-report-link")) == 2
    assert _names(sample_api, "HTTPS://S2.shop.example:443/item/9?a=1#b", "result-link") == ["示例日用小店"]
    assert _names(sample_api, "张三", "result-link") == _names(sample_api, "张三", "party-link") == []
    found = sample_api.client.get("/v1/shops", params={"q": "有限公司"}).json()
    assert {s["name"] for s in found["shops"]} == {"示例食品旗舰店"} and found["total"] == 1
