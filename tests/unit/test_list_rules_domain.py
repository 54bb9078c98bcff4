"""The pure rules found wanting by review: what bars a credit repair, which records count for the black list,
and the checks that refuse a rule file whose keys do not fit together."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest

from chengxin.domain import commitments as C
from chengxin.domain import lifecycle as L
from chengxin.domain import lists as LS
from chengxin.domain import measures as M
from chengxin.domain.vocabulary import VocabularyError


def text(name: str) -> str:
    return (files("chengxin") / "vocab" / name).read_text(encoding="utf-8")


RULES = L.load_rules(text("lifecycle.yaml"), "lifecycle.yaml")
CATALOG = M.load_catalog(text("measures.yaml"), "measures.yaml")
POLICIES = LS.load_policies(text("list_policies.yaml"), "list_policies.yaml", RULES.categories, RULES.sanctions,
                            CATALOG)
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def repair(**over: Any) -> L.RepairCheck:
    args: dict[str, Any] = {"state": "confirmed", "severity": "serious", "repair_on": date(2027, 3, 1),
                            "today": date(2027, 3, 1), "repeats": 0, "lists": [],
                            "conditions": dict.fromkeys(L.REPAIR_CONDITIONS, True), "commitment": True}
    return L.check_repair(RULES, **{**args, **over})


# --- 1. what bars a repair ------------------------------------------------------------------------------------
def test_the_authorities_lists_bar_repair() -> None:
    """PPD art. 14 (4): not while on the abnormal-operation list or the serious-illegality list."""
    assert repair(lists=["abnormal_operation"]).unmet == (
        "the party is on the authority's abnormal_operation list (the sanction is in force)",)
    assert not repair(lists=["serious_dishonesty", "watch"]).eligible
    assert repair(lists=["administrative_penalty", "watch"]).eligible  # a penalty alone is no list


def test_a_repair_bar_names_a_known_sanction_kind() -> None:
    bad = text("lifecycle.yaml").replace("[abnormal_operation, serious_dishonesty]", "[abnormal_operations]", 1)
    with pytest.raises(VocabularyError, match=r"bad\.yaml.*repair\.not_while_sanctioned: unknown sanction kinds"):
        L.load_rules(bad, "bad.yaml")


# --- 3. the black list counts serious and grave records only -------------------------------------------------
def listed(kind: str, *spans: tuple[str, str], shops: int = 1) -> list[str]:
    """The policies that hold for a party with these (category, severity) records in force."""
    f = LS.ListFacts(kind, T0, tuple(LS.Span(c, sev, T0, record_id=i) for i, (c, sev) in enumerate(spans)),
                     shops=shops)
    prof = LS.profile_at(f, T0 + timedelta(days=1), RULES.categories, RULES.sanctions)
    return LS.evaluate(POLICIES.enforced(), prof, (), date(2026, 6, 1))


def test_a_minor_record_is_no_ground_for_the_black_list() -> None:
    """A platform's own measure is minor: it put the party on the public black list, shop closed and account
    frozen on every platform (found by review); it is for the watch list."""
    assert listed("individual_business", ("counterfeit", "minor")) == ["watch.records"]
    assert listed("individual_business", ("fake_order", "minor"), ("fake_review", "minor")) == ["watch.records"]
    assert "black.counterfeit" in listed("individual_business", ("counterfeit", "minor"), ("counterfeit", "serious"))
    assert "black.fake_transactions" in listed("enterprise", ("empty_parcel", "grave"))
    # every black policy: a logistics firm's two minor delivery violations are for the watch list too
    assert listed("logistics", ("delivery", "minor"), ("delivery", "minor"), shops=0) == ["watch.records"]
    assert "black.logistics" in listed("logistics", ("empty_parcel", "serious"), ("delivery", "serious"), shops=0)


def test_minor_records_counts_by_category_without_breaches() -> None:
    spans = (LS.Span("counterfeit", "minor", T0, record_id=1), LS.Span("counterfeit", "serious", T0, record_id=2),
             LS.Span("counterfeit", "minor", T0, breach=True, record_id=3, of=2))
    prof = LS.profile_at(LS.ListFacts("enterprise", T0, spans), T0 + timedelta(days=1), RULES.categories,
                         RULES.sanctions)
    assert (prof["records"]["counterfeit"], prof["minor_records"]["counterfeit"]) == (2, 1)
    assert set(prof["minor_records"]) == set(RULES.categories)


def test_a_typo_in_minor_records_is_refused() -> None:
    bad = text("list_policies.yaml").replace('minor_records["counterfeit"]', 'minor_records["counterfiet"]', 1)
    with pytest.raises(VocabularyError, match="fails on a sample"):
        LS.load_policies(bad, "bad.yaml", RULES.categories, RULES.sanctions, CATALOG)


# --- 5. the rule files are checked against each other at load ------------------------------------------------
def test_the_repair_bar_names_lists_the_policy_file_defines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo, `blacklist`, silently disabled the bar (found by review)."""
    from chengxin.services import lifecycle, lists

    bad = L.load_rules(text("lifecycle.yaml").replace("on_lists: [black]", "on_lists: [blacklist]"))
    with pytest.raises(VocabularyError, match=r"lifecycle\.yaml: repair\.not_while_on_lists: unknown lists "
                                              r"\['blacklist'\]; pol\.yaml defines"):
        L.check_lists(bad, POLICIES.lists, "lifecycle.yaml", "pol.yaml")
    monkeypatch.setattr(lifecycle, "rules", lambda: bad)  # the node's loader checks it with its policies
    with pytest.raises(VocabularyError, match=r"vocab/lifecycle\.yaml: repair\.not_while_on_lists"):
        lists.load_policy_text(text("list_policies.yaml"), "vocab/list_policies.yaml")
    named_as_sanction = {**POLICIES.lists, "abnormal_operation": POLICIES.lists["watch"]}
    with pytest.raises(VocabularyError, match=r"pol\.yaml: lists: \['abnormal_operation'\] named as sanction kinds"):
        L.check_lists(RULES, named_as_sanction, "lifecycle.yaml", "pol.yaml")
    L.check_lists(RULES, POLICIES.lists, "lifecycle.yaml", "pol.yaml")  # the shipped files agree


@pytest.mark.parametrize(("old", "new", "message"), [
    ("joint punishment, severity: serious}", "joint punishment, severity: serios}",
     r"bad\.yaml: penalties\.black_list\.severity: unknown severity 'serios'"),
    ("for: [logistics, courier]", "for: [logistic, courier]",
     r"bad\.yaml: templates\.logistics-standard-v1\.for: expected party kinds among .*unknown: \['logistic'\]"),
    ("for: [platform]", "for: []", r"templates\.platform-standard-v1\.for: expected party kinds"),
    # an unquoted comma in a flow mapping cut the English short (found by review)
    ('en: "We do not fake orders or reviews, nor organise', "en: We do not fake orders or reviews, nor organise",
     r"templates\.merchant-standard-v1\.clauses\[0\]: expected exactly the keys areas, en, penalty, zh; found "
     r"\['areas', 'en', 'nor organise or take part in fake transactions\.\"', 'penalty', 'zh'\]"),
    ('en: "I do not fake orders or reviews."', 'en: ""', r"individual-seller-standard-v1\.clauses\[0\]: zh and en"),
])
def test_a_commitment_file_names_known_severities_and_party_kinds(old: str, new: str, message: str) -> None:
    """A penalty's severity typo raised KeyError inside every review decision that broke a commitment."""
    bad = text("commitments.yaml").replace(old, new, 1)
    assert bad != text("commitments.yaml")
    with pytest.raises(VocabularyError, match=message):
        C.load_templates(bad, "bad.yaml", RULES.categories)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("decide_within_days: 7 ", "decide_within_days: 0 ", r"appeal\.decide_within_days: expected a positive"),
    ("decide_within_days: 7 ", "decide_within_days: -7 ", r"appeal\.decide_within_days: expected a positive"),
    ("decide_within_days: 7 ", "decide_within_days: seven ", r"appeal\.decide_within_days: expected a positive"),
    ('effective_from: "2026-12-01"', 'effective_from: "2026-12-32"', r"effective_from: expected an ISO date"),
    ('effective_from: "2026-12-01"', 'effective_from: "1 December 2026"', r"effective_from: expected an ISO date"),
])
def test_a_lifecycle_file_with_a_bad_appeal_period_or_date_is_refused(old: str, new: str, message: str) -> None:
    bad = text("lifecycle.yaml").replace(old, new, 1)
    assert bad != text("lifecycle.yaml")
    with pytest.raises(VocabularyError, match=r"bad\.yaml: " + message):
        L.load_rules(bad, "bad.yaml")


def test_a_policy_effective_date_is_an_iso_date() -> None:
    bad = text("list_policies.yaml").replace('effective_from: "2026-01-01"', 'effective_from: "2026-01-1x"', 1)
    with pytest.raises(VocabularyError, match=r"policies\[0\] \(black\.fake_transactions\)\.effective_from: "
                                              r"expected an ISO date"):
        LS.load_policies(bad, "bad.yaml", RULES.categories, RULES.sanctions, CATALOG)
