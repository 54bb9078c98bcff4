"""Legal bases in English: statute names from `vocab/statutes.yaml`, articles as `art. 30(1)`. Pure.

A basis is stored as the rules, a regulator or a platform wrote it, in Chinese (`电子商务法 第五条、第十七条;
上海市社会信用条例 第三十条`). The English pages showed it so (found by review); `in_english` gives `E-Commerce
Law art. 5, 17; Shanghai Social Credit Regulations art. 30`. Text it does not know (a decision number, a statute
not in the file) is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from chengxin.domain.vocabulary import VocabularyError

_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_N = r"[零一二三四五六七八九十百千]+|[0-9]+"  # 第三十条, or 第30条
_ARTICLE = re.compile(rf"第({_N})条(?:第({_N})款)?(?:第({_N})项)?")


_FORMAL = re.compile(r"《(?:中华人民共和国)?([^》]+)》")


def load(text: str, source: str) -> dict[str, str]:
    """The statute names and their English titles, checked; the longest name first (a name inside another's)."""
    doc = yaml.safe_load(text)
    found = doc.get("statutes") if isinstance(doc, dict) else None
    if not isinstance(found, dict) or not found:
        raise VocabularyError(source, "expected `statutes`: a mapping of Chinese names to English titles")
    for name, title in found.items():
        if not (isinstance(name, str) and name.strip() and isinstance(title, str) and title.strip()):
            raise VocabularyError(source, f"statutes.{name}: a name and its English title, both non-empty texts")
    return dict(sorted(found.items(), key=lambda kv: -len(kv[0])))


def chinese_number(text: str) -> int:
    """三十 -> 30, 八十六 -> 86, 一百零二 -> 102, 十七 -> 17 (and 30 -> 30)."""
    if text.isascii() and text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _UNITS:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
        else:
            digit = _DIGITS[ch]
    return total + digit


def _article(m: re.Match[str]) -> str:
    out = f"art. {chinese_number(m[1])}"
    if m[2]:
        out += f" para. {chinese_number(m[2])}"
    return out + (f"({chinese_number(m[3])})" if m[3] else "")


def in_english(basis: Any, titles: Mapping[str, str]) -> Any:
    """A basis in English where its parts are known; anything but a text comes back as it is."""
    if not isinstance(basis, str) or not basis:
        return basis
    # a formal title 《中华人民共和国电子商务法》 is the statute's: its short name was replaced inside it, which
    # read 《中华人民共和国E-Commerce Law 》 (found by review); a name inside another, unknown one is not its
    text = _FORMAL.sub(lambda m: f"{titles[m[1]]} " if m[1] in titles else m[0], basis)
    for name, title in titles.items():
        text = re.sub(rf"(?<![\u4e00-\u9fff]){re.escape(name)}(?![\u4e00-\u9fff])", f"{title} ", text)
    text = _ARTICLE.sub(_article, text)
    text = re.sub(r"、\s*art\. ", ", ", text).replace("、", ", ").replace("；", "; ").replace("，", ", ")
    return re.sub(r" {2,}", " ", text).replace(" ,", ",").replace(" ;", ";").strip()
