"""`chengxin review` as an operator runs it: detect, publish the findings, list the queue, confirm one, once."""

from __future__ import annotations

import json

from tests.e2e.cli import run


def test_publish_list_and_decide(env, tmp_path):
    events = tmp_path / "events.jsonl"
    run(env, "simulate", "--seed", "5", "--days", "20", "--shops", "20", "--buyers", "200", "--orders-per-day", "50",
        "--set", "rings=1", "--set", "ring_workers=8,10", "--set", "couriers=4", "--set", "fake_delivery_couriers=1",
        "--out", str(events))
    run(env, "ingest", str(events))
    detected = json.loads(run(env, "detect", "--json").stdout)["findings"]
    published = json.loads(run(env, "review", "publish", "--json").stdout)  # detect queued them already
    assert published["findings"] == len(detected) > 0 and published["published"] == 0  # nothing twice
    queued = published["already_queued"]

    queue = json.loads(run(env, "review", "list", "--status", "open", "--json").stdout)["items"]
    assert len(queue) == min(queued, 100)
    (item,) = [i for i in queue if i["kind"] == "empty_parcel" and i["level"] == "shop"][:1]
    shop = item["parties"][0]
    assert "#" in run(env, "review", "list").stderr
    # triage: the shop roll-ups of one kind, or what names one shop (a reviewer paged past every parcel)
    rollups = json.loads(run(env, "review", "list", "--kind", "empty_parcel", "--level", "shop", "--json").stdout)
    assert item["id"] in [i["id"] for i in rollups["items"]] and {i["level"] for i in rollups["items"]} == {"shop"}
    named = json.loads(run(env, "review", "list", "--party", shop["id"], "--party-source", shop["source"],
                           "--json").stdout)["items"]
    assert item["id"] in [i["id"] for i in named]
    assert all(shop in i["parties"] for i in named)
    half = run(env, "review", "list", "--party", shop["id"], check=False)
    assert half.returncode != 0 and "--party-source" in half.stderr

    done = run(env, "review", "decide", str(item["id"]), "--confirm", "--reason", "parcels of 30 g, no transit",
               "--basis", "rule 4.2", "--by", "officer-7")
    assert f"review item {item['id']} confirmed by regulator:officer-7" in done.stderr
    assert "points" in done.stderr

    again = run(env, "review", "decide", str(item["id"]), "--dismiss", "--reason", "second thoughts", check=False)
    assert again.returncode == 65 and "already confirmed" in again.stderr
    both = run(env, "review", "decide", str(item["id"]), "--confirm", "--dismiss", "--reason", "x", check=False)
    assert both.returncode == 2

    public = json.loads(run(env, "party", "show", shop["id"], "--source", shop["source"], "--public", "--json",
                            ).stdout)
    kinds = {r["kind"] for r in public["credit_records"]}
    assert "confirmed" in kinds and "suspected" not in kinds
    confirmed = json.loads(run(env, "review", "list", "--status", "confirmed", "--json").stdout)["items"]
    assert [i["id"] for i in confirmed] == [item["id"]]
    assert confirmed[0]["decision"]["basis"] == "rule 4.2"
    run(env, "audit", "verify")
