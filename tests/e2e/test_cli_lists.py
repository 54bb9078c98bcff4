"""The consequences path as an operator runs it on the command line: a simulated fake-order ring is detected and
confirmed → the shop's operator enters the black list → its measures show ranking weight 0 and the shop
hidden → after the repair period a granted application takes it off the list and out of public view, while
`chengxin audit verify` still passes. Also policy check, shadow and backtest (which change nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.cli import run

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "src" / "chengxin" / "vocab" / "list_policies.yaml"


def test_ring_to_black_list_to_repair(env, settings, tmp_path):
    events = tmp_path / "events.jsonl"
    run(env, "simulate", "--seed", "8", "--days", "30", "--shops", "25", "--buyers", "300", "--orders-per-day", "60",
        "--set", "rings=1", "--set", "ring_workers=8,10", "--out", str(events))
    run(env, "ingest", str(events))
    run(env, "detect")
    queue = json.loads(run(env, "review", "list", "--status", "open", "--json").stdout)["items"]
    rings = [i for i in queue if i["kind"] == "fake_order_ring" and any(p["kind"] == "shop" for p in i["parties"])]
    item = max(rings, key=lambda i: i["score"])
    shops = [p for p in item["parties"] if p["kind"] == "shop"]
    # a shop whose operator has no other record (another record would keep it listed: no repair then)
    shop = next(p for p in shops if not json.loads(run(env, "party", "show", p["id"], "--source", p["source"],
                                                         "--json").stdout)["dishonesty_records"])
    run(env, "review", "decide", str(item["id"]), "--confirm", "--reason", "lockstep orders from shared devices",
        "--basis", "电子商务法 第十七条", "--by", "officer-7")

    black = json.loads(run(env, "lists", "show", "black", "--json").stdout)
    member = next(m for m in black["members"] if shop["id"] in {s["id"] for s in m["shops"]})
    assert member["policy"] == "black.fake_transactions" and "第十七条" in member["basis"]
    measures = json.loads(run(env, "measures", "show", shop["id"], "--source", shop["source"], "--json").stdout)
    values = {m["measure"]: m["value"] for m in measures["measures"]}
    assert values["search_ranking_weight"] == 0.0 and values["hide_shop"] is True
    party = json.loads(run(env, "party", "show", shop["id"], "--source", shop["source"], "--json").stdout)
    assert "black" in [x["list"] for x in party["lists"]] and party["grade"] == "D"  # capped by lower_grade
    assert "hide_shop" in {m["measure"] for m in party["measures"]}

    # the party applies for repair; too early, refused by the check; a year later, granted
    (record,) = party["dishonesty_records"]
    assert (record["category"], record["state"], record["subject"]["id"]) == ("fake_order", "confirmed", shop["id"])
    rec_id = record["id"]
    all_met = ["--met", "penalty_fulfilled", "--met", "harm_removed"]
    filed = json.loads(run(env, "records", "file", str(rec_id), "--kind", "repair", "--grounds", "corrected",
                           *all_met, "--json").stdout)
    early = run(env, "records", "decide", str(filed["application"]["id"]), "--decision", "grant", "--reason", "ok",
                check=False)
    assert early.returncode == 65 and "minimum publicity period" in early.stderr
    assert "repair commitment not on file" in early.stderr
    signed = tmp_path / "commitment.jsonl"  # the operator signs a repair commitment, sent in its platform's feed
    operator = party["operator"]
    signed.write_text(json.dumps({
        "specversion": "1.0", "id": "rc-1", "source": operator["source"], "type": "cx.commitment.published",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"commitment_id": "RC1", "subject_id": operator["id"], "template": "repair-commitment-v1",
                 "clauses": ["已纠正失信行为，不再发生"]}}, ensure_ascii=False) + "\n", encoding="utf-8")
    run(env, "ingest", str(signed))
    later = datetime.now(UTC) + timedelta(days=370)
    ahead = run(env, "records", "decide", str(filed["application"]["id"]), "--decision", "grant", "--reason",
                "conditions met", "--at", later.strftime("%Y-%m-%dT%H:%M:%S"), check=False)
    assert ahead.returncode == 2 and "in the future" in ahead.stderr  # the command line acts now, or in the past
    done = _decide_a_year_later(settings, filed["application"]["id"], later)
    assert done["record"]["state"] == "repaired"
    black = json.loads(run(env, "lists", "show", "black", "--json").stdout)
    assert shop["id"] not in {s["id"] for m in black["members"] for s in m["shops"]}
    public = json.loads(run(env, "party", "show", shop["id"], "--source", shop["source"], "--public", "--json").stdout)
    assert not {"confirmed", "list_entered"} & {r["kind"] for r in public["credit_records"]}
    assert json.loads(run(env, "audit", "verify", "--json").stdout)["ok"] is True


def _decide_a_year_later(settings, application: int, later: datetime) -> dict:
    """What `chengxin records decide APP --decision grant` does, a year on: the services themselves, as of then
    (the command line refuses an --at ahead of now)."""
    from chengxin.bootstrap import bootstrap
    from chengxin.services import appeals, lists
    from chengxin.services.viewer import REGULATOR, Viewer

    cx = bootstrap(settings)
    try:
        done = appeals.decide_application(cx, application, Viewer(role=REGULATOR, key_id="cli"), "grant",
                                            "conditions met", None, later)
        lists.drain(cx, later)
    finally:
        cx.engine.dispose()
    return done


def test_policy_check_shadow_and_backtest_change_nothing(env, tmp_path):
    events = tmp_path / "events.jsonl"
    run(env, "simulate", "--seed", "3", "--days", "20", "--shops", "15", "--buyers", "150", "--orders-per-day", "30",
        "--out", str(events))
    run(env, "ingest", str(events))
    assert "ok:" in run(env, "policy", "check", str(POLICIES)).stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICIES.read_text(encoding="utf-8").replace("platform_serious >= 3", "platform_serious >="),
                   encoding="utf-8")
    refused = run(env, "policy", "check", str(bad), check=False)
    assert refused.returncode != 0 and "does not compile" in refused.stderr
    before = json.loads(run(env, "lists", "show", "red", "--json").stdout)["total"]
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(POLICIES.read_text(encoding="utf-8").replace("days_known >= 90.0", "days_known >= 100000.0"),
                        encoding="utf-8")
    shadow = json.loads(run(env, "policy", "shadow", str(stricter), "--json").stdout)
    assert shadow["counts"].get("red", {}).get("would_leave", 0) == before
    backtest = json.loads(run(env, "policy", "backtest", str(stricter), "--json").stdout)
    assert backtest["entries_by_policy"]["candidate"].get("red.trustworthy", 0) == 0
    if before:
        assert backtest["differences"]["red"]["only_current"] >= before
    assert json.loads(run(env, "lists", "show", "red", "--json").stdout)["total"] == before
