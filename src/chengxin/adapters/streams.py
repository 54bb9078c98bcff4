"""NATS JetStream adapter for the measures feed: publish changes with dedup ids, read them back.

Synchronous wrappers (`run_sync`) so services and the CLI can call them; every call opens and closes its own
connection, and nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats import errors as nats_errors
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from chengxin.exc import Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

MSG_ID_HEADER = "Nats-Msg-Id"
CONNECT_TIMEOUT = 2.0
_FETCH_BATCH = 256


class StreamUnavailable(Unavailable):
    """The configured NATS server cannot be reached or did not acknowledge (HTTP 503, exit 69 EX_UNAVAILABLE).

    `acked` holds the msg_ids acknowledged before the failure, so the caller keeps only the rest to retry.
    """

    def __init__(self, detail: str, acked: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.acked = list(acked)


@dataclass(frozen=True)
class Message:
    msg_id: str  # dedup id, sent as the `Nats-Msg-Id` header; re-publishing the same id is a no-op
    subject: str  # full NATS subject, e.g. "chengxin.measures.black"
    body: bytes  # JSON


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code. `asyncio.run` refuses to start inside a running
    event loop (an async caller, or a library such as Playwright's sync API holding one in this thread), so
    then the coroutine runs on a short-lived thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="cx-nats") as pool:
        return pool.submit(asyncio.run, coro).result()


def publish(url: str, stream: str, subjects: str, messages: Sequence[Message], timeout: float = 5.0) -> list[str]:
    """Publish in order, waiting for each JetStream ack; return the msg_ids acknowledged (duplicates count).

    Creates the stream if missing. Raises StreamUnavailable at the first failure (connection or ack)."""
    return run_sync(_publish(url, stream, subjects, messages, timeout))


def read(
    url: str, stream: str, subjects: str, start_seq: int = 1, limit: int = 1000, timeout: float = 2.0
) -> list[tuple[int, str | None, bytes]]:
    """(stream sequence, Nats-Msg-Id, body) of stored messages from start_seq; [] if the stream is empty or missing."""
    return run_sync(_read(url, stream, subjects, start_seq, limit, timeout))


# --- connection -----------------------------------------------------------------------------------------------
async def _quiet(err: Exception) -> None:
    # nats-py logs every failed attempt with a traceback by default; we raise our own error instead.
    log.debug("nats: %r", err)


async def _open(url: str) -> Client:
    # nats-py's server selection loops forever when max_reconnect_attempts=0 (it only discards a server when the
    # limit is > 0), even with allow_reconnect=False; 1 bounds it to two quick attempts. The outer wait_for is
    # a hard deadline in case the library loops anyway.
    connecting = nats.connect(
        url,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.1,
        connect_timeout=CONNECT_TIMEOUT,
        error_cb=_quiet,
    )
    try:
        return await asyncio.wait_for(connecting, CONNECT_TIMEOUT * 2)
    except (OSError, TimeoutError, nats_errors.Error) as e:
        raise StreamUnavailable(f"NATS server at {url} cannot be reached: {e!r}") from e


@asynccontextmanager
async def _jetstream(url: str, timeout: float) -> AsyncIterator[JetStreamContext]:
    nc = await _open(url)
    try:
        yield nc.jetstream(timeout=timeout)
    finally:
        await nc.close()


# --- publish --------------------------------------------------------------------------------------------------
async def _ensure_stream(js: JetStreamContext, stream: str, subjects: str) -> None:
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(name=stream, subjects=[subjects])


async def _publish(url: str, stream: str, subjects: str, messages: Sequence[Message], timeout: float) -> list[str]:
    acked: list[str] = []
    async with _jetstream(url, timeout) as js:
        try:
            await _ensure_stream(js, stream, subjects)
            for m in messages:
                # stream= makes the server refuse a subject that would land in some other stream.
                await js.publish(m.subject, m.body, timeout=timeout, stream=stream, headers={MSG_ID_HEADER: m.msg_id})
                acked.append(m.msg_id)
        except (TimeoutError, nats_errors.Error) as e:
            failed = messages[len(acked)].msg_id if len(acked) < len(messages) else "(stream setup)"
            detail = f"NATS at {url}: stream {stream!r} did not acknowledge {failed} after {len(acked)} acks: {e!r}"
            raise StreamUnavailable(detail, acked) from e
    return acked


# --- read -----------------------------------------------------------------------------------------------------
async def _read(
    url: str, stream: str, subjects: str, start_seq: int, limit: int, timeout: float
) -> list[tuple[int, str | None, bytes]]:
    async with _jetstream(url, timeout) as js:
        try:
            state = (await js.stream_info(stream)).state
        except NotFoundError:
            return []
        # Checked up front so an empty tail returns at once instead of waiting for a fetch to time out.
        if limit <= 0 or state.messages == 0 or start_seq > state.last_seq:
            return []
        return await _fetch(js, stream, subjects, start_seq, limit, timeout)


async def _fetch(
    js: JetStreamContext, stream: str, subjects: str, start_seq: int, limit: int, timeout: float
) -> list[tuple[int, str | None, bytes]]:
    # Ephemeral, unacknowledged consumer: reading must not change any durable state; the server removes it
    # after inactive_threshold even if we die before unsubscribing.
    config = api.ConsumerConfig(
        deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start_seq,
        ack_policy=api.AckPolicy.NONE,
        inactive_threshold=30.0,
    )
    sub = await js.pull_subscribe(subjects, stream=stream, config=config)
    out: list[tuple[int, str | None, bytes]] = []
    try:
        while len(out) < limit:
            try:
                msgs = await sub.fetch(min(_FETCH_BATCH, limit - len(out)), timeout=timeout)
            except TimeoutError:
                break  # nothing (more) matches the filter
            out.extend((m.metadata.sequence.stream, (m.headers or {}).get(MSG_ID_HEADER), m.data) for m in msgs)
            if msgs[-1].metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return out
