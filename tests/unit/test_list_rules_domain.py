"""The pure rules found wanting by review: what bars a credit repair, which records count for the black list,
and the checks that refuse a rule file whose keys do not fit together."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest

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
                            "conditions": dict.fromkeys(L.REPAIR_CONDITIONS, True)}
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
