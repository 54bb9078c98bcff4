"""Lines that are not UTF-8, a byte order mark, a JSON array, an integer beyond 64 bits: each line is answered
for itself, with a reason that says what is wrong, through the service (in one process and with the second
process of a bulk load), `POST /v1/events` and `chengxin ingest --json`; the lines around it are stored (a
non-UTF-8 byte in a known field was a 500 for the whole request and a crashed CLI load: found by review)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.e2e.cli import run
from tests.e2e.test_api import SAMPLE_LINES, Api, make_api

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.resources import event_vocabulary
from chengxin.bootstrap import Chengxin
from chengxin.domain.events import Event, Rejected, parse_line
from chengxin.entrypoints.api.app import create_app
from chengxin.services import ingest_apart
from chengxin.services.ingest import ingest, read_lines

COMPLETED = b'{"specversion":"1.0","id":"lat-1","source":"urn:cx:platform:P1","type":"cx.order.completed",' \
            b'"time":"2026-02-10T20:16:00+08:00","data":{"order_id":"O1"}}'
REVIEW = json.loads(SAMPLE_LINES[24])
# one bad byte in: a known field of data, the envelope, free text (a cut multi-byte character), an unknown field
BAD = [COMPLETED.replace(b'"O1"', b'"O\xe9"'),
       COMPLETED.replace(b'"lat-1"', b'"lat-\xe9"'),
       json.dumps({**REVIEW, "id": "lat-3", "data": {**REVIEW["data"], "text": "caf@"}}).encode()
       .replace(b"@", b"\xc3"),
       COMPLETED.replace(b'"lat-1"', b'"lat-4"').replace(b'}}', b'},"x":"\xff"}')]
BAD_BYTES = [b"\xe9", b"\xe9", b"\xc3", b"\xff"]


def reason(line: bytes, bad: bytes) -> str:
    return f"broken JSON: the line is not valid UTF-8 at byte {line.index(bad) + 1} (0x{bad[0]:02X}): send UTF-8 text"


EXPECTED = [(5 + k, reason(line, bad)) for k, (line, bad) in enumerate(zip(BAD, BAD_BYTES, strict=True))]
MIXED = [*SAMPLE_LINES[:4], *BAD, *SAMPLE_LINES[4:]]


def stored(cx: Chengxin) -> int:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(func.count()).select_from(t.events)).scalar_one()


@pytest.fixture
def node(app: Chengxin) -> Iterator[Api]:
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


def test_parse_line_names_the_byte_on_both_paths() -> None:
    vocab = event_vocabulary()
    for line, bad in zip(BAD, BAD_BYTES, strict=True):
        assert parse_line(line, vocab) == Rejected(reason(line, bad))
    assert isinstance(parse_line(COMPLETED, vocab), Event)


@pytest.mark.parametrize("apart", [False, True])
def test_the_service_rejects_each_bad_line_and_stores_the_rest(app: Chengxin, monkeypatch, apart: bool) -> None:
    if apart:
        monkeypatch.setattr(ingest_apart, "APART_FROM", 0)  # the second process, whatever the size
    report = ingest(app, read_lines("mixed.jsonl", MIXED), origin="mixed.jsonl", expected_lines=len(MIXED))
    assert (report.accepted, report.rejected) == (48, 4)
    assert [(r["line"], r["reason"]) for r in report.rejects] == EXPECTED
    assert stored(app) == 48


def test_the_api_answers_200_with_the_bad_lines_rejected(node: Api) -> None:
    own = [x for x in SAMPLE_LINES if json.loads(x)["source"] == "urn:cx:platform:P1"]  # what a P1 key may send
    report = node.post_events("p1", [*own[:4], *BAD, *own[4:]])
    assert (report["accepted"], report["rejected"]) == (len(own), 4)
    assert [(r["line"], r["reason"]) for r in report["rejects"]] == EXPECTED
    assert stored(node.cx) == len(own)


def test_the_cli_stores_the_rest_and_exits_0(env, tmp_path) -> None:
    feed = tmp_path / "mixed.jsonl"
    feed.write_bytes(b"\n".join(MIXED) + b"\n")
    out = json.loads(run(env, "ingest", str(feed), "--json").stdout)
    assert (out["accepted"], out["rejected"]) == (48, 4)
    assert [(r["line"], r["reason"]) for r in out["rejects"]] == EXPECTED


PAID = '{"specversion":"1.0","id":"big-%d","source":"urn:cx:platform:P1","type":"cx.order.paid",' \
       '"time":"2026-03-10T20:17:00+08:00","data":{"order_id":"O1","amount":%d,"method":"card"}}'
TOO_LARGE = "data.amount too large (at most 9223372036854775807)"


@pytest.mark.parametrize(("number", "why"), [(2**64 - 1, TOO_LARGE), (2**64, TOO_LARGE), (10**40, TOO_LARGE),
                                             (-(2**64), "data.amount negative")])
def test_an_integer_beyond_64_bits_is_too_large_not_no_integer(number: int, why: str) -> None:
    assert parse_line((PAID % (k := abs(number) % 1000, number)).encode(), event_vocabulary()) == Rejected(why), k


def test_a_json_array_is_answered_as_such() -> None:
    assert parse_line(b"[" + COMPLETED + b"]", event_vocabulary()) == \
        Rejected("one event per line (JSON Lines), not a JSON array")


def body_of(cx: Chengxin, event_id: str) -> str:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(t.events.c.body).where(t.events.c.event_id == event_id)).scalar_one()


def test_a_byte_order_mark_before_the_first_line_is_skipped(app: Chengxin) -> None:
    report = ingest(app, read_lines("bom.jsonl", [b"\xef\xbb\xbf" + SAMPLE_LINES[0], *SAMPLE_LINES[1:]]),
                    origin="bom.jsonl")
    assert (report.accepted, report.rejected) == (48, 0)
    assert body_of(app, "s-001") == SAMPLE_LINES[0].decode()  # stored as the line without it
    again = ingest(app, read_lines("plain.jsonl", SAMPLE_LINES), origin="plain.jsonl")
    assert (again.accepted, again.duplicates, again.conflicts) == (0, 48, 0)  # the same content hash


def test_the_api_skips_a_bom_and_names_an_array_and_a_huge_integer(node: Api) -> None:
    bom = node.post_events("p1", [b"\xef\xbb\xbf" + COMPLETED])
    assert (bom["accepted"], bom["rejected"]) == (1, 0)
    array = node.post_events("p1", [b"[" + COMPLETED + b"]"])
    assert array["rejects"] == [{"file": "request", "line": 1,
                                 "reason": "one event per line (JSON Lines), not a JSON array"}]
    huge = node.post_events("p1", [(PAID % (1, 2**64)).encode()])
    assert huge["rejects"] == [{"file": "request", "line": 1, "reason": TOO_LARGE}]


def test_the_cli_skips_a_bom(env, tmp_path) -> None:
    feed = tmp_path / "bom.jsonl"
    feed.write_bytes(b"\xef\xbb\xbf" + b"\n".join(SAMPLE_LINES) + b"\n")
    out = json.loads(run(env, "ingest", str(feed), "--json").stdout)
    assert (out["accepted"], out["rejected"]) == (48, 0)
