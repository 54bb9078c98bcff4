"""The review queue on every storage backend: findings published as suspected records (not public), confirmed
(order verdicts, points taken back, a public record) or dismissed, once, by whom may; the log still audits."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from chengxin.adapters.db import review_tables as rt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.exc import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from chengxin.services import audit, parties, review, standing
from chengxin.services.viewer import ANONYMOUS, Viewer

P1, P2, L1 = "urn:cx:platform:P1", "urn:cx:platform:P2", "urn:cx:logistics:L1"
REGULATOR = Viewer("regulator", key_id="k-reg")
PLATFORM1 = Viewer("platform", P1, "k-p1")
PLATFORM2 = Viewer("platform", P2, "k-p2")

# An empty parcel of O1 (only the order named: the item is about its shop S1), a courier faking deliveries
# (C1 of the logistics firm, with P1's order O2), and a ring of S2 and its buyer U2.
PARCEL = Finding("empty_parcel", 0.96, {"orders": ((P1, "O1"),)}, {
    "level": "order", "tracking_no": "SL1000000001", "shop": {"source": P1, "id": "S1"},
    "tells": {"light": {"weight_g": 40, "expected_g": 650}, "no_transit": {"hours": 2.0}}})
COURIER = Finding("empty_parcel", 0.8, {"parties": ((L1, "C1"),), "orders": ((P1, "O2"),)}, {
    "level": "courier", "parcels": 2, "flagged": 1, "share": 0.5, "tells": {"no_transit": 1},
    "rule": {"min_flagged": 1, "min_share": 0.15}})
RING = Finding("fake_order_ring", 0.7, {"parties": ((P1, "S2"), (P1, "U2")), "orders": ((P1, "O2"),)},
               {"density": 3.5, "buyers": 1})


def store_run(cx: Chengxin, run_id: str = "detect-test1", found: tuple[Finding, ...] = (PARCEL, COURIER, RING)) -> None:
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, found, detector="test", run_id=run_id)


def records(cx: Chengxin, kind: str) -> list[Any]:
    with read_connection(cx.engine) as conn:
        return list(conn.execute(select(t.credit_records).where(t.credit_records.c.kind == kind)
                                 .order_by(t.credit_records.c.idx)))


def kinds_seen(cx: Chengxin, entity: tuple[str, str], viewer: Viewer) -> set[str]:
    return {r["kind"] for r in parties.show(cx, entity[0], entity[1], viewer)["credit_records"]}


@pytest.fixture
def queued(sample_app: Chengxin) -> Chengxin:
    store_run(sample_app)
    done = review.publish(sample_app)
    assert done == {"runs": ["detect-test1"], "findings": 3, "published": 3, "grown": 0, "already_queued": 0,
                    "about_no_one": 0, "credit_records": 4}
    return sample_app


def test_publish_appends_suspected_records_that_are_not_public(queued: Chengxin) -> None:
    cx = queued
    about = [(r.subject_kind, r.subject_source, r.subject_id, r.event_source, r.event_id) for r in
             records(cx, "suspected")]
    assert about == [("shop", P1, "S1", review.REVIEW_SOURCE, "1"), ("subject", L1, "C1", review.REVIEW_SOURCE, "2"),
                     ("shop", P1, "S2", review.REVIEW_SOURCE, "3"), ("subject", P1, "U2", review.REVIEW_SOURCE, "3")]
    payload = records(cx, "suspected")[0].payload
    assert '"finding_kind":"empty_parcel"' in payload and '"run_id":"detect-test1"' in payload
    assert '"evidence_sha256":"' + review.evidence_sha256(PARCEL.evidence) + '"' in payload
    assert "SL1000000001" not in payload  # the brief keeps figures and tells, not references or numbers
    # not public; the reporting platform and regulators see it
    assert "suspected" not in kinds_seen(cx, (P1, "S1"), ANONYMOUS)
    assert "suspected" not in kinds_seen(cx, (P1, "S1"), PLATFORM2)
    assert "suspected" in kinds_seen(cx, (P1, "S1"), PLATFORM1)
    assert "suspected" in kinds_seen(cx, (P1, "S1"), REGULATOR)
    # nothing is taken back on a machine score alone
    with read_connection(cx.engine) as conn:
        assert conn.execute(select(func.count()).select_from(st.order_verdicts)).scalar_one() == 0
    assert audit.verify(cx).ok


def test_publishing_again_or_a_rerun_queues_nothing_twice(queued: Chengxin) -> None:
    again = review.publish(queued)
    assert (again["published"], again["already_queued"], again["credit_records"]) == (0, 3, 0)
    store_run(queued, "detect-test2")  # the same suspicions found by a later run
    rerun = review.publish(queued, "detect-test2")
    assert (rerun["runs"], rerun["published"], rerun["already_queued"]) == (["detect-test2"], 0, 3)
    assert len(records(queued, "suspected")) == 4


def _rollup(*orders: str) -> Finding:
    return Finding("empty_parcel", 0.5 + 0.1 * len(orders), {"parties": ((P1, "S1"),),
                                                               "orders": tuple((P1, o) for o in orders)},
                   {"level": "shop", "flagged": len(orders)})


def _items(cx: Chengxin) -> list[tuple[int, str, int | None, list[str]]]:
    out = []
    for i in review.list_items(cx, REGULATOR, limit=100)["items"]:
        with read_connection(cx.engine) as conn:
            follows = conn.execute(select(rt.review_items.c.follows).where(rt.review_items.c.id == i["id"])).scalar()
        out.append((i["id"], i["status"], follows, sorted(o["id"] for o in i["orders"])))
    return out


def test_a_growing_suspicion_grows_its_open_item_and_follows_up_a_decided_one(sample_app: Chengxin) -> None:
    # Keyed by every order named, a roll-up that gained one order was a new item each run: a dismissal did
    # not stick, and three confirmations of one act left three serious records (found by review).
    cx = sample_app
    runs = [("r1", ("O1",)), ("r2", ("O1", "O2")), ("r3", ("O1", "O2")), ("r4", ("O1", "O2", "O3"))]
    store_run(cx, "detect-r1", (_rollup(*runs[0][1]),))
    assert review.publish(cx, "detect-r1")["published"] == 1
    store_run(cx, "detect-r2", (_rollup(*runs[1][1]),))
    grown = review.publish(cx, "detect-r2")
    assert (grown["published"], grown["grown"], grown["credit_records"]) == (0, 1, 0)
    assert _items(cx) == [(1, "open", None, ["O1", "O2"])]
    assert review.get_item(cx, 1, REGULATOR)["evidence"]["flagged"] == 2  # the newest finding's evidence
    review.decide(cx, 1, "dismiss", REGULATOR, "default label weights")
    store_run(cx, "detect-r3", (_rollup(*runs[2][1]),))
    assert review.publish(cx, "detect-r3")["already_queued"] == 1
    store_run(cx, "detect-r4", (_rollup(*runs[3][1]),))
    follow = review.publish(cx, "detect-r4")
    assert (follow["published"], follow["credit_records"]) == (1, 1)
    assert _items(cx) == [(1, "dismissed", None, ["O1", "O2"]), (2, "open", 1, ["O3"])]
    done = review.decide(cx, 2, "confirm", REGULATOR, "a third parcel of 40 g")
    assert done["order_verdicts"] == 1  # the new order only
    assert len([r for r in records(cx, "confirmed") if r.subject_id == "S1"]) == 1


def test_each_product_of_a_shop_is_its_own_suspicion(sample_app: Chengxin) -> None:
    # Keyed without products, a shop's second fake discount was never queued (found by review).
    cx = sample_app
    found = tuple(Finding("price_fraud", 0.8, {"parties": ((P1, "S1"),), "products": ((P1, g),)},
                          {"raised_by": 0.5}) for g in ("G1", "G2"))
    store_run(cx, "detect-p", found)
    assert review.publish(cx, "detect-p")["published"] == 2
    products = [[p["id"] for p in i["products"]] for i in review.list_items(cx, REGULATOR)["items"]]
    assert products == [["G1"], ["G2"]]


def _traffic(*bursts: tuple[str, str]) -> Finding:
    return Finding("fake_traffic", 0.9, {"parties": ((P1, "S1"),), "products": ((P1, "G1"),)},
                   {"bursts": [list(b) for b in bursts], "days": 2 * len(bursts)})


def test_a_decided_suspicion_comes_back_when_its_subject_does_it_again(sample_app: Chengxin) -> None:
    # Without orders, a decided shop-level suspicion never came back: a shop confirmed for fake traffic in
    # February bought traffic again in June, and no item was queued (found by review).
    cx = sample_app
    store_run(cx, "detect-t1", (_traffic(("2026-02-10", "2026-02-11")),))
    review.publish(cx, "detect-t1")
    review.decide(cx, 1, "confirm", REGULATOR, "bought traffic")
    store_run(cx, "detect-t2", (_traffic(("2026-02-10", "2026-02-12")),))  # the same burst, a day longer
    assert review.publish(cx, "detect-t2")["already_queued"] == 1
    store_run(cx, "detect-t3", (_traffic(("2026-02-10", "2026-02-12"), ("2026-06-01", "2026-06-02")),))
    again = review.publish(cx, "detect-t3")
    assert (again["published"], again["credit_records"]) == (1, 1)
    item = review.get_item(cx, 2, REGULATOR)
    assert [p["id"] for p in item["parties"]] == ["S1"] and item["evidence"]["bursts"][-1] == ["2026-06-01",
                                                                                               "2026-06-02"]
    store_run(cx, "detect-t4", (_traffic(("2026-02-10", "2026-02-12"), ("2026-06-01", "2026-06-03")),))
    assert review.publish(cx, "detect-t4")["grown"] == 0  # nothing new for the open follow-up: as it was
    # a second fake discount of the same product, after the first was decided, names the product again
    raise_ = {"at": "2026-05-01T02:00:00+00:00"}
    first = Finding("price_fraud", 0.8, {"parties": ((P1, "S1"),), "products": ((P1, "G1"),)},
                    {"raise": raise_, "discount": {"at": "2026-05-03T02:00:00+00:00"}})
    store_run(cx, "detect-p1", (first,))
    assert review.publish(cx, "detect-p1")["published"] == 1
    (priced,) = [i for i in review.list_items(cx, REGULATOR)["items"] if i["kind"] == "price_fraud"]
    review.decide(cx, priced["id"], "dismiss", REGULATOR, "a real promotion")
    second = Finding("price_fraud", 0.8, first.subjects, {"raise": {"at": "2026-09-01T02:00:00+00:00"},
                                                          "discount": {"at": "2026-09-02T02:00:00+00:00"}})
    store_run(cx, "detect-p2", (second,))
    assert review.publish(cx, "detect-p2")["published"] == 1
    follow = [i for i in review.list_items(cx, REGULATOR, limit=100)["items"] if i["kind"] == "price_fraud"][-1]
    assert [p["id"] for p in follow["products"]] == ["G1"]


def test_migration_0016_keys_items_queued_before_it_by_suspicion(sample_app: Chengxin) -> None:
    from alembic import command

    from chengxin.adapters.db.engine import alembic_config

    cx = sample_app
    found = (*(Finding("price_fraud", 0.8, {"parties": ((P1, "S1"),), "products": ((P1, g),)}, {"raised_by": 0.5})
               for g in ("G1", "G2")), _rollup("O1", "O3"))
    store_run(cx, "detect-m", found)
    review.publish(cx, "detect-m")

    def state() -> list[tuple[Any, ...]]:
        with read_connection(cx.engine) as conn:
            items = [tuple(r) for r in conn.execute(select(rt.review_items.c.id, rt.review_items.c.suspicion))]
            subjects = [tuple(r) for r in conn.execute(select(rt.review_subjects).order_by(
                rt.review_subjects.c.item_id, rt.review_subjects.c.role, rt.review_subjects.c.entity_id))]
        return items + subjects

    before = state()
    with cx.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0015")
        command.upgrade(alembic_config(conn), "head")
    assert state() == before and any(s[1] == "product" for s in before if len(s) > 2)
    assert review.publish(cx, "detect-m")["already_queued"] == 3


def test_the_queue_filters_by_kind_level_score_and_party(queued: Chengxin) -> None:
    # a reviewer had to page past every single parcel to reach a ring (found by review)
    cx = queued

    def ids(**filters: Any) -> list[tuple[str, str | None]]:
        return [(i["kind"], i["level"]) for i in review.list_items(cx, REGULATOR, **filters)["items"]]

    every = ids()
    assert len(every) == 3
    assert ids(kind="fake_order_ring") == [("fake_order_ring", None)]
    assert all(kind == "empty_parcel" for kind, _ in ids(kind="empty_parcel")) and len(ids(kind="empty_parcel")) == 2
    assert all(i["score"] >= 0.9 for i in review.list_items(cx, REGULATOR, min_score=0.9)["items"])
    assert len(ids(min_score=0.9)) == 1  # PARCEL (0.96) only
    assert ids(party=(P1, "S2")) == [("fake_order_ring", None)]
    assert ids(party=(P1, "S2"), kind="empty_parcel") == []
    assert ids(level=COURIER.evidence["level"]) == [("empty_parcel", COURIER.evidence["level"])]


def test_a_finding_about_no_one_is_not_queued(sample_app: Chengxin) -> None:
    store_run(sample_app, "detect-x", (Finding("empty_parcel", 0.9, {"products": ((P1, "G1"),)}, {}),))
    done = review.publish(sample_app, "detect-x")
    assert (done["published"], done["about_no_one"], done["credit_records"]) == (0, 1, 0)


def test_confirming_a_fake_order_takes_its_points_back_and_is_public(queued: Chengxin) -> None:
    cx = queued
    shop_before = parties.show(cx, P1, "S1", ANONYMOUS)
    assert shop_before["points"] == 1
    done = review.decide(cx, 1, "confirm", PLATFORM1, "  parcel of 40 g for a 650 g gift box, no transit  ",
                         "platform rule 4.2")
    item = done["item"]
    assert item["status"] == "confirmed" and item["decision"]["decided_by"] == P1
    assert item["decision"]["reason"] == "parcel of 40 g for a 650 g gift box, no transit"
    assert item["decision"]["basis"] == "platform rule 4.2" and item["decision"]["verdicts_at"]
    # one confirmed record (S1) and O1's two ratings' points taken back (R1 for S1, R2 for U1)
    assert (done["credit_records"], done["order_verdicts"], done["orders_missing"]) == (3, 1, 0)
    assert done["standing"] == [{"source": P1, "id": "S1", "kind": "shop", "before": done["standing"][0]["before"],
                                 "after": done["standing"][0]["after"]}]
    assert (done["standing"][0]["before"]["points"], done["standing"][0]["after"]["points"]) == (1, 0)
    with read_connection(cx.engine) as conn:
        verdict = conn.execute(select(st.order_verdicts)).one()
    assert (verdict.order_id, verdict.verdict, verdict.decided_by) == ("O1", "fake", P1)
    assert verdict.basis == "review item 1; platform rule 4.2"
    (confirmed,) = records(cx, "confirmed")
    assert (confirmed.subject_kind, confirmed.subject_id) == ("shop", "S1")
    assert [r.subject_id for r in records(cx, "points_retracted")] == ["S1", "U1"]
    # public: the shop's file shows it to everyone, with the points taken back
    shop = parties.show(cx, P1, "S1", ANONYMOUS)
    assert {"confirmed", "points_retracted"} <= kinds_seen(cx, (P1, "S1"), ANONYMOUS) and shop["points"] == 0
    (public,) = [r for r in shop["credit_records"] if r["kind"] == "confirmed"]
    assert public["payload"]["summary"] == {"level": "order", "tells": {"light": True, "no_transit": True}}
    assert public["payload"]["reason"] == "parcel of 40 g for a 650 g gift box, no transit"
    assert audit.verify(cx).ok


def test_confirming_a_couriers_faked_deliveries_leaves_the_orders_counting(queued: Chengxin) -> None:
    done = review.decide(queued, 2, "confirm", REGULATOR, "scans show no movement; courier admitted it")
    assert (done["credit_records"], done["order_verdicts"]) == (1, 0)
    assert done["item"]["decision"]["decided_by"] == "regulator:k-reg"
    with read_connection(queued.engine) as conn:
        assert conn.execute(select(func.count()).select_from(st.order_verdicts)).scalar_one() == 0


def test_an_order_a_couriers_roll_up_explains_is_about_the_courier_and_takes_nothing_back(sample_app: Chengxin
                                                                                          ) -> None:
    cx = sample_app
    delivery = Finding("empty_parcel", 0.95, {"parties": ((L1, "C1"),), "orders": ((P1, "O1"),)}, {
        "level": "order_delivery", "explained_by": "courier", "tells": {"no_transit": {"hours": 2.0}}})
    store_run(cx, found=(delivery,))
    review.publish(cx)
    item = review.list_items(cx, REGULATOR, status="open")["items"][0]
    assert [(p["id"], p["kind"]) for p in item["parties"]] == [("C1", "subject")]
    done = review.decide(cx, item["id"], "confirm", REGULATOR, "the courier marked it delivered unmoved")
    assert done["order_verdicts"] == 0 and parties.show(cx, P1, "S1", ANONYMOUS)["points"] == 1


def test_a_parcel_a_roll_up_explained_stays_the_couriers(sample_app: Chengxin) -> None:
    # A later read naming only the order (live detection has no roll-ups; a courier's roll-up at its
    # threshold) put the shop back on the item, and a confirmation then found the order fake (found by review).
    cx = sample_app
    courier = Finding("empty_parcel", 0.95, {"parties": ((L1, "C1"),), "orders": ((P1, "O1"),)},
                      {"level": "order_delivery", "explained_by": "courier", "tells": {"no_transit": {}}})
    shop = Finding("empty_parcel", 0.95, {"orders": ((P1, "O1"),)}, {"level": "order", "tells": {"no_transit": {}}})
    store_run(cx, "detect-c", (courier,))
    review.publish(cx, "detect-c")
    store_run(cx, "detect-s", (shop,))
    assert review.publish(cx, "detect-s")["already_queued"] == 1
    (item,) = review.list_items(cx, REGULATOR)["items"]
    assert (item["level"], [p["id"] for p in item["parties"]]) == ("order_delivery", ["C1"])


def test_dismissing_records_who_and_why_and_stays_internal(queued: Chengxin) -> None:
    cx = queued
    done = review.decide(cx, 3, "dismiss", REGULATOR, "buyer is the shop owner's relative; orders were real")
    assert done["item"]["status"] == "dismissed" and done["credit_records"] == 2
    assert [(r.subject_id, r.kind) for r in records(cx, "dismissed")] == [("S2", "dismissed"), ("U2", "dismissed")]
    assert "dismissed" not in kinds_seen(cx, (P1, "S2"), ANONYMOUS)
    assert "dismissed" in kinds_seen(cx, (P1, "S2"), PLATFORM1)
    with read_connection(cx.engine) as conn:
        assert conn.execute(select(func.count()).select_from(st.order_verdicts)).scalar_one() == 0
    assert audit.verify(cx).ok


def test_who_may_decide(queued: Chengxin) -> None:
    cx = queued
    with pytest.raises(NotAuthenticated):
        review.decide(cx, 1, "confirm", ANONYMOUS, "because")
    with pytest.raises(NotFound):  # another platform does not learn that the item exists
        review.decide(cx, 1, "confirm", PLATFORM2, "because")
    with pytest.raises(Forbidden):  # P1 reported the order, not the logistics firm's courier
        review.decide(cx, 2, "confirm", PLATFORM1, "because")
    with pytest.raises(NotFound):
        review.decide(cx, 99, "confirm", REGULATOR, "because")
    with pytest.raises(InvalidInput, match="reason"):
        review.decide(cx, 1, "confirm", REGULATOR, "   ")
    with pytest.raises(InvalidInput, match="decision"):
        review.decide(cx, 1, "punish", REGULATOR, "because")
    with read_connection(cx.engine) as conn:
        assert set(conn.execute(select(rt.review_items.c.status)).scalars()) == {"open"}
    assert records(cx, "confirmed") == []


def test_an_item_is_decided_once(queued: Chengxin) -> None:
    cx = queued
    review.decide(cx, 1, "confirm", REGULATOR, "no transit, 40 g")
    size = len(records(cx, "confirmed")) + len(records(cx, "points_retracted"))
    for decision in ("confirm", "dismiss"):
        with pytest.raises(review.AlreadyDecided, match="already confirmed by regulator:k-reg") as e:
            review.decide(cx, 1, decision, PLATFORM1, "again")
        assert e.value.status == 409
    assert len(records(cx, "confirmed")) + len(records(cx, "points_retracted")) == size
    assert review.get_item(cx, 1, PLATFORM1)["decision"]["decided_by"] == "regulator:k-reg"


def test_who_sees_which_items(queued: Chengxin) -> None:
    cx = queued
    ids = lambda view: [i["id"] for i in view["items"]]  # noqa: E731
    assert ids(review.list_items(cx, REGULATOR)) == [1, 2, 3]
    assert ids(review.list_items(cx, PLATFORM1)) == [1, 2, 3]  # each names one of P1's shops or orders
    assert ids(review.list_items(cx, PLATFORM2)) == []
    with pytest.raises(NotAuthenticated):
        review.list_items(cx, ANONYMOUS)
    with pytest.raises(InvalidInput):
        review.list_items(cx, REGULATOR, status="pending")
    first = review.list_items(cx, REGULATOR, limit=2)
    assert (ids(first), first["next_after"]) == ([1, 2], 2)
    assert ids(review.list_items(cx, REGULATOR, limit=2, after=2)) == [3]
    review.decide(cx, 3, "dismiss", REGULATOR, "orders were real")
    assert ids(review.list_items(cx, REGULATOR, status="open")) == [1, 2]
    (item,) = review.list_items(cx, REGULATOR, status="dismissed")["items"]
    assert item["parties"] == [{"source": P1, "id": "S2", "kind": "shop"},
                               {"source": P1, "id": "U2", "kind": "subject"}]
    assert item["orders"] == [{"source": P1, "id": "O2"}] and item["evidence"] == {"density": 3.5, "buyers": 1}
    with pytest.raises(NotFound):
        review.get_item(cx, 1, PLATFORM2)


def test_a_platform_sees_only_its_own_of_an_item_that_names_other_sources(queued: Chengxin) -> None:
    """The courier roll-up names L1's courier C1 (a natural person) and P1's order O2: P1 sees its order, how
    many others are withheld, and no evidence; the regulator sees it whole (found by review)."""
    whole = review.get_item(queued, 2, REGULATOR)
    assert whole["parties"] == [{"source": L1, "id": "C1", "kind": "subject"}] and whole["evidence"]["share"] == 0.5
    mine = review.get_item(queued, 2, PLATFORM1)
    assert mine["parties"] == [] and mine["orders"] == [{"source": P1, "id": "O2"}] and mine["evidence"] is None
    assert (mine["withheld"]["parties"], mine["withheld"]["orders"]) == (1, 0)
    assert mine["summary"] == whole["summary"]  # figures without references stay
    listed = {i["id"]: i for i in review.list_items(queued, PLATFORM1)["items"]}
    assert listed[2] == mine and "withheld" not in listed[1] and listed[1]["evidence"]["tracking_no"]


def test_an_interrupted_confirmation_is_finished_later(queued: Chengxin, monkeypatch: pytest.MonkeyPatch) -> None:
    cx = queued
    real = standing.set_order_verdict

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection lost")

    monkeypatch.setattr(standing, "set_order_verdict", lost)
    with pytest.raises(ConnectionError):
        review.decide(cx, 1, "confirm", REGULATOR, "no transit, 40 g")
    assert review.get_item(cx, 1, REGULATOR)["decision"]["verdicts_at"] is None
    monkeypatch.setattr(standing, "set_order_verdict", real)
    assert review.finish_pending(cx) == 1
    assert review.get_item(cx, 1, REGULATOR)["decision"]["verdicts_at"]
    assert [r.subject_id for r in records(cx, "points_retracted")] == ["S1", "U1"]
    assert review.finish_pending(cx) == 0
    assert audit.verify(cx).ok


def test_a_platform_cannot_confirm_fake_an_order_a_regulator_found_genuine(queued: Chengxin) -> None:
    # Refused before anything is written: the item stays open for a regulator, and the queue keeps working
    # (written first and refused after, every later publish and decision failed: found by review).
    cx = queued
    standing.set_order_verdict(cx, (P1, "O1"), "genuine", "regulator:k-reg", "inspected on site")
    logged = records(cx, "confirmed")
    with pytest.raises(Conflict, match="found genuine by a regulator"):
        review.decide(cx, 1, "confirm", PLATFORM1, "no transit, 40 g")
    assert review.get_item(cx, 1, REGULATOR)["status"] == "open" and records(cx, "confirmed") == logged
    store_run(cx, "detect-test2")
    review.publish(cx)
    assert review.decide(cx, 3, "confirm", REGULATOR, "ring of S2")["item"]["status"] == "confirmed"
    done = review.decide(cx, 1, "confirm", REGULATOR, "no transit after all")  # a regulator may
    assert done["order_verdicts"] == 1 and review.finish_pending(cx) == 0


def test_a_regulators_verdict_arriving_mid_confirmation_stands(queued: Chengxin,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # Between a platform's confirmation and its order verdicts a regulator finds the order genuine: the
    # regulator's verdict stands and the confirmation is finished, not retried for ever.
    cx = queued
    real = standing.set_order_verdict

    def regulator_first(app: Chengxin, order: Any, *args: Any, **kwargs: Any) -> Any:
        real(app, order, "genuine", "regulator:k-reg", "inspected on site")
        return real(app, order, *args, **kwargs)

    monkeypatch.setattr(standing, "set_order_verdict", regulator_first)
    done = review.decide(cx, 1, "confirm", PLATFORM1, "no transit, 40 g")
    assert (done["order_verdicts"], done["orders_held_genuine"]) == (0, 1)
    assert review.get_item(cx, 1, REGULATOR)["decision"]["verdicts_at"]
    with read_connection(cx.engine) as conn:
        assert conn.execute(select(st.order_verdicts.c.verdict)).scalar_one() == "genuine"
    assert review.finish_pending(cx) == 0


def test_a_platform_sees_no_other_sources_references_in_its_own_items_evidence(sample_app: Chengxin) -> None:
    # Empty-parcel vendors sell one tracking number to shops of several platforms: P1's own parcel item named
    # P2's order under `shared_tracking` (and the logistics firm's courier) (found by review).
    cx = sample_app
    shared = Finding("empty_parcel", 0.9, {"orders": ((P1, "O1"),)}, {
        "level": "order", "tracking_no": "SL1000000001", "shop": {"source": P1, "id": "S1"},
        "courier": {"source": L1, "id": "C1"},
        "tells": {"shared_tracking": {"tracking_no": "SL1000000001", "orders": 3,
                                      "others": [{"source": P1, "id": "O3"}, {"source": P2, "id": "Q9"}]}}})
    store_run(cx, found=(shared,))
    review.publish(cx)
    mine = review.get_item(cx, 1, PLATFORM1)
    assert mine["evidence"]["tells"]["shared_tracking"] == {
        "tracking_no": "SL1000000001", "orders": 3, "others": [{"source": P1, "id": "O3"}], "others_elsewhere": 1}
    assert (mine["evidence"]["courier"], mine["evidence"]["courier_elsewhere"]) == (None, 1)
    assert mine["evidence"]["shop"] == {"source": P1, "id": "S1"} and "withheld" not in mine
    assert review.list_items(cx, PLATFORM1)["items"] == [mine]
    assert review.get_item(cx, 1, REGULATOR)["evidence"] == shared.evidence  # the regulator reads it whole
    decided = review.decide(cx, 1, "dismiss", PLATFORM1, "the tracking number was reused by the carrier")
    assert "Q9" not in str(decided["item"]["evidence"]) and "C1" not in str(decided["item"]["evidence"])


def test_the_public_sees_a_regulators_decision_without_its_key_id(queued: Chengxin) -> None:
    # `decided_by: regulator:<key id>` was printed on the shop's public file: the key id is the prefix of the
    # key's secret (found by review). The log keeps it; the public view says who decided by role only.
    cx = queued
    review.decide(cx, 1, "confirm", REGULATOR, "no transit, 40 g")

    def deciders(viewer: Viewer) -> dict[str, str]:
        shown = parties.show(cx, P1, "S1", viewer)["credit_records"]
        return {r["kind"]: r["payload"]["decided_by"] for r in shown if r["kind"] in ("confirmed", "points_retracted")}

    assert deciders(ANONYMOUS) == deciders(PLATFORM2) == {"confirmed": "regulator", "points_retracted": "regulator"}
    assert deciders(REGULATOR) == deciders(PLATFORM1) == {"confirmed": "regulator:k-reg",
                                                           "points_retracted": "regulator:k-reg"}
    shown = parties.show(cx, P1, "S1", ANONYMOUS)["credit_records"]
    assert "k-reg" not in str(shown) + "".join(base64.b64decode(r.get("leaf_bytes", "")).decode() for r in shown)
    (confirmed,) = records(cx, "confirmed")
    assert '"decided_by":"regulator:k-reg"' in confirmed.payload  # the log itself is unchanged
    assert audit.verify(cx).ok


def test_a_parcel_item_the_newest_full_run_no_longer_finds_is_marked_stale(sample_app: Chengxin) -> None:
    # Read live before its transit scans arrived, a parcel is "no transit"; the full run that reads the whole
    # waybill no longer finds it, and the open item stayed as if it did (found by review).
    cx = sample_app
    stored = [("live-a1", (PARCEL,), "2026-03-01"), ("detect-b1", (RING,), "2026-03-02"),
              ("detect-c1", (PARCEL, RING), "2026-03-03")]

    def run(i: int) -> dict[str, Any]:
        run_id, found, day = stored[i]
        with write_transaction(cx.engine) as conn:
            insert_findings(conn, found, detector="empty_parcel", run_id=run_id, created_at=f"{day}T00:00:00.000000Z")
        return review.publish(cx, run_id)

    run(0)
    assert review.get_item(cx, 1, REGULATOR)["stale"] is None  # no full run since: nothing to compare with
    run(1)
    stale = review.get_item(cx, 1, REGULATOR)["stale"]
    assert stale is not None and (stale["not_found_by"], stale["since"]) == ("detect-b1", "2026-03-02T00:00:00.000000Z")
    assert review.list_items(cx, PLATFORM1, status="open")["items"][0]["stale"] == stale  # the queue shows it
    assert review.get_item(cx, 2, REGULATOR)["stale"] is None  # the ring: not a per-order item
    suspected = len(records(cx, "suspected"))
    assert run(2)["already_queued"] == 2  # found again: no longer stale
    assert review.get_item(cx, 1, REGULATOR)["stale"] is None
    assert len(records(cx, "suspected")) == suspected and review.get_item(cx, 1, REGULATOR)["status"] == "open"
