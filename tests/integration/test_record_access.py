"""Who sees and decides a dishonesty record, on every storage backend: a sanction's record is decided by the
source that reported the sanction (a platform's own measure: that platform; an authority's: regulators),
never by whatever its free-text `authority` says (found by review)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update
from tests.conftest import ingest_text

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.bootstrap import Chengxin
from chengxin.exc import Forbidden, NotFound
from chengxin.services import appeals, lists
from chengxin.services.viewer import Viewer

P1, P2 = "urn:cx:platform:P1", "urn:cx:platform:P2"
REG = "urn:cx:regulator:310000"
PLATFORM1, PLATFORM2 = Viewer("platform", P1, "k-p1"), Viewer("platform", P2, "k-p2")
REGULATOR = Viewer("regulator", key_id="k-reg")


def sanction(sid: str, subject: str, authority: str, *, source: str = P1, kind: str = "platform_measure",
             category: str = "counterfeit") -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"ev-{sid}", "source": source, "type": "cx.sanction.imposed",
            "time": "2026-11-01T09:00:00+08:00",
            "data": {"sanction_id": sid, "subject_id": subject, "kind": kind, "authority": authority,
                     "decision_no": f"D-{sid}", "legal_basis": "平台规则", "category": category}}


def add(cx: Chengxin, *events: dict[str, Any]) -> None:
    report = ingest_text(cx, "\n".join(json.dumps(e, ensure_ascii=False) for e in events), "extra")
    assert report.accepted == len(events), report.as_dict()
    lists.drain(cx)


def records(cx: Chengxin, sid: str) -> list[Any]:
    """The sanction's record, then its breach records."""
    d = lt.dishonesty_records.c
    with read_connection(cx.engine) as conn:
        rec = conn.execute(select(lt.dishonesty_records).where(d.record_key.like(f"sanction%{sid}"))).one()
        return [rec, *conn.execute(select(lt.dishonesty_records).where(d.origin == "breach", d.record_key.like(
            f"breach%{rec.id}%")).order_by(d.id))]


def appeal_and_overturn(cx: Chengxin, record: int, filer: Viewer, decider: Viewer) -> dict[str, Any]:
    filed = appeals.file_application(cx, record, "appeal", filer, "the goods are genuine")
    return appeals.decide_application(cx, filed["application"]["id"], decider, "overturn", "found genuine")


def test_the_platform_that_imposed_its_measure_decides_the_appeal(sample_app: Chengxin) -> None:
    cx = sample_app
    add(cx, sanction("PM1", "M1", "示例平台治理部"))  # the authority written as a name, not a source
    rec = records(cx, "PM1")[0]
    assert appeals.get_record(cx, rec.id, PLATFORM1)["decided_by"] == P1
    done = appeal_and_overturn(cx, rec.id, PLATFORM1, PLATFORM1)
    assert done["application"]["status"] == "overturned" and done["record"]["state"] == "overturned"


def test_another_platform_named_as_authority_neither_sees_nor_decides(sample_app: Chengxin) -> None:
    cx = sample_app
    add(cx, sanction("PM2", "U1", P2, category="fake_review"))  # P1's measure on its person U1 names P2
    rec = records(cx, "PM2")[0]
    with pytest.raises(NotFound):
        appeals.get_record(cx, rec.id, PLATFORM2)
    with pytest.raises(NotFound):
        appeals.file_application(cx, rec.id, "appeal", PLATFORM2, "P2 appeals")
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the user objects")
    with pytest.raises(NotFound):
        appeals.decide_application(cx, filed["application"]["id"], PLATFORM2, "overturn", "P2 overturns")
    assert appeals.list_applications(cx, PLATFORM2)["applications"] == []
    assert [a["id"] for a in appeals.list_applications(cx, PLATFORM1)["applications"]] == [filed["application"]["id"]]


def test_records_stored_with_the_authority_as_decider_are_decided_by_the_sanctions_source(
        sample_app: Chengxin) -> None:
    """Records opened before the fix hold the event's `authority` in `decided_by`: access follows the
    sanction's source, for the record and for the breach record it opened (M1's commitment K1 covers
    counterfeits), without a data migration."""
    cx = sample_app
    add(cx, sanction("PM3", "M1", "平台"))
    rec, breach = records(cx, "PM3")
    with write_transaction(cx.engine) as conn:  # as stored before the fix, had the authority named P2
        d = lt.dishonesty_records.c
        conn.execute(update(lt.dishonesty_records).where(d.id.in_((rec.id, breach.id))).values(decided_by=P2))
    for record in (rec.id, breach.id):
        with pytest.raises(NotFound):
            appeals.get_record(cx, record, PLATFORM2)
        assert appeals.get_record(cx, record, PLATFORM1)["decided_by"] in (P1, P2)  # the breach's as stored
    filed = appeals.file_application(cx, breach.id, "appeal", REGULATOR, "the party objects")
    assert appeals.list_applications(cx, PLATFORM2)["applications"] == []
    assert [a["id"] for a in appeals.list_applications(cx, PLATFORM1)["applications"]] == [filed["application"]["id"]]
    done = appeals.decide_application(cx, filed["application"]["id"], PLATFORM1, "overturn", "its act is wrong")
    assert done["record"]["state"] == "overturned"


def test_an_authoritys_sanction_is_decided_by_regulators_whatever_its_authority_says(sample_app: Chengxin) -> None:
    cx = sample_app
    add(cx, sanction("X9", "E-M2", P1, source=REG, kind="administrative_penalty", category="price_fraud"))
    rec = records(cx, "X9")[0]
    assert appeals.get_record(cx, rec.id, REGULATOR)["decided_by"] == REG
    # P1 reports the same business (M2): it sees the public record, and does not decide it
    assert appeals.get_record(cx, rec.id, PLATFORM1)["decided_by"] == REG
    filed = appeals.file_application(cx, rec.id, "appeal", REGULATOR, "the party objects")
    with pytest.raises(Forbidden):
        appeals.decide_application(cx, filed["application"]["id"], PLATFORM1, "overturn", "P1 overturns")
    assert appeals.decide_application(cx, filed["application"]["id"], REGULATOR, "uphold", "stands")[
        "record"]["state"] == "confirmed"


def test_a_regulators_sanction_on_a_platforms_report_is_not_the_platforms_to_decide(sample_app: Chengxin) -> None:
    """The reporting platform may appeal an authority's sanction on its merchant; only a regulator decides."""
    cx = sample_app
    add(cx, sanction("X8", "E-M2", "某市场监督管理局", source=REG, kind="administrative_penalty",
                     category="price_fraud"))
    rec = records(cx, "X8")[0]
    with write_transaction(cx.engine) as conn:  # the record as if about P1's report (a regulator may name one)
        conn.execute(update(lt.dishonesty_records).where(lt.dishonesty_records.c.id == rec.id).values(
            subject_source=P1, subject_id="M2"))
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "the merchant objects")
    with pytest.raises(Forbidden):
        appeals.decide_application(cx, filed["application"]["id"], PLATFORM1, "overturn", "P1 overturns")


# --- a platform reporting the record's party itself --------------------------------------------------------
def registered(source: str, subject: str, kind: str, **ids: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"reg-{source[-2:]}-{subject}", "source": source,
            "type": "cx.subject.registered", "time": "2026-05-01T09:00:00+08:00",
            "data": {"subject_id": subject, "kind": kind, "name": "某某", "region": "310104", **ids}}


def test_a_platform_sees_another_platforms_public_record_of_its_merchant_and_appeals_it(
        sample_app: Chengxin) -> None:
    """P2's measure on its report of P1's merchant M1 (the same USCC) puts M1 on P1's lists: P1 reads the
    record as its party file shows it (the public view) and files an appeal; P2 or a regulator decides."""
    cx = sample_app
    add(cx, registered(P2, "Q1", "enterprise", uscc="91310104MA1FL8XQ36"),
        sanction("PQ1", "Q1", "P2平台", source=P2))
    rec = records(cx, "PQ1")[0]
    repair = appeals.file_application(cx, rec.id, "repair", PLATFORM2, "P2's own note on the merchant")
    seen = appeals.get_record(cx, rec.id, PLATFORM1)
    assert (seen["id"], seen["public"], seen["decided_by"], seen["subject"]["source"]) == (rec.id, True, P2, P2)
    assert set(seen["details"]) == {"decision_no", "authority"}  # not P2's free text
    assert [m["action"] for m in seen["transitions"]] == ["confirm"] and "reason" not in seen["transitions"][0]
    assert seen["applications"] == []  # P2's application is P2's
    assert "reason" in appeals.get_record(cx, rec.id, PLATFORM2)["details"]  # P2 sees it whole
    filed = appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "商家申诉：货品为正品")
    assert filed["record"]["state"] == "appealed" and "reason" not in filed["record"]["details"]
    assert filed["application"]["filed_by"] == P1
    with pytest.raises(Forbidden):
        appeals.decide_application(cx, filed["application"]["id"], PLATFORM1, "overturn", "P1 decides")
    assert [a["id"] for a in appeals.list_applications(cx, PLATFORM1)["applications"]] == [filed["application"]["id"]]
    assert {a["id"] for a in appeals.list_applications(cx, PLATFORM2, status=None)["applications"]} == {
        repair["application"]["id"], filed["application"]["id"]}
    done = appeals.decide_application(cx, filed["application"]["id"], PLATFORM2, "overturn", "经复核为正品")
    assert done["record"]["state"] == "overturned"
    # the filer follows its appeal to the end, though the record left public view
    after = appeals.get_record(cx, rec.id, PLATFORM1)
    assert after["state"] == "overturned" and [a["status"] for a in after["applications"]] == ["overturned"]


def test_another_platforms_record_of_the_same_person_stays_hidden(sample_app: Chengxin) -> None:
    """A natural person's record is its reporter's: P1, which reports the same person (U1's ID number), learns
    nothing of P2's record about its own account of them."""
    cx = sample_app
    add(cx, registered(P2, "V1", "person", id_number="31010419900307123X"),
        sanction("PV1", "V1", "P2平台", source=P2, category="fake_review"))
    rec = records(cx, "PV1")[0]
    with pytest.raises(NotFound):
        appeals.get_record(cx, rec.id, PLATFORM1)
    with pytest.raises(NotFound):
        appeals.file_application(cx, rec.id, "appeal", PLATFORM1, "appeal")


def test_a_business_record_out_of_public_view_stays_the_reporters(sample_app: Chengxin) -> None:
    cx = sample_app
    add(cx, registered(P2, "Q1", "enterprise", uscc="91310104MA1FL8XQ36"),
        sanction("PQ2", "Q1", "P2平台", source=P2))
    rec = records(cx, "PQ2")[0]
    appeal_and_overturn(cx, rec.id, PLATFORM2, PLATFORM2)
    with pytest.raises(NotFound):  # P1 filed nothing about it, and the party file no longer shows it
        appeals.get_record(cx, rec.id, PLATFORM1)
