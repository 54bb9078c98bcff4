"""A review-opened record's basis as stored: the category's statutes and the officer's, each once (the officer
citing the category's own statute printed it twice: found by review)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain.quality import Finding
from chengxin.services import appeals, lifecycle, review
from chengxin.services.viewer import Viewer

P1 = "urn:cx:platform:P1"
REGULATOR = Viewer("regulator", key_id="k-reg")
RING_S2 = Finding("fake_order_ring", 0.9, {"parties": ((P1, "S2"),), "orders": ((P1, "O2"),)}, {"density": 3.0})


@pytest.mark.parametrize(("officer", "stored"), [
    ("电子商务法 第十七条", "电子商务法 第十七条; 反不正当竞争法 第八条"),
    ("反不正当竞争法 第八条; 沪市监〔2026〕1号", "电子商务法 第十七条; 反不正当竞争法 第八条; 沪市监〔2026〕1号"),
    (None, "电子商务法 第十七条; 反不正当竞争法 第八条"),
])
def test_a_review_records_basis_cites_each_statute_once(sample_app: Chengxin, officer: str | None,
                                                        stored: str) -> None:
    cx = sample_app
    with write_transaction(cx.engine) as conn:
        insert_findings(conn, (RING_S2,), detector="test", run_id="run-b")
    review.publish(cx, "run-b")
    item = review.list_items(cx, REGULATOR, status="open")["items"][0]
    review.decide(cx, item["id"], "confirm", REGULATOR, "checked the orders", officer)
    with read_connection(cx.engine) as conn:
        rec = conn.execute(select(lt.dishonesty_records).where(lt.dishonesty_records.c.origin == "review")).one()
    assert rec.basis == stored and appeals.get_record(cx, rec.id, REGULATOR)["basis"] == stored
    assert lifecycle.review_basis("fake_order_ring", officer) == stored
    with read_connection(cx.engine) as conn:  # the decision's logged `confirmed` record says the same, once
        logged = [orjson.loads(r.payload)["basis"] for r in conn.execute(select(t.credit_records.c.payload).where(
            t.credit_records.c.kind == "confirmed"))]
    assert logged and set(logged) == {stored}
