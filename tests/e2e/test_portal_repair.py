"""After the repair period and a granted application, a shop leaves the portal's black list and risk notices,
its page shows no badge, and the credit log still audits (issue 6, the end of the end-to-end path)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.conftest import P1
from tests.e2e.test_portal_lists import REGULATOR, get, make_listed_cx, members, notice_rows

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection
from chengxin.entrypoints.api.app import create_app
from chengxin.entrypoints.web.present import shop_href
from chengxin.services import appeals, audit, commitments, lifecycle, lists
from chengxin.services.viewer import Viewer

ALL_MET = {"penalty_fulfilled": True, "harm_removed": True}


def test_a_repaired_shop_leaves_public_view(tmp_path: Path) -> None:
    cx = make_listed_cx(tmp_path)
    with TestClient(create_app(cx)) as client:
        assert "示例日用小店" in get(client, "/lists/black") and "示例日用小店" in get(client, "/notices")
        with read_connection(cx.engine) as conn:
            d = lt.dishonesty_records.c
            rec = conn.execute(select(lt.dishonesty_records).where(
                d.subject_source == P1, d.subject_id == "S2", d.origin == "review")).one()
        later = lifecycle.parse_time(rec.confirmed_at) + timedelta(days=366)
        commitments.publish(cx, Viewer("platform", P1, "k-p1"), "M2", "repair-commitment-v1")  # S2's operator
        filed = appeals.file_application(cx, rec.id, "repair", REGULATOR, "corrected; fine paid", ALL_MET,
                                           now=later)
        appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "grant", "conditions met", now=later)
        lists.drain(cx, later)
        black = get(client, "/lists/black")
        assert all("示例日用小店" not in m["text"] for m in members(black))
        assert all(not text.startswith("示例日用小店") for _, text in notice_rows(get(client, "/notices")))
        assert 'data-testid="list-badge"' not in get(client, shop_href(P1, "S2"))
    assert audit.verify(cx).as_dict()["ok"]
    cx.engine.dispose()


def test_a_blacklisted_shops_grade_card_is_capped_and_says_why(tmp_path: Path) -> None:
    cx = make_listed_cx(tmp_path)  # S1: scored B with its record in force (S2's own score is D already)
    with TestClient(create_app(cx)) as client:
        zh = get(client, shop_href(P1, "S1"))
        assert 'data-grade="D"' in zh
        assert "等级降为 D" in zh and "严重失信名单（黑名单）" in zh
        en = get(client, shop_href(P1, "S1"), "en")
        assert "lowered to D" in en and "black list (serious dishonesty)" in en
    cx.engine.dispose()
