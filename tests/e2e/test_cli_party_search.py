"""`chengxin party search NAME`: the API's name search on the command line (users had no way to find a party
by name there), as the node's operator (a regulator's view, as `party show`), its --json the API's shape."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.cli import run
from tests.e2e.test_api import L1, P1, Api, sample_api  # noqa: F401  (the fixture)

from chengxin.services.shop_search import UNSTATED_PURPOSE


def cli_page(env: dict[str, str], *args: str) -> Any:
    return json.loads(run(env, "party", "search", *args, "--json").stdout)


def api_page(api: Api, who: str, **params: Any) -> Any:
    response = api.client.get("/v1/parties", params=params, headers=api.as_(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_json_is_the_apis_page_for_a_regulator(sample_api: Api, env: dict[str, str]) -> None:  # noqa: F811
    assert cli_page(env, "示例") == api_page(sample_api, "regulator", name="示例")
    second = cli_page(env, "示例", "--limit", "4", "--offset", "4")
    assert second == api_page(sample_api, "regulator", name="示例", limit=4, offset=4)
    assert (second["total"], len(second["parties"]), second["next_offset"]) == (6, 2, None)
    assert cli_page(env, "示例", "--limit", "4")["next_offset"] == 4


def test_persons_for_the_operator_journaled_not_for_public(sample_api: Api, env: dict[str, str]) -> None:  # noqa: F811
    (u1,) = cli_page(env, "张三", "--purpose", "case 2026-7")["parties"]
    assert (u1["source"], u1["id"], u1["kind"]) == (P1, "U1", "person")
    cli_page(env, "王五")
    assert cli_page(env, "张三", "--public") == {"parties": [], "total": 0, "next_offset": None}
    journal = sample_api.get("/v1/access-journal", "regulator")["entries"]
    assert [(e["key_id"], e["action"], e["party"], e["purpose"]) for e in reversed(journal)] == [
        ("cli", "search_name", {"source": P1, "id": "U1"}, "case 2026-7"),
        ("cli", "search_name", {"source": L1, "id": "C1"}, UNSTATED_PURPOSE)]


def test_a_table_to_read(sample_api: Api, env: dict[str, str]) -> None:  # noqa: F811
    done = run({**env, "COLUMNS": "160"}, "party", "search", "示例", "--limit", "4")
    assert done.stdout == ""  # what people read goes to stderr
    assert "1-4 of 6" in done.stderr and "示例电商平台有限公司" in done.stderr and "--offset 4" in done.stderr
    assert "no party by that name" in run(env, "party", "search", "无此名称").stderr
    short = run(env, "party", "search", "示", check=False)
    assert short.returncode == 2 and "at least 2" in short.stderr
