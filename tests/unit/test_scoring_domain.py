"""The credit score as a pure function: sanctions in force weigh in full, reasons do not contradict each other,
and the rules file refuses values the score would divide by zero with."""

from __future__ import annotations

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain import scoring as S
from chengxin.domain.vocabulary import VocabularyError

RULES = S.load_score_rules(vocab_text("credit_score.yaml"), "credit_score.yaml")
MERCHANT = dict(kind="enterprise", verified=True, days_known=2000, orders=500, ratings=400, ratings_weight=400.0,
                rating_mean=4.9, rating_mean_raw=4.9, dsr_gap=0.0, delivered=500.0, shipped=500.0,
                shipped_on_time=500.0, commitments=1)


def codes(result: S.Score) -> set[str]:
    return {r["code"] for r in result.reasons}


def test_a_good_merchant_is_in_good_standing():
    result = S.score(S.Profile(**MERCHANT), RULES)
    assert result is not None and result.grade == "A" and "GOOD_STANDING" in codes(result)


def test_a_serious_sanction_in_force_weighs_in_full_however_old():
    # three years after imposition and still in force, it faded to an eighth: 959, grade A and "good on every
    # dimension" beside "a sanction is in force" (found by review)
    old = S.score(S.Profile(**MERCHANT, sanctions=(S.Sanction("serious_dishonesty", 3 * 365.0),)), RULES)
    new = S.score(S.Profile(**MERCHANT, sanctions=(S.Sanction("serious_dishonesty", 1.0),)), RULES)
    assert old is not None and new is not None and old.score == new.score
    assert "SANCTION_IN_FORCE" in codes(old) and "GOOD_STANDING" not in codes(old)
    assert next(d for d in old.dimensions if d.name == "dishonesty").value == 0.0


def test_a_lifted_sanction_fades_with_its_age():
    def burden(age: float) -> float:
        result = S.score(S.Profile(**MERCHANT, sanctions=(S.Sanction("administrative_penalty", age, "expired"),)),
                         RULES)
        assert result is not None
        return float(next(d for d in result.dimensions if d.name == "dishonesty").facts["burden"])

    assert burden(365.0) == pytest.approx(burden(0.0) / 2)


@pytest.mark.parametrize("key", ["order_pseudocount: 20", "half_life_days: 365", "full_days: 730",
                                 "upheld_rate_bad: 0.05", "return_rate_bad: 0.25"])
def test_rules_a_score_divides_by_must_be_above_zero(key):
    text = vocab_text("credit_score.yaml")
    assert key in text
    name = key.split(":")[0]
    with pytest.raises(VocabularyError, match=f"{name}: expected a number above 0"):
        S.load_score_rules(text.replace(key, f"{name}: 0", 1), "credit_score.yaml")


@pytest.mark.parametrize("how", ["repaired", "revoked"])
def test_a_withdrawn_sanction_counts_nowhere(how):
    # it leaves public view; counted, the public score card still said "1 sanction (0 in force)" and "past
    # sanctions lifted or repaired" about it (found by review)
    clean = S.score(S.Profile(**MERCHANT), RULES)
    withdrawn = S.score(S.Profile(**MERCHANT, sanctions=(S.Sanction("administrative_penalty", 30.0, how),)), RULES)
    assert clean is not None and withdrawn is not None
    dim = next(d for d in withdrawn.dimensions if d.name == "dishonesty")
    assert withdrawn.score == clean.score and dim.facts["sanctions"] == 0 and "无处罚" in dim.zh
    assert codes(withdrawn) == codes(clean)


def test_a_sanction_lifted_as_expired_still_counts_and_says_so():
    lifted = S.score(S.Profile(**MERCHANT, sanctions=(S.Sanction("administrative_penalty", 30.0, "expired"),)), RULES)
    assert lifted is not None and "SANCTIONS_LIFTED" in codes(lifted)
    assert next(d for d in lifted.dimensions if d.name == "dishonesty").facts == {
        "sanctions": 1, "in_force": 0, "retracted": 0, "records": {"minor": 0, "serious": 0, "grave": 0},
        "burden": pytest.approx(0.5 * 0.5 * 0.5 ** (30 / 365), abs=1e-4)}


def test_a_confirmed_record_in_force_counts_by_its_severity_and_says_so():
    # a confirmed empty parcel or fake traffic left the score and its "no confirmed dishonesty" unchanged
    # beside the public record (found by review)
    clean = S.score(S.Profile(**MERCHANT), RULES)
    found = S.score(S.Profile(**MERCHANT, records=(0, 1, 0)), RULES)
    assert clean is not None and found is not None
    dim = next(d for d in found.dimensions if d.name == "dishonesty")
    assert dim.facts["records"] == {"minor": 0, "serious": 1, "grave": 0} and dim.facts["burden"] == 0.35
    assert "1 confirmed dishonesty record in force" in dim.en and "有效的失信认定记录1条" in dim.zh
    assert found.score < clean.score and "RECORD_IN_FORCE" in codes(found) and "GOOD_STANDING" not in codes(found)


@pytest.mark.parametrize(("profile", "code"), [({"identity_valid": False}, "IDENTITY_INVALID"),
                                               ({"licence_gaps": 1}, "LICENCE_MISSING")])
def test_a_failed_identity_or_a_missing_licence_holds_the_grade_at_c(profile, code):
    # a day-old shop with an invalid USCC and no licence was graded B ("good") on its trade's priors
    # (found by review)
    result = S.score(S.Profile(**{**MERCHANT, **profile}), RULES)
    assert result is not None and result.score >= 700 and result.grade == "C" and result.scored_grade in ("A", "B")
    held = next(r for r in result.reasons if r["code"] == "GRADE_HELD")
    assert held["en"].startswith("grade held at C while: ") and code in codes(result)
    assert result.as_dict(RULES)["scored_grade"] == result.scored_grade


def test_a_new_party_is_not_called_excellent_whatever_its_score():
    """Known for less than 90 days, a record is mostly the priors: a new shop was graded A above shops proven
    over years. Held at B (`caps` in credit_score.yaml); from day 90 its score's grade stands."""
    new = S.score(S.Profile(**{**MERCHANT, "days_known": 30.0, "orders": 40, "ratings": 30, "ratings_weight": 30.0,
                               "delivered": 40.0, "shipped": 40.0, "shipped_on_time": 40.0}), RULES)
    assert new is not None and new.score >= 850 and new.scored_grade == "A" and new.grade == "B"
    held = next(r for r in new.reasons if r["code"] == "GRADE_HELD")
    assert held["en"] == "grade held at B while: known to this registry for less than 90 days"
    assert held["zh"] == "信用等级最高为B，因：在本系统记录不足90天"
    proven = S.score(S.Profile(**{**MERCHANT, "days_known": 90.0}), RULES)
    assert proven is not None and proven.grade == "A" and "GRADE_HELD" not in codes(proven)


@pytest.mark.parametrize(("profile", "code", "grade"), [
    ({"sanctions": (S.Sanction("serious_dishonesty", 10.0),)}, "SERIOUS_DISHONESTY", "D"),
    ({"sanctions": (S.Sanction("administrative_penalty", 10.0),)}, "PENALTY_IN_FORCE", "C"),
    ({"sanctions": (S.Sanction("abnormal_operation", 10.0),)}, "PENALTY_IN_FORCE", "C"),
    ({"rating_mean": 2.0, "rating_mean_raw": 2.0, "ratings": 200, "ratings_weight": 200.0}, "RATINGS_POOR", "C"),
])
def test_serious_trouble_holds_the_grade_down_whatever_the_score(profile, code, grade):
    """A dimension takes at most its own weight off: a serious sanction in force left 724 points (B, good), a
    shop rated 2 of 5 by 200 buyers A (found by review)."""
    result = S.score(S.Profile(**{**MERCHANT, **profile}), RULES)
    assert result is not None and result.grade == grade and result.scored_grade in ("A", "B")
    assert code in codes(result) and "GOOD_STANDING" not in codes(result)
    held = next(r for r in result.reasons if r["code"] == "GRADE_HELD")
    assert held["en"].startswith(f"grade held at {grade} while: ")


@pytest.mark.parametrize("profile", [{"sanctions": (S.Sanction("platform_measure", 10.0),)},
                                     {"records": (1, 0, 0)}, {"records": (0, 0, 1)}])
def test_a_platforms_own_measure_or_finding_weighs_but_holds_no_grade(profile):
    """One platform's finding has no public effect beyond it (list_policies.yaml): it weighs in the dishonesty
    dimension, and holds no grade (a long-standing merchant with one platform measure went from A to C)."""
    clean, found = S.score(S.Profile(**MERCHANT), RULES), S.score(S.Profile(**{**MERCHANT, **profile}), RULES)
    assert clean is not None and found is not None and found.score < clean.score
    assert "GRADE_HELD" not in codes(found) and found.scored_grade is None


def test_a_profile_without_ratings_scores_without_error():
    result = S.score(S.Profile(kind="person"), RULES)  # ratings_weight and rating_mean None (found by review)
    assert result is not None and "RATINGS_POOR" not in codes(result)


def test_a_lifted_sanction_or_few_poor_ratings_hold_nothing():
    lifted = S.score(S.Profile(**MERCHANT, sanctions=(S.Sanction("serious_dishonesty", 500.0, "expired"),)), RULES)
    few = S.score(S.Profile(**{**MERCHANT, "rating_mean": 2.0, "ratings": 10, "ratings_weight": 10.0}), RULES)
    assert lifted is not None and "GRADE_HELD" not in codes(lifted) and "SERIOUS_DISHONESTY" not in codes(lifted)
    assert few is not None and "RATINGS_POOR" not in codes(few)


def test_caps_name_known_reasons_and_grades():
    text = vocab_text("credit_score.yaml")
    with pytest.raises(VocabularyError, match="caps"):
        S.load_score_rules(text.replace("IDENTITY_INVALID: C", "IDENTITY_BAD: C", 1), "credit_score.yaml")
    with pytest.raises(VocabularyError, match="caps"):
        S.load_score_rules(text.replace("IDENTITY_INVALID: C", "IDENTITY_INVALID: E", 1), "credit_score.yaml")
