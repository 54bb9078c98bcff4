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
