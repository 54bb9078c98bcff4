"""Lists and measures at marketplace scale: how long re-evaluating every party takes, one party's
re-evaluation after a change, raw CEL policy evaluations, and a backtest, on the simulator's bench-1m
marketplace with its detected rings and empty parcels confirmed by a (simulated) case officer.

    .venv/bin/python bench/bench_lists.py                 # bench-1m (simulated and ingested once, cached)
    .venv/bin/python bench/bench_lists.py --run demo      # the demo preset (quick)

Steps, in a child process (peak RSS reported): the store is prepared as in bench_detect.py (simulate, ingest
into a fresh SQLite store); `detect` (rings and empty parcels only) publishes findings; every open ring and
shop-level empty-parcel item is confirmed; then timed: a full evaluation with nothing to change, the policy
profile gather and CEL evaluation alone, 50 single-party re-evaluations (median, p95), a shadow report and a
backtest of the shipped policy file against itself. No target is set by the issue; the figures say whether
`chengxin lists evaluate` fits in the scorer's 6-hour cycle and a decision's answer time.
Result: bench/results/lists.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, code_version, cx_env, describe, log, machine, now_iso, run_child, write_result
from bench_detect import prepare

_CHILD = r"""
import json, statistics, sys, time
from datetime import UTC, datetime
from pathlib import Path
from chengxin.bootstrap import bootstrap
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.resources import vocab_text
from chengxin.domain import lists as LS
from chengxin.services import lists, policy, review
from chengxin.services.detect import detect
from chengxin.services.viewer import Viewer
from chengxin.settings import Settings

cx = bootstrap(Settings(database_url=sys.argv[1], keys_file=Path(sys.argv[2])))
out = {}
t = time.perf_counter()
detect(cx, only=["fake_order_ring", "empty_parcel"])
out["detect_s"] = round(time.perf_counter() - t, 2)
officer = Viewer("regulator", key_id="bench-officer")
items, after = [], None
while True:
    page = review.list_items(cx, officer, status="open", limit=500, after=after)
    items += page["items"]
    after = page["next_after"]
    if after is None:
        break
chosen = [i for i in items if i["kind"] == "fake_order_ring" or i["level"] == "shop"]
t = time.perf_counter()
for i in chosen:
    review.decide(cx, i["id"], "confirm", officer, "bench: confirmed", "bench")
out["decisions"] = len(chosen)
out["decide_s_per_item"] = round((time.perf_counter() - t) / max(1, len(chosen)), 3)
t = time.perf_counter()
first = lists.evaluate(cx)
out["first_full_evaluation"] = {"wall_s": round(time.perf_counter() - t, 2), "parties": first["parties"],
                                "entered": first["entered"], "left": first["left"]}
t = time.perf_counter()
again = lists.evaluate(cx)
wall = time.perf_counter() - t
out["full_evaluation"] = {"wall_s": round(wall, 2), "parties": again["parties"],
                          "parties_per_s": round(again["parties"] / wall), "moves": len(again["moves"])}
now = datetime.now(UTC)
with read_connection(cx.engine) as conn:
    t = time.perf_counter()
    facts, first_subject = lists.gather(conn, None, now)
    gather_s = time.perf_counter() - t
ps = lists.policies()
t = time.perf_counter()
profiles = [lists.profile(f, now) for f in facts.values()]
profile_s = time.perf_counter() - t
t = time.perf_counter()
n = 0
day = now.date()
for prof in profiles:  # as evaluation does it: the profile converted to CEL once, then every policy
    LS.evaluate(ps.enforced(), prof, (), day)
    n += len(ps.enforced())
cel_s = time.perf_counter() - t
out["pure"] = {"parties": len(facts), "gather_s": round(gather_s, 2),
               "profiles_per_s": round(len(profiles) / profile_s), "cel_evaluations": n,
               "cel_evaluations_per_s": round(n / cel_s)}
keys = [k for k in list(facts)[:: max(1, len(facts) // 50)]][:50]
times = []
for k in keys:
    t = time.perf_counter()
    lists.evaluate(cx, [k])
    times.append((time.perf_counter() - t) * 1000)
times.sort()
out["one_party_ms"] = {"median": round(statistics.median(times), 2), "p95": round(times[int(len(times) * 0.95) - 1], 2),
                       "n": len(times)}
t = time.perf_counter()
shadow = policy.shadow_report(cx, officer)
out["shadow_report_s"] = round(time.perf_counter() - t, 2)
t = time.perf_counter()
bt = policy.backtest(cx, vocab_text("list_policies.yaml"), "shipped")
out["backtest"] = {"wall_s": round(time.perf_counter() - t, 2), "parties": bt["parties"],
                   "differences": bt["differences"]}
with read_connection(cx.engine) as conn:
    from sqlalchemy import func, select
    from chengxin.adapters.db import lists_tables as lt
    m = lt.list_memberships.c
    out["members"] = {name: n for name, n in conn.execute(
        select(m.list, func.count()).where(m.ended_at.is_(None)).group_by(m.list))}
    out["dishonesty_records"] = conn.execute(select(func.count()).select_from(lt.dishonesty_records)).scalar_one()
    out["measure_changes"] = conn.execute(select(func.count()).select_from(lt.measure_changes)).scalar_one()
print(json.dumps(out))
"""


def bench(name: str) -> dict[str, Any]:
    folder, db, _truth, ingest = prepare(name)
    env = cx_env(f"sqlite:///{db}", folder / "keys.json")
    run = run_child([PYTHON, "-c", _CHILD, f"sqlite:///{db}", str(folder / "keys.json")], env, timeout=7200)
    if run.returncode != 0:
        return {"run": name, "error": run.stderr[-3000:]}
    return {"run": name, "ingest": ingest, **run.json(), "peak_rss_mib": round(run.peak_rss_mib, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="bench-1m", help="demo or bench-1m (runs of bench_detect.py)")
    args = ap.parse_args()
    m = machine()
    log(describe(m))
    r = bench(args.run)
    if "error" in r:
        log(r["error"])
        return 1
    f, p = r["full_evaluation"], r["pure"]
    log(f"{args.run}: {r['decisions']} decisions ({r['decide_s_per_item']} s each); full evaluation of "
        f"{f['parties']:,} parties in {f['wall_s']} s ({f['parties_per_s']:,}/s); one party "
        f"{r['one_party_ms']['median']} ms median; CEL {p['cel_evaluations_per_s']:,} evaluations/s; backtest "
        f"{r['backtest']['wall_s']} s; members {r['members']}; peak {r['peak_rss_mib']} MiB")
    result = {"bench": "lists", "date": now_iso(), "machine": m, "code": code_version(), "run": r}
    if r["run"] != "bench-1m":  # the table shows bench-1m; a quick run goes beside it
        log(f"wrote {write_result(f'lists-{args.run}', result)}")
        return 0
    log(f"wrote {write_result('lists', result)}")
    print(json.dumps(r, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
