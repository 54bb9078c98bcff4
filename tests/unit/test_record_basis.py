"""A dishonesty record's legal basis: the category's statutes and the officer's, each statute once, in the
order first cited (`domain.lifecycle.join_basis`; a review-opened record repeated a statute: found by review)."""

from __future__ import annotations

import pytest

from chengxin.domain.lifecycle import join_basis


@pytest.mark.parametrize(("parts", "joined"), [
    (("电子商务法 第十七条; 反不正当竞争法 第八条", "电子商务法 第十七条"),
     "电子商务法 第十七条; 反不正当竞争法 第八条"),
    (("电子商务法 第十七条; 反不正当竞争法 第八条", "沪市监〔2026〕1号"),
     "电子商务法 第十七条; 反不正当竞争法 第八条; 沪市监〔2026〕1号"),
    # a law cited again: its new articles join its first citation
    (("电子商务法 第十七条; 反不正当竞争法 第八条", "电子商务法 第三十九条"),
     "电子商务法 第十七条、第三十九条; 反不正当竞争法 第八条"),
    (("电子商务法 第十七条、第三十九条", "《中华人民共和国电子商务法》第十七条；电子商务法 第十七条"),
     "电子商务法 第十七条、第三十九条"),
    (("上海市社会信用条例 第三十条第一项; 信用承诺", "信用承诺; 上海市社会信用条例 第三十条第一项"),
     "上海市社会信用条例 第三十条第一项; 信用承诺"),
    (("《中华人民共和国价格法》第十四条", None), "《中华人民共和国价格法》第十四条"),  # as written
    (("沪市监〔2026〕1号", " 沪市监〔2026〕1号 ; "), "沪市监〔2026〕1号"),
    ((None, ""), None),
])
def test_each_statute_once_in_the_order_first_cited(parts: tuple[str | None, ...], joined: str | None) -> None:
    assert join_basis(*parts) == joined
    assert join_basis(joined, *parts) == joined  # joining again changes nothing
