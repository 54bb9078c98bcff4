"""Length limits on every storage backend: one over-long string is rejected as its own line while the lines
around it land (on PostgreSQL it failed the whole load: "index row size ... exceeds btree version 4 maximum
2704"), and every field of every type at its limit, in 4-byte characters, is stored and rebuilt."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import SAMPLE, ingest_file

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import bootstrap
from chengxin.services import ingest_apart, scoring, standing_ledger

VOCAB = event_vocabulary()
L = VOCAB.lengths
GOOD = [x for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
WIDE = (0x20000, 0x2A6DF)  # CJK Extension B: 4 bytes each in UTF-8


def wide(n: int, seed: str) -> str:
    """n characters of 4 bytes each, different for each seed and hard to compress (PostgreSQL compresses a long
    index value that repeats itself, which would hide the limit)."""
    rnd = random.Random(seed)
    return "".join(chr(rnd.randint(*WIDE)) for _ in range(n))


def with_bad(bad: dict[str, Any], at: int) -> list[str]:
    """The sample with `bad` as line `at` (counting from 1)."""
    return [*GOOD[:at - 1], json.dumps(bad, ensure_ascii=False), *GOOD[at - 1:]]


def sample_event(event_type: str) -> dict[str, Any]:
    return json.loads(next(x for x in GOOD if f'"{event_type}"' in x))


def over_long_id() -> dict[str, Any]:
    e = sample_event("cx.order.completed")
    return {**e, "id": "e-" + wide(1000, "id")}  # 1,002 characters, 4,002 bytes


def over_long_order_id() -> dict[str, Any]:
    e = sample_event("cx.order.placed")
    rnd = random.Random("order")
    order_id = "O-" + "".join(rnd.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(2998))
    return {**e, "id": "e-long-order", "data": {**e["data"], "order_id": order_id}}


def over_long_ref_source() -> dict[str, Any]:
    e = sample_event("cx.complaint.filed")
    target = {"source": "urn:cx:platform:" + wide(3000, "source"), "id": "S1"}
    return {**e, "id": "e-long-ref", "data": {**e["data"], "complaint_id": "C-long", "target_id": target}}


def over_long_shop_name() -> dict[str, Any]:
    e = sample_event("cx.shop.opened")
    return {**e, "id": "e-long-name", "data": {**e["data"], "shop_id": "S-long", "name": wide(1000, "name")}}


CASES = {
    "id": (over_long_id, f"id: 1002 characters, at most {L['id']}"),
    "order_id": (over_long_order_id, f"data.order_id: 3000 characters, at most {L['id']}"),
    "reference source": (over_long_ref_source, f"data.target_id.source: 3016 characters, at most {L['source']}"),
    "shop name": (over_long_shop_name, f"data.name: 1000 characters, at most {L['name']}"),
}


def count(cx, table) -> int:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_over_long_string_is_rejected_by_its_line_and_the_rest_lands(app, tmp_path, case):
    make, reason = CASES[case]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(with_bad(make(), 21)) + "\n", encoding="utf-8")
    report = ingest_file(app, path)
    assert (report.accepted, report.rejected, report.conflicts) == (48, 1, 0)
    assert report.rejects == [{"file": "feed.jsonl", "line": 21, "reason": reason}]
    assert count(app, t.events) == 48
    with read_connection(app.engine) as conn:
        problems = conn.execute(select(t.ingest_problems.c.line, t.ingest_problems.c.reason)).all()
    assert [tuple(p) for p in problems] == [(21, reason)]
    again = ingest_file(app, path)  # re-sending: the good lines are duplicates, the bad one rejected again
    assert (again.accepted, again.duplicates, again.rejected) == (0, 48, 1)
    assert count(app, t.events) == 48


def test_a_bulk_load_in_a_second_process_rejects_it_too(backend, settings, monkeypatch):
    """`chengxin ingest` of a large file prepares its batches in a second process: the same validator."""
    from chengxin.services.ingest import ingest, read_lines

    monkeypatch.setattr(ingest_apart, "APART_FROM", 0)  # a second process whatever the size
    cx = bootstrap(settings.model_copy(update={"ingest_processes": 2, "batch_size": 7}))
    try:
        lines = with_bad(over_long_id(), 30)
        report = ingest(cx, read_lines("bulk.jsonl", [x.encode() for x in lines]), origin="bulk.jsonl",
                        expected_lines=len(lines))
        assert (report.accepted, report.rejected) == (48, 1)
        assert report.rejects == [{"file": "bulk.jsonl", "line": 30, "reason": CASES["id"][1]}]
        assert count(cx, t.events) == 48
    finally:
        cx.engine.dispose()


def at_the_limit(obj: dict[str, Any]) -> dict[str, Any]:
    """The event with every string of the format at its length limit, in 4-byte characters: ids, sources and
    references mapped alike wherever they occur (so the references still resolve), a source keeping its
    `urn:cx:<kind>:` (which says what it may send)."""

    def ident(value: str) -> str:
        return wide(L["id"], "id:" + value)

    def source(value: str) -> str:
        prefix = value.rsplit(":", 1)[0] + ":"
        return prefix + wide(L["source"] - len(prefix), "source:" + value)

    def ref(value: Any) -> Any:
        return {"source": source(value["source"]), "id": ident(value["id"])} if isinstance(value, dict) \
            else ident(value)

    data = dict(obj["data"])
    for f in VOCAB.types[obj["type"]].fields:
        value = data.get(f.name)
        if value is None or f.format:  # a GTIN keeps its digits
            continue
        if f.kind == "ref":
            data[f.name] = ref(value)
        elif f.kind == "items":
            data[f.name] = [{**item, "product_id": ref(item["product_id"])} for item in value]
        elif f.kind in ("str", "text"):
            data[f.name] = ident(value) if f.length == "id" else wide(f.max_length or 0, f.name + value)
        elif f.kind == "strs":
            data[f.name] = [ident(v) if f.length == "id" else wide(f.max_length or 0, f.name + v) for v in value]
    return {**obj, "id": ident(obj["id"]), "source": source(obj["source"]), "data": data}


def test_every_string_at_its_limit_is_stored_and_rebuilt(app, tmp_path: Path):
    """The limits fit PostgreSQL's btree in the widest case: every id, source, reference, name, url, code and
    text of the sample at its limit in 4-byte characters (two such (source, id) pairs in one index entry, a
    rating's target and author), stored, settled and rebuilt as `chengxin score` does."""
    events = [at_the_limit(json.loads(x)) for x in GOOD]
    path = tmp_path / "widest.jsonl"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", encoding="utf-8")
    report = ingest_file(app, path)
    assert (report.accepted, report.rejected) == (48, 0), report.rejects[:3]
    points = standing_ledger.rebuild(app)
    scores = scoring.rebuild(app)
    assert points["ratings"] > 0 and scores["parties"] > 0
    shop = next(e for e in events if e["type"] == "cx.shop.opened")
    with read_connection(app.engine) as conn:
        stored = conn.execute(select(t.shops.c.name, t.shops.c.url).where(
            t.shops.c.shop_id == shop["data"]["shop_id"])).one()
        ledger = conn.execute(select(func.count()).select_from(t.metadata.tables["rating_ledger"])).scalar_one()
    assert tuple(stored) == (shop["data"]["name"], shop["data"]["url"])  # kept as sent
    assert len(stored.name.encode()) == 4 * L["name"] and ledger > 0
