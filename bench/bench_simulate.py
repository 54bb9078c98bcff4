"""Simulator speed, memory and validity: `chengxin simulate --preset P` for each preset, as a user runs it.

    .venv/bin/python bench/bench_simulate.py            # bench-1m (then ingested), bench-1m for 10x the days, bench-10m
    .venv/bin/python bench/bench_simulate.py --runs demo,bench-1m --no-ingest

For each run: events written, events/s (in the process and wall including start-up), peak RSS of the
process, file size and the planted counts per kind. "Memory stays flat as size grows": the bench-1m
marketplace run for ten times as many days (same daily volume, ten times the events) must not need more
memory; bench-10m, a marketplace five times as busy, shows how memory follows the daily volume instead.
The bench-1m output is then ingested into a fresh SQLite store by `chengxin ingest --json`: the issue asks
for zero rejects. Targets: >= 200,000 events/s generated; bench-1m in under a minute.
Result: bench/results/simulate.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CHENGXIN, code_version, cx_env, describe, log, machine, now_iso, run_child, write_result

TARGET = {"events_per_s": 200_000, "bench_1m_wall_s": 60}
# run label -> extra `chengxin simulate` arguments
RUNS = {"demo": ["--preset", "demo"], "bench-1m": ["--preset", "bench-1m"],
        "bench-1m-x10-days": ["--preset", "bench-1m", "--days", "1800", "--set", "start=2021-06-01"],
        "bench-10m": ["--preset", "bench-10m"]}


def simulate(preset: str, folder: Path, keep: bool) -> dict[str, Any]:
    out = folder / f"{preset}.jsonl" if keep else Path("/dev/null")
    truth = folder / f"{preset}.truth.json"
    argv = [CHENGXIN, "simulate", *RUNS[preset], "--out", str(out), "--truth", str(truth), "--json"]
    log(f"{' '.join(argv[1:])}")
    run = run_child(argv, cx_env("sqlite:///" + str(folder / "unused.db"), folder / "keys.json"), timeout=3600)
    if run.returncode != 0:
        return {"preset": preset, "error": run.stderr[-2000:]}
    s = run.json()
    return {"preset": preset, "command": f"chengxin simulate {' '.join(RUNS[preset])} --out FILE --truth FILE --json",
            "events": s["events"], "generation_s": s["seconds"], "generation_events_per_s": s["events_per_second"],
            "wall_s": round(run.wall_s, 2), "cpu_s": round(run.user_s + run.sys_s, 2),
            "events_per_s": round(s["events"] / run.wall_s), "events_per_cpu_s": round(
                s["events"] / max(run.user_s + run.sys_s, 1e-9)),
            "peak_rss_mib": round(run.peak_rss_mib, 1),
            "file_mib": round(out.stat().st_size / 2**20, 1) if keep else None,
            "planted": s["planted"], "licence_gaps": s["licence_gaps"], "event_types": s["event_types"]}


def ingest(path: Path, folder: Path) -> dict[str, Any]:
    log(f"ingest {path.name} into a fresh SQLite store")
    env = cx_env("sqlite:///" + str(folder / "ingest.db"), folder / "keys.json")
    run = run_child([CHENGXIN, "ingest", str(path), "--json"], env, timeout=3 * 3600)
    if run.returncode != 0:
        return {"error": run.stderr[-2000:]}
    r = run.json()
    return {"accepted": r["accepted"], "rejected": r["rejected"], "conflicts": r["conflicts"],
            "duplicates": r["duplicates"], "first_rejects": r["rejects"][:5], "wall_s": round(run.wall_s, 1),
            "events_per_s": round(r["accepted"] / run.wall_s), "peak_rss_mib": round(run.peak_rss_mib, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="bench-1m,bench-1m-x10-days,bench-10m", help=f"of {', '.join(RUNS)}")
    ap.add_argument("--no-ingest", action="store_true", help="skip ingesting the bench-1m output")
    args = ap.parse_args()
    presets = [p.strip() for p in args.runs.split(",") if p.strip()]
    m = machine()
    log(describe(m))
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        folder = Path(tmp)
        for preset in presets:
            keep = preset == "bench-1m" and not args.no_ingest
            run = simulate(preset, folder, keep)
            if keep and "error" not in run:
                run["ingest"] = ingest(folder / f"{preset}.jsonl", folder)
            runs.append(run)
            log(f"{preset}: " + ", ".join(f"{k}={run.get(k)}" for k in ("events", "generation_events_per_s",
                                                                          "wall_s", "events_per_s", "peak_rss_mib")))
    ok = {r["preset"]: r for r in runs if "error" not in r}
    flat = None
    if "bench-1m" in ok and "bench-1m-x10-days" in ok:
        small, big = ok["bench-1m"], ok["bench-1m-x10-days"]
        flat = {"events_ratio": round(big["events"] / small["events"], 1),
                "peak_rss_ratio": round(big["peak_rss_mib"] / small["peak_rss_mib"], 2),
                "between": [small["preset"], big["preset"]]}
    result = {"bench": "simulate", "date": now_iso(), "machine": m, "code": code_version(), "target": TARGET,
              "runs": runs, "memory_growth": flat}
    log(f"wrote {write_result('simulate', result)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
