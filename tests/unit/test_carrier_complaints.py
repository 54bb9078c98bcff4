"""A logistics firm's and a courier's upheld complaints are counted per parcel it carried (the pure score): a
carrier of 100,000 parcels with 10 upheld complaints scored as badly as one of 10 parcels, its parcels left out
of every denominator."""

from __future__ import annotations

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain import scoring as S

RULES = S.load_score_rules(vocab_text("credit_score.yaml"), "credit_score.yaml")
CARRIER = dict(kind="logistics", verified=True, days_known=2000, ratings=50, ratings_weight=50.0, rating_mean=4.8,
               rating_mean_raw=4.8, commitments=1, complaints=12, complaints_upheld=10.0)
COURIER = dict(kind="courier", verified=True, days_known=2000, complaints=12, complaints_upheld=10.0)


def dimension(result: S.Score | None, name: str) -> S.Dimension:
    assert result is not None
    return next(d for d in result.dimensions if d.name == name)


@pytest.mark.parametrize("profile", [CARRIER, COURIER], ids=["logistics", "courier"])
def test_the_same_upheld_complaints_over_more_parcels_weigh_less(profile):
    busy = S.score(S.Profile(**profile, carried=100_000.0), RULES)
    idle = S.score(S.Profile(**profile, carried=10.0), RULES)
    assert busy is not None and idle is not None
    assert dimension(busy, "complaints").value == pytest.approx(1 - 10 / 100_000 / 0.05)  # the merchant's rule
    assert dimension(idle, "complaints").value == 0.0  # one upheld per parcel: the worst
    assert busy.score > idle.score
    assert "COMPLAINTS_UPHELD" in {r["code"] for r in idle.reasons}
    assert "COMPLAINTS_UPHELD" not in {r["code"] for r in busy.reasons}
    assert dimension(busy, "complaints").facts["carried"] == 100_000.0


def test_the_sentence_gives_the_complaints_and_the_parcels_carried():
    result = S.score(S.Profile(**{**CARRIER, "complaints": 3, "complaints_upheld": 2.0}, carried=5000.0), RULES)
    complaints = dimension(result, "complaints")
    assert complaints.en == "3 complaints, 2 upheld over 5,000 parcels carried (upheld rate 0.04%)"
    assert complaints.zh == "承运包裹5,000件，被投诉3件，成立2件（成立率0.04%）"
    assert dimension(result, "trade").en.endswith("; 5,000 parcels carried")  # not "nothing shipped yet"
    assert dimension(result, "trade").zh.endswith("；承运包裹5,000件")
    one = dimension(S.score(S.Profile(**COURIER, carried=1.0), RULES), "complaints")
    assert "over 1 parcel carried" in one.en


def test_a_seller_and_a_buyer_keep_their_denominators():
    # a merchant's rate is over the orders it shipped, a buyer's over its paid orders; both say so
    merchant = dimension(S.score(S.Profile(kind="enterprise", orders=120, shipped=100.0, complaints=2,
                                           complaints_upheld=1.0), RULES), "complaints")
    assert merchant.value == pytest.approx(1 - 1 / 100 / 0.05)
    assert merchant.en == "2 complaints, 1 upheld over 100 orders shipped (upheld rate 1.00%)"
    buyer = dimension(S.score(S.Profile(kind="person", orders=50, complaints=1, complaints_upheld=1.0), RULES),
                      "complaints")
    assert buyer.value == pytest.approx(1 - 1 / 50 / 0.05) and "over 50 orders" in buyer.en
    alone = dimension(S.score(S.Profile(kind="logistics", complaints=1, complaints_upheld=1.0), RULES), "complaints")
    assert alone.value == pytest.approx(0.8) and alone.en == "1 complaint, 1 upheld"  # nothing carried: per complaint
