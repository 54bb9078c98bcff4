"""The shop page says when the category average it compares a shop's DSR with was computed (`as_of`, a Beijing
date), in zh and en: a reader could not tell a day-old average from a year-old one. Before the category's first
publication the average is read from the ratings, and dated when it was read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from tests.e2e.standing_feed import P1, make_standing_cx

from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import cn_date, shop_href


@pytest.fixture(scope="module")
def cx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chengxin]:
    app = make_standing_cx(tmp_path_factory.mktemp("dsr-as-of"))
    yield app
    app.engine.dispose()


def as_of_and_pages(cx: Chengxin) -> tuple[str, dict[str, str]]:
    """The `as_of` of shop S1's category average (API, regulator-free: public) and its page's DSR note per lang."""
    with TestClient(create_app(cx)) as client:
        view = client.get("/v1/parties/S1", params={"source": P1}).json()
        pages = {lang: client.get(shop_href(P1, "S1") + f"&lang={lang}").text for lang in ("zh", "en")}
    notes = {}
    for lang, html in pages.items():
        found = re.search(r'data-testid="dsr-as-of">(.*?)</span>', html)
        assert found is not None, lang
        notes[lang] = unescape(found[1])
    return view["dsr"]["category_average"]["as_of"], notes


def test_the_page_dates_the_published_average(cx: Chengxin) -> None:
    as_of, notes = as_of_and_pages(cx)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", as_of)
    day = cn_date(as_of)
    assert notes == {"zh": f"（同类平均计算于 {day}）", "en": f"(the category's average as of {day})"}


def test_an_average_not_yet_published_is_dated_when_read(cx: Chengxin) -> None:
    with write_transaction(cx.engine) as conn:
        conn.execute(delete(st.category_dsr))
    as_of, notes = as_of_and_pages(cx)
    assert as_of and notes["en"] == f"(the category's average as of {cn_date(as_of)})"
