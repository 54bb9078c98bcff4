"""An event dated later than its receipt, beyond 5 minutes of clock skew, is rejected for its line, naming
`time` (or `data.verified_at`); the lines around it land. A sanction dated 2099 was in force and disclosed
until 2099, a rating from 2099 sat in the 180-day window for 73 years, and the credit log kept both (found by
review). Through the service (its receipt clock set, in one process and in the second process of a bulk
load), `POST /v1/events` and `chengxin ingest --json` (the real clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.cli import run
from tests.e2e.test_api import SAMPLE_LINES, Api, make_api

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app
from chengxin.services import ingest_apart, prepare
from chengxin.services.ingest import ingest, read_lines

P1 = "urn:cx:platform:P1"
SKEW = "(received 2026-11-28T15:53Z; at most 5 minutes of clock skew): an event reports what has happened"


def event(event_id: str, type_: str, time: str, data: dict) -> bytes:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": P1, "type": type_, "time": time,
                       "data": data}, ensure_ascii=False).encode()


FUTURE = [
    event("fut-r", "cx.review.posted", "2099-03-03T10:01:00+08:00", {
        "review_id": "RF", "order_id": "O1", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 1}),
    event("fut-s", "cx.sanction.imposed", "2099-03-03T10:01:00+08:00", {
        "sanction_id": "SF", "subject_id": "M1", "kind": "platform_measure", "authority": "P1",
        "decision_no": "F-1", "legal_basis": "x", "category": "counterfeit"}),
    event("fut-v", "cx.subject.registered", "2026-11-28T23:50:00+08:00", {  # 15:50Z: time is fine
        "subject_id": "UF", "kind": "enterprise", "name": "未来公司", "uscc": "91310104MA1FL8XQ36",
        "region": "310104", "verified_at": "2098-12-31T10:00:00+08:00"}),
]
REASONS = [f"time 2099-03-03T10:01:00+08:00 is in the future {SKEW}",
           f"time 2099-03-03T10:01:00+08:00 is in the future {SKEW}",
           f"data.verified_at 2098-12-31T10:00:00+08:00 is in the future {SKEW}"]
SOON = event("soon", "cx.order.completed", "2026-11-29T00:00:00+08:00", {"order_id": "O1"})  # 16:00Z: 7 min
JUST = event("just", "cx.order.completed", "2026-11-28T23:57:59+08:00", {"order_id": "O1"})  # 4 min 59 s
RECEIVED = "2026-11-28T15:53:00.000000Z"
OWN = [x for x in SAMPLE_LINES if json.loads(x)["source"] == P1]


def stored(cx: Chengxin) -> set[str]:
    with read_connection(cx.engine) as conn:
        return set(conn.execute(select(t.events.c.event_id)).scalars())


@pytest.fixture
def received(monkeypatch) -> str:
    monkeypatch.setattr(prepare, "received_now", lambda: RECEIVED)
    return RECEIVED


@pytest.mark.parametrize("apart", [False, True])
def test_the_service_rejects_what_is_dated_after_its_receipt(app: Chengxin, monkeypatch, received, apart) -> None:
    if apart:
        monkeypatch.setattr(ingest_apart, "APART_FROM", 0)  # the second process judges by the parent's receipt
    lines = [*OWN[:3], *FUTURE, SOON, JUST, *OWN[3:]]
    report = ingest(app, read_lines("future.jsonl", lines), origin="future.jsonl", expected_lines=len(lines))
    assert [(r["line"], r["reason"]) for r in report.rejects] == [
        *((4 + k, why) for k, why in enumerate(REASONS)),
        (7, f"time 2026-11-29T00:00:00+08:00 is in the future {SKEW}")]
    assert report.accepted == len(OWN) + 1 and {"just"} <= stored(app)
    assert not stored(app) & {"fut-r", "fut-s", "fut-v", "soon"}


def test_a_clock_set_later_takes_the_same_lines(app: Chengxin, monkeypatch) -> None:
    """The check is against the receipt, not a fixed date: received in 2099, the same lines are history."""
    monkeypatch.setattr(prepare, "received_now", lambda: "2099-03-04T00:00:00.000000Z")
    report = ingest(app, read_lines("later.jsonl", [*OWN, *FUTURE]), origin="later.jsonl")
    assert (report.accepted, report.rejected) == (len(OWN) + 3, 0)


@pytest.fixture
def node(app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


def test_the_api_rejects_them_by_line(node: Api, received) -> None:
    report = node.post_events("p1", [*OWN[:2], *FUTURE, *OWN[2:]])
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == [(3 + k, why) for k, why in enumerate(REASONS)]
    assert report["accepted"] == len(OWN)
    assert not stored(node.cx) & {"fut-r", "fut-s", "fut-v"}


def test_the_cli_rejects_them_by_line(env, tmp_path) -> None:
    feed = tmp_path / "future.jsonl"
    feed.write_bytes(b"\n".join([*SAMPLE_LINES, *FUTURE[:2]]) + b"\n")
    out = json.loads(run(env, "ingest", str(feed), "--json").stdout)
    assert (out["accepted"], out["rejected"]) == (48, 2)
    assert all(r["reason"].startswith("time 2099-03-03T10:01:00+08:00 is in the future (received ")
               for r in out["rejects"])
