"""Credit standing and score on the portal (no JavaScript): the level badge, the positive rate, DSR against the
category, the grade with its reasons, dimensions and history, in zh and en; nothing of a person's to the public."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient
from tests.e2e.standing_feed import P1, at, make_standing_cx

from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web import i18n, present
from chengxin.entrypoints.web.present import party_href, shop_href

S1, S2, S9 = shop_href(P1, "S1"), shop_href(P1, "S2"), shop_href(P1, "S9")


def _shop_of_a_person() -> bytes:
    """Shop S9, run by natural person U1 (no business registration), in the same category."""
    return json.dumps({"specversion": "1.0", "id": "st-s9", "source": P1, "type": "cx.shop.opened",
                       "time": at(10), "data": {"shop_id": "S9", "operator_id": "U1", "name": "小张杂货铺",
                                                "url": "https://s9.standing.example",
                                                "categories": ["daily_goods"]}}, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    cx = make_standing_cx(tmp_path_factory.mktemp("standing-portal"), _shop_of_a_person())
    with TestClient(create_app(cx)) as c:
        yield c
    cx.engine.dispose()


def page(client: TestClient, url: str, lang: str) -> str:
    response = client.get(url + f"&lang={lang}")
    assert response.status_code == 200, response.text
    return response.text


def section(html: str, testid: str) -> str:
    """The text of the element with this data-testid up to its section's end, tags removed, spaces folded."""
    start = html.index(f'data-testid="{testid}"')
    end = html.find("</section>", start)
    inline = re.sub(r"</?span[^>]*>", "", html[start:end])  # a span of another language (lang="zh-CN") is no gap
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", inline)))


def test_shop_page_shows_level_positive_rate_and_dsr_in_chinese(client: TestClient) -> None:
    html = page(client, S1, "zh")
    assert re.search(r'data-testid="level-badge" data-tier="heart" data-rank="1"', html)
    standing = section(html, "standing")
    for text in ("♥ 1红心", "再得 6 分升至下一级（11 分）", "信用积分 5", "好评率", "（近 180 天）", "100.00%",
                 "好评 5 · 中评 0 · 差评 0", "累计 5 条买家评价，平均 4.80 分", "店铺动态评分",
                 "近 180 天 5 条评分，与同类目“日用消费品”网店平均相比"):
        assert text in standing, text
    rows = re.findall(r'<tr data-dimension="(\w+)" data-direction="(\w+)">', html)
    assert rows == [("as_described", "up"), ("service", "up"), ("logistics", "up")]
    # 4.80 against (5 x 4.8 + 2 x 3) / 7 = 4.2857: 12.0% above, said in words and by the arrow
    assert standing.count("4.80 ↑ 高于同类 12.0% （同类平均 4.29）") == 3
    assert "宝贝与描述相符" in standing and "物流服务质量" in standing


def test_shop_page_shows_the_operators_grade_with_reasons_dimensions_and_history(client: TestClient) -> None:
    html = page(client, S1, "zh")
    grade = re.search(r'data-testid="grade" data-grade="([ABCD])"', html)
    assert grade is not None
    credit = section(html, "credit")
    assert "网店的信用评分即其经营者（示例好评贸易有限公司）的评分。" in credit
    assert re.search(r"信用评分 \d{3,4} / 1000", credit)
    # licensed 2020-05-01, first seen 60 days ago: in business since the licence, not new (public review 3)
    assert 'data-code="NEW_PARTY"' not in html and "不足90天" not in html
    dims = re.findall(r'<tr data-dimension="(identity|trade|complaints|dishonesty|commitments|tenure)">', html)
    assert dims == ["identity", "trade", "complaints", "dishonesty", "commitments", "tenure"]
    # its business licence runs from 2020-05-01 (the feed), further back than the 60 days Chengxin has known it
    licensed = datetime(2020, 5, 1, tzinfo=UTC)
    days = f"自营业执照起始日经营{(datetime.now(UTC) - licensed).total_seconds() / 86400:.0f}天"
    for text in ("身份与资质", "150 / 150 分 实名核验通过", "交易履约", "5条评价，加权均分4.80", "经营时长",
                 days, "等级变化", f"首次评分：{grade[1]}", "新报送的信用信息"):
        assert text in credit, text


def test_shop_page_in_english(client: TestClient) -> None:
    html = page(client, S1, "en")
    standing, credit = section(html, "standing"), section(html, "credit")
    for text in ("♥ 1 heart", "6 more point(s) to the next level (11)", "Credit points 5", "(last 180 days)",
                 "5 positive · 0 neutral · 0 negative", "Detailed seller ratings",
                 "4.80 ↑ 12.0% above the category (category average 4.29)", "Item as described"):
        assert text in standing, text
    for text in ("A shop's score is its operator's (示例好评贸易有限公司).", "since its business licence",
                 "Identity and licences", "150 of 150 real name checked and verified", "Trade performance",
                 "How the grade moved", "First scored:"):
        assert text in credit, text
    assert "红心" not in html and "高于同类" not in html and "在本系统记录不足90天" not in html


def test_a_shop_without_a_level_and_below_its_category(client: TestClient) -> None:
    zh = page(client, S2, "zh")
    assert re.search(r'data-testid="level-badge" data-tier="none" data-rank="0"', zh)
    standing = section(zh, "standing")
    assert "暂无等级" in standing and "积满 4 分为 1红心" in standing and "信用积分 0" in standing
    assert "0.00%" in standing and "好评 0 · 中评 2 · 差评 0" in standing
    # two DSR ratings, fewer than trade.dsr_min_ratings (5): said, not compared (public review finding 8)
    assert standing.count("评分仅2条，少于5条，不与同类比较（仅供参考）") == 3 and "低于同类" not in standing
    assert zh.count('data-direction="few"') == 3
    # no business licence published: shown as the shop's licence gap, but not a key category's licence in its
    # score (the registration of a business with a USCC; found by review)
    assert "未持有有效的营业执照" in zh and 'data-code="LICENCE_MISSING"' not in zh
    en = section(page(client, S2, "en"), "standing")
    assert "No level yet" in en and "4 points make 1 heart" in en and "below the category" not in en
    assert "only 2 rating(s), fewer than 5: not compared with the category" in en


def test_a_business_party_page_shows_grade_score_reasons_and_points(client: TestClient) -> None:
    html = page(client, party_href(P1, "M1"), "zh")
    assert re.search(r'data-testid="grade" data-grade="[ABCD]"', html)
    credit = section(html, "credit")
    assert "自营业执照起始日经营" in credit and "各维度得分" in credit and "经营者" not in credit
    assert 'data-code="NEW_PARTY"' not in credit
    standing = section(html, "standing")
    assert "信用积分与等级" in standing and "1红心" in standing and "信用积分 5" in standing
    assert "其经营网店的信用积分合计。" in standing
    en = page(client, party_href(P1, "M1"), "en")
    assert "Credit score and grade" in en and "1 heart" in en and "since its business licence" in en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_persons_page_shows_no_standing_or_score_to_the_public(client: TestClient, lang: str) -> None:
    html = page(client, party_href(P1, "U1"), lang)
    assert 'data-testid="person-notice"' in html
    for marker in ('data-testid="standing"', 'data-testid="credit"', 'data-testid="grade"',
                   'data-testid="level-badge"', 'data-testid="points"', "信用评分", "Credit score", "红心", "heart"):
        assert marker not in html, marker


def test_a_shop_run_by_a_person_shows_the_shops_ratings_but_not_the_persons_grade(client: TestClient) -> None:
    html = page(client, S9, "zh")
    assert 'data-testid="standing"' in html and "暂无等级" in html  # the shop's own (empty) ratings
    assert 'data-testid="credit"' not in html and 'data-testid="grade"' not in html and "张三" not in html


@pytest.mark.parametrize(("lang", "kind", "points", "expected"), [
    ("zh", "points_retracted", -1, "订单 O5 被认定为虚假交易，其评价的 1 分信用积分已撤回"
                                   "（认定方：平台）"),
    ("en", "points_retracted", -1, "Order O5 was confirmed fake: its rating's 1 credit point(s) were taken back "
                                   "(decided by platform)"),
    ("zh", "points_restored", 1, "订单 O5 经复核认定为真实交易，其评价的 1 分信用积分已恢复"
                                 "（认定方：平台）"),
    ("en", "points_restored", 1, "Order O5 was found genuine on review: its rating's 1 credit point(s) were "
                                 "restored (decided by platform)"),
])
def test_points_taken_back_or_restored_are_described(lang: str, kind: str, points: int, expected: str) -> None:
    t = i18n.Translator(lang)
    record = {"kind": kind, "payload": {"review": [P1, "RO5"], "order": [P1, "O5"], "points": points,
                                        "decided_by": P1}}
    assert present.describe(t, record) == expected
    assert t.label("record", kind) != kind  # a label in both languages


def test_dsr_comparison_is_level_or_missing_without_a_category_figure() -> None:
    t = i18n.Translator("en")
    dsr = {"count": 2, "as_described": 4.5, "service": 4.0, "logistics": None,
           "category_average": {"count": 2, "as_described": 4.5, "service": None, "logistics": None}}
    rows = {r["dimension"]: r for r in present.dsr_rows(t, dsr)}
    assert (rows["as_described"]["direction"], rows["as_described"]["compare"]) == ("same", "level with the category")
    assert (rows["service"]["direction"], rows["service"]["avg"]) == ("none", None)
    assert rows["logistics"]["value"] == "–"
    assert present.dsr_rows(t, {"count": 0}) == []
