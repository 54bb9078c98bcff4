"""Legal bases in English (`domain/statutes.py`): statute titles from vocab/statutes.yaml, articles as art. N."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain import statutes as S
from chengxin.domain.vocabulary import VocabularyError

TITLES = S.load(vocab_text("statutes.yaml"), "statutes.yaml")
VOCAB = Path(S.__file__).parent.parent / "vocab"


@pytest.mark.parametrize(("text", "number"), [("一", 1), ("十", 10), ("十七", 17), ("三十", 30), ("八十六", 86),
                                              ("一百零二", 102), ("二百零三", 203), ("一百一十", 110)])
def test_chinese_numbers(text: str, number: int) -> None:
    assert S.chinese_number(text) == number


@pytest.mark.parametrize(("basis", "english"), [
    ("电子商务法 第五条、第十七条; 上海市社会信用条例 第三十条",
     "E-Commerce Law art. 5, 17; Shanghai Social Credit Regulations art. 30"),
    ("上海市社会信用条例 第三十条第一项; 信用承诺", "Shanghai Social Credit Regulations art. 30(1); credit commitment"),
    ("民法典 第二百零一条第二款", "Civil Code art. 201 para. 2"),
    ("沪市监〔2026〕1号", "沪市监〔2026〕1号"),  # a decision number: as written
    # a formal title was garbled, its short name replaced inside it (found by review)
    ("《中华人民共和国电子商务法》第十七条", "E-Commerce Law art. 17"),
    ("《中华人民共和国食品安全法》第三十五条", "Food Safety Law art. 35"),
    ("《平台服务协议》第4条", "the platform's service agreement art. 4"),
    ("某某电子商务法实施细则 第三条", "某某电子商务法实施细则 art. 3"),  # a name inside another, unknown one
    ("platform rule 4.2", "platform rule 4.2"), ("", ""), (None, None)])
def test_a_basis_in_english(basis: str | None, english: str | None) -> None:
    assert S.in_english(basis, TITLES) == english


def test_every_statute_the_rules_cite_has_an_english_title() -> None:
    """A statute named in a vocabulary's basis but not in statutes.yaml would stay Chinese on English pages."""
    cited = set()
    for path in VOCAB.glob("*.yaml"):
        for basis in re.findall(r"basis: \"([^\"]+)\"", path.read_text(encoding="utf-8")):
            cited |= {part.split(" ")[0] for part in basis.split("; ")}
    english = {name: S.in_english(name, TITLES) for name in cited}
    assert cited and [name for name, text in english.items() if re.search(r"[\u4e00-\u9fff]", text)] == []


def test_a_statute_file_without_titles_is_refused() -> None:
    with pytest.raises(VocabularyError, match=r"statutes\.电子商务法: a name and its English title"):
        S.load("version: 1\nstatutes:\n  电子商务法: ''\n", "bad.yaml")
    with pytest.raises(VocabularyError, match="expected `statutes`"):
        S.load("version: 1\n", "bad.yaml")
