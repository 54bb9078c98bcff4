"""A policy file's keys are checked for what they are, never coerced (regulator review, finding 8): a review
period of -5, 0 or 10^8 days, a quoted "false" (which `bool()` read as true, publishing the list), a text
where a number belongs and an impossible date are each refused naming the file and the key, never a
traceback; `chengxin policy check` exits 65 with that message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from chengxin.domain import lifecycle as L
from chengxin.domain import lists as LS
from chengxin.domain import measures as M
from chengxin.domain.vocabulary import VocabularyError


def text(name: str) -> str:
    return (files("chengxin") / "vocab" / name).read_text(encoding="utf-8")


RULES = L.load_rules(text("lifecycle.yaml"), "lifecycle.yaml")
CATALOG = M.load_catalog(text("measures.yaml"), "measures.yaml")
SHIPPED = text("list_policies.yaml")
DAYS = r"lists\.black\.review_days: expected a positive whole number of days \(at most 1827\)"
WATCH = r"policies\[5\] \(watch\.abnormal_operation\)"

BAD = [
    ("review_days: 365  ", "review_days: -5  ", DAYS + ", got -5"),
    ("review_days: 365  ", "review_days: 0  ", DAYS + ", got 0"),
    ("review_days: 365  ", "review_days: 100000000  ", DAYS + ", got 100000000"),
    ("review_days: 365  ", "review_days: abc  ", DAYS + ", got 'abc'"),
    ("review_days: 365  ", "review_days: 365.5  ", DAYS),
    ("review_days: 365  ", "review_days: true  ", DAYS),
    ("    public: true  ", '    public: "false"  ',
     r"lists\.black\.public: expected true or false \(unquoted\), got 'false'"),
    ("    public: true  ", "    public: 1  ", r"lists\.black\.public: expected true or false"),
    ("effective_from: ", "effective_from: 2026-13-45 #",
     r"policies\[0\] \(black\.fake_transactions\)\.effective_from: expected an ISO date \(YYYY-MM-DD\), "
     r"got '2026-13-45'"),
    ("excludes: [red]  ", "exclude: [red]  ", r"lists\.black: unknown keys \['exclude'\]"),
    ("excludes: [red]  ", "excludes: red  ", r"lists\.black\.excludes: expected a list"),
    ("    zh: 严重失信名单（黑名单）\n", "", r"lists\.black: missing keys \['zh'\]"),
    ("  - id: black.counterfeit\n", "  - id: 7\n", r"policies\[1\] \(7\)\.id: expected a text, got 7"),
    ("    list: watch\n", "    list: [watch]\n", WATCH + r"\.list: expected a text"),
    ("    when: 'sanctions[\"abnormal_operation\"] >= 1'\n", "    when: true\n",
     WATCH + r"\.when: expected a text, got True"),
    ("    basis: \"企业信息公示暂行条例 第十七条\"\n", "    basis:\n",
     r"policies\[\d\] \([a-z._]+\)\.basis: expected a text, got None"),
    ("    effective_from: \"2026-01-01\"\n  - id: black.counterfeit",
     "    effective_from: \"2026-01-01\"\n    moed: shadow\n  - id: black.counterfeit",
     r"policies\[0\] \(black\.fake_transactions\): unknown keys \['moed'\]"),
    ("    measures: {close_shop: true, freeze_account: true}", "    measures: [close_shop]",
     r"policies\[1\] \(black\.counterfeit\)\.measures: expected a mapping"),
    ("version: 3\n", "version: three\n", r"version: expected a positive whole number, got 'three'"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_a_wrong_key_is_refused_naming_it(old: str, new: str, message: str) -> None:
    bad = SHIPPED.replace(old, new, 1)
    assert bad != SHIPPED
    with pytest.raises(VocabularyError, match=r"^bad\.yaml: " + message):
        LS.load_policies(bad, "bad.yaml", RULES.categories, RULES.sanctions, CATALOG)


def test_the_shipped_file_loads_with_its_dates_and_flags() -> None:
    ps = LS.load_policies(SHIPPED, "ok.yaml", RULES.categories, RULES.sanctions, CATALOG)
    assert ps.version == 3 and ps.lists["black"].public is True and ps.lists["watch"].public is False
    assert ps.lists["black"].review_days == 365 and ps.lists["black"].excludes == ("red",)
    unquoted = SHIPPED.replace('effective_from: "2026-01-01"', "effective_from: 2026-01-01", 1)
    again = LS.load_policies(unquoted, "ok.yaml", RULES.categories, RULES.sanctions, CATALOG)
    assert again.policies[0].effective_from == ps.policies[0].effective_from


@pytest.mark.parametrize(("old", "new", "message"), [BAD[0], BAD[3], BAD[6], BAD[8]])
def test_policy_check_exits_65_naming_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    bad = tmp_path / "candidate.yaml"
    bad.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    done = subprocess.run([str(Path(sys.executable).with_name("chengxin")), "policy", "check", str(bad)],
                          capture_output=True, text=True, check=False, timeout=120,
                          env={**os.environ, "CHENGXIN_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"})
    assert done.returncode == 65, done.stderr
    assert "Traceback" not in done.stderr
    assert re.search(r"candidate\.yaml: " + message, " ".join(done.stderr.split())), done.stderr
