"""Length limits through every door: `POST /v1/events` and `chengxin ingest` (its report, `--json`, `--rejects`)
reject a line with an over-long id, source or reference by its line number, naming the field and the limit,
and store the lines around it, on either database (on PostgreSQL the whole request or load failed)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.e2e.cli import run
from tests.e2e.test_api import SAMPLE_LINES, Api, make_api
from tests.integration.test_ingest_lengths import CASES, over_long_id, over_long_order_id, wide

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.app import create_app

L = event_vocabulary().lengths


@pytest.fixture
def node(app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


def stored(cx: Chengxin) -> int:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(func.count()).select_from(t.events)).scalar_one()


def test_the_api_rejects_the_over_long_line_and_stores_the_rest(node: Api) -> None:
    body = [*SAMPLE_LINES[:10], json.dumps(over_long_order_id(), ensure_ascii=False).encode(), *SAMPLE_LINES[10:]]
    report = node.post_events("senders", body)
    assert (report["accepted"], report["rejected"]) == (48, 1)
    assert report["rejects"] == [{"file": "request", "line": 11, "reason": CASES["order_id"][1]}]
    assert stored(node.cx) == 48
    again = node.post_events("senders", body)  # re-sent: a no-op for the good lines
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 48, 1)


def test_a_platform_key_gets_the_length_reason_before_the_source_one(node: Api) -> None:
    """A platform's over-long source is refused for its length (it is no source the key reports as either)."""
    mine = json.loads(SAMPLE_LINES[0])
    long_source = {**mine, "id": "e-src", "source": "urn:cx:platform:" + wide(300, "p1")}
    report = node.post_events("p1", [SAMPLE_LINES[0], json.dumps(long_source, ensure_ascii=False).encode()])
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["rejects"] == [{"file": "request", "line": 2,
                                  "reason": f"source: 316 characters, at most {L['source']}"}]


def test_the_cli_reports_it_in_json_and_in_the_rejects_file(env, tmp_path) -> None:
    feed, rejects = tmp_path / "feed.jsonl", tmp_path / "rejects.jsonl"
    lines = [x.decode() for x in SAMPLE_LINES]
    feed.write_text("\n".join([*lines[:4], json.dumps(over_long_id(), ensure_ascii=False), *lines[4:]]) + "\n",
                    encoding="utf-8")
    out = json.loads(run(env, "ingest", str(feed), "--rejects", str(rejects), "--json").stdout)
    assert (out["accepted"], out["rejected"]) == (48, 1)
    assert [(r["line"], r["reason"]) for r in out["rejects"]] == [(5, CASES["id"][1])]
    written = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["line"], r["reason"]) for r in written] == [(5, CASES["id"][1])]
    strict = run(env, "ingest", str(feed), "--strict", "--json", check=False)
    assert strict.returncode == 65 and json.loads(strict.stdout)["duplicates"] == 48
