"""Scores found wanting by a public review, through real ingestion on every storage backend: time in business
counted from the published business licence on every path that gathers facts (finding 3), and a shop's DSR
compared with its category only from `trade.dsr_min_ratings` ratings in the view the API, CLI and portal share
(finding 8)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from tests.conftest import ingest_text
from tests.integration.test_scoring import Feed, P

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.services import parties, profiles, scoring, standing, standing_views
from chengxin.services.viewer import Viewer

REGULATOR = Viewer("regulator", key_id="k")


def _key(conn) -> str:
    return conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "M1")).scalar_one()


def _licensed(feed: Feed, valid_from: str = "2010-01-03") -> Feed:
    feed.ev("cx.licence.published", "2026-01-02T09:30:00+08:00", {
        "subject_id": "M1", "licence_type": "business_licence", "number": "91310000MA1FL8LQ2B",
        "issuer": "上海市市场监督管理局", "valid_from": valid_from, "valid_until": "2040-01-03"})
    return feed


def test_tenure_counts_from_the_business_licence_on_every_path(app):
    assert ingest_text(app, _licensed(Feed().parties()).order("O1", "2026-03-02").text()).rejected == 0
    now = datetime.now(UTC)
    expected = (now - datetime(2010, 1, 3, tzinfo=UTC)).total_seconds() / 86400
    with read_connection(app.engine) as conn:  # one party, before and after the kept figures; everyone
        key = _key(conn)
        few = profiles.gather(conn, [key], now, scoring.score_rules(), standing.rules())[key]
        everyone = profiles.gather(conn, None, now, scoring.score_rules(), standing.rules())[key]
    assert abs((few.days_licensed or 0) - expected) < 1 and everyone.days_licensed == few.days_licensed
    scoring.rebuild(app)  # builds the kept figures: a party's facts then come from one statement
    with read_connection(app.engine) as conn:
        kept = profiles.gather(conn, [key], now, scoring.score_rules(), standing.rules())[key]
    assert kept.days_licensed == few.days_licensed
    shown = parties.show(app, P, "M1", REGULATOR)
    tenure = next(d for d in shown["credit"]["dimensions"] if d["dimension"] == "tenure")
    assert tenure["facts"]["basis"] == "licence" and tenure["value"] == 1.0 and tenure["zh"].startswith("自营业执照")
    assert "NEW_PARTY" not in [r["code"] for r in shown["reasons"]]


def test_without_a_licence_the_party_is_new_to_this_registry(app):
    assert ingest_text(app, Feed().parties().order("O1", "2026-03-02").text()).rejected == 0
    with read_connection(app.engine) as conn:
        key = _key(conn)
        assert profiles.gather(conn, [key], datetime.now(UTC), scoring.score_rules(),
                               standing.rules())[key].days_licensed is None
    shown = parties.show(app, P, "M1", REGULATOR)
    tenure = next(d for d in shown["credit"]["dimensions"] if d["dimension"] == "tenure")
    assert tenure["facts"]["basis"] == "known" and tenure["zh"].startswith("在本系统记录")


def test_a_dsr_of_few_ratings_is_not_compared_with_its_category(app):
    feed = Feed().parties()
    for i in range(5):  # a month apart: DSR counts at most 3 ratings of a pair in a month
        feed.order(f"O{i}", f"2026-{i + 7:02d}-02")
    lines = feed.text().splitlines()
    second_order = next(i for i, line in enumerate(lines) if '"O1"' in line and '"cx.order.placed"' in line)
    ingest_text(app, "\n".join(lines[:second_order]))  # one rating
    now = datetime(2026, 11, 28, tzinfo=UTC)
    with read_connection(app.engine) as conn:
        one = standing_views.standing_view(conn, (P, "S1"), category="daily_goods", as_of=now)["dsr"]
    assert one["count"] == 1 and one["compared"] is False and one["min_ratings"] == 5
    assert one["note"]["zh"] == "评分仅1条，少于5条，不与同类比较（仅供参考）"
    ingest_text(app, "\n".join(lines[second_order:]))  # five
    with read_connection(app.engine) as conn:
        five = standing_views.standing_view(conn, (P, "S1"), category="daily_goods", as_of=now)["dsr"]
    assert five["count"] == 5 and five["compared"] is True and "note" not in five


def test_a_logistics_firms_identity_and_trade_say_what_they_rest_on(app):
    """Public review finding 9: a logistics firm (no shop) read "身份与资质 150/150" beside "未公示任何证照" and
    "已送达0单中质量退货0单（估计退货率6.0%）"; the merchant running a shop is said to hold its licences."""
    feed = Feed().parties()
    feed.ev("cx.subject.registered", "2026-01-04T09:00:00+08:00", {
        "subject_id": "LG", "kind": "logistics", "name": "示例速递有限公司", "uscc": "91310000MA1LG0010M",
        "region": "310104", "verified_at": "2026-01-04T10:00:00+08:00"})
    assert ingest_text(app, feed.order("O1", "2026-03-02").text()).rejected == 0
    for path in ("events", "rebuild"):
        if path == "rebuild":
            scoring.rebuild(app)
        carrier = {d["dimension"]: d for d in parties.show(app, P, "LG", REGULATOR)["credit"]["dimensions"]}
        assert carrier["identity"]["zh"] == "实名核验通过；未经营网店，本系统不核查其行业许可证", path
        assert carrier["identity"]["facts"]["licences_checked"] is False
        assert "已送达0单" not in carrier["trade"]["zh"] and "退货率按典型值6.0%计" in carrier["trade"]["zh"]
        merchant = {d["dimension"]: d for d in parties.show(app, P, "M1", REGULATOR)["credit"]["dimensions"]}
        assert merchant["identity"]["facts"]["licences_checked"] is True, path  # it runs S1
