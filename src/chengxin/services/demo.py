"""`chengxin demo`: a small, lively marketplace in the local store, and demo API keys.

The showcase events (the events-v1 sample: a food shop with its licences, a shop with a licence gap,
a complaint, a penalty and its repair) come first; a generated marketplace around them gives the portal
something to search. Loading twice is a no-op (every event is deduplicated).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import orjson

from chengxin.bootstrap import Chengxin
from chengxin.exc import ConfigError
from chengxin.services import ingest, keys

DEMO_EVENTS = 30_000
DEMO_SEED = 2026
# generated platforms report as urn:cx:platform:M<n> so their ids never collide with the showcase's P1
_GENERATED = ('"urn:cx:platform:P', '"urn:cx:platform:M')


def _generated(n: int, seed: int) -> Iterator[bytes]:
    from chengxin.demo import loadgen

    for event in loadgen.generate(n, seed=seed, platforms=2):
        yield orjson.dumps(event).decode().replace(*_GENERATED).encode()


def load_demo(cx: Chengxin, *, events: int = DEMO_EVENTS) -> dict[str, Any]:
    """Ingest the demo marketplace and issue a platform and a regulator key (demo mode only)."""
    if cx.settings.env != "demo":
        raise ConfigError("`chengxin demo` runs only with CHENGXIN_ENV=demo")
    showcase = (files("chengxin") / "demo" / "showcase.jsonl").read_bytes().splitlines()
    report = ingest.ingest(cx, ingest.read_lines("showcase.jsonl", showcase), origin="demo:showcase")
    report.add(ingest.ingest(cx, ingest.read_lines("generated", _generated(events, DEMO_SEED)),
                             origin="demo:generated"))
    _, platform = keys.create_key(cx, "platform", "demo platform P1", "urn:cx:platform:P1")
    _, regulator = keys.create_key(cx, "regulator", "demo regulator")
    return {**report.as_dict(), "keys": {"platform (urn:cx:platform:P1)": platform, "regulator": regulator}}
