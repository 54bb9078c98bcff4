"""`chengxin demo`: a lively simulated marketplace in the local store, and demo API keys.

The showcase events (the events-v1 sample: a food shop with its licences, a shop with a licence gap,
a complaint, a penalty and its repair) come first; the simulator's demo preset (two platforms,
urn:cx:platform:M1 and M2, with planted dishonesty) fills the portal around them. The simulated events
and their truth file are kept beside the keys file, so `chengxin evaluate --truth var/demo-truth.json`
works on the demo. Loading twice is a no-op (the simulator is deterministic; every event is deduplicated).

A platform key sees what its source reported: P1's the showcase, each simulated platform's its own shops,
findings and review items. So the demo issues one per source that holds data, and a regulator's key (it only
issued P1's, and `GET /v1/review` with it showed nothing of the simulated marketplace: found by review).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from chengxin.bootstrap import Chengxin
from chengxin.exc import ConfigError
from chengxin.services import ingest, keys
from chengxin.services.viewer import REGULATOR, Viewer
from chengxin.simulate import Params, make_params, simulate


def demo_params(**overrides: Any) -> Params:
    """The demo preset, its platforms named M1, M2 so that they never collide with the sample's P1."""
    return make_params("demo", platform_prefix="M", **overrides)


SHOWCASE = "urn:cx:platform:P1"  # the source of the showcase (the events-v1 sample)


def load_demo(cx: Chengxin, *, params: Params | None = None) -> dict[str, Any]:
    """Ingest the showcase and a simulated marketplace; issue a key for each platform that holds data (the
    showcase's and each simulated one) and a regulator's (demo only). `keys` maps a label to each secret."""
    if cx.settings.env != "demo":
        raise ConfigError("`chengxin demo` runs only with CHENGXIN_ENV=demo")
    showcase = (files("chengxin") / "demo" / "showcase.jsonl").read_bytes().splitlines()
    report = ingest.ingest(cx, ingest.read_lines("showcase.jsonl", showcase), origin="demo:showcase")
    folder = Path(cx.settings.keys_file).parent
    folder.mkdir(parents=True, exist_ok=True)
    events, truth = folder / "demo-events.jsonl", folder / "demo-truth.json"
    _owner_only(events)  # simulated names and ID numbers, shaped like real ones (docs/security.md)
    params = params or demo_params()
    simulated = simulate(params, events, truth, preset="demo")
    with events.open("rb") as f:
        report.add(ingest.ingest(cx, ingest.read_lines(str(events), f), origin="demo:simulated",
                                 expected_lines=ingest.lines_in(events.stat().st_size)))
    from chengxin.services.detect import detect

    found = detect(cx)  # findings, queued for review: what a platform's risk team would look at first
    decided = _demo_decisions(cx)
    platforms = [SHOWCASE, *simulated_platforms(params)]
    issued = {f"platform ({source})": keys.create_key(cx, "platform", f"demo platform {source.rsplit(':', 1)[1]}",
                                                     source)[1] for source in platforms}
    issued["regulator"] = keys.create_key(cx, "regulator", "demo regulator")[1]
    # a credit agency reads credit reports (POST /v1/reports/...), journaled with their purpose (docs/security.md)
    issued["credit agency"] = keys.create_key(cx, "agency", "demo credit agency", DEMO_AGENCY)[1]
    return {**report.as_dict(), "simulated": {"events": simulated["events"], "truth": str(truth),
                                              "platforms": platforms[1:]},
            "detected": {"findings": len(found.findings), "queued_for_review": found.review.get("published", 0)},
            "decided": decided, "keys": issued}


DEMO_AGENCY = "urn:cx:agency:demo"


def simulated_platforms(params: Params) -> list[str]:
    """The platform sources the simulator reports as (`simulate/engine.py`: the prefix and a number from 1)."""
    return [f"urn:cx:platform:{params.platform_prefix}{i + 1}" for i in range(params.platforms)]


def _owner_only(path: Path) -> None:
    """Make `path` its owner's only (0600) before it is written, new or rewritten (a rewrite keeps the mode)."""
    path.touch(mode=0o600)
    path.chmod(0o600)


DEMO_OFFICER = Viewer(role=REGULATOR, key_id="demo-case-officer")
DEMO_REASON = "演示：办案人员核查了订单、物流与聊天证据（模拟决定） / demo: a case officer checked the orders, " \
              "waybills and chats (a simulated decision)"


def _demo_decisions(cx: Chengxin) -> dict[str, Any]:
    """A simulated case officer confirms the strongest fake-order ring and the strongest shop-level empty
    parcel finding, so that the demo shows the whole path: record, black list, measures, notices. Every other
    item stays open for a visitor to decide. A second load finds them decided and does nothing."""
    from chengxin.services import lists, review

    items = review.list_items(cx, DEMO_OFFICER, status="open", limit=1000)["items"]
    decided = {(i["kind"], i["level"] if i["kind"] == "empty_parcel" else None)
               for i in review.list_items(cx, DEMO_OFFICER, status="confirmed", limit=1000)["items"]
               if i["decision"]["decided_by"] == f"regulator:{DEMO_OFFICER.key_id}"}
    picks = [max((i for i in items if i["kind"] == kind and (level is None or i["level"] == level)),
                 key=lambda i: i["score"] or 0, default=None)
             for kind, level in (("fake_order_ring", None), ("empty_parcel", "shop")) if (kind, level) not in decided]
    done = [review.decide(cx, i["id"], "confirm", DEMO_OFFICER, DEMO_REASON, "演示案件 DEMO-2026-1")["item"]["id"]
            for i in picks if i is not None]
    lists.evaluate(cx)  # every party once: sanctions from the events, grades, commitments
    from chengxin.services import list_views

    members = {name: list_views.members(cx, name, DEMO_OFFICER, limit=1)["total"] for name in lists.policies().lists}
    return {"confirmed_items": done, "list_members": members}
