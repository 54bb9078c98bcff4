"""Control characters on every storage backend: an id, source, reference, code or name holding one is rejected
as its own line, naming the field and the code point, while the lines around it land. Stored keys join a source
and an id with U+001F (services/lifecycle.py, columnar.py): such an id was stored, and two entities could make one
key. Free text keeps its line breaks and tabs, stored as sent. A "|" in a source (a URI has none) is refused the
same way: stored keys join a source and what follows it with "|" (event_fields.source_character)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import SAMPLE, ingest_file

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import bootstrap
from chengxin.services import ingest_apart

GOOD = [x for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
SECRET = "13812345678"  # a value is never echoed: it may be personal data


def sample_event(event_type: str) -> dict[str, Any]:
    return json.loads(next(x for x in GOOD if f'"{event_type}"' in x))


def with_bad(bad: dict[str, Any], at: int, *, ascii_only: bool = False) -> list[str]:
    """The sample with `bad` as line `at` (counting from 1)."""
    return [*GOOD[:at - 1], json.dumps(bad, ensure_ascii=ascii_only), *GOOD[at - 1:]]


def bad_id() -> dict[str, Any]:  # the defect's own case: source "…a" + id "b\x1fc" (one key with "…a\x1fb" + "c")
    return {**sample_event("cx.order.completed"), "id": "b\x1fc"}


def bad_order_id() -> dict[str, Any]:
    e = sample_event("cx.order.placed")
    return {**e, "id": "e-ctrl-order", "data": {**e["data"], "order_id": SECRET + "\x1f"}}


def bad_ref_source() -> dict[str, Any]:
    e = sample_event("cx.complaint.filed")
    target = {"source": "urn:cx:platform:P1\u2028", "id": "S1"}
    return {**e, "id": "e-ctrl-ref", "data": {**e["data"], "complaint_id": "C-ctrl", "target_id": target}}


def bad_uscc() -> dict[str, Any]:
    e = sample_event("cx.subject.registered")
    return {**e, "id": "e-ctrl-uscc", "data": {**e["data"], "subject_id": "M-ctrl", "uscc": "9131\x85" + SECRET}}


def bad_shop_name() -> dict[str, Any]:
    e = sample_event("cx.shop.opened")
    return {**e, "id": "e-ctrl-name", "data": {**e["data"], "shop_id": "S-ctrl", "name": "示例\n店"}}


def pipe_source() -> dict[str, Any]:  # "…P1|x" + id "e-1" made one key with "…P1" + id "x|e-1" (events.ord)
    return {**sample_event("cx.order.completed"), "source": "urn:cx:platform:P1|x"}


def pipe_ref_source() -> dict[str, Any]:
    e = sample_event("cx.complaint.filed")
    target = {"source": "urn:cx:platform:P1|S", "id": "1"}  # one local key with ("urn:cx:platform:P1", "S|1")
    return {**e, "id": "e-pipe-ref", "data": {**e["data"], "complaint_id": "C-pipe", "target_id": target}}


PIPE = ": '|' at position 19: a source is a URI, which has none (write it %7C)"
CASES = {
    "pipe in source": (pipe_source, "source" + PIPE),
    "pipe in reference source": (pipe_ref_source, "data.target_id.source" + PIPE),
    "id": (bad_id, "id: control character U+001F at position 2"),
    "order_id": (bad_order_id, "data.order_id: control character U+001F at position 12"),
    "reference source": (bad_ref_source, "data.target_id.source: control character U+2028 at position 19"),
    "uscc": (bad_uscc, "data.uscc: control character U+0085 at position 5"),
    "shop name": (bad_shop_name, "data.name: control character U+000A at position 3"),
}


def count(cx, table) -> int:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("ascii_only", [False, True], ids=["raw", "escaped"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_control_character_is_rejected_by_its_line_and_the_rest_lands(app, tmp_path, case, ascii_only):
    make, reason = CASES[case]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(with_bad(make(), 21, ascii_only=ascii_only)) + "\n", encoding="utf-8")
    report = ingest_file(app, path)
    assert (report.accepted, report.rejected, report.conflicts) == (48, 1, 0)
    assert report.rejects == [{"file": "feed.jsonl", "line": 21, "reason": reason}]
    assert count(app, t.events) == 48
    with read_connection(app.engine) as conn:
        problems = conn.execute(select(t.ingest_problems.c.line, t.ingest_problems.c.reason)).all()
    assert [tuple(p) for p in problems] == [(21, reason)]
    assert SECRET not in reason
    again = ingest_file(app, path)  # re-sending: the good lines are duplicates, the bad one rejected again
    assert (again.accepted, again.duplicates, again.rejected) == (0, 48, 1)
    assert count(app, t.events) == 48


def test_a_bulk_load_in_a_second_process_rejects_it_too(backend, settings, monkeypatch):
    """`chengxin ingest` of a large file prepares its batches in a second process: the same validator."""
    from chengxin.services.ingest import ingest, read_lines

    monkeypatch.setattr(ingest_apart, "APART_FROM", 0)  # a second process whatever the size
    cx = bootstrap(settings.model_copy(update={"ingest_processes": 2, "batch_size": 7}))
    try:
        lines = with_bad(bad_order_id(), 30)
        report = ingest(cx, read_lines("bulk.jsonl", [x.encode() for x in lines]), origin="bulk.jsonl",
                        expected_lines=len(lines))
        assert (report.accepted, report.rejected) == (48, 1)
        assert report.rejects == [{"file": "bulk.jsonl", "line": 30, "reason": CASES["order_id"][1]}]
        assert count(cx, t.events) == 48
    finally:
        cx.engine.dispose()


def test_free_text_with_line_breaks_is_stored_as_sent(app, tmp_path):
    """A review and a complaint with lines and a tab land, their text kept as sent."""
    review, complaint = sample_event("cx.review.posted"), sample_event("cx.complaint.filed")
    text = "A款质量很好\n物流也快\r\n\t推荐"
    changed = {review["id"]: json.dumps({**review, "data": {**review["data"], "text": text}}, ensure_ascii=False),
               complaint["id"]: json.dumps({**complaint, "data": {**complaint["data"], "text": text}})}
    lines = [changed.get(json.loads(x)["id"], x) for x in GOOD]
    path = tmp_path / "texts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_file(app, path)
    assert (report.accepted, report.rejected, report.conflicts) == (48, 0, 0), report.rejects
    with read_connection(app.engine) as conn:
        stored = conn.execute(select(t.reviews.c.text).where(t.reviews.c.review_id == review["data"]["review_id"]))
        assert stored.scalar_one() == text
