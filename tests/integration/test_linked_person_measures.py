"""One answer about a person's lists and measures (platform review, finding 6). T2 reports a person and takes
its own measure on them (the watch list); T1 reports the same person (linked by ID number) as its own account.
The lookup `GET /v1/measures/{T1's account}` showed T1 the watch listing and its measures, which come from
T2's record, while the feed and the watch list hid it; with T1's account registered first, the feed showed it.
docs/security.md: a platform must not learn what another platform knows about a person (the party view hides
T2's record from T1), so none of them shows it to T1 now; T2 and the regulator see it everywhere. A listing
that rests on no other platform's record (a regulator's) reaches each platform naming its own account."""

from __future__ import annotations

import json

import pytest
from tests.conftest import ingest_text

from chengxin.bootstrap import Chengxin
from chengxin.services import list_views, lists, parties
from chengxin.services.viewer import PLATFORM, REGULATOR, Viewer

T1, T2 = "urn:cx:platform:T1", "urn:cx:platform:T2"
T1_VIEW, T2_VIEW, REG = Viewer(PLATFORM, T1, "k1"), Viewer(PLATFORM, T2, "k2"), Viewer(REGULATOR, None, "kr")
ID_NUMBER = "110105199001011232"


def _line(id_: str, source: str, type_: str, time: str, data: dict) -> str:
    return json.dumps({"specversion": "1.0", "id": id_, "source": source, "type": type_, "time": time,
                       "data": data}, ensure_ascii=False) + "\n"


def _person(source: str, subject: str, time: str) -> str:
    return _line(f"reg-{subject}", source, "cx.subject.registered", time, {
        "subject_id": subject, "kind": "person", "name": "赵六", "id_number": ID_NUMBER, "region": "110105"})


MEASURE = _line("t2-san4", T2, "cx.sanction.imposed", "2026-11-14T10:00:00+08:00", {
    "sanction_id": "SN4", "subject_id": "U9", "kind": "platform_measure", "authority": "T2平台",
    "decision_no": "T2-2026-4", "legal_basis": "平台规则", "category": "fake_review"})


def _seen(cx: Chengxin, viewer: Viewer, source: str, entity: str) -> dict[str, object]:
    feed = [c["party"]["id"] for c in list_views.changes(cx, viewer)["changes"]]
    watch = [m["party"]["id"] for m in list_views.members(cx, "watch", viewer)["members"]]
    lookup = list_views.measures_of(cx, (source, entity), viewer)
    party = parties.show(cx, source, entity, viewer)
    return {"feed": feed, "watch": watch, "lookup": [x["list"] for x in lookup["lists"]],
            "lookup_measures": sorted(m["measure"] for m in lookup["measures"]),
            "party": [x["list"] for x in party.get("lists", [])]}


NOTHING = {"feed": [], "watch": [], "lookup": [], "lookup_measures": [], "party": []}


@pytest.mark.parametrize("t1_first", [False, True], ids=["t2-registered-first", "t1-registered-first"])
def test_a_measure_from_another_platforms_record_reaches_the_platform_nowhere(app: Chengxin, t1_first: bool) -> None:
    first, second = (T1, "B9"), (T2, "U9")
    if not t1_first:
        first, second = second, first
    ingest_text(app, _person(*first, "2026-05-01T09:00:00+08:00") + _person(*second, "2026-06-01T09:00:00+08:00"))
    ingest_text(app, MEASURE)
    lists.drain(app)
    regulator = _seen(app, REG, T1, "B9")
    assert regulator["lookup"] == regulator["party"] == ["watch"] and "search_ranking_weight" in \
        regulator["lookup_measures"]
    assert len(regulator["feed"]) == 1 and len(regulator["watch"]) == 1
    assert _seen(app, T1_VIEW, T1, "B9") == NOTHING  # the lookup showed the watch list and its measures
    # T2, whose record it is, sees it everywhere, named by its own account (not T1's, registered first)
    own = _seen(app, T2_VIEW, T2, "U9")
    assert own["feed"] == own["watch"] == ["U9"] and own["lookup"] == own["party"] == ["watch"]


def test_a_platforms_own_person_still_reaches_it_everywhere(app: Chengxin) -> None:
    ingest_text(app, _person(T2, "U9", "2026-05-01T09:00:00+08:00") + MEASURE)
    lists.drain(app)
    seen = _seen(app, T2_VIEW, T2, "U9")
    assert seen["feed"] == seen["watch"] == ["U9"] and seen["lookup"] == seen["party"] == ["watch"]
    assert "search_ranking_weight" in seen["lookup_measures"]
    assert _seen(app, T1_VIEW, T2, "U9") == NOTHING


def test_a_regulators_listing_reaches_each_platform_naming_its_own_account(app: Chengxin) -> None:
    ingest_text(app, _person(T2, "U9", "2026-05-01T09:00:00+08:00") + _person(T1, "B9", "2026-06-01T09:00:00+08:00"))
    list_views.override(app, "watch", (T2, "U9"), "add", REG, "suspected ring buyer", "监管决定")
    for viewer, source, own in ((T1_VIEW, T1, "B9"), (T2_VIEW, T2, "U9")):
        seen = _seen(app, viewer, source, own)
        assert seen["feed"] == seen["watch"] == [own] and seen["lookup"] == seen["party"] == ["watch"]
    assert list_views.measures_of(app, (T2, "U9"), T1_VIEW)["lists"] == []  # not through T2's account id
