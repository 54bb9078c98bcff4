"""The score's wording and rules found wanting by a public review of the portal: time in business counted from
the business licence (finding 3), DSR compared with the category only from enough ratings (finding 8), the
trade and identity sentences of a party with no deliveries or no licence to check (finding 9), and the
dishonesty sentence beside a sanction (finding 5)."""

from __future__ import annotations

from chengxin.adapters.resources import vocab_text
from chengxin.domain import scoring as S

RULES = S.load_score_rules(vocab_text("credit_score.yaml"), "credit_score.yaml")
MERCHANT = dict(kind="enterprise", verified=True, days_known=76.0, orders=500, ratings=400, ratings_weight=400.0,
                rating_mean=4.9, rating_mean_raw=4.9, dsr_gap=0.0, delivered=500.0, shipped=500.0,
                shipped_on_time=500.0, commitments=1)


def _dim(result: S.Score | None, name: str) -> S.Dimension:
    assert result is not None
    return next(d for d in result.dimensions if d.name == name)


def _codes(result: S.Score | None) -> set[str]:
    assert result is not None
    return {r["code"] for r in result.reasons}


def test_a_business_licensed_years_ago_is_not_new_though_first_seen_76_days_ago():
    """S135: first seen 76 days ago, licensed 2010-01-03. It was "经营/注册76天", NEW_PARTY and held at B."""
    licensed = S.score(S.Profile(**{**MERCHANT, "days_licensed": 16 * 365.0}), RULES)
    assert licensed is not None and "NEW_PARTY" not in _codes(licensed) and licensed.grade == "A"
    tenure = _dim(licensed, "tenure")
    assert tenure.value == 1.0 and tenure.facts["basis"] == "licence" and tenure.facts["days_known"] == 76
    assert tenure.zh == f"自营业执照起始日经营{16 * 365}天" and "since its business licence" in tenure.en


def test_without_a_licence_the_reason_says_what_was_measured():
    """Only first sight known: the reason and sentence say "known to this registry", not "registered"."""
    seen = S.score(S.Profile(**MERCHANT), RULES)
    assert seen is not None and seen.grade == "B" and seen.scored_grade == "A"
    new = next(r for r in seen.reasons if r["code"] == "NEW_PARTY")
    assert new["zh"] == "在本系统记录不足90天" and new["en"] == "known to this registry for less than 90 days"
    assert _dim(seen, "tenure").zh == "在本系统记录76天" and _dim(seen, "tenure").facts["basis"] == "known"
    assert "经营/注册" not in str(seen.as_dict(RULES))


def test_a_licence_younger_than_first_sight_does_not_shorten_the_record():
    """A licence re-issued after Chengxin first saw the party: first sight is the longer evidence."""
    renewed = S.score(S.Profile(**{**MERCHANT, "days_known": 400.0, "days_licensed": 30.0}), RULES)
    assert _dim(renewed, "tenure").facts == {"days": 400, "basis": "known", "days_known": 400}
    assert "NEW_PARTY" not in _codes(renewed)


def test_a_new_business_licence_is_named_as_the_reason():
    young = S.score(S.Profile(**{**MERCHANT, "days_known": 10.0, "days_licensed": 40.0}), RULES)
    new = next(r for r in (young.reasons if young else []) if r["code"] == "NEW_PARTY")
    assert new["zh"] == "营业执照起始不足90天" and young is not None and young.grade == "B"


def test_a_dsr_gap_of_too_few_ratings_is_not_compared():
    """One rating 22% "above" or far below the category: below trade.dsr_min_ratings the gap neither scores nor
    is stated as a comparison; from the minimum it counts."""
    least = int(RULES.params["trade"]["dsr_min_ratings"])
    assert least == 5 and S.dsr_comparable(least, RULES.params["trade"]) and not S.dsr_comparable(
        least - 1, RULES.params["trade"])
    few = S.score(S.Profile(**{**MERCHANT, "days_known": 800.0, "dsr_gap": -0.5, "dsr_ratings": 1}), RULES)
    enough = S.score(S.Profile(**{**MERCHANT, "days_known": 800.0, "dsr_gap": -0.5, "dsr_ratings": least}), RULES)
    base = S.score(S.Profile(**{**MERCHANT, "days_known": 800.0, "dsr_gap": None}), RULES)
    assert few is not None and enough is not None and base is not None
    assert _dim(few, "trade").points == _dim(base, "trade").points > _dim(enough, "trade").points
    assert "较同类" not in _dim(few, "trade").zh and "店铺动态评分仅1条，过少，不与同类比较" in _dim(few, "trade").zh
    assert "too few to compare" in _dim(few, "trade").en and "较同类-0.50" in _dim(enough, "trade").zh


CARRIER = dict(kind="logistics", verified=True, days_known=800.0, carried=5000.0, ratings=50, ratings_weight=50.0,
               rating_mean=4.8, rating_mean_raw=4.8)


def test_no_return_rate_estimate_is_stated_as_if_measured_from_zero_deliveries():
    """A logistics firm's page read "已送达0单中质量退货0单（估计退货率6.0%）": now the prior is named as such."""
    trade = _dim(S.score(S.Profile(**CARRIER), RULES), "trade")
    assert "已送达0单" not in trade.zh and "尚无本身的送达订单，退货率按典型值6.0%计" in trade.zh
    assert "no deliveries of its own yet: returns taken at the typical 6.0%" in trade.en
    shop = _dim(S.score(S.Profile(**{**MERCHANT, "returns": 5.0}), RULES), "trade")
    assert "已送达500单中质量退货5单" in shop.zh


def test_the_identity_sentence_says_what_earned_the_points():
    """"身份与资质 150/150" beside "未公示任何证照": the sentence says the points are the real-name check's, and
    whether licences were checked at all (only a shop's key categories are)."""
    carrier = _dim(S.score(S.Profile(**CARRIER), RULES), "identity")
    assert carrier.value == 1.0 and carrier.zh == "实名核验通过；未经营网店，本系统不核查其行业许可证"
    assert carrier.facts["licences_checked"] is False and "not checked here" in carrier.en
    seller = _dim(S.score(S.Profile(**{**MERCHANT, "sells": True}), RULES), "identity")
    assert seller.zh == "实名核验通过；所售重点品类所需许可证齐全" and seller.facts["licences_checked"] is True
    person = _dim(S.score(S.Profile(kind="person", verified=True, days_known=800.0), RULES), "identity")
    assert person.zh == "实名核验通过"


def test_beside_a_sanction_the_records_counted_are_those_besides_it():
    """A black-listed shop read "受处罚1次（1项有效），有效的失信认定记录0条" beside its confirmed counterfeit
    listing: the sanction's act counts as the sanction, and the sentence says the records are the others."""
    listed = S.score(S.Profile(**{**MERCHANT, "sanctions": (S.Sanction("serious_dishonesty", 27.0),)}), RULES)
    dim = _dim(listed, "dishonesty")
    assert dim.zh == "受处罚1次（1项有效），处罚以外有效的失信认定记录0条，0条评价因虚假交易撤回"
    assert "0 confirmed dishonesty records in force besides sanctions" in dim.en
    alone = _dim(S.score(S.Profile(**{**MERCHANT, "records": (0, 1, 0)}), RULES), "dishonesty")
    assert "处罚以外" not in alone.zh and "有效的失信认定记录1条" in alone.zh


def test_a_breached_clause_is_found_in_the_merchants_own_text_or_not_at_all():
    """Finding 5: "第 2 条" by the template's numbering named the merchant's own 7-day-return clause."""
    from chengxin.domain.commitments import Clause, own_number

    goods = Clause(("counterfeit",), "black_list", "所售商品真实合法，不销售假冒伪劣商品，如实描述商品信息。", "x")
    own = ["依法经营，信息真实", "七天无理由退货", "不刷单炒信，不恶意评价", "违法失信自愿接受约束和惩戒"]
    assert own_number(goods, own) is None
    assert own_number(goods, ["依法经营", "所售商品真实合法, 不销售假冒伪劣商品, 如实描述商品信息"]) == 2
