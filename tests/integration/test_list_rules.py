"""The rules of consequences where they meet the store, on every storage backend: what bars a credit repair
(an authority's lists, a regulator's override), how long an authority's serious-illegality listing lasts, which
records put a party on the black list, and what the credit log says of a regulator's overrides."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import ingest_text

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.services import appeals, audit, list_views, lists, prepare
from chengxin.services.lifecycle import Conflict
from chengxin.services.viewer import Viewer

P1 = "urn:cx:platform:P1"
REG = "urn:cx:regulator:310000"
REGULATOR = Viewer("regulator", key_id="k-reg")
ALL_MET = {"penalty_fulfilled": True, "harm_removed": True}
LATER = datetime(2027, 3, 20, 4, tzinfo=UTC)  # a serious record of 2026-03-12 may be repaired from 2027-03-13


def sanction(sid: str, kind: str, category: str, time: str, *, source: str = REG, subject: str = "E-M2",
             authority: str = "某市场监督管理局") -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"ev-{sid}", "source": source, "type": "cx.sanction.imposed",
            "time": time, "data": {"sanction_id": sid, "subject_id": subject, "kind": kind, "authority": authority,
                                   "decision_no": f"罚〔2026〕{sid}号", "legal_basis": "某法 第一条",
                                   "category": category}}


def add(cx: Chengxin, *events: dict[str, Any]) -> None:
    report = ingest_text(cx, "\n".join(json.dumps(e, ensure_ascii=False) for e in events), "extra")
    assert report.accepted == len(events), report.as_dict()
    lists.drain(cx)


def record_of(cx: Chengxin, sid: str) -> Any:
    d = lt.dishonesty_records.c
    with read_connection(cx.engine) as conn:
        return conn.execute(select(lt.dishonesty_records).where(d.record_key.like(f"sanction%{sid}"))).one()


def repair_commitment(subject: str = "E-M2", source: str = REG, time: str = "2026-11-20T09:00:00+08:00"
                      ) -> dict[str, Any]:
    """The party's signed repair commitment, published (a repair is granted only with one on file)."""
    return {"specversion": "1.0", "id": f"ev-rc-{subject}", "source": source, "type": "cx.commitment.published",
            "time": time, "data": {"commitment_id": f"RC-{subject}", "subject_id": subject,
                                   "template": "repair-commitment-v1", "clauses": ["已纠正失信行为，不再发生"]}}


def apply_for_repair(cx: Chengxin, sid: str, at: datetime = LATER) -> int:
    """The party signs a repair commitment and applies (the commitment once: a second application reuses it)."""
    ingest_text(cx, json.dumps(repair_commitment(), ensure_ascii=False), "commitment")
    filed = appeals.file_application(cx, record_of(cx, sid).id, "repair", REGULATOR, "fine paid", ALL_MET, now=at)
    return int(filed["application"]["id"])


def grant(cx: Chengxin, application: int, at: datetime = LATER) -> dict[str, Any]:
    return appeals.decide_application(cx, application, REGULATOR, "grant", "ok", now=at)


def on_lists(cx: Chengxin, ref: tuple[str, str] = (P1, "S2")) -> list[tuple[str, str]]:
    return sorted((m["list"], m["policy"]) for m in list_views.measures_of(cx, ref, REGULATOR)["lists"])


# --- 1. what bars a repair ------------------------------------------------------------------------------------
def test_no_repair_while_on_the_abnormal_operation_list(sample_app: Chengxin) -> None:
    """PPD art. 14 (4): not while on the abnormal-operation list (it was granted: found by review)."""
    cx = sample_app
    add(cx, sanction("X4", "administrative_penalty", "privacy", "2026-03-12T09:00:00+08:00"),
        sanction("AO1", "abnormal_operation", "other", "2026-03-12T10:00:00+08:00"))
    with pytest.raises(Conflict, match="abnormal_operation list"):
        grant(cx, apply_for_repair(cx, "X4"))
    assert record_of(cx, "X4").state == "confirmed"


def test_no_repair_while_a_regulator_keeps_the_party_on_the_black_list(sample_app: Chengxin) -> None:
    """ZJPC art. 32: not while on the serious list, also when a regulator put the party there (it was granted:
    the check re-ran the policies and ignored the overrides: found by review); a removal lifts the bar."""
    cx = sample_app
    add(cx, sanction("X4", "administrative_penalty", "privacy", "2026-03-12T09:00:00+08:00"))
    list_views.override(cx, "black", (P1, "S2"), "add", REGULATOR, "court judgment", "某法院判决书",
                        until=date(2027, 6, 1), now=datetime(2026, 6, 1, tzinfo=UTC))
    application = apply_for_repair(cx, "X4")
    with pytest.raises(Conflict, match="on the black list"):
        grant(cx, application)
    list_views.override(cx, "black", (P1, "S2"), "remove", REGULATOR, "judgment set aside", "再审判决",
                        until=date(2027, 6, 1), now=datetime(2027, 3, 19, tzinfo=UTC))
    assert grant(cx, application)["record"]["state"] == "repaired"


# --- 2. a serious-illegality listing lasts until the authority removes the party ------------------------------
def test_an_unlifted_serious_dishonesty_listing_does_not_expire(sample_app: Chengxin, monkeypatch) -> None:
    """ZJPC art. 16: past its 5 years, a listing not lifted stays (it expired and the firm left the black
    list: found by review); the authority's lifting ends it."""
    cx = sample_app
    add(cx, sanction("SD1", "serious_dishonesty", "fake_order", "2026-04-01T09:00:00+08:00"))
    assert ("black", "black.serious_dishonesty") in on_lists(cx)
    assert record_of(cx, "SD1").disclose_until is None
    lists.evaluate(cx, None, datetime(2031, 4, 3, tzinfo=UTC))
    assert record_of(cx, "SD1").state == "confirmed"
    assert ("black", "black.serious_dishonesty") in on_lists(cx)
    monkeypatch.setattr(prepare, "received_now", lambda: "2031-05-01T02:00:00.000000Z")  # the lifting arrives
    lifted = {"specversion": "1.0", "id": "ev-SD1-lift", "source": REG, "type": "cx.sanction.lifted",
              "time": "2031-05-01T09:00:00+08:00", "data": {"sanction_id": "SD1", "reason": "repaired"}}
    add(cx, lifted)
    lists.evaluate(cx, None, datetime(2031, 5, 2, tzinfo=UTC))
    assert record_of(cx, "SD1").state == "repaired"
    assert "black" not in {name for name, _ in on_lists(cx)}


# --- 3. the black list counts serious and grave records only -------------------------------------------------
def test_a_platforms_own_minor_measure_does_not_blacklist(sample_app: Chengxin) -> None:
    """A platform's own measure of counterfeits (minor) put the party on the public black list with its shop
    closed and its account frozen on every platform (found by review): it is watched, not published."""
    cx = sample_app
    mine = {"source": P1, "subject": "M2", "authority": "示例平台治理部"}
    add(cx, sanction("PM1", "platform_measure", "counterfeit", "2026-11-01T09:00:00+08:00", **mine),
        sanction("PM2", "platform_measure", "fake_order", "2026-11-01T10:00:00+08:00", **mine))
    lists.evaluate(cx, None, datetime(2026, 11, 2, tzinfo=UTC))
    assert record_of(cx, "PM1").severity == "minor"
    assert ("watch", "watch.records") in on_lists(cx) and "black" not in {name for name, _ in on_lists(cx)}
    assert list_views.members(cx, "black", Viewer())["members"] == []
    measures = {m["measure"] for m in list_views.measures_of(cx, (P1, "S2"), REGULATOR)["measures"]}
    assert not measures & {"close_shop", "freeze_account", "refuse_entry", "hide_shop"}


# --- 4. a regulator's overrides are in the credit log ---------------------------------------------------------
def logged(cx: Chengxin, *kinds: str) -> list[dict[str, Any]]:
    cr = t.credit_records.c
    with read_connection(cx.engine) as conn:
        return [{"kind": r.kind, "idx": r.idx, **json.loads(r.payload)} for r in conn.execute(
            select(cr.kind, cr.idx, cr.payload).where(cr.kind.in_(kinds)).order_by(cr.idx))]


def test_an_override_and_the_moves_it_causes_are_logged_with_who_why_and_basis(sample_app: Chengxin) -> None:
    """An override was in no credit record, and a removal was logged as `the condition no longer holds`
    (found by review)."""
    cx = sample_app
    add(cx, sanction("X5", "administrative_penalty", "counterfeit", "2026-03-12T09:00:00+08:00"))
    assert ("black", "black.counterfeit") in on_lists(cx)
    done = list_views.override(cx, "black", (P1, "S2"), "remove", REGULATOR, "set aside on review",
                               "行政复议决定书 沪府复〔2026〕9号", until=date(2027, 6, 1))
    (record,) = logged(cx, "list_override", "list_override_private")
    assert record == {"kind": "list_override", "idx": done["override"]["credit_record"],
                      "override": done["override"]["id"], "list": "black", "action": "remove",
                      "by": "regulator:k-reg", "reason": "set aside on review",
                      "basis": "行政复议决定书 沪府复〔2026〕9号", "until": "2027-06-01", "replaces": []}
    (left,) = [r for r in logged(cx, "list_left") if r["list"] == "black"]
    assert left["idx"] > record["idx"] and left["basis"] == "行政复议决定书 沪府复〔2026〕9号"
    assert left["override"] == {"id": record["override"], "by": "regulator:k-reg", "reason": "set aside on review",
                                "until": "2027-06-01"}
    assert left["reason"] == "removed by a regulator's override: set aside on review"
    with read_connection(cx.engine) as conn:
        m = lt.list_memberships.c
        assert conn.execute(select(m.end_reason).where(m.policy == "black.counterfeit")).scalar() == left["reason"]
    # a later override of the same list replaces it, and says so; a list that is not public has a private kind
    again = list_views.override(cx, "black", (P1, "S2"), "add", REGULATOR, "court judgment", "某法院判决书")
    list_views.override(cx, "watch", (P1, "S2"), "remove", REGULATOR, "checked", "某局决定")
    overrides = logged(cx, "list_override", "list_override_private")
    assert [(r["kind"], r["action"], r["replaces"]) for r in overrides] == [
        ("list_override", "remove", []), ("list_override", "add", [record["override"]]),
        ("list_override_private", "remove", [])]
    (entered,) = [r for r in logged(cx, "list_entered") if r["policy"] == "manual"]
    assert entered["override"] == again["override"]["id"]
    assert audit.verify(cx).as_dict()["ok"]


# --- 6. a party key no report has any more --------------------------------------------------------------------
def registered(uscc: str, event: str, time: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event, "source": P1, "type": "cx.subject.registered", "time": time,
            "data": {"subject_id": "M3", "kind": "individual_business", "name": "示例三号店", "region": "330106",
                     "uscc": uscc}}


def test_memberships_of_a_key_no_report_has_follow_their_report(sample_app: Chengxin) -> None:
    """A corrected USCC gives the report a new party key: the old key's memberships were never evaluated again
    and stayed on the lists for ever (found by review). They follow their report to its key, with a regulator's
    overrides, and are judged there; the audit still passes."""
    cx = sample_app
    shop = {"specversion": "1.0", "id": "s3", "source": P1, "type": "cx.shop.opened",
            "time": "2026-02-01T10:00:00+08:00", "data": {"shop_id": "S3", "operator_id": "M3", "name": "三号店",
                                                          "url": "https://s3.shop.example", "categories": ["food"]}}
    add(cx, registered("91330100MA2CXQ1234", "m3-a", "2026-02-01T09:00:00+08:00"), shop,  # a bad check digit
        sanction("PM3", "platform_measure", "other", "2026-11-01T09:00:00+08:00", source=P1, subject="M3"))
    list_views.override(cx, "black", (P1, "S3"), "add", REGULATOR, "court judgment", "某法院判决书",
                        until=date(2027, 6, 1))
    m = lt.list_memberships.c
    with read_connection(cx.engine) as conn:
        old = conn.execute(select(m.party_key).where(m.policy == "manual")).scalar()
    assert sorted(on_lists(cx, (P1, "S3"))) == [("black", "manual"), ("watch", "watch.records")]
    add(cx, registered("91330100MA2CXQ123N", "m3-b", "2026-03-01T09:00:00+08:00"))  # corrected
    lists.evaluate(cx)
    with read_connection(cx.engine) as conn:
        assert conn.execute(select(m.id).where(m.party_key == old, m.ended_at.is_(None))).all() == []
        manual = conn.execute(select(m.party_key, m.ended_at).where(m.policy == "manual")).one()
    assert tuple(manual) == ("uscc:91330100MA2CXQ123N", None)  # the regulator's addition went with the firm
    assert [x["party"]["id"] for x in list_views.members(cx, "black", Viewer())["members"]] == ["M3"]
    assert audit.verify(cx).as_dict()["ok"]


def test_a_membership_ended_because_its_new_key_already_holds_it_passes_the_audit(sample_app: Chengxin) -> None:
    """The old key's membership ends (its list_left names it) when the corrected key already holds the same:
    the audit matched list_left by party, list and policy, read the move against the new key's membership,
    and failed a consistent store (found by review)."""
    cx = sample_app
    p2 = "urn:cx:platform:P2"
    shop = {"specversion": "1.0", "id": "s3", "source": P1, "type": "cx.shop.opened",
            "time": "2026-02-01T10:00:00+08:00", "data": {"shop_id": "S3", "operator_id": "M3", "name": "三号店",
                                                          "url": "https://s3.shop.example", "categories": ["food"]}}
    other = {"specversion": "1.0", "id": "n3", "source": p2, "type": "cx.subject.registered",
             "time": "2026-02-01T09:00:00+08:00", "data": {"subject_id": "N3", "kind": "individual_business",
                                                           "name": "示例三号店", "region": "330106",
                                                           "uscc": "91330100MA2CXQ123N"}}
    other_shop = {"specversion": "1.0", "id": "t3", "source": p2, "type": "cx.shop.opened",
                  "time": "2026-02-01T10:00:00+08:00", "data": {"shop_id": "T3", "operator_id": "N3",
                                                                "name": "三号店二", "url": "https://t3.shop.example",
                                                                "categories": ["food"]}}
    add(cx, registered("91330100MA2CXQ1234", "m3-a", "2026-02-01T09:00:00+08:00"), shop, other, other_shop)
    for ref in ((P1, "S3"), (p2, "T3")):  # two keys, each on the black list by the regulator's hand
        list_views.override(cx, "black", ref, "add", REGULATOR, "court judgment", "某法院判决书",
                            until=date(2027, 6, 1))
    add(cx, registered("91330100MA2CXQ123N", "m3-b", "2026-03-01T09:00:00+08:00"))  # now the same key
    lists.evaluate(cx)
    m = lt.list_memberships.c
    with read_connection(cx.engine) as conn:
        open_ = conn.execute(select(m.party_key).where(m.policy == "manual", m.ended_at.is_(None))).scalars().all()
    assert open_ == ["uscc:91330100MA2CXQ123N"]
    report = audit.verify(cx).as_dict()
    assert report["ok"], report


def test_migration_0018_ends_the_5_year_end_of_serious_listings_opened_before(sample_app: Chengxin) -> None:
    from alembic import command

    from chengxin.adapters.db.engine import alembic_config

    cx = sample_app
    add(cx, sanction("SD9", "serious_dishonesty", "fake_order", "2026-04-01T09:00:00+08:00"),
        {**sanction("SD8", "serious_dishonesty", "fake_order", "2026-04-01T09:00:00+08:00"),
         "data": {**sanction("SD8", "serious_dishonesty", "fake_order", "")["data"], "disclose_until": "2027-04-01"}})
    d = lt.dishonesty_records.c
    with write_transaction(cx.engine) as conn:  # as opened before: the grave severity's 5 years
        conn.execute(lt.dishonesty_records.update().where(d.record_key.like("sanction%SD9")).values(
            disclose_until="2031-04-01"))
    with cx.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0017")
        command.upgrade(alembic_config(conn), "head")
    assert record_of(cx, "SD9").disclose_until is None  # until lifted
    assert record_of(cx, "SD8").disclose_until == "2027-04-01"  # the authority's own date stays
