"""Consequences on every storage backend: a confirmed record opens a dishonesty record, the party enters the
black list by policy, its measures are in force and in the feed; appeal and repair follow the statutes; a
repaired record leaves public view while the log still audits; sanctions from events open and close records;
a regulator's override; commitment breaches."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import ingest_file, ingest_text

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import review_tables as rt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.exc import Forbidden, InvalidInput, NotAuthenticated
from chengxin.services import (
    appeals,
    audit,
    commitments,
    lifecycle,
    list_measures,
    list_views,
    lists,
    parties,
    review,
)
from chengxin.services.lifecycle import Conflict
from chengxin.services.viewer import ANONYMOUS, Viewer

P1 = "urn:cx:platform:P1"
REG_SOURCE = "urn:cx:regulator:310000"
REGULATOR = Viewer("regulator", key_id="k-reg")
PLATFORM1 = Viewer("platform", P1, "k-p1")
PLATFORM2 = Viewer("platform", "urn:cx:platform:P2", "k-p2")
# A ring at S2 (operator M2, an individual business) and at S1 (operator M1, who committed to
# merchant-standard-v1: a fake-order record breaks its first clause).
RING_S2 = Finding("fake_order_ring", 0.9, {"parties": ((P1, "S2"),), "orders": ((P1, "O2"),)}, {"density": 3.0})
RING_S1 = Finding("fake_order_ring", 0.8, {"parties": ((P1, "S1"),), "orders": ((P1, "O1"),)}, {"density": 2.5})
ALL_MET = {"penalty_fulfilled": True, "harm_removed": True}


def confirm(cx: Chengxin, finding: Finding, run: str) -> dict[str, Any]:
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (finding,), detector="test", run_id=run)
    review.publish(cx, run)
    items = [i for i in review.list_items(cx, REGULATOR, status="open")["items"] if i["run_id"] == run]
    return review.decide(cx, items[0]["id"], "confirm", REGULATOR, "checked the orders and chats", "沪市监〔2026〕1号")


def record_of(cx: Chengxin, source: str, entity: str) -> Any:
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        return conn.execute(select(lt.dishonesty_records).where(
            d.subject_source == source, d.subject_id == entity, d.origin == "review")).one()


def lists_of(cx: Chengxin, ref: tuple[str, str], viewer: Viewer = ANONYMOUS) -> list[str]:
    return [m["list"] for m in list_views.measures_of(cx, ref, viewer)["lists"]]


@pytest.fixture
def ringed(sample_app: Chengxin) -> Chengxin:
    lists.drain(sample_app)  # the sample's sanction opens its record
    confirm(sample_app, RING_S2, "run-s2")
    return sample_app


def test_confirmed_ring_blacklists_the_shop_with_measures(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    assert (rec.category, rec.severity, rec.state, rec.origin) == ("fake_order", "serious", "confirmed", "review")
    assert lists_of(cx, (P1, "S2")) == ["black"]
    view = list_views.measures_of(cx, (P1, "S2"), PLATFORM2)
    measures = {m["measure"]: m for m in view["measures"]}
    assert measures["search_ranking_weight"]["value"] == 0.0 and measures["hide_shop"]["value"] is True
    basis = "电子商务法 第十七条; 反不正当竞争法 第八条; 严重违法失信名单管理办法"
    assert measures["hide_shop"]["because"] == [{"list": "black", "policy": "black.fake_transactions", "basis": basis}]
    # the public sees public measures only; inspection frequency is the regulator's
    public = {m["measure"] for m in list_views.measures_of(cx, (P1, "S2"), ANONYMOUS)["measures"]}
    assert "hide_shop" in public and "search_ranking_weight" not in public and "inspection_frequency" not in public
    regulator = list_views.measures_of(cx, (P1, "S2"), REGULATOR)["measures"]
    assert "inspection_frequency" in {m["measure"] for m in regulator}
    # the black list page, and the shop view
    black = list_views.members(cx, "black", ANONYMOUS)
    assert [(m["party"]["id"], m["policy"]) for m in black["members"]] == [("M2", "black.fake_transactions")]
    assert black["members"][0]["shops"][0]["id"] == "S2"
    shop = parties.show(cx, P1, "S2", ANONYMOUS)
    assert [x["list"] for x in shop["lists"]] == ["black"]
    kinds = {r["kind"] for r in shop["credit_records"]}
    assert {"confirmed", "list_entered"} <= kinds
    # the feed has the change
    feed = list_views.changes(cx, PLATFORM2)
    assert [c["party"]["id"] for c in feed["changes"]][-1] == "M2"
    assert "hide_shop" in feed["changes"][-1]["added"]
    # another platform can act on it: the firm's USCC and shops, not only the reporter's own id (found by review)
    assert feed["changes"][-1]["uscc"] == "92330106MA2B7C4D1W"
    assert {(s["source"], s["id"]) for s in feed["changes"][-1]["shops"]} == {(P1, "S2")}
    with pytest.raises(NotAuthenticated):
        list_views.changes(cx, ANONYMOUS)
    assert audit.verify(cx).as_dict()["ok"]


def test_watch_list_is_not_public(ringed: Chengxin) -> None:
    cx = ringed
    # M2 also has a record in force, so it is watched; the public does not see that list
    assert "watch" in lists_of(cx, (P1, "S2"), REGULATOR)
    assert "watch" not in lists_of(cx, (P1, "S2"))
    with pytest.raises(NotAuthenticated):
        list_views.members(cx, "watch", ANONYMOUS)


def test_repair_after_the_period_takes_the_record_out_of_public_view(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    confirmed_at = lifecycle.parse_time(rec.confirmed_at)
    filed = appeals.file_application(cx, rec.id, "repair", PLATFORM1, "corrected; fine paid", ALL_MET,
                                       now=confirmed_at + timedelta(days=10))
    app_id = filed["application"]["id"]
    # too early: the minimum publicity period for a serious record is a year
    with pytest.raises(Conflict, match="minimum publicity period"):
        appeals.decide_application(cx, app_id, REGULATOR, "grant", "ok", now=confirmed_at + timedelta(days=364))
    with pytest.raises(Forbidden):  # the platform did not decide the record; the regulator did
        appeals.decide_application(cx, app_id, PLATFORM1, "grant", "ok", now=confirmed_at + timedelta(days=366))
    later = confirmed_at + timedelta(days=366)
    with pytest.raises(Conflict, match="repair commitment not on file"):
        appeals.decide_application(cx, app_id, REGULATOR, "grant", "ok", now=later)
    commitments.publish(cx, PLATFORM1, "M2", "repair-commitment-v1")  # S2's operator signs one
    done = appeals.decide_application(cx, app_id, REGULATOR, "grant", "conditions met", now=later)
    assert done["application"]["status"] == "granted" and done["record"]["state"] == "repaired"
    lists.drain(cx, later)
    assert lists_of(cx, (P1, "S2")) == []
    shop = parties.show(cx, P1, "S2", ANONYMOUS)
    assert not {"confirmed", "list_entered"} & {r["kind"] for r in shop["credit_records"]}
    # the regulator still sees everything, and the log is intact
    full = {r["kind"] for r in parties.show(cx, P1, "S2", REGULATOR)["credit_records"]}
    assert {"confirmed", "list_entered", "list_left", "record_repaired"} <= full
    assert audit.verify(cx).as_dict()["ok"]


def test_repair_conditions_are_each_required(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    later = lifecycle.parse_time(rec.confirmed_at) + timedelta(days=400)
    filed = appeals.file_application(cx, rec.id, "repair", REGULATOR, "asks", {"penalty_fulfilled": True}, now=later)
    with pytest.raises(Conflict, match=r"condition not met: harm_removed; repair commitment not on file: no "
                                       r"repair-commitment-v1 commitment of the party"):
        appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "grant", "x", now=later)
    refused = appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "refuse", "not yet", now=later)
    assert refused["application"]["status"] == "refused" and refused["record"]["state"] == "confirmed"
    assert not refused["application"]["check"]["eligible"]


def test_appeal_overturned_ends_the_record_and_gives_points_back(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
    assert filed["record"]["state"] == "appealed" and filed["application"]["due_by"]
    assert lists_of(cx, (P1, "S2")) == ["black"]  # an appeal does not suspend the record
    with pytest.raises(Conflict):  # one pending appeal at a time
        appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "again")
    with pytest.raises(InvalidInput):
        appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "grant", "wrong verb")
    done = appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    assert done["record"]["state"] == "overturned"
    lists.drain(cx)
    assert lists_of(cx, (P1, "S2")) == []
    with read_connection(cx.engine) as conn:
        v = st.order_verdicts.c
        verdict = conn.execute(select(v.verdict, v.basis).where(v.order_source == P1, v.order_id == "O2")).one()
    assert verdict.verdict == "genuine" and "overturned on appeal" in verdict.basis  # its ratings count again



def test_overturning_one_record_leaves_an_order_another_record_holds_fake(ringed: Chengxin) -> None:
    """Two confirmed findings name order O2; the first's record is overturned on appeal. O2 stays fake, its
    points taken, while the second record stands (it was set back to genuine: found by review)."""
    cx = ringed
    confirm(cx, Finding("fake_order_ring", 0.85, {"parties": ((P1, "S2"), (P1, "S1")),
                                                  "orders": ((P1, "O2"), (P1, "O1"))}, {"density": 2.0}), "run-both")
    first = min((r for r in _records_of(cx, P1, "S2")), key=lambda r: r.id)
    filed = appeals.file_application(cx, first.id, "appeal", PLATFORM1, "the buyers are real customers")
    appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    with read_connection(cx.engine) as conn:
        v = st.order_verdicts.c
        assert conn.execute(select(v.verdict).where(v.order_source == P1, v.order_id == "O2")).scalar_one() == "fake"



def test_another_partys_record_does_not_hold_an_order_fake(sample_app: Chengxin) -> None:
    """A ring at S1 (M1) and S2 (M2) and a second finding at S1 both name O1. Once both of M1's records are
    overturned, O1 is genuine again, whatever M2's record of the ring: it kept O1 fake when the ring's M1
    record was overturned first, and not the other way round (found by review)."""
    cx = sample_app
    confirm(cx, RING_S1, "run-s1")  # first: a ring confirmed after it and holding O1 is the same act
    confirm(cx, Finding("fake_order_ring", 0.85, {"parties": ((P1, "S1"), (P1, "S2")),
                                                  "orders": ((P1, "O1"), (P1, "O2"))}, {"density": 2.0}), "run-ring")
    first, ring = sorted(_records_of(cx, P1, "S1"), key=lambda r: r.id)
    for rec in (ring, first):  # the ring's record overturned first
        filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
        appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    with read_connection(cx.engine) as conn:
        v = st.order_verdicts.c
        verdicts = dict(conn.execute(select(v.order_id, v.verdict).where(v.order_source == P1)).all())
    assert verdicts == {"O1": "genuine", "O2": "fake"}  # M2's record stands for its own order


def test_an_overturn_interrupted_before_its_orders_were_given_back_is_finished_later(
        sample_app: Chengxin, monkeypatch: pytest.MonkeyPatch) -> None:
    """The overturn commits first, then the orders are given back: a failure in between left them fake, their
    points taken, for good (found by review). The next sync finishes it, and leaves alone an order found fake
    again after the overturn."""
    from chengxin.services import standing

    cx = sample_app
    confirm(cx, RING_S1, "run-s1")
    rec = record_of(cx, P1, "S1")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
    real = standing.set_order_verdict

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection lost")

    monkeypatch.setattr(standing, "set_order_verdict", lost)
    with pytest.raises(ConnectionError):
        appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    monkeypatch.setattr(standing, "set_order_verdict", real)

    def verdict() -> str:
        with read_connection(cx.engine) as conn:
            v = st.order_verdicts.c
            return str(conn.execute(select(v.verdict).where(v.order_source == P1, v.order_id == "O1")).scalar_one())

    assert record_of(cx, P1, "S1").state == "overturned" and verdict() == "fake"
    assert lifecycle.sync(cx)["restored"] == 1
    assert verdict() == "genuine"
    standing.set_order_verdict(cx, (P1, "O1"), "fake", "regulator:k-reg", "the buyer admitted it later")
    lifecycle.sync(cx)
    assert verdict() == "fake"


def test_an_interrupted_confirmation_is_not_finished_after_its_record_was_overturned(ringed: Chengxin) -> None:
    """A crash between a confirmation and its order verdicts leaves `verdicts_at` empty, and the next publish
    finishes them: after an appeal overturned the record, that took the orders again (found by review)."""
    from chengxin.adapters.db import review_tables as rt

    cx = ringed
    with write_transaction(cx.engine) as conn:  # as if the verdicts had not been recorded yet
        conn.execute(rt.review_items.update().values(verdicts_at=None))
    rec = record_of(cx, P1, "S2")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
    appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    assert review.finish_pending(cx) == 0
    with read_connection(cx.engine) as conn:
        v = st.order_verdicts.c
        assert conn.execute(select(v.verdict).where(v.order_source == P1, v.order_id == "O2")).scalar_one() == \
            "genuine"


def test_an_overturned_ring_leaves_the_public_file_of_each_shop_of_the_operator(sample_app: Chengxin) -> None:
    """A ring naming two shops of one operator writes a `confirmed` entry per shop and one record: an overturn
    hid only the first shop's entry (found by review)."""
    cx = sample_app
    ingest_text(cx, json.dumps({"specversion": "1.0", "id": "s3-open", "source": P1, "type": "cx.shop.opened",
                                "time": "2026-02-01T09:00:00+08:00", "data": {
                                    "shop_id": "S3", "operator_id": "M1", "name": "示例二店",
                                    "url": "https://s3.shop.example", "categories": ["daily_goods"]}},
                               ensure_ascii=False) + "\n")
    confirm(cx, Finding("fake_order_ring", 0.8, {"parties": ((P1, "S1"), (P1, "S3")), "orders": ((P1, "O1"),)},
                        {"density": 2.5}), "run-two-shops")

    def public_kinds(shop: str) -> set[str]:
        return {r["kind"] for r in parties.show(cx, P1, shop, ANONYMOUS, limit=500)["credit_records"]}

    assert "confirmed" in public_kinds("S1") and "confirmed" in public_kinds("S3")
    (rec,) = _records_of(cx, P1, "S1")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
    appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    assert "confirmed" not in public_kinds("S1") and "confirmed" not in public_kinds("S3")

def _records_of(cx: Chengxin, source: str, entity: str) -> list[Any]:
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        return list(conn.execute(select(lt.dishonesty_records).where(
            d.subject_source == source, d.subject_id == entity, d.origin == "review")))

def test_appeal_upheld_returns_to_confirmed(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    filed = appeals.file_application(cx, rec.id, "appeal", REGULATOR, "objection by letter")
    done = appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "uphold", "evidence holds")
    assert done["record"]["state"] == "confirmed"
    moves = [m["action"] for m in appeals.get_record(cx, rec.id, REGULATOR)["transitions"]]
    assert moves == ["confirm", "appeal", "uphold"]


def test_records_expire_after_the_disclosure_period(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    day = lifecycle.day_of(lifecycle.parse_time(rec.confirmed_at))  # three calendar years, to the same day
    same = date(day.year + 3, day.month, min(day.day, 28 if day.month == 2 else day.day))  # (29 February: 28th)
    assert rec.disclose_until == same.isoformat()
    last_day = datetime.fromisoformat(rec.disclose_until).replace(tzinfo=UTC)
    lists.evaluate(cx, None, last_day + timedelta(hours=12))
    assert record_of(cx, P1, "S2").state == "confirmed"  # public through its last day
    lists.evaluate(cx, None, last_day + timedelta(days=1, hours=1))
    assert record_of(cx, P1, "S2").state == "expired"
    assert "black" not in lists_of(cx, (P1, "S2"), REGULATOR)


def _public_kinds(cx: Chengxin, shop: str) -> list[str]:
    return [r["kind"] for r in parties.show(cx, P1, shop, ANONYMOUS, limit=500)["credit_records"]]


def test_points_taken_back_leave_public_view_with_the_record_that_found_the_order_fake(sample_app: Chengxin) -> None:
    """"Order O1 was found fake, its rating's points taken back" is a finding about the shop: it stayed public
    after its record's disclosure ended (and after an overturn, beside the points given back)."""
    cx = sample_app
    confirm(cx, RING_S1, "run-s1")
    assert "points_retracted" in _public_kinds(cx, "S1")
    rec = record_of(cx, P1, "S1")
    last_day = datetime.fromisoformat(rec.disclose_until).replace(tzinfo=UTC)
    lists.evaluate(cx, None, last_day + timedelta(days=1, hours=1))
    assert record_of(cx, P1, "S1").state == "expired"
    assert "points_retracted" not in _public_kinds(cx, "S1")
    full = parties.show(cx, P1, "S1", PLATFORM1, limit=500)["credit_records"]  # the reporting platform still sees it
    assert "points_retracted" in [r["kind"] for r in full]


def test_points_given_back_after_an_overturn_are_not_public_either(sample_app: Chengxin) -> None:
    cx = sample_app
    confirm(cx, RING_S1, "run-s1")
    rec = record_of(cx, P1, "S1")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
    appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "chats show real orders")
    kinds = [r["kind"] for r in parties.show(cx, P1, "S1", PLATFORM1, limit=500)["credit_records"]]
    assert "points_retracted" in kinds and "points_restored" in kinds
    assert not {"points_retracted", "points_restored"} & set(_public_kinds(cx, "S1"))


def test_a_directly_decided_fake_order_is_public_for_the_fake_order_period(sample_app: Chengxin) -> None:
    from chengxin.services import point_disclosure, standing

    cx = sample_app
    standing.set_order_verdict(cx, (P1, "O1"), "fake", "k-reg", "the buyer admitted it", "沪市监〔2026〕2号")
    assert "points_retracted" in _public_kinds(cx, "S1")
    with read_connection(cx.engine) as conn:
        cr = t.credit_records.c
        at = conn.execute(select(cr.at).where(cr.kind == "points_retracted", cr.subject_id == "S1")).scalar_one()
        day = lifecycle.day_of(lifecycle.parse_time(at))
        last = date(day.year + 3, day.month, min(day.day, 28 if day.month == 2 else day.day))  # serious: 3 years
        assert point_disclosure.hidden_point_changes(conn, [(P1, "S1")], last) == []
        assert len(point_disclosure.hidden_point_changes(conn, [(P1, "S1")], last + timedelta(days=1))) == 1


def _traffic(shop: str, bursts: list[list[str]]) -> Finding:
    return Finding("fake_traffic", 0.9, {"parties": ((P1, shop),), "orders": (), "products": ((P1, "G1"),)},
                   {"bursts": bursts, "days": sum(len(b) for b in bursts)})


def _breaches_of(cx: Chengxin) -> list[Any]:
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        return list(conn.execute(select(d.subject_id, d.details).where(d.origin == "breach")))


def test_an_act_before_the_commitment_breaks_it_not_even_without_orders(sample_app: Chengxin) -> None:
    """M1 committed on 8 January 2026: fake traffic in December 2025, confirmed now, broke nothing. Without
    orders the act was dated by its confirmation, and a serious breach record opened (found by review)."""
    cx = sample_app
    confirm(cx, _traffic("S1", [["2025-12-01", "2025-12-03"]]), "run-before")
    assert record_of(cx, P1, "S1").category == "fake_traffic"
    assert _breaches_of(cx) == []


def test_an_act_after_the_commitment_breaks_it_without_orders(sample_app: Chengxin) -> None:
    cx = sample_app
    confirm(cx, _traffic("S1", [["2026-02-10", "2026-02-11"]]), "run-after")
    (breach,) = _breaches_of(cx)
    assert breach.subject_id == "S1" and '"clause":1' in breach.details


def test_an_act_no_evidence_dates_breaks_no_commitment(sample_app: Chengxin) -> None:
    cx = sample_app
    confirm(cx, Finding("not_as_described", 0.9, {"parties": ((P1, "S1"),), "orders": ()}, {"rate": 0.4}), "run-nad")
    assert record_of(cx, P1, "S1").category == "not_as_described" and _breaches_of(cx) == []


def test_a_platforms_own_confirmation_lists_its_merchant_for_watching_not_publicly(sample_app: Chengxin) -> None:
    """The serious-dishonesty list and its measures on every platform are an authority's: the reporting
    platform's confirmation of a ring put its merchant on the public black list (found by review). It is for
    the watch list; the same record confirmed by a regulator lists the party publicly."""
    cx = sample_app
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (RING_S2,), detector="test", run_id="run-p")
    review.publish(cx, "run-p")
    item = next(i for i in review.list_items(cx, REGULATOR, status="open")["items"] if i["run_id"] == "run-p")
    review.decide(cx, item["id"], "confirm", PLATFORM1, "our own investigation", "platform rule 4.2")
    lists.drain(cx)
    assert record_of(cx, P1, "S2").state == "confirmed"
    assert set(lists_of(cx, (P1, "S2"), REGULATOR)) == {"watch"}
    assert lists_of(cx, (P1, "S2")) == []  # nothing public
    confirm(cx, Finding("empty_parcel", 0.9, {"parties": ((P1, "S2"),), "orders": ((P1, "O2"),)}, {"level": "shop"}),
            "run-r")  # a regulator's
    lists.drain(cx)
    assert lists_of(cx, (P1, "S2")) == ["black"]


def test_a_confirmed_record_moves_the_score_while_in_force(sample_app: Chengxin) -> None:
    """A confirmed not-as-described record (no orders, no points to take back) left the score and its "no
    confirmed dishonesty" unchanged beside the public record (found by review)."""
    from chengxin.services import standing

    cx = sample_app
    standing.drain(cx)
    before = parties.show(cx, P1, "M1", ANONYMOUS)
    confirm(cx, Finding("not_as_described", 0.9, {"parties": ((P1, "S1"),), "orders": ()}, {"rate": 0.4}), "run-nad")
    standing.drain(cx)
    after = parties.show(cx, P1, "M1", ANONYMOUS)
    assert after["score"] < before["score"] and "RECORD_IN_FORCE" in {r["code"] for r in after["reasons"]}
    rec = record_of(cx, P1, "S1")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the returns were a courier's damage")
    appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "overturn", "photos show transit damage")
    standing.drain(cx)
    assert parties.show(cx, P1, "M1", ANONYMOUS)["score"] == before["score"]


def test_a_sanction_without_a_date_leaves_the_public_file_with_its_record(sample_app: Chengxin,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """No `disclose_until`: the record's default period (serious: 3 years) decides. The record expired, but the
    public credit file kept the sanction for ever (found by review)."""
    cx = sample_app
    event = {"specversion": "1.0", "id": "ev-x3", "source": REG_SOURCE, "type": "cx.sanction.imposed",
             "time": "2026-03-12T09:00:00+08:00", "data": {
                 "sanction_id": "X3", "subject_id": "E-M2", "kind": "administrative_penalty", "authority": "某局",
                 "decision_no": "罚〔2026〕X3号", "legal_basis": "某法 第一条", "category": "counterfeit"}}
    ingest_text(cx, json.dumps(event, ensure_ascii=False) + "\n")
    lists.drain(cx)

    def public_sanctions() -> list[str]:
        view = parties.show(cx, REG_SOURCE, "E-M2", ANONYMOUS, limit=500)["credit_records"]
        return [r["payload"]["decision_no"] for r in view if r["kind"] == "sanction"]

    assert "罚〔2026〕X3号" in public_sanctions()
    lists.evaluate(cx, None, datetime(2029, 3, 14, 4, tzinfo=UTC))
    monkeypatch.setattr(lifecycle, "today", lambda: date(2029, 3, 14))
    assert "罚〔2026〕X3号" not in public_sanctions()


def test_a_commitment_breach_is_its_own_record(sample_app: Chengxin) -> None:
    cx = sample_app
    confirm(cx, RING_S1, "run-s1")
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        breach = conn.execute(select(lt.dishonesty_records).where(d.origin == "breach")).one()
    assert (breach.subject_id, breach.category) == ("S1", "fake_order")
    assert '"penalty":{"name":"black_list"' in breach.details and '"clause":1' in breach.details
    shop = parties.show(cx, P1, "S1", ANONYMOUS)
    assert "commitment_breach" in {r["kind"] for r in shop["credit_records"]}
    assert shop["commitments"][0]["template"] == "merchant-standard-v1" and shop["commitments"][0]["standard"]
    # the broken commitment counts in the operator's score, incrementally as by a full recompute (it was opened
    # but never counted: "0 broken" beside it, found by review)
    from chengxin.services import scoring, standing

    with read_connection(cx.engine) as conn:
        q = st.scoring_queue.c
        assert conn.execute(select(q.kind).where(q.a_source == P1, q.a_id == "S1")).scalars().all() == ["party"]
    standing.drain(cx)
    for _ in range(2):
        with read_connection(cx.engine) as conn:
            detail = scoring.credit_view(conn, breach.party_key)["credit"]
        (kept,) = [d for d in detail["dimensions"] if d["dimension"] == "commitments"]
        assert kept["facts"] == {"published": 1, "broken": 1} and "1 broken" in kept["en"]
        scoring.rebuild(cx)


def test_a_commitment_published_after_the_act_is_not_broken_by_it(sample_app: Chengxin) -> None:
    # S2's ring order was placed on 15 February; its operator M2 committed on 1 March; the ring is confirmed
    # now. Judged at the confirmation, the commitment was counted broken (found by review).
    cx = sample_app
    later = {"specversion": "1.0", "id": "x-k2", "source": P1, "type": "cx.commitment.published",
             "time": "2026-03-01T09:00:00+08:00",
             "data": {"commitment_id": "K2", "subject_id": "M2", "template": "merchant-standard-v1",
                      "clauses": ["依法经营，信息真实"], "valid_until": "2027-03-01"}}
    assert ingest_text(cx, json.dumps(later, ensure_ascii=False)).accepted == 1
    confirm(cx, RING_S2, "run-s2")
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        assert conn.execute(select(d.id).where(d.origin == "breach")).all() == []


def test_sanctions_from_events_open_and_close_records(sample_app: Chengxin) -> None:
    cx = sample_app
    lists.drain(cx)
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        rec = conn.execute(select(lt.dishonesty_records).where(d.origin == "sanction")).one()
        moves = [r.action for r in conn.execute(select(lt.record_transitions).where(
            lt.record_transitions.c.record_id == rec.id).order_by(lt.record_transitions.c.id))]
    # the sample's penalty X1 was lifted as repaired
    assert (rec.sanction_kind, rec.state, moves) == ("administrative_penalty", "repaired", ["confirm", "repair"])
    assert lifecycle.sync(cx) == {"opened": 0, "lifted": 0, "expired": 0, "restored": 0}  # idempotent


def test_regulator_override_adds_and_removes(sample_app: Chengxin) -> None:
    cx = sample_app
    with pytest.raises(Forbidden):
        list_views.override(cx, "black", (P1, "S1"), "add", PLATFORM1, "x", "y")
    with pytest.raises(InvalidInput):
        list_views.override(cx, "black", (P1, "S1"), "add", REGULATOR, "", "")
    lists.evaluate(cx)
    assert lists_of(cx, (P1, "S1")) == ["red"]  # M1: grade A, a commitment, no records
    list_views.override(cx, "black", (P1, "S1"), "add", REGULATOR, "court judgment", "某法院判决书")
    assert lists_of(cx, (P1, "S1")) == ["black"]  # the black list excludes the red
    member = list_views.members(cx, "black", ANONYMOUS)["members"][0]
    assert member["policy"] == "manual" and member["reason"]["zh"] == "court judgment"
    list_views.override(cx, "black", (P1, "S1"), "remove", REGULATOR, "judgment set aside", "再审判决")
    assert lists_of(cx, (P1, "S1")) == ["red"]
    # a review date already past was accepted, lapsed at once and ended the removal in force (found by review)
    with pytest.raises(InvalidInput, match="is past"):
        list_views.override(cx, "black", (P1, "S1"), "add", REGULATOR, "typo", "某法", until=date(2025, 3, 1))
    assert lists_of(cx, (P1, "S1")) == ["red"]



def test_an_override_ends_with_its_last_day_in_china(sample_app: Chengxin) -> None:
    """An override `until` 2026-11-27 holds through that day in China and no longer: at 2026-11-27T17:00Z it
    is already the 28th in China (it held until UTC midnight, 8 hours more: found by review)."""
    cx = sample_app


    lists.evaluate(cx)
    list_views.override(cx, "black", (P1, "S1"), "add", REGULATOR, "court judgment", "某法院判决书",
                        until=date(2026, 11, 27), now=datetime(2026, 11, 20, tzinfo=UTC))
    lists.evaluate(cx, now=datetime(2026, 11, 27, 15, 59, tzinfo=UTC))  # 23:59 on the 27th in China
    assert lists_of(cx, (P1, "S1")) == ["black"]
    lists.evaluate(cx, now=datetime(2026, 11, 27, 16, 0, tzinfo=UTC))  # midnight: the 28th in China
    assert lists_of(cx, (P1, "S1")) == ["red"]

def test_a_lapsed_override_is_evaluated_on_its_next_day_without_a_full_evaluation(sample_app: Chengxin) -> None:
    """A lapsed override's membership and measures stayed in force until the party was evaluated for another
    reason, up to six hours (found by review): the first drain of the next day in China evaluates it."""
    cx = sample_app
    lists.evaluate(cx)
    until = lifecycle.day_of(datetime.now(UTC)) + timedelta(days=10)
    list_views.override(cx, "black", (P1, "S1"), "add", REGULATOR, "court judgment", "某法院判决书", until=until)
    last = datetime(until.year, until.month, until.day, 15, 59, tzinfo=UTC)  # 23:59 on `until` in China
    assert lists.drain(cx, last) is None  # nothing lapsed yet
    assert lists_of(cx, (P1, "S1")) == ["black"]
    done = lists.drain(cx, last + timedelta(minutes=1))  # midnight: the next day in China
    assert done is not None and lists_of(cx, (P1, "S1")) == ["red"]
    assert lists.drain(cx, last + timedelta(hours=1)) is None  # handled once


def test_pending_applications_are_a_work_queue(ringed: Chengxin) -> None:
    cx = ringed
    rec = record_of(cx, P1, "S2")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the buyers are real customers")
    pending = appeals.list_applications(cx, REGULATOR)["applications"]
    assert [(a["id"], a["kind"], a["status"]) for a in pending] == [(filed["application"]["id"], "appeal", "pending")]
    assert appeals.list_applications(cx, PLATFORM1)["applications"] == pending  # it reported the shop
    assert appeals.list_applications(cx, PLATFORM2)["applications"] == []
    with pytest.raises(NotAuthenticated):
        appeals.list_applications(cx, ANONYMOUS)
    appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "uphold", "evidence holds")
    assert appeals.list_applications(cx, REGULATOR)["applications"] == []
    assert len(appeals.list_applications(cx, REGULATOR, status="upheld")["applications"]) == 1


def test_the_feed_names_only_measures_the_viewer_may_see(ringed: Chengxin) -> None:
    catalog = list_measures.catalog()
    for viewer, allowed in ((PLATFORM2, {"public", "platforms"}), (REGULATOR, {"public", "platforms", "regulators"})):
        changes = list_views.changes(ringed, viewer)["changes"]
        named = {n for c in changes for n in (*c["added"], *c["removed"], *(m["measure"] for m in c["measures"]))}
        assert named and {catalog[n].audience for n in named} <= allowed
    regulator_only = {n for c in list_views.changes(ringed, REGULATOR)["changes"] for n in c["added"]}
    assert "inspection_frequency" in regulator_only


def test_a_person_without_a_shop_is_never_on_a_public_list(sample_app: Chengxin) -> None:
    cx = sample_app
    with pytest.raises(InvalidInput, match="PIPL"):
        list_views.override(cx, "black", (P1, "U1"), "add", REGULATOR, "court judgment", "判决书")
    list_views.override(cx, "watch", (P1, "U1"), "add", REGULATOR, "court judgment", "判决书")
    assert lists_of(cx, (P1, "U1"), REGULATOR) == ["watch"] and lists_of(cx, (P1, "U1")) == []


def test_ingestion_reports_the_log_size_with_its_consequences(app: Chengxin) -> None:
    from tests.conftest import SAMPLE

    report = ingest_file(app, SAMPLE)
    with read_connection(app.engine) as conn:
        size = conn.execute(select(t.log_state.c.size)).scalar_one()
    assert report.tree_size == size == 25


# --- review fixes: one record per act and party; breaches follow their record; moot applications ----------
def _extra(cx: Chengxin, *lines: str) -> None:
    from tests.conftest import ingest_text

    assert ingest_text(cx, "\n".join(lines)).rejected == 0


SHOP_S3 = ('{"specversion":"1.0","id":"x-s3","source":"urn:cx:platform:P1","type":"cx.shop.opened",'
           '"time":"2026-02-01T09:00:00+08:00","data":{"shop_id":"S3","operator_id":"M1","name":"示例食品二店",'
           '"url":"https://s3.shop.example","categories":["food"]}}')
REPAIR_K = ('{"specversion":"1.0","id":"x-k2","source":"urn:cx:platform:P1","type":"cx.commitment.published",'
            '"time":"2026-02-01T09:00:00+08:00","data":{"commitment_id":"K2","subject_id":"M1",'
            '"template":"repair-commitment-v1","clauses":["不再发生"]}}')


def _records(cx: Chengxin, origin: str) -> list[Any]:
    with read_connection(cx.engine) as conn:
        d = lt.dishonesty_records.c
        return list(conn.execute(select(lt.dishonesty_records).where(d.origin == origin).order_by(d.id)))


def test_two_shops_of_one_operator_in_one_ring_are_one_record(sample_app: Chengxin) -> None:
    cx = sample_app
    _extra(cx, SHOP_S3, REPAIR_K)
    ring = Finding("fake_order_ring", 0.9, {"parties": ((P1, "S1"), (P1, "S3")), "orders": ((P1, "O1"),)}, {})
    confirm(cx, ring, "run-two-shops")
    (rec,) = [r for r in _records(cx, "review")]
    assert (rec.subject_id, rec.category) == ("S1", "fake_order")
    # two commitments cover fake orders (standard and repair): one act, one breach (the strictest)
    assert len(_records(cx, "breach")) == 1
    assert lists_of(cx, (P1, "S3")) == ["black"]  # the party, whichever shop asked


def test_a_breach_falls_with_its_record_and_a_pending_application_goes_moot(sample_app: Chengxin) -> None:
    cx = sample_app
    confirm(cx, RING_S1, "run-s1")
    rec = record_of(cx, P1, "S1")
    (breach,) = _records(cx, "breach")
    assert breach.state == "confirmed"
    repair = appeals.file_application(cx, rec.id, "repair", REGULATOR, "asks early", ALL_MET)
    appeal = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "not ours")
    appeals.decide_application(cx, appeal["application"]["id"], REGULATOR, "overturn", "logs show real orders")
    (breach,) = _records(cx, "breach")
    assert breach.state == "overturned"  # the act fell, so did the broken promise
    moot = appeals.application_view(cx, repair["application"]["id"], REGULATOR)["application"]
    assert moot["status"] == "moot" and "overturned" in moot["reason"]
    lists.drain(cx)
    assert "black" not in lists_of(cx, (P1, "S1"), REGULATOR)


def test_the_public_view_of_a_record_names_no_key_and_no_free_text(ringed: Chengxin) -> None:
    shop = parties.show(ringed, P1, "S2", ANONYMOUS)
    (rec,) = shop["dishonesty_records"]
    assert rec["decided_by"] == "regulator" and "reason" not in rec["details"]
    full = next(r for r in parties.show(ringed, P1, "S2", REGULATOR)["dishonesty_records"] if r["origin"] == "review")
    assert full["decided_by"] == "regulator:k-reg" and full["details"]["reason"]


def test_a_lists_free_text_reaches_others_masked(sample_app: Chengxin) -> None:
    """A regulator's reason and basis are free text: the API served a phone and an ID number in them whole to
    the public and to other platforms (found by review); the regulator reads them as written."""
    cx = sample_app
    said = "店主电话13812345678，身份证110105198511224567"
    list_views.override(cx, "black", (P1, "S2"), "add", REGULATOR, said, "判决书（联系人13812345678）")
    shown = {v: list_views.measures_of(cx, (P1, "S2"), viewer)["lists"] for v, viewer in
             (("public", ANONYMOUS), ("p2", PLATFORM2), ("regulator", REGULATOR))}
    for who in ("public", "p2"):
        text = json.dumps(shown[who], ensure_ascii=False)
        assert "13812345678" not in text and "110105198511224567" not in text and "138****5678" in text
    assert "13812345678" in json.dumps(shown["regulator"], ensure_ascii=False)
    members = json.dumps(list_views.members(cx, "black", ANONYMOUS), ensure_ascii=False)
    assert "13812345678" not in members and "110105198511224567" not in members


def test_a_platforms_feed_leaves_out_other_platforms_persons(sample_app: Chengxin) -> None:
    cx = sample_app
    list_views.override(cx, "watch", (P1, "U1"), "add", REGULATOR, "court judgment", "判决书")
    mine = next(c for c in list_views.changes(cx, PLATFORM1)["changes"] if c["party"]["id"] == "U1")
    assert mine["uscc"] is None  # a person: no identifier in the feed
    assert "U1" not in [c["party"]["id"] for c in list_views.changes(cx, PLATFORM2)["changes"]]
    assert "U1" in [c["party"]["id"] for c in list_views.changes(cx, REGULATOR)["changes"]]


def test_a_changed_policy_file_reaches_the_feed_on_the_next_full_evaluation(ringed: Chengxin, monkeypatch) -> None:
    from dataclasses import replace

    cx = ringed
    before = len(list_views.changes(cx, REGULATOR)["changes"])
    ps = lists.policies()
    black = replace(ps.lists["black"], measures={**ps.lists["black"].measures, "freeze_account": True})
    monkeypatch.setattr(lists, "policies", lambda: replace(ps, lists={**ps.lists, "black": black}))
    lists.evaluate(cx)
    changes = list_views.changes(cx, REGULATOR)["changes"]
    assert len(changes) == before + 1 and changes[-1]["added"] == ["freeze_account"]
    assert changes[-1]["party"]["id"] == "M2" and "policies" in changes[-1]["cause"][0]
    lists.evaluate(cx)
    assert len(list_views.changes(cx, REGULATOR)["changes"]) == before + 1  # once


# --- the persons behind a blacklisted enterprise -------------------------------------------------------------
M2_WITH_REP = ('{"specversion":"1.0","id":"x-m2b","source":"urn:cx:platform:P1","type":"cx.subject.registered",'
               '"time":"2026-03-05T09:00:00+08:00","data":{"subject_id":"M2","kind":"individual_business",'
               '"name":"杭州西湖区示例日用品店","uscc":"92330106MA2B7C4D1W","region":"330106",'
               '"verified_at":"2026-01-03T12:00:00+08:00","representatives":["U1"]}}')
SERIOUS = ('{"specversion":"1.0","id":"x-sd1","source":"urn:cx:regulator:310000","type":"cx.sanction.imposed",'
           '"time":"2026-04-01T09:00:00+08:00","data":{"sanction_id":"SD1","subject_id":"E-M2",'
           '"kind":"serious_dishonesty","authority":"杭州市市场监督管理局","decision_no":"杭市监严〔2026〕1号",'
           '"legal_basis":"企业信息公示暂行条例 第十七条","category":"fake_order"}}')


def test_restrictions_reach_the_persons_behind_a_blacklisted_enterprise(sample_app: Chengxin) -> None:
    cx = sample_app
    _extra(cx, M2_WITH_REP)
    assert "restrict_persons" not in {m["measure"] for m in list_views.measures_of(cx, (P1, "U1"), PLATFORM1)[
        "measures"]}
    _extra(cx, SERIOUS)  # the regulator puts the firm (reported to it as E-M2) on its serious list
    firm = {m["measure"]: m for m in list_views.measures_of(cx, (P1, "S2"), PLATFORM1)["measures"]}
    assert firm["restrict_persons"]["persons"] == [{"source": P1, "id": "U1"}]
    person = {m["measure"]: m for m in list_views.measures_of(cx, (P1, "U1"), PLATFORM1)["measures"]}
    (why,) = person["restrict_persons"]["because"]
    assert why["policy"] == "black.serious_dishonesty" and why["via"]["id"] == "M2"
    assert lists_of(cx, (P1, "U1"), REGULATOR) == []  # the person is not listed; the restriction reaches it
    assert "restrict_persons" not in {m["measure"] for m in list_views.measures_of(cx, (P1, "U1"), ANONYMOUS)[
        "measures"]}  # a platform measure, not public
    feed = [c for c in list_views.changes(cx, PLATFORM1)["changes"] if c["party"]["id"] == "U1"]
    # the same report of the firm as the measure names (the earliest registered: M2 kept its first time when
    # re-sent with its representatives, E-M2 was the earliest only while a re-send took the latest time)
    assert feed and feed[-1]["added"] == ["restrict_persons"] and feed[-1]["cause"][0]["via"]["id"] == "M2"
    # a full evaluation compared the person's own memberships with that entry, and fed "restrict_persons
    # removed" while the firm still bore it (found by review)
    lists.evaluate(cx)
    again = [c for c in list_views.changes(cx, PLATFORM1)["changes"] if c["party"]["id"] == "U1"]
    assert again == feed


def test_the_full_evaluation_is_due_by_the_time_recorded_in_the_store(sample_app: Chengxin) -> None:
    # the scorer redoes every party's lists only when the last full run, by any process, is old enough
    every = timedelta(hours=6)
    assert lists.full_due(sample_app, every)  # never ran
    lists.evaluate(sample_app, ["not-a-party"])  # a partial evaluation is not the full one
    assert lists.full_due(sample_app, every)
    at = datetime.now(UTC)
    lists.evaluate(sample_app, now=at)
    with read_connection(sample_app.engine) as conn:
        assert conn.execute(select(lt.job_runs.c.finished_at).where(
            lt.job_runs.c.job == lists.FULL_JOB)).scalar() == at.isoformat()
    assert not lists.full_due(sample_app, every, now=at + timedelta(hours=5))
    assert lists.full_due(sample_app, every, now=at + timedelta(hours=6))


def test_a_sanction_whose_record_expired_weighs_as_expired_in_the_score(sample_app: Chengxin) -> None:
    # A sanction in force weighs in full; one nobody lifts ends when its record's disclosure ends, and then
    # weighs as expired (in full for ever otherwise: found by review).
    from chengxin.services import profiles, scoring

    cx = sample_app
    sanction = {"specversion": "1.0", "id": "x-x2", "source": "urn:cx:regulator:310000",
                "type": "cx.sanction.imposed", "time": "2026-03-12T09:00:00+08:00",
                "data": {"sanction_id": "X2", "subject_id": "E-M2", "kind": "administrative_penalty",
                         "authority": "某市场监督管理局", "decision_no": "罚〔2026〕13号",
                         "legal_basis": "价格法第十四条",
                         "category": "price_fraud", "disclose_until": "2026-12-31"}}
    assert ingest_text(cx, json.dumps(sanction, ensure_ascii=False)).accepted == 1
    lists.drain(cx)

    def weighs(at: datetime) -> list[tuple[str, str | None]]:
        with read_connection(cx.engine) as conn:
            key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "E-M2")).scalar_one()
            prof = profiles.gather(conn, [key], at, scoring.score_rules(), lists_rating_rules())[key]
        return sorted(((s.kind, s.lifted) for s in prof.sanctions), key=lambda x: x[1] or "")

    now = datetime.now(UTC)
    assert weighs(now) == [("administrative_penalty", None), ("administrative_penalty", "repaired")]
    later = datetime(2027, 1, 2, 12, tzinfo=UTC)
    lists.evaluate(cx, None, later)  # the record's disclosure ended on 31 December
    assert weighs(later) == [("administrative_penalty", "expired"), ("administrative_penalty", "repaired")]


def lists_rating_rules():
    from chengxin.services.standing import rules

    return rules()


def test_the_audit_names_a_record_whose_state_was_changed_outside_the_lifecycle(ringed: Chengxin) -> None:
    # Set to overturned by hand, a confirmed record left public view while the audit said ok; set back to
    # confirmed, a repaired one came back (found by review). The log's record_* moves say what it must be.
    from sqlalchemy import update

    cx = ringed
    assert audit.verify(cx).ok
    rec = record_of(cx, P1, "S2")
    d = lt.dishonesty_records.c
    with write_transaction(cx.engine) as conn:
        conn.execute(update(lt.dishonesty_records).where(d.id == rec.id).values(state="overturned"))
    report = audit.verify(cx)
    assert not report.ok and report.first_bad["problem"] == "state" and report.first_bad["index"] == rec.credit_idx
    with write_transaction(cx.engine) as conn:
        conn.execute(update(lt.dishonesty_records).where(d.id == rec.id).values(state="confirmed"))
    assert audit.verify(cx).ok
    with read_connection(cx.engine) as conn:  # the sample's sanction record, repaired through the lifecycle
        repaired = conn.execute(select(lt.dishonesty_records).where(d.state == "repaired")).one()
    with write_transaction(cx.engine) as conn:
        conn.execute(update(lt.dishonesty_records).where(d.id == repaired.id).values(state="confirmed"))
    report = audit.verify(cx)
    assert not report.ok and "says 'repaired'" in report.first_bad["detail"]


def test_the_audit_names_a_list_membership_the_log_does_not_state(ringed: Chengxin) -> None:
    # An ended membership inserted by hand, naming another record, hid that record while the audit said ok
    # (found by review); so did ending a membership by hand.
    from sqlalchemy import insert, update

    cx = ringed
    m = lt.list_memberships.c
    with read_connection(cx.engine) as conn:
        black = conn.execute(select(lt.list_memberships).where(m.list == "black", m.ended_at.is_(None))).first()
    assert black is not None and audit.verify(cx).ok
    with write_transaction(cx.engine) as conn:
        conn.execute(update(lt.list_memberships).where(m.id == black.id).values(ended_at="2026-11-28T00:00:00Z"))
    report = audit.verify(cx)
    assert not report.ok and "is ended in storage" in report.first_bad["detail"]
    with write_transaction(cx.engine) as conn:
        conn.execute(update(lt.list_memberships).where(m.id == black.id).values(ended_at=None))
        sanction = conn.execute(select(lt.dishonesty_records.c.credit_idx).where(
            lt.dishonesty_records.c.origin == "sanction")).scalar_one()
        row = {k: v for k, v in black._mapping.items() if k != "id"}
        conn.execute(insert(lt.list_memberships).values({**row, "ended_at": "2026-11-28T00:00:00Z",
                                                         "credit_idx": sanction}))
    report = audit.verify(cx)
    assert not report.ok and "which is not its list_entered record" in report.first_bad["detail"]


def _tampering(case: str, rec: Any) -> list[Any]:
    from sqlalchemy import delete, insert, update

    d, m, c = lt.dishonesty_records.c, lt.list_memberships.c, st.credit_scores.c
    planted = {k: v for k, v in rec._mapping.items() if k != "id"}
    return {
        "planted": [insert(lt.dishonesty_records).values({**planted, "record_key": "planted", "credit_idx": None})],
        "copied": [insert(lt.dishonesty_records).values({**planted, "record_key": "copied"})],
        "moved_deleted": [delete(lt.record_transitions), delete(lt.dishonesty_records).where(d.state == "repaired")],
        "breach_deleted": [delete(lt.dishonesty_records).where(d.origin == "breach")],
        "membership_deleted": [delete(lt.list_memberships).where(m.list == "black")],
        "score_edited": [update(st.credit_scores).where(c.party_key == rec.party_key).values(score=999, grade="A")],
    }[case]


@pytest.mark.parametrize(("case", "said"), [
    ("planted", "names log record None, which did not open it"), ("copied", "both name log record"),
    ("moved_deleted", "which storage no longer holds"), ("breach_deleted", "storage holds no record of it"),
    ("membership_deleted", "storage holds no membership of it"),
    ("score_edited", "is not the one its explanation gives")])
def test_the_audit_names_records_memberships_and_scores_changed_by_hand(ringed: Chengxin, case: str,
                                                                        said: str) -> None:
    """A dishonesty record planted or deleted by hand, a membership deleted, a score edited: the audit said ok
    while the public view changed (found by review)."""
    from chengxin.services import standing

    cx = ringed
    confirm(cx, RING_S1, "run-s1")  # M1's commitment: a breach record
    standing.drain(cx)
    rec = record_of(cx, P1, "S2")
    assert audit.verify(cx).ok
    with write_transaction(cx.engine) as conn:
        for stmt in _tampering(case, rec):
            conn.execute(stmt)
    report = audit.verify(cx)
    assert not report.ok and any(said in p for p in report.problems), report.problems


# --- review fixes: a breach is as serious, and as much the platform's, as its act; one act through two items ---
def _confirm_as(cx: Chengxin, finding: Finding, run: str, viewer: Viewer) -> dict[str, Any]:
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (finding,), detector="test", run_id=run)
    review.publish(cx, run)
    item = next(i for i in review.list_items(cx, REGULATOR, status="open")["items"] if i["run_id"] == run)
    return review.decide(cx, item["id"], "confirm", viewer, "our own investigation", "platform rule 4.2")


def test_a_platforms_own_confirmations_do_not_list_its_committed_merchant_publicly(sample_app: Chengxin) -> None:
    """M1 committed (merchant-standard-v1, black_list penalty). Three acts its platform confirmed each broke the
    commitment; the breaches counted as an authority's serious records, and the third act put M1 on the public
    black list with its shop closed (found by review). A platform's confirmations are for the watch list."""
    cx = sample_app
    for n, day in enumerate(("2026-02-10", "2026-03-10", "2026-04-10")):
        _confirm_as(cx, _traffic("S1", [[day, day]]), f"run-p{n}", PLATFORM1)
    lists.drain(cx)
    breaches = _records(cx, "breach")
    assert len(breaches) == 3 and {b.severity for b in breaches} == {"serious"}
    assert set(lists_of(cx, (P1, "S1"), REGULATOR)) == {"watch"}
    assert lists_of(cx, (P1, "S1")) == []


def test_a_minor_act_breaks_a_commitment_as_a_minor_record(sample_app: Chengxin) -> None:
    """A platform's own measure (minor) broke M1's commitment, whose penalty is the black list: the breach was
    a serious record (found by review). A breach weighs at most what its act does."""
    cx = sample_app
    measure = {"specversion": "1.0", "id": "x-pm1", "source": P1, "type": "cx.sanction.imposed",
               "time": "2026-03-12T09:00:00+08:00", "data": {
                   "sanction_id": "PM1", "subject_id": "M1", "kind": "platform_measure", "authority": "平台",
                   "decision_no": "平台〔2026〕1号", "legal_basis": "平台规则", "category": "false_advertising"}}
    ingest_text(cx, json.dumps(measure, ensure_ascii=False) + "\n")
    lists.drain(cx)
    (breach,) = _records(cx, "breach")
    assert breach.severity == "minor" and "minor as the act is, not serious" in breach.details
    assert "black" not in lists_of(cx, (P1, "S1"), REGULATOR)


def test_a_shops_roll_up_and_its_single_parcels_are_one_act(sample_app: Chengxin) -> None:
    """A regulator confirmed a shop's empty-parcel roll-up (O1, O3), then the single parcels it holds: three
    serious records of one act, a repeat offender whose repair the repeats then blocked (found by review). A
    parcel the roll-up does not hold is an act of its own."""
    cx = sample_app
    _extra(cx, ORDER_O9)
    confirm(cx, Finding("empty_parcel", 0.9, {"parties": ((P1, "S1"),), "orders": ((P1, "O1"), (P1, "O3"))},
                        {"level": "shop"}), "run-shop")
    for oid in ("O1", "O3"):
        confirm(cx, Finding("empty_parcel", 0.8, {"parties": ((P1, "S1"),), "orders": ((P1, oid),)},
                            {"level": "order"}), f"run-{oid}")
    (rec,) = _records(cx, "review")
    assert (rec.subject_id, rec.category) == ("S1", "empty_parcel")
    with read_connection(cx.engine) as conn:
        i = rt.review_items.c
        assert conn.execute(select(i.status).where(i.run_id.in_(("run-O1", "run-O3")))).scalars().all() == [
            "confirmed", "confirmed"]  # decided, without a record of their own
    confirm(cx, Finding("empty_parcel", 0.8, {"parties": ((P1, "S1"),), "orders": ((P1, "O9"),)},
                        {"level": "order"}), "run-O9")
    assert len(_records(cx, "review")) == 2


ORDER_O9 = ('{"specversion":"1.0","id":"x-o9","source":"urn:cx:platform:P1","type":"cx.order.placed",'
            '"time":"2026-03-20T10:00:00+08:00","data":{"order_id":"O9","shop_id":"S1","buyer_id":"U2",'
            '"items":[{"product_id":"G1","quantity":1,"unit_price":9900}],"total":9900,"ship_to_region":"110105"}}')
