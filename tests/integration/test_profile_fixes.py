"""What a party's profile counts, fixed after review: a missing licence counts once per party however many of its
shops lack it; the registration every shop needs (the business licence) is not "a key category without a valid
licence"; the kind comes from the first report, ties broken by source and id on every path."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from tests.conftest import ingest_text
from tests.integration.test_scoring import Feed, P

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.domain import scoring as S
from chengxin.services import parties, profiles, scoring, standing
from chengxin.services.viewer import Viewer

REGULATOR = Viewer("regulator", key_id="k")


def _profile(app, entity: str = "M1"):
    with read_connection(app.engine) as conn:
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == entity)).scalar_one()
        return profiles.gather(conn, [key], datetime.now(UTC), scoring.score_rules(), standing.rules())[key]


def _codes(app, entity: str = "M1") -> list[str]:
    return [r["code"] for r in parties.show(app, P, entity, REGULATOR)["reasons"]]


def test_a_shop_without_a_business_licence_event_is_not_missing_a_key_categorys_licence(app):
    """Daily goods and edible farm produce need registration only (`ecl10_exemption_applies`)."""
    feed = Feed().parties().order("O1", "2026-03-02")  # S1: daily goods
    feed.ev("cx.shop.opened", "2026-01-05T11:00:00+08:00", {
        "shop_id": "F0", "operator_id": "M1", "name": "农产品店", "url": "https://f0.example",
        "categories": ["farm_produce"]})
    ingest_text(app, feed.text())
    assert _profile(app).licence_gaps == 0 and "LICENCE_MISSING" not in _codes(app)


def test_two_shops_missing_the_same_licence_count_it_once(app):
    feed = Feed().parties()
    for shop in ("F1", "F2"):  # both sell food, and M1 holds no food licence
        feed.ev("cx.shop.opened", "2026-01-05T11:00:00+08:00", {
            "shop_id": shop, "operator_id": "M1", "name": f"食品店{shop}", "url": f"https://{shop}.example",
            "categories": ["food"]})
    ingest_text(app, feed.text())
    assert _profile(app).licence_gaps == 1  # each shop added the 4 licences that would do: 8
    assert "LICENCE_MISSING" in _codes(app)


def test_a_closed_shops_missing_licence_no_longer_counts(app):
    feed = Feed().parties()
    feed.ev("cx.shop.opened", "2026-01-05T11:00:00+08:00", {
        "shop_id": "F1", "operator_id": "M1", "name": "食品店", "url": "https://f1.example", "categories": ["food"]})
    ingest_text(app, feed.text())
    assert _profile(app).licence_gaps == 1
    feed.ev("cx.shop.closed", "2026-02-05T11:00:00+08:00", {"shop_id": "F1", "reason": "停业"})
    ingest_text(app, feed.lines[-1])
    assert _profile(app).licence_gaps == 0 and "LICENCE_MISSING" not in _codes(app)
    with read_connection(app.engine) as conn:  # the full recompute's path too
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "M1")).scalar_one()
        assert profiles.gather(conn, None, datetime.now(UTC), scoring.score_rules(), standing.rules())[
            key].licence_gaps == 0


def test_the_kind_is_the_first_reports_whichever_path_scored_it(app):
    """Two sources report one USCC at the same moment as different kinds: the full recompute (everyone) and a
    rescore of the party (scoped) pick the same report, the lower source's (in read order they could differ)."""
    def registered(source: str, kind: str) -> str:
        return json.dumps({"specversion": "1.0", "id": "r-1", "source": source, "type": "cx.subject.registered",
                           "time": "2026-01-02T09:00:00+08:00",
                           "data": {"subject_id": "M", "kind": kind, "name": "示例有限公司",
                                    "uscc": "91310000MA1K3R5T2F", "region": "310104"}}, ensure_ascii=False)

    ingest_text(app, registered("urn:cx:platform:P2", "enterprise") + "\n" + registered(
        "urn:cx:platform:P1", "platform"))
    with read_connection(app.engine) as conn:
        [key] = set(conn.execute(select(t.subjects.c.party_key)).scalars())
        now, rules = datetime.now(UTC), (scoring.score_rules(), standing.rules())
        everyone = profiles.gather(conn, None, now, *rules)[key]
        scoped = profiles.gather(conn, [key], now, *rules)[key]
    assert everyone.kind == scoped.kind == "platform"  # urn:cx:platform:P1 sorts first


def test_a_sanction_repaired_in_the_lifecycle_stays_withdrawn_when_later_lifted_as_expired(sample_app):
    """The authority's later "expired" lift brought a repaired sanction back at half weight (found by review)."""
    from tests.integration.test_list_rules import LATER, REG, add, apply_for_repair, grant, sanction

    cx = sample_app
    add(cx, sanction("X5", "administrative_penalty", "privacy", "2026-03-12T09:00:00+08:00"))
    grant(cx, apply_for_repair(cx, "X5"))
    lift = {"specversion": "1.0", "id": "ev-lift-X5", "source": REG, "type": "cx.sanction.lifted",
            "time": "2026-06-01T09:00:00+08:00", "data": {"sanction_id": "X5", "reason": "expired"}}
    assert ingest_text(cx, json.dumps(lift)).accepted == 1
    with read_connection(cx.engine) as conn:
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "E-M2")).scalar_one()
        profile = profiles.gather(conn, [key], LATER, scoring.score_rules(), standing.rules())[key]
    # the sample's X1 (lifted as repaired) and X5 (repaired in the lifecycle, then lifted as expired)
    assert [s.lifted for s in profile.sanctions] == ["repaired", "repaired"] and S.counted(profile) == ()


def test_a_merchants_trade_is_its_shops_not_what_it_bought(app):
    """M1 buys from another shop, which rates it 1 as a buyer: its purchases and that rating were mixed into its
    seller ratings and orders (found by review). On every path: a full recompute, and a rescore over the kept
    figures after it."""
    def ev(n: int, typ: str, time: str, data: dict) -> str:
        return json.dumps({"specversion": "1.0", "id": f"b-{n}", "source": P, "type": typ, "time": time,
                           "data": data}, ensure_ascii=False)

    bought = [
        ev(1, "cx.subject.registered", "2026-01-02T09:00:00+08:00", {
            "subject_id": "M2", "kind": "enterprise", "name": "另一家有限公司", "uscc": "91310104MA1FL8XQ36",
            "region": "310104"}),
        ev(2, "cx.shop.opened", "2026-01-02T11:00:00+08:00", {
            "shop_id": "S2", "operator_id": "M2", "name": "另一家店", "url": "https://s2.example",
            "categories": ["daily_goods"]}),
        ev(3, "cx.order.placed", "2026-03-05T10:00:00+08:00", {
            "order_id": "B1", "shop_id": "S2", "buyer_id": "M1",
            "items": [{"product_id": "G2", "quantity": 1, "unit_price": 500}], "total": 500,
            "ship_to_region": "310104"}),
        ev(4, "cx.order.paid", "2026-03-05T10:05:00+08:00", {"order_id": "B1", "amount": 500, "method": "wallet"}),
        ev(5, "cx.order.completed", "2026-03-05T18:00:00+08:00", {"order_id": "B1"}),
        ev(6, "cx.review.posted", "2026-03-05T19:00:00+08:00", {
            "review_id": "RB1", "order_id": "B1", "author_id": "S2", "target_id": "M1",
            "direction": "seller_to_buyer", "score": 1}),
    ]
    report = ingest_text(app, Feed().parties().order("O1", "2026-03-02").text() + "\n" + "\n".join(bought))
    assert report.rejected == 0, report.rejects
    scoring.rebuild(app)
    with read_connection(app.engine) as conn:
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "M1")).scalar_one()
        now, rules = datetime.now(UTC), (scoring.score_rules(), standing.rules())
        for merchant in (profiles.gather(conn, None, now, *rules)[key], profiles.gather(conn, [key], now, *rules)[key]):
            assert (merchant.orders, merchant.ratings, merchant.rating_mean_raw) == (1, 1, 5.0)


def test_a_return_the_seller_rejected_is_no_quality_return(app):
    """A buyer's rejected "quality" returns took a shop's returns part to 0 (found by review). Counted until the
    rejection arrives, on the kept figures (after a full recompute) and on a full recompute alike."""
    def ev(n: int, typ: str, time: str, data: dict) -> str:
        return json.dumps({"specversion": "1.0", "id": f"ret-{n}", "source": P, "type": typ, "time": time,
                           "data": data}, ensure_ascii=False)

    ingest_text(app, Feed().parties().order("O1", "2026-03-02").text())
    scoring.rebuild(app)  # from here a rescore reads the kept figures
    ingest_text(app, ev(1, "cx.return.requested", "2026-03-04T10:00:00+08:00",
                        {"return_id": "RT1", "order_id": "O1", "reason": "quality"}))
    assert _profile(app).returns == 1.0
    ingest_text(app, ev(2, "cx.return.resolved", "2026-03-05T10:00:00+08:00",
                        {"return_id": "RT1", "outcome": "rejected"}))
    assert _profile(app).returns == 0.0
    scoring.rebuild(app)
    with read_connection(app.engine) as conn:  # counted from the orders, as a full recompute does
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "M1")).scalar_one()
        assert profiles.gather(conn, None, datetime.now(UTC), scoring.score_rules(), standing.rules())[
            key].returns == 0.0


def test_a_buyers_orders_are_those_it_paid_for(app):
    """Placing and cancelling orders diluted a buyer's complaint rate (found by review): only paid orders count,
    on the full recompute and on the kept figures alike."""
    feed = Feed().parties().order("O1", "2026-03-02")
    for n in range(5):
        feed.order(f"X{n}", "2026-03-03", None, paid=False, completed=False)
    ingest_text(app, feed.text())
    assert _profile(app, "U1").orders == 1
    scoring.rebuild(app)  # the kept figures from here
    assert _profile(app, "U1").orders == 1
    with read_connection(app.engine) as conn:
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "U1")).scalar_one()
        everyone = profiles.gather(conn, None, datetime.now(UTC), scoring.score_rules(), standing.rules())[key]
    assert everyone.orders == 1


def test_a_person_with_a_shop_is_scored_on_its_shop_not_on_what_it_bought(app):
    """A person may sell without registering (E-Commerce Law art. 10): scored as a person, its trade was its
    shop's and its own purchases together (found by review)."""
    shop = json.dumps({"specversion": "1.0", "id": "p-shop", "source": P, "type": "cx.shop.opened",
                       "time": "2026-01-04T10:00:00+08:00", "data": {
                           "shop_id": "S9", "operator_id": "U1", "name": "小张杂货铺", "url": "https://s9.example",
                           "categories": ["daily_goods"]}}, ensure_ascii=False)
    ingest_text(app, Feed().parties().order("O1", "2026-03-02").text() + "\n" + shop)  # U1 bought O1 at S1
    assert (_profile(app, "U1").orders, _profile(app, "U1").ratings) == (0, 0)


def test_migration_0019_sets_aside_kept_figures_that_counted_a_rejected_return(app):
    """Kept figures built before the rejection rule counted rejected quality returns: a store holding one counts
    from the orders until the next full recompute. A store without one keeps its figures."""
    from alembic import command

    from chengxin.adapters.db import standing_tables as st
    from chengxin.adapters.db.engine import alembic_config
    from chengxin.services import trade

    def built_after_upgrade() -> bool:
        with app.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0018")
            command.upgrade(alembic_config(conn), "head")
        with read_connection(app.engine) as conn:
            return trade.built(conn)

    ingest_text(app, Feed().parties().order("O1", "2026-03-02").text())
    scoring.rebuild(app)
    assert built_after_upgrade()
    ingest_text(app, "\n".join(json.dumps({"specversion": "1.0", "id": f"rr-{i}", "source": P, "type": typ,
                                           "time": f"2026-03-0{4 + i}T10:00:00+08:00", "data": data})
                               for i, (typ, data) in enumerate([
                                   ("cx.return.requested", {"return_id": "RT9", "order_id": "O1", "reason": "quality"}),
                                   ("cx.return.resolved", {"return_id": "RT9", "outcome": "rejected"})])))
    with read_connection(app.engine) as conn:
        assert conn.execute(select(st.trade_state)).first() is not None
    assert not built_after_upgrade()
