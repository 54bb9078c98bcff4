"""`chengxin demo`: a lively simulated marketplace in the local store, and demo API keys.

The showcase events (the events-v1 sample: a food shop with its licences, a shop with a licence gap,
a complaint, a penalty and its repair) come first; the simulator's demo preset (two platforms,
urn:cx:platform:M1 and M2, with planted dishonesty) fills the portal around them. The simulated events
and their truth file are kept beside the keys file, so `chengxin evaluate --truth var/demo-truth.json`
works on the demo. Loading twice is a no-op (the simulator is deterministic; every event is deduplicated).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from chengxin.bootstrap import Chengxin
from chengxin.exc import ConfigError
from chengxin.services import ingest, keys
from chengxin.simulate import Params, make_params, simulate


def demo_params(**overrides: Any) -> Params:
    """The demo preset, its platforms named M1, M2 so that they never collide with the sample's P1."""
    return make_params("demo", platform_prefix="M", **overrides)


def load_demo(cx: Chengxin, *, params: Params | None = None) -> dict[str, Any]:
    """Ingest the showcase and a simulated marketplace; issue a platform and a regulator key (demo only)."""
    if cx.settings.env != "demo":
        raise ConfigError("`chengxin demo` runs only with CHENGXIN_ENV=demo")
    showcase = (files("chengxin") / "demo" / "showcase.jsonl").read_bytes().splitlines()
    report = ingest.ingest(cx, ingest.read_lines("showcase.jsonl", showcase), origin="demo:showcase")
    folder = Path(cx.settings.keys_file).parent
    folder.mkdir(parents=True, exist_ok=True)
    events, truth = folder / "demo-events.jsonl", folder / "demo-truth.json"
    simulated = simulate(params or demo_params(), events, truth, preset="demo")
    with events.open("rb") as f:
        report.add(ingest.ingest(cx, ingest.read_lines(str(events), f), origin="demo:simulated"))
    from chengxin.services.detect import detect

    found = detect(cx)  # findings, queued for review: what a platform's risk team would look at first
    _, platform = keys.create_key(cx, "platform", "demo platform P1", "urn:cx:platform:P1")
    _, regulator = keys.create_key(cx, "regulator", "demo regulator")
    return {**report.as_dict(), "simulated": {"events": simulated["events"], "truth": str(truth)},
            "detected": {"findings": len(found.findings), "queued_for_review": found.review.get("published", 0)},
            "keys": {"platform (urn:cx:platform:P1)": platform, "regulator": regulator}}
