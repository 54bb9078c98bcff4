"""The notices page says which commitments a notice's act broke, in zh and en, as the notices JSON and the Atom
feed do (users found the page silent about them): the commitment, the clause's number and what it promised."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.integration.test_lists import RING_S1, RING_S2, confirm

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import lists, notices

CLAUSE_ZH = "不进行虚构交易、编造用户评价等刷单炒信行为，不组织或参与虚假交易。"
CLAUSE_EN = "We do not fake orders or reviews, nor organise or take part in fake transactions."


def test_a_notice_shows_the_commitment_its_act_broke(sample_app: Chengxin) -> None:
    cx = sample_app
    lists.drain(cx)
    confirm(cx, RING_S1, "run-s1")  # M1 committed to merchant-standard-v1: the ring breaks its first clause
    confirm(cx, RING_S2, "run-s2")  # M2 committed to nothing
    shown = notices.page(cx)["notices"]
    (broken,) = next(n for n in shown if n["shop"] and n["shop"]["id"] == "S1")["breaches"]
    assert (broken["clause_zh"], broken["clause_en"]) == (CLAUSE_ZH, CLAUSE_EN)  # the JSON carries the text
    commitment = broken["commitment"]["id"]
    with TestClient(create_app(cx)) as client:
        zh = client.get("/notices", params={"lang": "zh"})
        en = client.get("/notices", params={"lang": "en"})
    assert zh.status_code == en.status_code == 200
    # by the commitment's title, not its id; M1's own text does not carry the clause: the standard text's number
    assert f"另违反信用承诺《电子商务经营者信用承诺书》标准文本第 1 条：{CLAUSE_ZH}" in zh.text
    assert commitment not in zh.text
    assert ("Also broke the credit commitment “e-commerce merchant credit commitment”, clause 1 of its standard "
            f"text: {CLAUSE_EN}") in en.text
    assert zh.text.count('data-testid="notice-breach"') == en.text.count('data-testid="notice-breach"') == 1
