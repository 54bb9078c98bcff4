"""Ingestion fixes found by review, on every storage backend: each test fails without its fix."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from tests.conftest import ingest_text, make_database
from tests.unit.test_ingest_fixes import EXTRA_VALUES, VOCAB, _extras, example_data, example_line

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.settings import Settings


def state(cx: Chengxin) -> dict[str, list[tuple[object, ...]]]:
    """Every projected row (the encrypted ID number aside: a fresh nonce each time)."""
    out = {}
    with read_connection(cx.engine) as conn:
        for table in [*t.STATE_TABLES.values(), *t.APPEND_TABLES.values()]:
            cols = [c for c in table.columns if c.name != "id_cipher"]
            out[table.name] = sorted(tuple(r) for r in conn.execute(select(*cols)))
    return out


def _load(tmp: Path, tpl: Path, pg_tpl: str | None, backend: str, text: str) -> dict[str, list[tuple[object, ...]]]:
    url, cleanup = make_database(backend, tmp, tpl, pg_tpl)
    cx = bootstrap(Settings(database_url=url, keys_file=tmp.parent / "keys.json", batch_size=1000))
    try:
        report = ingest_text(cx, text)
        assert (report.rejected, report.conflicts) == (0, 0), report.as_dict()
        return state(cx)
    finally:
        cx.engine.dispose()
        cleanup()  # type: ignore[operator]


def test_undeclared_fields_of_every_type_never_reach_a_column(backend, tmp_path, sqlite_template, pg_template):
    """An extra field (allowed by events-v1) of any value, on any type, is stored in the raw event only: the
    batch lands whole (a `"status": null` on a delivery raised NOT NULL and lost the batch for ever) and the
    projected state is that of the same events without it."""
    names = sorted(VOCAB.types)

    def lines(value: object = None, extra: bool = False) -> str:
        out = []
        for i, name in enumerate(names):
            etype = VOCAB.types[name]
            data = example_data(etype, optional=True)
            if extra:
                data = {**data, **_extras(etype, value)}
            out.append(json.dumps(example_line(name, data, f"e-{i}"), ensure_ascii=False))
        return "\n".join(out)

    (tmp_path / "plain").mkdir()
    reference = _load(tmp_path / "plain", sqlite_template, pg_template, backend, lines())
    assert reference["shipment_scans"] and reference["order_updates"]
    for i, value in enumerate(EXTRA_VALUES):
        (tmp_path / str(i)).mkdir()
        assert _load(tmp_path / str(i), sqlite_template, pg_template, backend, lines(value, True)) == reference


# --- 3. a party's and a shop's age: the earliest report, whatever re-sent it later ---

P1 = "urn:cx:platform:P1"
REG = [  # /tmp/review-ingest reg1.jsonl then reg2.jsonl: registered 2023, re-sent in 2026 to add verified_at
    '{"specversion":"1.0","id":"r-1","source":"urn:cx:platform:P1","type":"cx.subject.registered",'
    '"time":"2023-01-03T09:00:00+08:00","data":{"subject_id":"M1","kind":"enterprise","name":"上海示例食品有限公司",'
    '"uscc":"91310104MA1FL8XQ36","region":"310104"}}',
    '{"specversion":"1.0","id":"r-2","source":"urn:cx:platform:P1","type":"cx.shop.opened",'
    '"time":"2023-01-04T09:00:00+08:00","data":{"shop_id":"S1","operator_id":"M1","name":"示例食品店",'
    '"url":"https://s1.shop.example","categories":["food"]}}',
    '{"specversion":"1.0","id":"r-3","source":"urn:cx:platform:P1","type":"cx.subject.registered",'
    '"time":"2026-11-20T09:00:00+08:00","data":{"subject_id":"M1","kind":"enterprise","name":"上海示例食品有限公司",'
    '"uscc":"91310104MA1FL8XQ36","region":"310104","verified_at":"2026-11-20T09:00:00+08:00"}}',
    '{"specversion":"1.0","id":"r-4","source":"urn:cx:platform:P1","type":"cx.shop.opened",'
    '"time":"2026-11-20T09:00:00+08:00","data":{"shop_id":"S1","operator_id":"M1","name":"示例食品旗舰店",'
    '"url":"https://s1.shop.example","categories":["food","drug"]}}',
]


def _ages(cx: Chengxin) -> tuple[object, ...]:
    with read_connection(cx.engine) as conn:
        s = conn.execute(select(t.subjects.c.registered_at, t.subjects.c.verified_at, t.subjects.c.ord)).one()
        shop = conn.execute(select(t.shops.c.opened_at, t.shops.c.name, t.shops.c.categories, t.shops.c.ord)).one()
    return (*s, *shop)


def test_a_resent_registration_or_shop_keeps_the_first_time(backend, tmp_path, sqlite_template, pg_template,
                                                            monkeypatch):
    """registered_at and opened_at are the earliest report's time (LEAST of old and new), whatever the order
    and split, and whether PostgreSQL writes by COPY or by statements; the rest is the latest report's."""
    from chengxin.adapters.db import bulk

    want = ("2023-01-03T01:00:00.000000Z", "2026-11-20T01:00:00.000000Z", f"2026-11-20T01:00:00.000000Z|{P1}|r-3",
            "2023-01-04T01:00:00.000000Z", "示例食品旗舰店", '["food","drug"]', f"2026-11-20T01:00:00.000000Z|{P1}|r-4")
    old, new = REG[:2], REG[2:]
    for i, (batches, copy_from) in enumerate([
            ([old, new], 64), ([new, old], 64), ([old + new], 64), ([new + old], 64), ([new, old], 1),
            ([[REG[3], REG[0]], [REG[2], REG[1]]], 1)]):
        monkeypatch.setattr(bulk, "COPY_FROM", copy_from)  # 1: PostgreSQL through its staging tables
        (tmp_path / str(i)).mkdir()
        url, cleanup = make_database(backend, tmp_path / str(i), sqlite_template, pg_template)
        cx = bootstrap(Settings(database_url=url, keys_file=tmp_path / "keys.json", batch_size=1000))
        try:
            for batch in batches:
                assert ingest_text(cx, "\n".join(batch)).accepted == len(batch)
            assert _ages(cx) == want, batches
        finally:
            cx.engine.dispose()
            cleanup()  # type: ignore[operator]


# --- 4. a shop re-opened after its closure is open ---

def _opened(event_id: str, time: str, name: str = "示例日用小店") -> str:
    return json.dumps({"specversion": "1.0", "id": event_id, "source": P1, "type": "cx.shop.opened", "time": time,
                       "data": {"shop_id": "S2", "operator_id": "M2", "name": name, "url": "https://s2.shop.example",
                                "categories": ["daily_goods"]}}, ensure_ascii=False)


def _closed_where_shown(cx: Chengxin) -> tuple[object, object, object]:
    from chengxin.services import parties
    from chengxin.services.viewer import ANONYMOUS

    shop = parties.show(cx, P1, "S2", ANONYMOUS)["closed"]
    party = next(s["closed_at"] for s in parties.show(cx, P1, "M2", ANONYMOUS)["shops"] if s["id"] == "S2")
    found = next(s["closed_at"] for s in parties.search_shops(cx, "s2.shop.example") if s["id"] == "S2")
    return shop, party, found


def test_a_shop_reopened_after_its_closure_is_open(sample_app):
    """The sample closes S2 on 2026-10-01; its platform opens it again on 2026-11-01 (reopen.jsonl). An opening
    re-sent with an earlier time (a rename dated 2026-09-01) does not undo the closure."""
    closed = _closed_where_shown(sample_app)
    assert closed[0] == {"at": "2026-09-30T16:00:00.000000Z", "reason": "operator request"}
    assert closed[1:] == ("2026-09-30T16:00:00.000000Z",) * 2
    assert ingest_text(sample_app, _opened("ro-0", "2026-09-01T09:00:00+08:00", "改名小店")).accepted == 1
    assert _closed_where_shown(sample_app) == closed
    assert ingest_text(sample_app, _opened("ro-1", "2026-11-01T09:00:00+08:00")).accepted == 1
    assert _closed_where_shown(sample_app) == (None, None, None)
