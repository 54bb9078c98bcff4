"""Public review finding 9 on the page: a logistics firm's page showed seller hearts ("积满 4 分为 1红心"), a
return rate "estimated" from zero deliveries, and "身份与资质 150/150" beside "未公示任何证照" without saying
what earned the points."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.e2e.conftest import P1, make_portal_cx

from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import party_href

L1 = "urn:cx:logistics:L1"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    cx = make_portal_cx(tmp_path_factory.mktemp("portal-logistics"))
    with TestClient(create_app(cx)) as c:
        yield c
    cx.engine.dispose()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_a_logistics_firms_page_shows_no_hearts_and_says_what_its_figures_rest_on(client: TestClient) -> None:
    zh = _text(client.get(party_href(L1, "LG") + "&lang=zh").text)
    assert "红心" not in zh and "信用积分与等级" not in zh and "暂无等级" not in zh
    assert "已送达0单" not in zh and "退货率按典型值6.0%计" in zh
    assert "未经营网店，本系统不核查其行业许可证" in zh
    en = _text(client.get(party_href(L1, "LG") + "&lang=en").text)
    assert "heart" not in en and "no deliveries of its own yet" in en and "not checked here" in en
    # a merchant keeps its seller credit
    assert "信用积分与等级" in _text(client.get(party_href(P1, "M2") + "&lang=zh").text)


def test_the_api_gives_a_carrier_no_credit_points(client: TestClient) -> None:
    view = client.get("/v1/parties/LG", params={"source": L1}).json()
    assert "points" not in view and "level" not in view and view["grade"] in "ABCD"
