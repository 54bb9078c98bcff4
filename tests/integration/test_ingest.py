"""Ingestion guarantees of events-v1, on every storage backend."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
from tests.conftest import SAMPLE, SAMPLE_BAD, ingest_file, ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection

EVENT = {"specversion": "1.0", "id": "x-1", "source": "urn:cx:platform:PX", "type": "cx.order.completed",
         "time": "2026-02-13T09:00:00+08:00", "data": {"order_id": "O1"}}


def line(**changes: object) -> str:
    return json.dumps({**EVENT, **changes}, ensure_ascii=False)


def count(cx, table) -> int:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_sample_lands_whole(sample_app):
    assert count(sample_app, t.events) == 48
    assert count(sample_app, t.subjects) == 9
    assert count(sample_app, t.shipment_scans) == 7


def test_a_rating_without_words_lands_and_counts(app):
    # The sample's first rating sent with an empty text, as a buyer who only gives stars does.
    lines = [json.loads(x) for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
    for obj in lines:
        if obj["type"] == "cx.review.posted" and obj["data"]["review_id"] == "R1":
            obj["data"]["text"] = ""
    report = ingest_text(app, "\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    assert (report.accepted, report.rejected) == (48, 0)
    from chengxin.adapters.db import standing_tables as st
    from chengxin.services import standing

    standing.drain(app)
    with read_connection(app.engine) as conn:
        assert conn.execute(select(t.reviews.c.text).where(t.reviews.c.review_id == "R1")).scalar_one() == ""
        L = st.rating_ledger
        assert conn.execute(select(L.c.points, L.c.eligible).where(L.c.review_id == "R1")).one() == (1, True)


def test_same_event_twice_is_a_no_op(app):
    first = ingest_text(app, line())
    again = ingest_text(app, line() + "\n" + line())
    assert (first.accepted, again.accepted, again.duplicates) == (1, 0, 2)
    assert count(app, t.events) == 1 and count(app, t.order_updates) == 1


def test_same_id_other_content_is_a_conflict_and_the_first_is_kept(app):
    ingest_text(app, line())
    report = ingest_text(app, line(time="2026-02-14T09:00:00+08:00"))
    assert (report.accepted, report.conflicts) == (0, 1)
    assert report.conflict_details[0]["id"] == "x-1" and report.conflict_details[0]["line"] == 1
    with read_connection(app.engine) as conn:
        body = conn.execute(select(t.events.c.body)).scalar_one()
    assert json.loads(body)["time"] == "2026-02-13T09:00:00+08:00"


def test_conflict_inside_one_batch(app):
    report = ingest_text(app, line() + "\n" + line(data={"order_id": "O2"}))
    assert (report.accepted, report.conflicts, report.duplicates) == (1, 1, 0)


def test_reformatted_json_is_a_duplicate_not_a_conflict(app):
    ingest_text(app, line())
    spaced = json.dumps(dict(reversed(list(EVENT.items()))), indent=None, separators=(" , ", " : "))
    assert ingest_text(app, spaced).duplicates == 1


def test_bad_lines_are_rejected_by_number_and_the_rest_lands(app):
    expected = json.loads((SAMPLE_BAD.parent / "sample-v1-bad.expected.json").read_text())
    report = ingest_file(app, SAMPLE_BAD)
    assert [r["line"] for r in report.rejects] == [r["line"] for r in expected["rejects"]]
    assert report.accepted == expected["valid"] and count(app, t.events) == expected["valid"]
    reasons = {r["line"]: r["reason"] for r in report.rejects}
    assert "data.amount" in reasons[4] and "missing" in reasons[4]
    assert "data.amount negative" in reasons[6]
    assert "data.weight_g" in reasons[21]
    assert all(r["file"] == SAMPLE_BAD.name for r in report.rejects)
    with read_connection(app.engine) as conn:
        problems = conn.execute(select(func.count()).select_from(t.ingest_problems)).scalar_one()
    assert problems == 10


def test_resident_id_numbers_are_never_stored_plain(sample_app):
    plain = ["31010419900307123X", "110105198511224567", "440305199208157893"]
    with read_connection(sample_app.engine) as conn:
        bodies = " ".join(conn.execute(select(t.events.c.body)).scalars())
        subjects = list(conn.execute(select(t.subjects)))
        records = " ".join(conn.execute(select(t.credit_records.c.payload)).scalars())
    for number in plain:
        assert number not in bodies and number not in records
        assert hashlib.sha256(number.encode()).hexdigest() not in {s.id_hmac for s in subjects}
    masked = {s.subject_id: s.id_masked for s in subjects if s.id_masked}
    assert masked["U1"] == "3101**********123X"
    assert all(number.encode() not in (s.id_cipher or b"") for s in subjects for number in plain)



def test_a_null_id_number_is_kept_as_sent(app):
    """An `id_number: null` (an enterprise registered with its USCC) stays null in the stored event: it was
    encrypted as the text "None", changing the raw event silently (found by review)."""
    enterprise = {"specversion": "1.0", "id": "n-1", "source": "urn:cx:platform:PX", "type": "cx.subject.registered",
                  "time": "2026-02-13T09:00:00+08:00", "data": {
                      "subject_id": "B9", "kind": "enterprise", "name": "示例有限公司", "uscc": "91310104MA1FL8XQ36",
                      "region": "310104", "id_number": None}}
    assert ingest_text(app, json.dumps(enterprise, ensure_ascii=False) + "\n").accepted == 1
    with read_connection(app.engine) as conn:
        body = json.loads(conn.execute(select(t.events.c.body)).scalar_one())
    assert body["data"]["id_number"] is None and body == enterprise

def test_same_uscc_from_two_sources_is_one_party(sample_app):
    with read_connection(sample_app.engine) as conn:
        keys = dict(conn.execute(select(t.subjects.c.subject_id, t.subjects.c.party_key)
                                 .where(t.subjects.c.subject_id.in_(["M2", "E-M2"]))).all())
    assert keys["M2"] == keys["E-M2"] == "uscc:92330106MA2B7C4D1W"


def test_a_person_sent_with_a_businesss_uscc_does_not_join_its_party(sample_app):
    """A person is identified by the ID number: keyed by a USCC sent with it, any platform could join a
    business's party and, a person now linked, erase the business's public score (found by review)."""
    from chengxin.services import parties
    from chengxin.services.viewer import ANONYMOUS

    person = {"specversion": "1.0", "id": "px-1", "source": "urn:cx:platform:P2", "type": "cx.subject.registered",
              "time": "2026-03-01T09:00:00+08:00", "data": {
                  "subject_id": "UX", "kind": "person", "name": "王某", "uscc": "91310104MA1FL8XQ36",
                  "id_number": "11010519491231002X", "region": "110105"}}
    before = parties.show(sample_app, "urn:cx:platform:P1", "M1", ANONYMOUS)
    assert before["score"] is not None
    assert ingest_text(sample_app, json.dumps(person, ensure_ascii=False) + "\n").accepted == 1
    with read_connection(sample_app.engine) as conn:
        row = conn.execute(select(t.subjects).where(t.subjects.c.subject_id == "UX")).one()
    assert row.party_key.startswith("ric:") and row.identity_scheme == "ric" and row.uscc == "91310104MA1FL8XQ36"
    after = parties.show(sample_app, "urn:cx:platform:P1", "M1", ANONYMOUS)
    assert after["score"] == before["score"] and "UX" not in json.dumps(after, ensure_ascii=False)


def test_reference_to_an_entity_not_yet_seen_resolves_when_it_arrives(app):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    scans = [x for x in lines if "cx.shipment.scanned" in x or "cx.shipment.delivered" in x]
    rest = [x for x in lines if x not in scans]
    ingest_text(app, "\n".join(scans))
    ingest_text(app, "\n".join(rest))
    with read_connection(app.engine) as conn:
        joined = conn.execute(select(func.count()).select_from(t.shipment_scans.join(
            t.shipments, (t.shipments.c.source == t.shipment_scans.c.shipment_source)
            & (t.shipments.c.shipment_id == t.shipment_scans.c.shipment_id)))).scalar_one()
    assert joined == 7


def test_invalid_identifier_is_recorded_and_flagged(app):
    bad = {**EVENT, "id": "r-1", "type": "cx.subject.registered",
           "data": {"subject_id": "M9", "kind": "enterprise", "name": "坏码公司", "uscc": "91310104MA1FL8XQ37",
                    "region": "310104"}}
    assert ingest_text(app, json.dumps(bad, ensure_ascii=False)).accepted == 1
    with read_connection(app.engine) as conn:
        row = conn.execute(select(t.subjects)).one()
        record = conn.execute(select(t.credit_records)).one()
    assert row.identity_valid is False or row.identity_valid == 0
    assert "check character" in row.identity_reason and row.uscc == "91310104MA1FL8XQ37"
    assert row.party_key.startswith("local:")
    assert json.loads(record.payload)["valid"] is False


def test_platform_may_only_submit_its_own_source(app):
    from chengxin.services.ingest import ingest_batch, read_lines

    lines = list(read_lines("req", [line().encode(), line(id="x-2", source="urn:cx:platform:P1").encode()]))
    report = ingest_batch(app, lines, origin="api", actor="k", own_source="urn:cx:platform:PX")
    assert report.accepted == 1 and report.rejects[0]["line"] == 2 and "not yours" in report.rejects[0]["reason"]


def test_an_id_number_sent_as_a_uscc_is_protected_like_one(app):
    """A person's resident ID number in `uscc` was stored, searchable and shown in the clear (found by review).
    It is masked in the subject, encrypted in the stored event, found by no USCC lookup; an enterprise
    holding one is flagged with a reason that quotes none of it."""
    from chengxin.adapters import crypto
    from chengxin.exc import NotFound
    from chengxin.services import parties
    from chengxin.services.viewer import ANONYMOUS

    number = "110105198511224567"

    def subject(sid: str, kind: str, uscc: str) -> str:
        data = {"subject_id": sid, "kind": kind, "name": "某某", "uscc": uscc, "region": "110105"}
        if kind == "person":
            data["id_number"] = number
        return json.dumps({"specversion": "1.0", "id": f"e-{sid}", "source": "urn:cx:platform:P1",
                           "type": "cx.subject.registered", "time": "2026-04-01T09:00:00+08:00", "data": data})

    report = ingest_text(app, "\n".join([subject("BU9", "person", number), subject("EN9", "enterprise", number),
                                         subject("EN8", "enterprise", "91310000MA1FL8TQ32")]))
    assert report.accepted == 3
    with read_connection(app.engine) as conn:
        rows = {r.subject_id: r for r in conn.execute(select(t.subjects))}
        stored = " ".join(conn.execute(select(t.events.c.body)).scalars())
        bodies = {s: json.loads(b) for s, b in conn.execute(select(t.events.c.event_id, t.events.c.body))}
    assert number not in stored and number not in " ".join(str(r.uscc) for r in rows.values())
    assert rows["BU9"].uscc == rows["EN9"].uscc == "1101**********4567"
    assert not rows["EN9"].identity_valid and "resident ID number" in rows["EN9"].identity_reason
    assert rows["EN8"].uscc == "91310000MA1FL8TQ32"  # a USCC is kept as sent
    token = bodies["e-EN9"]["data"]["uscc"]
    assert crypto.decrypt_text(app.keys, token, "events.body.uscc|urn:cx:platform:P1|e-EN9") == number
    try:
        parties.find_by_uscc(app, number, ANONYMOUS)
        raise AssertionError("an ID number found a party by USCC")
    except NotFound:
        pass
