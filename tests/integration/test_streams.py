"""The measures-feed adapter against a real NATS JetStream server: ordered publish and read-back, dedup by
msg id, a clear error when the server is unreachable, and an empty read of a missing stream."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator

import nats
import pytest
from nats.js.errors import NotFoundError

from chengxin.adapters.streams import Message, StreamUnavailable, publish, read, run_sync

URL = "nats://127.0.0.1:4222"


def _reachable(host: str = "127.0.0.1", port: int = 4222) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _reachable(), reason=f"no NATS server at {URL} (start nats-server -js)")


async def _delete_stream(name: str) -> None:
    nc = await nats.connect(URL, allow_reconnect=False, connect_timeout=2)
    try:
        await nc.jetstream().delete_stream(name)
    except NotFoundError:
        pass
    finally:
        await nc.close()


@pytest.fixture
def feed() -> Iterator[tuple[str, str]]:
    """A unique (stream, subject prefix) per test, deleted afterwards."""
    tag = uuid.uuid4().hex[:12]
    stream, prefix = f"CXTEST_{tag}", f"cxtest.{tag}.measures"
    yield stream, prefix
    run_sync(_delete_stream(stream))


def _messages(prefix: str) -> list[Message]:
    return [
        Message("m-1", f"{prefix}.black", b'{"party":"S1","measure":"blacklist"}'),
        Message("m-2", f"{prefix}.red", b'{"party":"S2","measure":"honour"}'),
        Message("m-3", f"{prefix}.black", b'{"party":"S1","measure":"lifted"}'),
    ]


def test_publish_then_read_back_in_order(feed: tuple[str, str]) -> None:
    stream, prefix = feed
    msgs = _messages(prefix)
    assert publish(URL, stream, f"{prefix}.>", msgs) == ["m-1", "m-2", "m-3"]
    got = read(URL, stream, f"{prefix}.>")
    assert got == [(i + 1, m.msg_id, m.body) for i, m in enumerate(msgs)]
    assert read(URL, stream, f"{prefix}.>", start_seq=2, limit=1) == [(2, "m-2", msgs[1].body)]
    assert read(URL, stream, f"{prefix}.>", start_seq=4) == []


def test_republishing_same_ids_adds_nothing(feed: tuple[str, str]) -> None:
    stream, prefix = feed
    msgs = _messages(prefix)
    publish(URL, stream, f"{prefix}.>", msgs)
    # Duplicate acks count as acknowledged, so a retry after a lost ack reports success.
    assert publish(URL, stream, f"{prefix}.>", msgs) == ["m-1", "m-2", "m-3"]
    assert [seq for seq, _, _ in read(URL, stream, f"{prefix}.>")] == [1, 2, 3]


def test_first_failed_ack_stops_and_reports_what_was_acked(feed: tuple[str, str]) -> None:
    stream, prefix = feed
    good, later = _messages(prefix)[0], _messages(prefix)[2]
    stray = Message("m-x", f"cxtest.elsewhere.{uuid.uuid4().hex}", b"{}")  # no stream takes this subject
    with pytest.raises(StreamUnavailable, match="m-x") as info:
        publish(URL, stream, f"{prefix}.>", [good, stray, later], timeout=1.0)
    assert info.value.acked == ["m-1"]
    assert [msg_id for _, msg_id, _ in read(URL, stream, f"{prefix}.>")] == ["m-1"]


def test_unreachable_server_raises_quickly() -> None:
    url = "nats://127.0.0.1:1"
    started = time.monotonic()
    with pytest.raises(StreamUnavailable, match=re.escape(url)) as info:
        publish(url, "CXTEST_NOWHERE", "cxtest.nowhere.>", [Message("m-1", "cxtest.nowhere.x", b"{}")])
    assert time.monotonic() - started < 5
    assert (info.value.status, info.value.exit_code, info.value.code) == (503, 69, "unavailable")
    with pytest.raises(StreamUnavailable, match=re.escape(url)):
        read(url, "CXTEST_NOWHERE", "cxtest.nowhere.>")


def test_read_of_missing_stream_is_empty(feed: tuple[str, str]) -> None:
    stream, prefix = feed
    assert read(URL, stream, f"{prefix}.>") == []


def test_works_from_inside_a_running_event_loop(feed: tuple[str, str]) -> None:
    """A synchronous caller on a thread that holds a running loop (an async route; Playwright's sync API in a
    test session): `asyncio.run` would refuse, so the call runs on a thread of its own."""
    stream, prefix = feed

    async def inside() -> list[str]:
        return publish(URL, stream, f"{prefix}.>", [Message("loop-1", f"{prefix}.x", b"{}")])

    assert run_sync(inside()) == ["loop-1"]  # a loop runs in that thread; publish is called inside it
    assert [mid for _, mid, _ in read(URL, stream, f"{prefix}.>")] == ["loop-1"]
