"""A bulk load prepared in a second process stores exactly what one process stores, on every backend."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tests.conftest import SAMPLE, SAMPLE_BAD, make_database
from tests.integration.test_order_independence import EXTRA, snapshot

from chengxin.adapters.db import findings as fd
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import bootstrap
from chengxin.services import ingest_apart
from chengxin.services.ingest import commit_many, ingest, read_lines
from chengxin.services.prepare import PreparedBatch, assemble, prepare
from chengxin.settings import Settings

GOOD = [x for x in SAMPLE.read_text(encoding="utf-8").splitlines() if x.strip()]
BAD = [x for x in SAMPLE_BAD.read_text(encoding="utf-8").splitlines() if x.strip()]
CHANGED = next(json.loads(x) for x in GOOD if '"cx.subject.registered"' in x)
CHANGED["data"]["name"] += "（改）"
CONFLICT = json.dumps(CHANGED, ensure_ascii=False)
# good lines, bad lines between them, every good line again (duplicates) and one changed copy (a conflict)
LINES = [*GOOD[:20], *BAD, *GOOD[20:], *EXTRA, *GOOD, CONFLICT]


def load(backend, tmp, tpl, pg_tpl, processes: int) -> tuple[dict, dict]:
    """Load LINES into a fresh store (the keys shared by every store under tmp's parent), leaving what the
    load queued in its queues."""
    url, cleanup = make_database(backend, tmp, tpl, pg_tpl)
    cx = bootstrap(Settings(database_url=url, keys_file=tmp.parent / "keys.json", batch_size=7,
                            ingest_processes=processes))
    try:
        report = ingest(cx, read_lines("mixed.jsonl", [x.encode() for x in LINES]), origin="mixed.jsonl",
                        expected_lines=len(LINES), defer=True)
        return report.as_dict(), {**snapshot(cx), **stored_in_order(cx)}
    finally:
        cx.engine.dispose()
        cleanup()  # type: ignore[operator]


def stored_in_order(cx) -> dict[str, list]:
    """The credit log in log order, leaf hashes included; the queues; what each batch held."""
    cr, b = t.credit_records.c, t.ingest_batches.c
    with read_connection(cx.engine) as conn:
        return {
            "log": [tuple(r) for r in conn.execute(select(cr.idx, cr.event_source, cr.event_id, cr.leaf_hash)
                                                    .order_by(cr.idx))],
            "queues": [sorted(tuple(r) for r in conn.execute(select(*(c for c in q.columns if c.name != "marked_at"))))
                       for q in (st.scoring_queue, fd.live_queue, fd.live_price_queue, lt.list_queue)],
            "batches": sorted(tuple(r) for r in conn.execute(
                select(b.accepted, b.duplicates, b.conflicts, b.rejected))),
        }


def spy(monkeypatch, method: str) -> list[tuple]:
    """Record (last argument, result) of each call of `ingest_apart._Worker.<method>`."""
    calls, real = [], getattr(ingest_apart._Worker, method)

    def recorded(worker, *args):
        out = real(worker, *args)
        calls.append((args[-1], out))
        return out

    monkeypatch.setattr(ingest_apart._Worker, method, recorded)
    return calls


def test_two_processes_store_what_one_stores(backend, tmp_path, sqlite_template, pg_template, monkeypatch):
    monkeypatch.setattr(ingest_apart, "APART_FROM", 0)  # a second process whatever the size
    spawned, spawn = [], ingest_apart.child.spawn
    monkeypatch.setattr(ingest_apart.child, "spawn", lambda *a, **kw: spawned.append(a) or spawn(*a, **kw))
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    report_one, state_one = load(backend, tmp_path / "one", sqlite_template, pg_template, 1)
    assert spawned == []
    again = spy(monkeypatch, "_again")  # batches of new and old events: the lines of the new prepared again here
    here = spy(monkeypatch, "_here")  # batches prepared here while the child was busy (None: the input ended)
    answered = spy(monkeypatch, "_answer")  # batches the child prepared
    report_two, state_two = load(backend, tmp_path / "two", sqlite_template, pg_template, 2)
    assert spawned == [("chengxin.services.ingest_apart", "_serve")]
    # a batch of new and old events has the lines of its new ones prepared again here, only those; a batch
    # of new events only, or of old only, is stored as the child sent it
    batches = state_one["batches"]
    mixed = sum(1 for new, dup, conflicts, _ in batches if new and dup + conflicts)
    # (at most: a mixed batch the parent prepared itself, while the child was busy, needs nothing again; how
    # many it takes depends on the machine's load, and a busy CI machine took one: `==` failed there)
    assert mixed > 0 and len(again) <= mixed
    assert any(not new and dup for new, dup, _, _ in batches) and any(new and not dup for new, dup, _, _ in batches)
    assert all(0 < len(places) == len(items) < 7 for places, items in again)
    here = [x for x in here if x[1] is not None]
    assert here and answered  # here: the first batches at least, while the child starts
    assert len(here) + len(answered) == -(-len(LINES) // 7)
    assert report_one["accepted"] == len(GOOD) + len(EXTRA)
    assert report_one["duplicates"] >= len(GOOD) - 1 and report_one["conflicts"] >= 1
    assert report_one["rejected"] > 0
    assert report_two == report_one  # rejects named by the same lines, in the same order
    assert state_two == state_one


def test_an_input_of_unknown_length_stays_in_one_process(app, monkeypatch):
    """stdin: a stream is stored batch by batch as it comes, not held back until the second process pays."""
    monkeypatch.setattr(ingest_apart, "APART_FROM", 0)
    spawned, spawn = [], ingest_apart.child.spawn
    monkeypatch.setattr(ingest_apart.child, "spawn", lambda *a, **kw: spawned.append(a) or spawn(*a, **kw))
    report = ingest(app, read_lines("<stdin>", [x.encode() for x in GOOD]), origin="<stdin>", expected_lines=None)
    assert report.accepted == len(GOOD) and spawned == []


def test_the_hand_off_keeps_every_field(app):
    full = prepare(app, list(read_lines("mixed.jsonl", [x.encode() for x in LINES])))
    batch = PreparedBatch(full.rejects, [], assemble(full.items))
    kind, payload = ingest_apart._encode(len(LINES), batch)
    assert kind == b"m"
    assert ingest_apart._decode(kind, payload) == (len(LINES), batch)


def test_a_value_marshal_cannot_carry_goes_pickled(app):
    full = prepare(app, list(read_lines("x", [x.encode() for x in GOOD[:5]])))
    batch = PreparedBatch(full.rejects, [], assemble(full.items))
    batch.rows.events[0] = (*batch.rows.events[0][:-1], Decimal("12.50"))  # marshal refuses a Decimal
    kind, payload = ingest_apart._encode(5, batch)
    assert kind == b"p"
    assert ingest_apart._decode(kind, payload) == (5, batch)


def test_a_second_process_that_dies_fails_the_load_and_stores_nothing(app, monkeypatch):
    monkeypatch.setattr(ingest_apart, "APART_FROM", 0)
    spawn = ingest_apart.child.spawn
    # a child that ends at once, answering nothing
    monkeypatch.setattr(ingest_apart.child, "spawn", lambda module, function, **kw: spawn("sys", "exit", **kw))
    with pytest.raises(RuntimeError, match="second process ended"):
        ingest(app, read_lines("x", [x.encode() for x in GOOD]), origin="x", expected_lines=len(GOOD))
    with read_connection(app.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.events)).scalar() == 0


def test_a_second_process_that_stops_reading_fails_the_load(app, monkeypatch):
    """A child that reads a little and ends without an answer, while batches wait for room to be sent."""
    monkeypatch.setattr(ingest_apart, "APART_FROM", 0)
    monkeypatch.setattr(app, "settings", app.settings.model_copy(update={"batch_size": 3}))
    spawn = ingest_apart.child.spawn
    monkeypatch.setattr(ingest_apart.child, "spawn", lambda module, function, **kw: spawn("builtins", "input", **kw))
    raised: list[BaseException] = []

    def load() -> None:
        try:
            ingest(app, read_lines("x", [x.encode() for x in GOOD * 3]), origin="x", expected_lines=3 * len(GOOD))
        except BaseException as e:
            raised.append(e)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(timeout=60)
    assert not loader.is_alive(), "the load hangs when its second process stops reading"
    assert len(raised) == 1 and isinstance(raised[0], RuntimeError)
    assert "second process ended with 0 after answering 0" in str(raised[0])


def test_batches_of_rows_in_one_transaction_see_each_other(app):
    """Group commit of batches the child assembled: the second repeats half the first, so it is stored in
    part, its new lines prepared again; the first is stored as it came."""
    lines = list(read_lines("x", [x.encode() for x in GOOD]))
    first, second = lines[:10], lines[5:15]
    redone: list[set] = []

    def rowed(part):
        full = prepare(app, part)

        def again(places):
            redone.append(places)
            return prepare(app, [x for x in part if (x[0], x[1]) in places]).items

        return PreparedBatch(full.rejects, [], assemble(full.items), again=again)

    one, two = commit_many(app, [(rowed(first), "x", "t"), (rowed(second), "x", "t")])
    assert (one.accepted, one.duplicates, two.accepted, two.duplicates) == (10, 0, 5, 5)
    assert redone == [{("x", n) for _, n, _ in lines[10:15]}]
    with read_connection(app.engine) as conn:
        stored = set(conn.execute(select(t.events.c.source, t.events.c.event_id)))
    assert stored == {(e["source"], e["id"]) for e in map(json.loads, GOOD[:15])}
