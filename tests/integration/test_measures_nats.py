"""The measures feed reaches NATS JetStream: every change published once, in order, with a stable message id,
and marked published; an unreachable server leaves the feed in the store to be retried."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import func, select
from tests.conftest import SAMPLE, ingest_file

from chengxin.adapters import streams
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.services import list_feed, list_views
from chengxin.services.viewer import Viewer
from chengxin.settings import Settings

NATS = "nats://127.0.0.1:4222"
REGULATOR = Viewer("regulator", key_id="k-reg")


def _nats_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 4222), timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _nats_up(), reason="no NATS server on 127.0.0.1:4222")


@pytest.fixture
def nats_app(settings: Settings) -> Iterator[Chengxin]:
    tag = uuid.uuid4().hex[:8]
    cx = bootstrap(settings.model_copy(update={"nats_url": NATS, "nats_stream": f"CXTEST_{tag}",
                                               "nats_subject": f"cxtest.{tag}"}))
    yield cx
    cx.engine.dispose()
    _delete_stream(cx.settings.nats_stream)


def _delete_stream(name: str) -> None:

    import nats

    async def drop() -> None:
        nc = await nats.connect(NATS)
        try:
            await nc.jetstream().delete_stream(name)
        except Exception:
            pass
        finally:
            await nc.close()

    streams.run_sync(drop())


def _unpublished(cx: Chengxin) -> int:
    with read_connection(cx.engine) as conn:
        return conn.execute(select(func.count()).where(lt.measure_changes.c.published_at.is_(None))).scalar_one()


def test_changes_are_published_once_in_order(nats_app: Chengxin) -> None:
    cx = nats_app
    ingest_file(cx, SAMPLE)  # M1 enters the red list: a change, published by the drain at the end
    list_views.override(cx, "black", ("urn:cx:platform:P1", "S2"), "add", REGULATOR, "court judgment", "判决书")
    s = cx.settings
    got = streams.read(s.nats_url, s.nats_stream, f"{s.nats_subject}.>")
    feed = list_views.changes(cx, REGULATOR)["changes"]
    assert len(got) == len(feed) >= 2 and _unpublished(cx) == 0
    assert [orjson.loads(body)["seq"] for _, _, body in got] == [c["seq"] for c in feed]
    assert [mid for _, mid, _ in got] == [f"{s.log_origin}/{c['seq']}" for c in feed]
    last = orjson.loads(got[-1][2])
    assert last["party"]["id"] == "M2" and "hide_shop" in last["added"]
    # named as the regulator's feed names them, so a system can act on it (neither was sent: found by review)
    assert [orjson.loads(body) for _, _, body in got] == feed
    assert last["shops"] == [{"source": "urn:cx:platform:P1", "id": "S2", "name": "示例日用小店"}]
    assert list_feed.publish_feed(cx) == {"published": 0, "pending": 0, "error": None}  # nothing left, nothing twice
    assert len(streams.read(s.nats_url, s.nats_stream, f"{s.nats_subject}.>")) == len(got)


def test_an_unreachable_server_keeps_the_feed_for_later(settings: Settings) -> None:
    cx = bootstrap(settings.model_copy(update={"nats_url": "nats://127.0.0.1:1"}))
    try:
        ingest_file(cx, SAMPLE)
        assert _unpublished(cx) >= 1
        done = list_feed.publish_feed(cx)
        assert done["published"] == 0 and done["pending"] >= 1 and "127.0.0.1:1" in done["error"]
    finally:
        cx.engine.dispose()
