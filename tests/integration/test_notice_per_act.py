"""One risk notice per act (regulator review, finding 12): a confirmed fake-order ring at a shop whose operator
had published a commitment gave two notices, the act's record and its commitment breach, the same category,
date and disclosure end: to a reader, two serious findings. Now the breach is part of its act's notice."""

from __future__ import annotations

from tests.integration.test_lists import RING_S1, RING_S2, confirm

from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.web import i18n
from chengxin.entrypoints.web.lists_routes import atom_feed
from chengxin.services import lists, notices


def test_a_breach_is_part_of_its_acts_notice(sample_app: Chengxin) -> None:
    cx = sample_app
    lists.drain(cx)
    confirm(cx, RING_S1, "run-s1")  # M1 committed to merchant-standard-v1: the ring breaks its first clause
    confirm(cx, RING_S2, "run-s2")  # M2 committed to nothing
    shown = notices.page(cx)["notices"]
    by_shop = [n["shop"]["id"] for n in shown if n["category"] == "fake_order"]
    assert sorted(by_shop) == ["S1", "S2"]  # S1 was listed twice
    s1 = next(n for n in shown if n["shop"] and n["shop"]["id"] == "S1")
    (broken,) = s1["breaches"]
    assert broken["clause"] == 1 and broken["template"] == "merchant-standard-v1" and broken["commitment"]["id"]
    assert next(n for n in shown if n["shop"] and n["shop"]["id"] == "S2")["breaches"] == []
    # a cursor naming the breach record (a link made before) still places a page
    assert notices.page(cx, before=broken["record"])["notices"] is not None
    feed = atom_feed(i18n.Translator("en"), shown, "https://cx.example").decode()
    assert feed.count("urn:cx:chengxin:dishonesty-record:") == len(shown)
    assert "Also broke the credit commitment “e-commerce merchant credit commitment”, clause 1 of its standard text." \
        in feed
    assert "另违反信用承诺《电子商务经营者信用承诺书》标准文本第1条。" in atom_feed(i18n.Translator("zh"), shown,
                                                                "https://cx.example").decode()
