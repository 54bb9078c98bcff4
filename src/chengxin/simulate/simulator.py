"""`Simulator`: the day loop over the pieces, and `simulate()`, which writes events and truth files.

The pieces are layered classes, each in its own module, one concern each:
engine (clock, queue) < world (population) < trade (honest orders) < schemes (planted dishonesty)
< oversight (background and supervision) < Simulator (the loop).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from chengxin.simulate.engine import DAY, ONBOARD_DAYS, WEEKDAY, promotion
from chengxin.simulate.oversight import Oversight
from chengxin.simulate.params import Params


class Simulator(Oversight):
    def lines(self) -> Iterator[bytes]:
        """Every event as a JSON line, in time order. Run once per Simulator."""
        p = self.p
        self.onboard()
        self.plant()
        yield from self.release(ONBOARD_DAYS * DAY)
        for d in range(p.days):
            t0 = (ONBOARD_DAYS + d) * DAY
            for action in self.by_day.pop(d, ()):
                action(t0)
            date = self.trading_day(d)
            for _ in range(self.count(p.orders_per_day * WEEKDAY[date.weekday()] * promotion(date))):
                self.order(t0 + self.second_of_day())
            self.background(d, t0)
            yield from self.release(t0 + DAY)
        self.slots.clear()  # whatever was planned past the end stays unwritten
        self.record_shops()

    def record_shops(self) -> None:
        for plat in self.plats:
            self.truth.shops.extend({"source": plat.src.name, "id": f"S{s}", "quality": round(plat.quality[s], 4)}
                                    for s in range(1, self.p.shops + 1))


def simulate(params: Params, out: Path | str, truth: Path | str | None = None,
             preset: str | None = None) -> dict[str, Any]:
    """Write the events (JSON Lines; "-" for stdout) and the truth file; return a summary with figures."""
    started = time.perf_counter()
    sim = Simulator(params)
    # Millions of short-lived, acyclic dicts and tuples: the cyclic collector finds nothing to free
    # and costs an eighth of the run, so it is paused (reference counting still frees everything).
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        with _open(out) as f:
            f.writelines(sim.lines())
    finally:
        if gc_was_on:
            gc.enable()
    seconds = time.perf_counter() - started
    types = sim.written()
    written = sum(types.values())
    header = {"seed": params.seed, "preset": preset, "params": params.as_dict(), "events": written,
              "event_types": types}
    doc = sim.truth.as_dict(header)
    if truth is not None:
        with _owner_only(truth) as t:
            t.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return {"events": written, "seconds": round(seconds, 3),
            "events_per_second": round(written / max(seconds, 1e-9)), "event_types": header["event_types"],
            "planted": doc["counts"], "licence_gaps": len(doc["licence_gaps"])}


def _open(out: Path | str) -> Any:
    import sys

    if str(out) == "-":
        return nullcontext(sys.stdout.buffer)
    return _owner_only(out)


def _owner_only(path: Path | str) -> BinaryIO:
    """Open for writing, readable by its owner only (0600), new or rewritten: the events hold names and
    check-valid resident ID numbers, and were written world-readable (found by review)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb", buffering=1 << 20)
