"""The complaints sentence of a score counts the filings its viewer may see (found by users: the public read
"2 complaints" where one filing was resolved and the other, an open allegation, is not public). The sample's M2
(shop S2) has two: CP1 filed with P1 and upheld, and H-2026-0001 filed with the 12315 hotline, still open and
naming S2 as P1 reported it. A regulator counts both, the public one (the resolved), P1 both on its own reports
(the open one names its S2) but one on the regulator's report E-M2 of the same party (seen as the public sees
it), P2 one; the upheld count, rate and points stay as computed."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from tests.e2e.test_api import P1, REG_SOURCE, Api, sample_api  # noqa: F401  (the fixture)

from chengxin.entrypoints.web.present import party_href, shop_href

SEEN = {"regulator": 2, "p1": 2, "p2": 1, "anonymous": 1}


def complaints(api: Api, who: str, entity: str, source: str = P1) -> dict[str, Any]:
    view = api.get(f"/v1/parties/{entity}?source={source}", who)
    return next(d for d in view["credit"]["dimensions"] if d["dimension"] == "complaints")


def test_each_viewer_reads_the_filings_it_may_see(sample_api: Api) -> None:  # noqa: F811
    full = complaints(sample_api, "regulator", "M2")
    assert full["facts"]["complaints"] == 2 and full["en"].startswith("2 complaints, 1 upheld")
    for who, n in SEEN.items():
        for entity in ("M2", "S2"):  # the party's page and its shop's say the same
            dim = complaints(sample_api, who, entity)
            assert dim["facts"]["complaints"] == n, (who, entity)
            noun = "complaint" if n == 1 else "complaints"
            assert f"{n} {noun}, 1 upheld" in dim["en"] and f"被投诉{n}件，成立1件" in dim["zh"], (who, entity)
            assert (dim["points"], dim["value"], dim["facts"]["upheld_rate"]) == (
                full["points"], full["value"], full["facts"]["upheld_rate"])
    for who, n in (("regulator", 2), ("p1", 1), ("anonymous", 1)):  # the regulator's report of M2
        assert complaints(sample_api, who, "E-M2", REG_SOURCE)["facts"]["complaints"] == n, who


def test_the_public_portal_counts_the_resolved_filing_only(sample_api: Api) -> None:  # noqa: F811
    for href in (party_href(P1, "M2"), shop_href(P1, "S2")):
        for lang, said, unsaid in (("en", "1 complaint, 1 upheld", "2 complaints"), ("zh", "被投诉1件，成立1件",
                                                                                    "被投诉2件")):
            page = sample_api.client.get(href + f"&lang={lang}")
            assert page.status_code == 200, page.text
            text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page.text)))
            assert said in text and unsaid not in text, (href, lang)
