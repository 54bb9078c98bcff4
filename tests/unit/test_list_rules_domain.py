"""The pure rules found wanting by review: what bars a credit repair, and the checks that refuse a rule file
whose keys do not fit together."""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from typing import Any

import pytest

from chengxin.domain import lifecycle as L
from chengxin.domain.vocabulary import VocabularyError


def text(name: str) -> str:
    return (files("chengxin") / "vocab" / name).read_text(encoding="utf-8")


RULES = L.load_rules(text("lifecycle.yaml"), "lifecycle.yaml")


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
