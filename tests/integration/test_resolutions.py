"""Who resolved a complaint and the currencies of complaints and resolutions are projected (they were kept only in
the raw events: found by review), and migration 0015 fills them for a store made before it; a review's image
count is a 64-bit count on both databases."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import select
from tests.conftest import SAMPLE, ingest_file, ingest_text

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import alembic_config, read_connection

P1, HOTLINE = "urn:cx:platform:P1", "urn:cx:hotline:12315"


def _line(n: int, source: str, type_: str, data: dict) -> str:
    return json.dumps({"specversion": "1.0", "id": f"r-{n}", "source": source, "type": type_,
                       "time": "2026-03-02T10:00:00+08:00", "data": data}, ensure_ascii=False)


MORE = "\n".join([
    _line(1, P1, "cx.complaint.filed", {"complaint_id": "CP2", "channel": "platform", "complainant_id": "U2",
                                        "target_id": "S1", "category": "delivery", "amount_claimed": 1200,
                                        "currency": "HKD"}),
    _line(2, P1, "cx.complaint.resolved", {"complaint_id": "CP2", "outcome": "partly_upheld", "compensation": 600,
                                           "currency": "HKD", "resolved_by": {"source": HOTLINE, "id": "H1"}}),
    _line(3, P1, "cx.return.requested", {"return_id": "RT2", "order_id": "O1", "reason": "damaged"}),
    _line(4, P1, "cx.return.resolved", {"return_id": "RT2", "outcome": "refunded", "amount": 100, "currency": "USD"}),
]) + "\n"


def _rows(app) -> dict[str, set[tuple]]:
    with read_connection(app.engine) as conn:
        return {
            "complaints": set(conn.execute(select(t.complaints.c.complaint_id, t.complaints.c.currency))),
            "complaint_resolutions": set(conn.execute(select(
                t.complaint_resolutions.c.complaint_id, t.complaint_resolutions.c.currency,
                t.complaint_resolutions.c.resolved_by_source, t.complaint_resolutions.c.resolved_by_id))),
            "return_resolutions": set(conn.execute(select(t.return_resolutions.c.return_id,
                                                          t.return_resolutions.c.currency))),
        }


EXPECTED = {
    "complaints": {("CP1", None), ("CP2", "HKD"), ("H-2026-0001", None)},
    "complaint_resolutions": {("CP1", None, P1, "PLAT"), ("CP2", "HKD", HOTLINE, "H1")},
    "return_resolutions": {("RT1", None), ("RT2", "USD")},
}


def test_resolved_by_and_currencies_are_projected(app) -> None:
    ingest_file(app, SAMPLE)
    ingest_text(app, MORE)
    assert _rows(app) == EXPECTED
    with read_connection(app.engine) as conn:  # the credit record of the outcome says who decided
        payloads = {r.subject_id: json.loads(r.payload) for r in conn.execute(
            select(t.credit_records).where(t.credit_records.c.kind == "complaint_outcome"))}
    assert payloads["CP1"]["resolved_by"] == [P1, "PLAT"] and "currency" not in payloads["CP1"]
    assert (payloads["CP2"]["resolved_by"], payloads["CP2"]["currency"]) == ([HOTLINE, "H1"], "HKD")


def test_migration_0015_fills_them_from_the_stored_events(app) -> None:
    ingest_file(app, SAMPLE)
    ingest_text(app, MORE)
    with app.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0014")  # the columns go
        command.upgrade(alembic_config(conn), "head")  # and come back, filled from the events
    assert _rows(app) == EXPECTED


def test_a_review_with_billions_of_images_lands(app) -> None:
    """PostgreSQL refused the whole batch: the column was 32-bit while events-v1 allows 64-bit counts."""
    ingest_file(app, SAMPLE)
    review = _line(5, P1, "cx.review.posted", {"review_id": "RV9", "order_id": "O1", "target_id": "S1",
                                               "author_id": "U1", "direction": "buyer_to_seller", "score": 5,
                                               "images": 3_000_000_000})
    assert ingest_text(app, review + "\n").accepted == 1
    with read_connection(app.engine) as conn:
        assert conn.execute(select(t.reviews.c.images).where(t.reviews.c.review_id == "RV9")).scalar_one() == 3 * 10**9
