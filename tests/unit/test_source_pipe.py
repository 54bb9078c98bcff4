""""|" in a source (event_fields.source_character): a source is a URI, which has none (RFC 3986 writes it %7C), and the
stored keys join a source and what follows it with "|" (Event.ord, `local:<source>|<id>`, the associated data of
encrypted fields, standing order keys). A source "a|b" with id "c" and a source "a" with id "b|c" made one key.
Refused on both validation paths, raw or escaped, in the envelope and in every reference object, naming the field
and the position; ids may hold one."""

from __future__ import annotations

import json

import pytest
from tests.unit.test_controls import HOTLINE, PLACED_OBJ, VOCAB, line

from chengxin.domain.events import Event, Rejected, parse_line
from chengxin.domain.fastcheck import quick_check

P1 = "urn:cx:platform:P1"
PATHS = ["source", "data.buyer_id.source", "data.items[0].product_id.source", "data.shop_id.source"]


def _placed_with(path: str, value: str, *, ascii_only: bool = False) -> str:
    base = json.loads(json.dumps(PLACED_OBJ))
    base["data"]["shop_id"] = {"source": P1, "id": base["data"]["shop_id"]}
    return line(base, path, value, ascii_only=ascii_only)


@pytest.mark.parametrize("ascii_only", [False, True])
@pytest.mark.parametrize("path", PATHS)
def test_a_source_with_a_pipe_is_refused_naming_field_and_position(path: str, ascii_only: bool) -> None:
    raw = _placed_with(path, "urn:cx:platform:P|1", ascii_only=ascii_only)
    got = parse_line(raw, VOCAB)
    assert isinstance(got, Rejected)
    assert got.reason.startswith(f"{path}: '|' at position 18")  # the position, not the value
    assert quick_check(raw, VOCAB) is None
    assert quick_check(raw.encode(), VOCAB) is None


@pytest.mark.parametrize("path", PATHS)
def test_an_escaped_pipe_is_a_pipe(path: str) -> None:
    raw = _placed_with(path, "urn:cx:platform:P~1").replace("P~1", "P\\u007c1")
    assert json.loads(raw)  # valid JSON, with "|" in that source
    assert isinstance(parse_line(raw, VOCAB), Rejected)
    assert quick_check(raw.encode(), VOCAB) is None


def test_the_same_line_without_the_pipe_is_accepted_on_the_fast_path() -> None:
    raw = _placed_with("data.buyer_id.source", "urn:cx:platform:P2")
    assert isinstance(parse_line(raw, VOCAB), Event)
    assert quick_check(raw.encode(), VOCAB) is not None  # not left to the slow path


@pytest.mark.parametrize("path", ["id", "data.order_id", "data.buyer_id.id", "data.items[0].product_id.id"])
def test_ids_may_hold_a_pipe(path: str) -> None:
    raw = _placed_with(path, "O|1")
    assert isinstance(parse_line(raw, VOCAB), Event)
    assert quick_check(raw.encode(), VOCAB) is not None


def test_a_hotline_reference_to_a_platform_with_a_pipe_is_refused() -> None:
    raw = line(HOTLINE, "data.target_id.source", "urn:cx:platform:P1|x")
    got = parse_line(raw, VOCAB)
    assert isinstance(got, Rejected) and got.reason.startswith("data.target_id.source: '|' at position 19")


@pytest.mark.parametrize(("source", "why"), [
    ("urn:cx:platform:P|1", "source: '|' at position 18"),
    ("urn:cx:platform:P\x1f1", "source: control character U+001F at position 18"),
    (" urn:cx:platform:P1", "without surrounding spaces"),
    ("urn:cx:platform:" + "P" * 200, "characters, at most"),
])
def test_a_platform_key_refuses_a_source_its_events_could_not_carry(source: str, why: str) -> None:
    from chengxin.services.keys import source_refused

    assert why in (source_refused(source) or "")
    assert source_refused("urn:cx:platform:P1") is None
