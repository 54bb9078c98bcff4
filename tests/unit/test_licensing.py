"""Key categories and licence gaps: chengxin.domain.licensing and vocab/key_categories.yaml."""

from __future__ import annotations

import copy
import datetime
import importlib.resources
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import shared_path

from chengxin.domain.licensing import (
    ALL_SHOPS,
    KeyCategories,
    Licence,
    LicenceGap,
    VocabularyError,
    licence_gaps,
    load_key_categories,
)

ROOT = Path(__file__).resolve().parents[2]
YAML_PATH = ROOT / "src" / "chengxin" / "vocab" / "key_categories.yaml"
D = datetime.date
AT = D(2026, 3, 1)
DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def rules() -> KeyCategories:
    return load_key_categories(YAML_PATH.read_text(encoding="utf-8"), str(YAML_PATH))


BIZ = Licence("business_licence", "91310104MA1FL8XQ36", D(2020, 5, 1))


def food(valid_from: D, valid_until: D | None, kind: str = "food_business") -> Licence:
    return Licence(kind, "JY13101040000001", valid_from, valid_until)


def only(gaps: list[LicenceGap]) -> LicenceGap:
    assert len(gaps) == 1, gaps
    return gaps[0]


# --- the real rules file ---------------------------------------------------------------------------------


def test_real_file_has_every_events_v1_key_category(rules: KeyCategories) -> None:
    spec = (ROOT / "spec" / "events-v1.md").read_text(encoding="utf-8")
    sentence = re.search(r"the key categories being ([^)]*)", spec)
    assert sentence is not None
    keys = re.findall(r"`([a-z_]+)`", sentence.group(1))
    assert len(keys) == 9
    assert set(keys) <= set(rules.categories)
    for key in keys:
        rule = rules.categories[key]
        assert rule.zh and rule.en and rule.licences and rule.basis


def test_real_file_metadata(rules: KeyCategories) -> None:
    assert rules.version == "2026.1"
    assert rules.effective == D(2026, 1, 1)
    assert rules.all_shops.licences == ("business_licence",)
    assert "第十条" in rules.all_shops.exemption
    for example in ("business_licence", "food_business", "drug_business", "medical_device_business"):
        assert example in rules.licence_types  # the licence_type examples events-v1 gives
    assert rules.categories["food"].licences[:2] == ("food_business", "food_production")
    assert rules.categories["daily_goods"].ecl10_exemption_applies
    assert not rules.categories["food"].ecl10_exemption_applies


def test_real_file_citations(rules: KeyCategories) -> None:
    """ECL articles cited exist in the statute held in ../shared/law (skipped without it); everything else is
    marked unverified (or is the seed guiding opinions)."""
    ecl = shared_path("law", "电子商务法(2018-08-31).md").read_text(encoding="utf-8")
    bases = list(rules.all_shops.basis) + [b for r in rules.categories.values() for b in r.basis]
    for basis in bases:
        if basis.startswith("电子商务法 "):
            for article in re.findall(r"第[一二三四五六七八九十百]+条", basis):
                assert f"\n{article} " in ecl, (basis, article)
        else:
            assert "(unverified" in basis or "指导意见" in basis, basis


def test_real_file_loads_through_package_resources() -> None:
    text = importlib.resources.files("chengxin").joinpath("vocab/key_categories.yaml").read_text("utf-8")
    assert "food" in load_key_categories(text).categories


def test_rules_are_read_only(rules: KeyCategories) -> None:
    with pytest.raises(TypeError):
        rules.categories["toys"] = rules.categories["food"]  # type: ignore[index]


# --- malformed rules -------------------------------------------------------------------------------------

MINI: dict[str, Any] = {
    "version": "t1",
    "effective": "2026-01-01",
    "licence_types": {
        "business_licence": {"zh": "营业执照", "en": "business licence"},
        "food_business": {"zh": "食品经营许可证", "en": "food business permit"},
    },
    "all_shops": {"licences": ["business_licence"], "basis": ["电子商务法 第十条"], "exemption": "ECL 10"},
    "categories": {
        "food": {
            "zh": "食品",
            "en": "food",
            "licences": ["food_business"],
            "basis": ["电子商务法 第十二条"],
            "ecl10_exemption_applies": False,
        }
    },
}


def dumped(doc: Any) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


DELETE = object()


def variant(path: str, value: Any) -> str:
    """MINI with the value at dotted `path` replaced (or deleted when value is DELETE)."""
    doc = copy.deepcopy(MINI)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return dumped(doc)


def test_mini_loads() -> None:
    loaded = load_key_categories(dumped(MINI))
    assert loaded.effective == D(2026, 1, 1)
    assert loaded.categories["food"].licences == ("food_business",)
    assert loaded.categories["food"].note is None


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        (variant("extra", 1), "<document>", "unknown key 'extra'"),
        (variant("licence_types", DELETE), "<document>", "missing key 'licence_types'"),
        (variant("version", 2026.1), "version", "must be a non-empty string"),
        (variant("effective", "soon"), "effective", "must be a date"),
        (variant("effective", "2026-01-01T00:00:00Z"), "effective", "must be a date"),
        (variant("effective", datetime.datetime(2026, 1, 1, 8)), "effective", "not a time"),
        (variant("categories.food.licenses", ["food_business"]), "categories.food", "unknown key 'licenses'"),
        (variant("categories.food.zh", DELETE), "categories.food", "missing key 'zh'"),
        (variant("categories.food.en", ""), "categories.food.en", "must be a non-empty string"),
        (variant("categories.food.zh", 7), "categories.food.zh", "must be a non-empty string"),
        (variant("categories.food.licences", []), "categories.food.licences", "must be a non-empty list"),
        (variant("categories.food.licences", None), "categories.food.licences", "must be a non-empty list"),
        (
            variant("categories.food.licences", ["food_business", "food_permit"]),
            "categories.food.licences[1]",
            "licence type 'food_permit' not declared in licence_types",
        ),
        (
            variant("categories.food.licences", ["food_business", "food_business"]),
            "categories.food.licences[1]",
            "listed twice",
        ),
        (variant("categories.food.basis", []), "categories.food.basis", "must be a non-empty list"),
        (
            variant("categories.food.ecl10_exemption_applies", "maybe"),
            "categories.food.ecl10_exemption_applies",
            "true or false",
        ),
        (variant("categories.food", "食品"), "categories.food", "must be a mapping"),
        (variant("categories.all_shops", MINI["categories"]["food"]), "categories.all_shops", "reserved"),
        (variant("categories.Food", MINI["categories"]["food"]), "categories", "must match"),
        (variant("categories", {}), "categories", "must be a non-empty mapping"),
        (
            variant("licence_types.food_business.en", DELETE),
            "licence_types.food_business",
            "missing key 'en'",
        ),
        (
            variant("licence_types.food_business.label", "x"),
            "licence_types.food_business",
            "unknown key 'label'",
        ),
        (variant("all_shops.exemption", DELETE), "all_shops", "missing key 'exemption'"),
        (variant("all_shops.licences", []), "all_shops.licences", "must be a non-empty list"),
        ("", "<document>", "must be a mapping"),
        ("- food\n- drug\n", "<document>", "must be a mapping"),
    ],
)
def test_malformed_rules_raise(text: str, path: str, reason: str) -> None:
    with pytest.raises(VocabularyError) as info:
        load_key_categories(text, "kc.yaml")
    assert info.value.path == path
    assert reason in info.value.reason
    assert info.value.source == "kc.yaml"
    assert str(info.value).startswith(f"kc.yaml: {path}: ")


def test_duplicate_key_raises_with_line() -> None:
    text = dumped(MINI) + "  food:\n    zh: 食品\n"
    with pytest.raises(VocabularyError) as info:
        load_key_categories(text)
    assert "duplicate key 'food'" in info.value.reason
    assert info.value.path.startswith("line ")


def test_yaml_syntax_error_raises_with_line() -> None:
    with pytest.raises(VocabularyError) as info:
        load_key_categories("version: [\n")
    assert info.value.path.startswith("line ")
    assert "not valid YAML" in info.value.reason


def test_vocabulary_error_is_value_error() -> None:
    assert issubclass(VocabularyError, ValueError)


# --- licence gaps: validity boundaries -------------------------------------------------------------------


def test_valid_until_equal_to_day_is_valid(rules: KeyCategories) -> None:
    assert licence_gaps(rules, ["food"], [BIZ, food(D(2021, 1, 1), AT)], AT) == []


def test_day_after_valid_until_is_expired(rules: KeyCategories) -> None:
    gap = only(licence_gaps(rules, ["food"], [BIZ, food(D(2021, 1, 1), AT - DAY)], AT))
    assert gap.category == "food"
    assert gap.needed == ("food_business", "food_production", "prepackaged_food_filing")
    assert gap.status == "expired"
    assert gap.reason == (
        "sells food but holds no valid food business permit, food production permit or filing for selling "
        "pre-packaged food only: food business permit expired (valid until 2026-02-28)"
    )
    assert gap.reason_zh == (
        "经营食品，但未持有有效的食品经营许可证、食品生产许可证或仅销售预包装食品备案凭证："
        "食品经营许可证有效期至2026-02-28，已过期"
    )


def test_valid_from_equal_to_day_is_valid(rules: KeyCategories) -> None:
    assert licence_gaps(rules, ["food"], [BIZ, food(AT, None)], AT) == []


def test_valid_from_day_after_is_not_yet_valid(rules: KeyCategories) -> None:
    gap = only(licence_gaps(rules, ["food"], [BIZ, food(AT + DAY, None)], AT))
    assert gap.status == "not_yet_valid"
    assert gap.reason.endswith(": food business permit valid only from 2026-03-02")
    assert gap.reason_zh.endswith("：食品经营许可证自2026-03-02起才生效")


def test_open_ended_licence_is_valid_long_after(rules: KeyCategories) -> None:
    assert licence_gaps(rules, ["food"], [BIZ, food(D(2000, 1, 1), None)], D(2100, 1, 1)) == []


def test_lapse_with_pending_renewal_names_both(rules: KeyCategories) -> None:
    held = [BIZ, food(D(2021, 1, 1), AT - DAY), food(AT + DAY, D(2031, 2, 28))]
    gap = only(licence_gaps(rules, ["food"], held, AT))
    assert gap.status == "not_yet_valid"
    assert (
        "food business permit expired (valid until 2026-02-28); food business permit valid only from 2026-03-02"
        in gap.reason
    )


def test_expired_and_valid_of_same_type_is_fine(rules: KeyCategories) -> None:
    held = [BIZ, food(D(2016, 1, 1), D(2020, 12, 31)), food(D(2021, 1, 1), D(2025, 12, 31)), food(AT, None)]
    assert licence_gaps(rules, ["food"], held, AT) == []


def test_missing_licence(rules: KeyCategories) -> None:
    gap = only(licence_gaps(rules, ["drug"], [BIZ], AT))
    assert (gap.category, gap.needed, gap.status) == ("drug", ("drug_business",), "missing")
    assert gap.reason == "sells drugs but holds no valid drug business permit"
    assert gap.reason_zh == "经营药品，但未持有有效的药品经营许可证"


# --- licence gaps: which licences count ------------------------------------------------------------------


def test_any_one_accepted_type_satisfies(rules: KeyCategories) -> None:
    for kind in rules.categories["food"].licences:
        assert licence_gaps(rules, ["food"], [BIZ, food(D(2021, 1, 1), None, kind)], AT) == []


def test_licence_of_another_category_does_not_count(rules: KeyCategories) -> None:
    gap = only(licence_gaps(rules, ["food"], [BIZ, food(D(2021, 1, 1), None, "drug_business")], AT))
    assert gap.status == "missing"


def test_non_key_categories_ignored(rules: KeyCategories) -> None:
    assert licence_gaps(rules, ["toys", "books", "Food", ""], [BIZ], AT) == []


def test_every_key_category_reported_in_rules_order(rules: KeyCategories) -> None:
    keys = list(rules.categories)
    gaps = licence_gaps(rules, list(reversed(keys)) + keys, [], AT)
    assert [g.category for g in gaps] == [ALL_SHOPS, *keys]
    assert all(g.status == "missing" and g.reason.startswith(("sells ", "operates ")) for g in gaps)


def test_result_independent_of_input_order(rules: KeyCategories) -> None:
    cats = ["food", "drug", "toys", "daily_goods"]
    held = [BIZ, food(D(2021, 1, 1), AT - DAY), food(AT + DAY, None, "food_production")]
    expected = licence_gaps(rules, cats, held, AT)
    for c in itertools.permutations(cats):
        for h in itertools.permutations(held):
            assert licence_gaps(rules, list(c), list(h), AT) == expected


# --- all shops and the 电子商务法 第十条 exemption ---------------------------------------------------------


def test_business_licence_needed_by_every_shop(rules: KeyCategories) -> None:
    gap = only(licence_gaps(rules, [], [], AT))
    assert (gap.category, gap.needed, gap.status) == (ALL_SHOPS, ("business_licence",), "missing")
    assert "E-Commerce Law art. 10" in gap.reason
    assert "第十条" in gap.reason_zh


def test_business_licence_expired(rules: KeyCategories) -> None:
    held = [Licence("business_licence", "X", D(2020, 1, 1), AT - DAY)]
    gap = only(licence_gaps(rules, ["toys"], held, AT))
    assert (gap.category, gap.status) == (ALL_SHOPS, "expired")


def test_ecl10_exemption(rules: KeyCategories) -> None:
    cats = ["daily_goods", "farm_produce", "food"]
    exempt = licence_gaps(rules, cats, [], AT, ecl10_exempt=True)
    assert [g.category for g in exempt] == ["food"]  # the exemption never replaces a permit (ECL 12)
    registered = licence_gaps(rules, cats, [BIZ], AT)
    assert [g.category for g in registered] == ["food"]
    unregistered = licence_gaps(rules, cats, [], AT)
    assert [g.category for g in unregistered] == [ALL_SHOPS, "food", "farm_produce", "daily_goods"]


# --- the shared sample -----------------------------------------------------------------------------------


def _sample_licences(subject_id: str) -> list[Licence]:
    lines = (ROOT / "spec" / "sample-v1.jsonl").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        data = event["data"]
        if event["type"] == "cx.licence.published" and data["subject_id"] == subject_id:
            until = data.get("valid_until")
            out.append(
                Licence(
                    data["licence_type"],
                    data["number"],
                    D.fromisoformat(data["valid_from"][:10]),
                    D.fromisoformat(until[:10]) if until else None,
                )
            )
    return out


def test_sample_food_shop(rules: KeyCategories) -> None:
    held = _sample_licences("M1")  # business_licence open-ended, food_business until 2026-12-31
    assert licence_gaps(rules, ["food"], held, D(2026, 12, 31)) == []
    gap = only(licence_gaps(rules, ["food"], held, D(2027, 1, 1)))
    assert (gap.category, gap.status) == ("food", "expired")
