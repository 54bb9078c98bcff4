"""A repair is granted only with the party's repair commitment on file, on every storage backend: a published
`repair-commitment-v1` commitment of the record's party, signed since the record and in force on the day. It
was a box the filer ticked, and a repair was granted with no commitment anywhere (found by review)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import ingest_text

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.services import appeals, commitments, lifecycle, lists, review
from chengxin.services.lifecycle import Conflict
from chengxin.services.viewer import Viewer

P1, REG = "urn:cx:platform:P1", "urn:cx:regulator:310000"
REGULATOR, PLATFORM1 = Viewer("regulator", key_id="k-reg"), Viewer("platform", P1, "k-p1")
RING_S2 = Finding("fake_order_ring", 0.9, {"parties": ((P1, "S2"),), "orders": ((P1, "O2"),)}, {"density": 3.0})
DECLARED = {"penalty_fulfilled": True, "harm_removed": True, "repair_commitment": True}


def published_before_the_record(cx: Chengxin) -> None:
    event = {"specversion": "1.0", "id": "rc-old", "source": P1, "type": "cx.commitment.published",
             "time": "2026-11-01T09:00:00+08:00", "data": {"commitment_id": "RC0", "subject_id": "M2",
                                                          "template": "repair-commitment-v1", "clauses": ["旧承诺"]}}
    assert ingest_text(cx, json.dumps(event, ensure_ascii=False)).accepted == 1


WRONG: dict[str, Callable[[Chengxin], Any]] = {
    "none": lambda cx: None,
    "another template": lambda cx: commitments.publish(cx, PLATFORM1, "M2", "merchant-standard-v1"),
    "signed before the record": published_before_the_record,
    "no longer in force": lambda cx: commitments.publish(
        cx, PLATFORM1, "M2", "repair-commitment-v1", valid_until=(datetime.now(UTC) + timedelta(days=30)).date()),
    "another party's": lambda cx: commitments.publish(cx, PLATFORM1, "M1", "repair-commitment-v1"),
}


@pytest.fixture
def repairable(sample_app: Chengxin) -> tuple[Chengxin, int, datetime]:
    """S2's fake-order record, a repair application declaring every condition met, and a day it may be granted."""
    cx = sample_app
    lists.drain(cx)
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (RING_S2,), detector="test", run_id="run-rc")
    review.publish(cx, "run-rc")
    item = review.list_items(cx, REGULATOR, status="open")["items"][0]
    review.decide(cx, item["id"], "confirm", REGULATOR, "checked the orders", None)
    with read_connection(cx.engine) as conn:
        rec = conn.execute(select(lt.dishonesty_records).where(lt.dishonesty_records.c.origin == "review")).one()
    later = lifecycle.parse_time(rec.confirmed_at) + timedelta(days=366)
    filed = appeals.file_application(cx, rec.id, "repair", PLATFORM1, "corrected; fine paid", DECLARED, now=later)
    return cx, int(filed["application"]["id"]), later


@pytest.mark.parametrize("commitment", list(WRONG))
def test_no_repair_without_a_repair_commitment_on_file(repairable: tuple[Chengxin, int, datetime],
                                                       commitment: str) -> None:
    cx, application, later = repairable
    WRONG[commitment](cx)
    with pytest.raises(Conflict, match=r"^repair cannot be granted: repair commitment not on file: no "
                                       r"repair-commitment-v1 commitment of the party published since the record "
                                       r"was confirmed and in force$"):
        appeals.decide_application(cx, application, REGULATOR, "grant", "conditions met", now=later)
    refused = appeals.decide_application(cx, application, REGULATOR, "refuse", "no commitment", now=later)
    assert refused["application"]["check"]["unmet"][0].startswith("repair commitment not on file")


@pytest.mark.parametrize(("viewer", "subject", "source"), [(PLATFORM1, "M2", None), (REGULATOR, "E-M2", REG)],
                         ids=["the-reporting-platforms", "another-report-of-the-same-party"])
def test_a_repair_commitment_of_the_party_lets_the_repair_be_granted(
        repairable: tuple[Chengxin, int, datetime], viewer: Viewer, subject: str, source: str | None) -> None:
    cx, application, later = repairable
    published = commitments.publish(cx, viewer, subject, "repair-commitment-v1", source=source)
    assert published["commitment"]["type"] == "repair"
    done = appeals.decide_application(cx, application, REGULATOR, "grant", "conditions met", now=later)
    assert done["record"]["state"] == "repaired" and done["application"]["check"]["eligible"]
    assert appeals.get_record(cx, done["record"]["id"], REGULATOR)["state"] == "repaired"
