"""A bulk load's second process: a child prepares batch k+1 (parse, validate, hash, project, protect: the
CPU half, `prepare.py`) while this process stores batch k. On two cores each half then has a core of its own
(measured in docs/benchmarks.md, "Bulk ingestion").

What decides whether this pays is the hand-off. Prepared batches pickled as Python objects cost more than
the parallel work saved (tried before, 145 s against 95 s for 1M lines). Here raw lines go to the child, and
what comes back is flat tuples of str, int, bytes, bool, None and dicts in `marshal` (the interpreter's own
format, written and read in C): reading a line back and rebuilding its objects costs a sixth to a quarter
of preparing it (`bench/profile_ingest.py handoff`). A batch that holds anything else comes back pickled.

Batches come back in the order sent, each with its line count. The child holds the keys that hash and
encrypt, never the signing key. It ends when its input does, so a killed parent takes it along; a child
that fails or dies raises RuntimeError here, and no later batch is stored.
"""

from __future__ import annotations

import marshal
import pickle
import struct
import sys
import threading
from collections.abc import Generator, Iterable, Iterator
from contextlib import suppress
from itertools import chain
from typing import BinaryIO

from chengxin.adapters import child
from chengxin.bootstrap import Chengxin
from chengxin.domain.credit import CreditRecord
from chengxin.domain.projection import Fact
from chengxin.services.prepare import Line, Prepared, PreparedBatch, prepare

APART_FROM = 20_000  # lines: a smaller load is prepared here (starting the child costs ~0.5 s of a core)
AHEAD = 2  # batches sent to the child and not yet taken back: it always has the next one, memory stays flat
_HEAD = struct.Struct("<cI")  # a frame: kind (m marshal, p pickle, e error, i init), payload length

Batches = Iterable[tuple[int, list[Line]]]


def prepared(app: Chengxin, batches: Batches, own_source: str | None) -> Generator[tuple[int, PreparedBatch]]:
    """(line count, prepared batch) for each batch, in order: in a child process when the load is large
    enough and `settings.ingest_processes` allows, here otherwise."""
    it = iter(batches)
    apart = app.settings.ingest_processes > 1
    head = _read_ahead(it, APART_FROM) if apart else []
    if not apart or sum(n for n, _ in head) < APART_FROM:  # one asked for, or too little to be worth a second
        yield from ((n, prepare(app, lines, own_source)) for n, lines in chain(head, it))
        return
    yield from _Worker(app, own_source).run(chain(head, it))


def _read_ahead(it: Iterator[tuple[int, list[Line]]], lines: int) -> list[tuple[int, list[Line]]]:
    head: list[tuple[int, list[Line]]] = []
    while sum(n for n, _ in head) < lines and (batch := next(it, None)) is not None:
        head.append(batch)
    return head


class _Worker:
    """The child and the thread that feeds it; `run` yields what it answers."""

    def __init__(self, app: Chengxin, own_source: str | None) -> None:
        self.process = child.spawn("chengxin.services.ingest_apart", "_serve")
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: BinaryIO = self.process.stdin  # type: ignore[assignment]
        self.stdout: BinaryIO = self.process.stdout  # type: ignore[assignment]
        # what the child needs to prepare: the keys that hash and encrypt, not the signing key
        self.init = pickle.dumps((app.settings, (app.keys.pii, app.keys.index), own_source), pickle.HIGHEST_PROTOCOL)
        self.room = threading.Semaphore(AHEAD)
        self.stop = threading.Event()
        self.sent = 0
        self.fed_all = False  # every batch of the input sent
        self.failure: list[BaseException] = []

    def run(self, batches: Batches) -> Iterator[tuple[int, PreparedBatch]]:
        feeder = threading.Thread(target=self._feed, args=(batches,), name="cx-ingest-feed", daemon=True)
        feeder.start()
        received = 0
        try:
            while (frame := _get(self.stdout)) is not None:
                self.room.release()
                received += 1
                yield _decode(*frame)
            self.stop.set()  # the child has ended: a feeder still waiting for room must not wait for ever
            feeder.join()
            self._check_end(received)
        finally:
            self._close(feeder)

    def _feed(self, batches: Batches) -> None:
        """On a thread of its own: writing to the child never waits on reading its answers (no deadlock)."""
        try:
            _put(self.stdin, b"i", self.init)
            for _, lines in batches:
                while not self.room.acquire(timeout=0.1):
                    if self.stop.is_set():
                        return
                if self.stop.is_set():
                    return
                self.sent += 1  # counted before it is written: a child gone before reading it still owes it
                _put(self.stdin, b"m", marshal.dumps(lines))
            self.fed_all = True
        except BaseException as e:  # reading the input failed, or the child is gone: raised by `run`
            self.failure.append(e)
        finally:
            _close_quietly(self.stdin)

    def _check_end(self, received: int) -> None:
        code = self.process.wait(timeout=60)
        if self.failure and not isinstance(self.failure[0], BrokenPipeError):
            raise self.failure[0]  # reading the input failed: the batches before it were stored
        if code != 0 or received != self.sent or not self.fed_all:
            raise RuntimeError(f"ingest: the second process ended with {code} after answering {received} of "
                               f"{self.sent} batches" + ("" if self.fed_all else " before the input was all sent"))

    def _close(self, feeder: threading.Thread) -> None:
        self.stop.set()
        if self.process.poll() is None:
            self.process.kill()  # stopped early (the store failed, or the caller stopped reading)
        self.process.wait(timeout=60)
        _close_quietly(self.stdout)
        feeder.join(timeout=10)


def _decode(kind: bytes, payload: bytes) -> tuple[int, PreparedBatch]:
    if kind == b"e":
        raise RuntimeError(f"ingest, second process: {payload.decode()}")
    if kind == b"p":
        n, batch = pickle.loads(payload)
        return n, batch
    n, rejects, items = marshal.loads(payload)
    return n, PreparedBatch(rejects, [
        Prepared(key, where, digest, row, [Fact(*f) for f in facts], [CreditRecord(*r) for r in records])
        for key, where, digest, row, facts, records in items])


def _encode(n: int, batch: PreparedBatch) -> tuple[bytes, bytes]:
    """The batch as flat tuples in marshal; pickled if some value is of a type marshal does not carry."""
    flat = (n, batch.rejects, [
        (i.key, i.where, i.content_hash, i.event_row, [(f.table, f.values, f.lww) for f in i.facts],
         [(r.kind, r.subject_kind, r.subject, r.event, r.at, dict(r.payload)) for r in i.records])
        for i in batch.items])
    try:
        return b"m", marshal.dumps(flat)
    except ValueError:
        return b"p", pickle.dumps((n, batch), pickle.HIGHEST_PROTOCOL)


def _put(stream: BinaryIO, kind: bytes, payload: bytes) -> None:
    stream.write(_HEAD.pack(kind, len(payload)))
    stream.write(payload)
    stream.flush()


def _get(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """The next frame, or None at the end of the stream."""
    head = stream.read(_HEAD.size)
    if not head:
        return None
    if len(head) < _HEAD.size:
        raise RuntimeError("ingest: the second process's answer was cut short")
    kind, size = _HEAD.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        raise RuntimeError("ingest: the second process's answer was cut short")
    return kind, payload


def _close_quietly(stream: BinaryIO) -> None:
    with suppress(OSError):  # the other end is gone: what was not delivered shows in the counts
        stream.close()


# --- in the child -------------------------------------------------------------------------------------------
def _serve() -> None:
    """Prepare each batch of lines read from stdin and answer it, until stdin ends."""
    import gc
    import signal

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from chengxin.adapters.crypto import Keys
    from chengxin.adapters.resources import event_vocabulary

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent ends this one
    out, inp = child.replies(), sys.stdin.buffer
    init = _get(inp)
    if init is None:
        return
    settings, (pii, index), own_source = pickle.loads(init[1])
    # A throwaway signing key: this process signs nothing, and the node's key stays with the parent.
    app = Chengxin(settings=settings, keys=Keys(pii, index, Ed25519PrivateKey.generate()), vocab=event_vocabulary())
    gc.freeze()  # as a bulk load in one process does (ingest._few_collections), for the same reason
    gc.set_threshold(100_000, *gc.get_threshold()[1:])
    with suppress(BrokenPipeError):  # the parent stopped reading (it failed, or was killed): nothing to say
        while (frame := _get(inp)) is not None:
            _put(out, *_answer(app, marshal.loads(frame[1]), own_source))


def _answer(app: Chengxin, lines: list[Line], own_source: str | None) -> tuple[bytes, bytes]:
    try:
        return _encode(len(lines), prepare(app, lines, own_source))
    except Exception as e:  # handed to the parent, which raises it
        return b"e", f"{type(e).__name__}: {e}".encode()

