"""The simulator's clock, sources and event queue, and the day-by-day loop that drives it.

Time is an integer count of seconds from the start of onboarding (the week before `Params.start`),
in China Standard Time. Every story (an order, a ring's campaign day, an inspection) is planned whole
when it starts: each of its events waits in a 10-minute slot and is written once the day being
simulated has passed that slot, sorted by time. So the file is in time order, every reference points
to an event already written, and memory holds only the stories in flight, not the history.
Events planned past the end of the last day are dropped: those stories are cut off mid-way, as a
real extract is.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from itertools import accumulate
from operator import itemgetter
from typing import Any, TypeVar

import msgspec
import orjson

from chengxin.simulate.params import Params
from chengxin.simulate.truth import Truth

T = TypeVar("T")
MIN, HOUR, DAY = 60, 3600, 86400
SLOT = 600
ONBOARD_DAYS = 7
# Orders by hour of day (China, mobile shopping): quiet at night, peaks mid-morning and evening.
HOURLY = (1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 1.8, 3.2, 4.6, 5.4, 5.2, 4.4, 4.6, 5.0, 5.0, 4.8, 4.6, 4.8,
          5.8, 6.8, 7.4, 6.6, 3.4)
_HOUR_CUM = list(accumulate(HOURLY))
WEEKDAY = (0.95, 0.95, 0.95, 1.0, 1.05, 1.15, 1.1)  # Monday .. Sunday
_time = itemgetter(0)
# msgspec, not orjson, for the planned events: orjson 3.13 returns each small document in a 4 KiB
# allocation, which for the ~250,000 events planned during onboarding alone held 0.5 GiB (measured);
# msgspec allocates what the document needs, for the same bytes
_dumps = msgspec.json.Encoder().encode


def promotion(d: date) -> float:
    """Shopping-festival multiplier: 11.11 and its pre-sale, 6.18, 12.12, the days after a peak."""
    m, day = d.month, d.day
    if m == 11:
        return 6.0 if day == 11 else 1.6 if day < 11 else 1.5 if day == 12 else 1.0
    if m == 6:
        return 3.5 if day == 18 else 1.3 if day < 18 else 1.0
    if m == 12 and day == 12:
        return 2.5
    return 1.0


class Source:
    """A reporter (platform, logistics firm, hotline, regulator): its URN, its event counter, and per event
    type the envelope's middle piece (source, type) as JSON bytes and the count written."""

    __slots__ = ("n", "name", "types")

    def __init__(self, name: str) -> None:
        self.name, self.n = name, 0
        self.types: dict[str, list[Any]] = {}  # type -> [envelope piece, events written]

    def piece(self, typ: str) -> list[Any]:
        self.types[typ] = entry = [orjson.dumps({"source": self.name, "type": typ})[1:-1].join(
            (b'",', b',"time":"')), 0]
        return entry


class Platform:
    """One platform: id counters, and the few numbers per shop, product and buyer that later stories need.
    Arrays are indexed by serial (shop S7 is index 7; index 0 unused)."""

    def __init__(self, key: str) -> None:
        self.key, self.src = key, Source(f"urn:cx:platform:{key}")
        self.ids = dict.fromkeys(("M", "U", "S", "G", "O", "SH", "R", "CP", "K", "PX"), 0)
        self.shop_region, self.shop_cat, self.shop_flaw = bytearray(1), bytearray(1), bytearray(1)
        self.quality = array("d", [0.0])
        self.prod_first, self.prod_count = array("I", [0]), bytearray(1)  # a shop's products: a range
        self.price, self.list_price, self.weight = array("I", [0]), array("I", [0]), array("I", [0])
        self.buyer_region = bytearray(1)
        self.shop_cum: list[float] = []   # cumulative popularity of shops 1..n
        self.buyer_cum: list[float] = []  # cumulative activity of buyers 1..n (onboarded ones)
        self.closed: set[int] = set()
        self.planted: set[int] = set()    # shops already given a planted role

    def new(self, prefix: str) -> str:
        self.ids[prefix] += 1
        return f"{prefix}{self.ids[prefix]}"


class Engine:
    """Clock, randomness, sources and the event queue; the stories live in the mixins of Simulator."""

    def __init__(self, params: Params) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.r, self.salt = self.rng.random, self.rng.getrandbits(30)
        self.plats = [Platform(f"{params.platform_prefix}{i + 1}") for i in range(params.platforms)]
        self.l1, self.hotline = Source("urn:cx:logistics:L1"), Source("urn:cx:hotline:12315")
        self.reg = Source("urn:cx:regulator:310000")
        self.truth = Truth()
        # planned events: slot -> [(time, source, type, data as JSON)]; encoded when planned, as bytes take
        # a third of the memory of the dicts in flight
        self.slots: defaultdict[int, list[tuple[int, Source, str, bytes]]] = defaultdict(list)
        self.end = (ONBOARD_DAYS + params.days) * DAY
        origin = params.start - timedelta(ONBOARD_DAYS)
        self.dates = [(origin + timedelta(d)).isoformat() for d in range(ONBOARD_DAYS + params.days + 1200)]
        self.clock = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(DAY)]
        self.by_day: defaultdict[int, list[Any]] = defaultdict(list)  # scheme actions by trading day
        self.dates_b = [d.encode() for d in self.dates]
        self.clock_b = [(c + '","data":').encode() for c in self.clock]
        self.inspections_done = self.sanctions = 0
        self.hotline_seq = 0                 # 12315 complaint numbers H1, H2, ...
        self.fake_couriers: dict[int, Any] = {}  # L1 courier number -> truth group, for those faking deliveries

    # -- randomness --------------------------------------------------------------------------
    def rand(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi)."""
        return lo + int(self.r() * (hi - lo))

    def between(self, span: tuple[int, int]) -> int:
        """Uniform integer in [min, max] of a parameter pair."""
        return span[0] + int(self.r() * (span[1] - span[0] + 1))

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.r() * len(seq))]

    def count(self, mean: float) -> int:
        """A Poisson-like count: the integer part, plus one with the fractional part's probability,
        plus Gaussian noise for large means."""
        if mean > 20:
            mean = max(0.0, self.rng.gauss(mean, math.sqrt(mean)))
        n = int(mean)
        return n + (self.r() < mean - n)

    def weighted(self, cum: list[float]) -> int:
        """A 1-based index drawn in proportion to the weights whose running sums are `cum`."""
        return 1 + bisect(cum, self.r() * cum[-1])

    def second_of_day(self) -> int:
        return bisect(_HOUR_CUM, self.r() * _HOUR_CUM[-1]) * HOUR + int(self.r() * HOUR)

    # -- time ---------------------------------------------------------------------------------
    def ts(self, t: int) -> str:
        return self.dates[t // DAY] + self.clock[t % DAY]

    def day_text(self, t: int, plus_days: int = 0) -> str:
        return self.dates[t // DAY + plus_days]

    def trading_day(self, d: int) -> date:
        return self.p.start + timedelta(d)

    # -- the queue ----------------------------------------------------------------------------
    def later(self, t: int, src: Source, typ: str, data: dict[str, Any]) -> bool:
        """Plan an event; False (and nothing planned) when it falls after the simulated period."""
        if t >= self.end:
            return False
        self.slots[t // SLOT].append((t, src, typ, _dumps(data)))
        return True

    def release(self, until: int) -> Iterator[bytes]:
        """Every planned event before `until` as a JSON line, in time order (stable: equal times keep
        planning order). Only the id is added now (ids count per source in written order); the rest of
        the envelope is a cached piece per (source, type), as its values need no escaping."""
        slots, dates, clock = self.slots, self.dates_b, self.clock_b
        for s in sorted(k for k in slots if k < until // SLOT):
            planned = slots.pop(s)
            planned.sort(key=_time)
            for t, src, typ, data in planned:
                src.n += 1
                entry = src.types.get(typ) or src.piece(typ)
                entry[1] += 1
                yield b'{"specversion":"1.0","id":"e-%d%s%s%s%s}\n' % (
                    src.n, entry[0], dates[t // DAY], clock[t % DAY], data)

    def written(self) -> dict[str, int]:
        """Events written so far, by type."""
        out: dict[str, int] = {}
        for src in (*(p.src for p in self.plats), self.l1, self.hotline, self.reg):
            for typ, (_, n) in src.types.items():
                out[typ] = out.get(typ, 0) + n
        return dict(sorted(out.items()))
