"""The measures feed's cursor never passes a change by (regulator review, finding 6): a `changed_since` past
the feed's newest change was accepted and handed back as `next`, so a poller holding a wrong cursor (another
node's backup, a typo) skipped every change up to it, silently. Now it is refused naming the cursor and the
newest seq; an ISO time with nothing after it hands back a cursor, not the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.test_lists import P1, PLATFORM1, PLATFORM2, REGULATOR

from chengxin.bootstrap import Chengxin
from chengxin.exc import InvalidInput
from chengxin.services import list_views, lists


def _newest(cx: Chengxin) -> int:
    return max(c["seq"] for c in list_views.changes(cx, REGULATOR)["changes"])


def test_a_cursor_past_the_newest_change_is_refused(sample_app: Chengxin) -> None:
    cx = sample_app
    lists.evaluate(cx)
    newest = _newest(cx)
    for viewer in (REGULATOR, PLATFORM1, PLATFORM2):
        with pytest.raises(InvalidInput, match=rf"^changed_since: {newest + 1} is past the feed's newest change "
                                               rf"\({newest}\)"):
            list_views.changes(cx, viewer, str(newest + 1))
        with pytest.raises(InvalidInput, match=r"^changed_since: 99999 is past"):
            list_views.changes(cx, viewer, "99999")
        at_end = list_views.changes(cx, viewer, str(newest))
        assert (at_end["changes"], at_end["next"], at_end["more"]) == ([], str(newest), False)
    # a change made later is read from the cursor the last answer gave
    list_views.override(cx, "watch", (P1, "S2"), "add", REGULATOR, "court judgment", "判决书")
    later = list_views.changes(cx, PLATFORM1, str(newest))
    assert [c["party"]["id"] for c in later["changes"]] == ["M2"] and int(later["next"]) > newest


def test_an_empty_store_takes_only_cursor_zero(app: Chengxin) -> None:
    assert list_views.changes(app, PLATFORM1, "0") == {"changes": [], "next": "0", "more": False}
    with pytest.raises(InvalidInput, match=r"changed_since: 1 is past the feed's newest change \(0\)"):
        list_views.changes(app, PLATFORM1, "1")


def test_a_time_with_nothing_after_it_answers_a_cursor(sample_app: Chengxin) -> None:
    """Handed back as `next`, a time ahead (tomorrow) made the poller skip every change made before it came."""
    cx = sample_app
    lists.evaluate(cx)
    newest = _newest(cx)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    empty = list_views.changes(cx, PLATFORM1, tomorrow)
    assert (empty["changes"], empty["next"]) == ([], str(newest))
    list_views.override(cx, "watch", (P1, "S2"), "add", REGULATOR, "court judgment", "判决书")
    assert [c["party"]["id"] for c in list_views.changes(cx, PLATFORM1, empty["next"])["changes"]] == ["M2"]
