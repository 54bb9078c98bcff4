"""A bulk load's second process: a child prepares batch k+1 (parse, validate, hash, project, protect: the
CPU half, `prepare.py`) while this process stores batch k. On two cores each half then has a core of its own
(measured in docs/benchmarks.md, "Bulk ingestion"); when the child falls behind, this process prepares the
next batch itself rather than wait for it.

What decides whether this pays is the hand-off. Prepared batches pickled as Python objects cost more than
the parallel work saved (tried before, 145 s against 95 s for 1M lines). Here raw lines go to the child, and
what comes back is the batch as rows ready to store (`prepare.assemble`): tuples of str, int, bytes, bool
and None in `marshal` (the interpreter's own format, written and read in C), which this process reads in
about 5 µs a line and stores as they are (`bench/profile_ingest.py handoff`). A batch that holds anything
else comes back pickled.

Batches come back in the order sent, each with its line count. The child holds the keys that hash and
encrypt, never the signing key. It ends when its input does, so a killed parent takes it along; a child
that fails or dies raises RuntimeError here, and no later batch is stored.
"""

from __future__ import annotations

import marshal
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from contextlib import suppress
from dataclasses import fields
from functools import partial
from typing import IO

from chengxin.adapters import child
from chengxin.bootstrap import Chengxin
from chengxin.services import prepare as preparing
from chengxin.services.prepare import Line, Prepared, PreparedBatch, Rows, assemble, prepare

APART_FROM = 20_000  # lines: a smaller load is prepared here (starting the child costs ~0.5 s of a core)
AHEAD = 3  # batches sent to the child and not yet taken back: it has the next one while this process prepares one
_HEAD = struct.Struct("<cI")  # a frame: kind (m marshal, p pickle, e error, i init), payload length

Batches = Iterable[tuple[int, list[Line]]]


def prepared(app: Chengxin, batches: Batches, own_source: str | None,
             expected_lines: int | None) -> Generator[tuple[int, PreparedBatch]]:
    """(line count, prepared batch) for each batch, in order: in a child process when the input is expected
    to hold APART_FROM lines or more and `settings.ingest_processes` allows, here otherwise. An input of
    unknown length (stdin, a request body) stays here: a stream is then stored batch by batch as it comes."""
    if app.settings.ingest_processes < 2 or expected_lines is None or expected_lines < APART_FROM:
        yield from ((n, prepare(app, lines, own_source)) for n, lines in batches)
        return
    yield from _Worker(app, own_source).run(iter(batches))


class _Worker:
    """The child, a thread that only writes to it and one that only reads from it; `run` reads the input,
    hands out the answers, and prepares a batch itself while the child's next answer is not ready."""

    def __init__(self, app: Chengxin, own_source: str | None) -> None:
        # what the child needs to prepare: the keys that hash and encrypt, not the signing key
        self.init = pickle.dumps((app.settings, (app.keys.pii, app.keys.index), own_source), pickle.HIGHEST_PROTOCOL)
        self.app, self.own_source = app, own_source
        self.sent: deque[bytes] = deque()  # the lines of the batches sent and not yet answered, as sent
        self.outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # frames to write; None: the end
        self.answers: queue.SimpleQueue[tuple[bytes, bytes] | Exception | None] = queue.SimpleQueue()  # None: EOF
        self.ended = False  # the input is all read, and the end queued

    def run(self, batches: Iterator[tuple[int, list[Line]]]) -> Iterator[tuple[int, PreparedBatch]]:
        """The input is read here, on the caller's thread, AHEAD batches ahead of the child's answers: nothing
        is left reading it once this stops, and neither thread waits on the other (no deadlock).

        Batches come out in input order. `slots` holds one entry per batch read and not yet handed out: None
        for a batch with the child, the batch itself for one prepared here. When the child's next answer is
        not ready, this thread prepares the next batch itself rather than wait (one such batch at most): the
        two halves of the work then even out on two cores, whichever is the heavier."""
        process = child.spawn("chengxin.services.ingest_apart", "_serve", own_group=True)
        threads = [threading.Thread(target=self._write, args=(process,), name="cx-ingest-feed", daemon=True),
                   threading.Thread(target=self._read, args=(process,), name="cx-ingest-answers", daemon=True)]
        slots: deque[tuple[int, PreparedBatch] | None] = deque()
        with_child = answered = 0
        try:
            for thread in threads:
                thread.start()
            self.outbox.put(self.init)
            while True:
                with_child += self._send(batches, AHEAD - with_child, slots)
                if not slots:
                    break
                if (ready := slots[0]) is not None:
                    slots.popleft()
                    yield ready
                elif self.answers.empty() and all(x is None for x in slots) and (here := self._here(batches)):
                    slots.append(here)  # the child's answer is not ready: prepare the next batch meanwhile
                else:
                    frame = self.answers.get()
                    if not isinstance(frame, tuple):
                        raise RuntimeError(f"ingest: the second process ended with {process.wait(timeout=60)} "
                                           f"after answering {answered} batches of {answered + with_child}") \
                            from frame
                    slots.popleft()
                    with_child, answered = with_child - 1, answered + 1
                    yield self._answer(frame)
            self._end(process)
        finally:
            _stop(process, threads)

    def _send(self, batches: Iterator[tuple[int, list[Line]]], room: int,
              slots: deque[tuple[int, PreparedBatch] | None]) -> int:
        """Queue up to `room` more batches for the child; at the end of the input, the end."""
        queued = 0
        while not self.ended and queued < room:
            if (batch := next(batches, None)) is None:
                self._ended()
            else:
                # with when it was received, so that the child and `_again` judge its times as this would
                self.sent.append(marshal.dumps((preparing.received_now(), batch[1])))
                self.outbox.put(self.sent[-1])
                slots.append(None)
                queued += 1
        return queued

    def _here(self, batches: Iterator[tuple[int, list[Line]]]) -> tuple[int, PreparedBatch] | None:
        """The next batch of the input, prepared on this thread (None at the end of the input)."""
        if self.ended or (batch := next(batches, None)) is None:
            self._ended()
            return None
        return batch[0], prepare(self.app, batch[1], self.own_source)

    def _ended(self) -> None:
        if not self.ended:
            self.ended = True
            self.outbox.put(None)

    def _answer(self, frame: tuple[bytes, bytes]) -> tuple[int, PreparedBatch]:
        n, batch = _decode(*frame)
        batch.again = partial(self._again, self.sent.popleft())
        return n, batch

    def _again(self, sent: bytes, places: set[tuple[str, int]]) -> list[Prepared]:
        """The lines of a sent batch at these (file, line) places, prepared here (PreparedBatch.again)."""
        received, lines = marshal.loads(sent)
        return prepare(self.app, [line for line in lines if (line[0], line[1]) in places], self.own_source,
                       received).items

    def _write(self, process: subprocess.Popen[bytes]) -> None:
        """On a thread of its own: the first frame is the child's start (settings and keys), then batches."""
        assert process.stdin is not None
        stdin = process.stdin
        kind = b"i"
        try:
            while (payload := self.outbox.get()) is not None:
                _put(stdin, kind, payload)
                kind = b"m"
        except OSError:
            pass  # the child is gone: `run` finds it out from its answers (it raises on the missing ones)
        finally:
            _close_quietly(stdin)

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        """On a thread of its own: every frame the child writes, then None at its end (or what went wrong)."""
        assert process.stdout is not None
        try:
            while (frame := _get(process.stdout)) is not None:
                self.answers.put(frame)
            self.answers.put(None)
        except Exception as e:  # a frame cut short, a pipe closed under it: `run` raises it
            self.answers.put(e)

    def _end(self, process: subprocess.Popen[bytes]) -> None:
        """Every batch answered: the child must now end, and end well."""
        if self.answers.get() is not None:
            raise RuntimeError("ingest: the second process answered more than it was asked")
        if (code := process.wait(timeout=60)) != 0:
            raise RuntimeError(f"ingest: the second process ended with {code} after answering every batch")


def _stop(process: subprocess.Popen[bytes], threads: list[threading.Thread]) -> None:
    if process.poll() is None:
        process.kill()  # stopped early (the store failed, or the caller stopped reading)
    process.wait(timeout=60)
    for thread in threads:  # the writer's reader is gone, and so is the reader's writer: both end at once
        thread.join(timeout=10)
    if process.stdout is not None:
        _close_quietly(process.stdout)


def _decode(kind: bytes, payload: bytes) -> tuple[int, PreparedBatch]:
    if kind == b"e":
        raise RuntimeError(f"ingest, second process: {payload.decode()}")
    if kind == b"p":
        n, batch = pickle.loads(payload)
        return n, batch
    n, rejects, rows = marshal.loads(payload)
    return n, PreparedBatch(rejects, [], Rows(*rows))


def _encode(n: int, batch: PreparedBatch) -> tuple[bytes, bytes]:
    """A batch of rows (`prepare.assemble`) as flat tuples in marshal; pickled if some value is of a type
    marshal does not carry."""
    assert batch.rows is not None and not batch.items, "the child answers rows, ready to store"
    try:
        return b"m", marshal.dumps((n, batch.rejects, tuple(getattr(batch.rows, f.name) for f in fields(Rows))))
    except ValueError:
        return b"p", pickle.dumps((n, batch), pickle.HIGHEST_PROTOCOL)


def _put(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    stream.write(_HEAD.pack(kind, len(payload)))
    stream.write(payload)
    stream.flush()


def _get(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
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


def _close_quietly(stream: IO[bytes]) -> None:
    with suppress(OSError):  # the other end is gone: what was not delivered shows in the counts
        stream.close()


# --- in the child -------------------------------------------------------------------------------------------
def _serve() -> None:
    """Prepare each batch of lines read from stdin and answer it, until stdin ends."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from chengxin.adapters.crypto import Keys
    from chengxin.adapters.resources import event_vocabulary
    from chengxin.services.ingest import _few_collections

    out, inp = child.replies(), sys.stdin.buffer
    init = _get(inp)
    if init is None:
        return
    settings, (pii, index), own_source = pickle.loads(init[1])
    # A throwaway signing key: this process signs nothing, and the node's key stays with the parent.
    app = Chengxin(settings=settings, keys=Keys(pii, index, Ed25519PrivateKey.generate()), vocab=event_vocabulary())
    # the collector as in a bulk load in one process; a parent that stopped reading (failed, killed) gets nothing
    with _few_collections(), suppress(BrokenPipeError):
        while (frame := _get(inp)) is not None:
            received, lines = marshal.loads(frame[1])
            _put(out, *_answer(app, received, lines, own_source))


def _answer(app: Chengxin, received: str, lines: list[Line], own_source: str | None) -> tuple[bytes, bytes]:
    try:
        batch = prepare(app, lines, own_source, received)
        return _encode(len(lines), PreparedBatch(batch.rejects, [], assemble(batch.items)))
    except Exception as e:  # handed to the parent, which raises it
        return b"e", f"{type(e).__name__}: {e}".encode()

