"""What each detector input costs to gather, and its detectors to run, alone in a fresh process (measurement
only): seconds and peak RSS. With `--against DIR` (another checkout's `src/`, e.g. a `git worktree` of an
older commit) the same inputs are measured with that code too, alternately in the same run, so the two can
be compared as ratios on this noisy machine.

    CHENGXIN_DATABASE_URL=sqlite:////tmp/b1m/store.db .venv/bin/python bench/profile_detect_inputs.py \
        --inputs waybills,conduct [--against /tmp/wt-head/src] [--repeat 2]
    ... bench/profile_detect_inputs.py --detect [--against ...] [--repeat 2]

With `--detect`, the whole `chengxin detect --json` instead (it writes a run of findings and publishes them
to the store's review queue), its wall time and the peak RSS of its process tree (the second process
included) sampled ten times a second, and whether both codes printed the same findings.
Prints one line per input, code and repeat, then the JSON of all of them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, describe, machine, tree_rss_mib

HERE = Path(__file__).resolve().parent.parent / "src"

CHILD = """
import gc, json, resource, sys, time
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import bootstrap
from chengxin.domain.detection import DETECTORS
from chengxin.services import detect
from chengxin.settings import Settings
need = sys.argv[1]
app = bootstrap(Settings())
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
gc.disable()
with read_connection(app.engine) as conn:
    data, rows = detect.LOADERS[need](conn)
gathered = time.perf_counter() - t0
found = {}
for d in DETECTORS.values():
    if d.needs == need:
        t1 = time.perf_counter()
        found[d.name] = [len(d.run(data, detect.rules())), round(time.perf_counter() - t1, 3)]
print(json.dumps({"rows": rows, "gather_s": round(gathered, 3), "detectors": found, "base_mib": round(base),
                  "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def measure(need: str, src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    out = subprocess.run([str(PYTHON), "-c", CHILD, need], env=env, capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall_s": round(time.perf_counter() - t0, 3)}


def measure_detect(src: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0, peak = time.perf_counter(), 0.0
    with out.open("wb") as f:
        p = subprocess.Popen([str(Path(PYTHON).parent / "chengxin"), "detect", "--json"], env=env, stdout=f)
        while p.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                peak = max(peak, tree_rss_mib(p.pid))
            time.sleep(0.1)
    if p.returncode:
        raise SystemExit(f"chengxin detect exited {p.returncode}")
    found = json.loads(out.read_text())["findings"]
    return {"wall_s": round(time.perf_counter() - t0, 1), "peak_tree_mib": round(peak), "findings": len(found)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", default="waybills,conduct,orders,reviews,prices,traffic,shop_quality")
    ap.add_argument("--against", type=Path, help="another checkout's src/ to measure alternately")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--detect", action="store_true", help="time the whole `chengxin detect --json` instead")
    args = ap.parse_args()
    print(describe(machine()), "| store", os.environ.get("CHENGXIN_DATABASE_URL"))
    from chengxin.services.detect import LOADERS

    known = sorted(LOADERS)
    if unknown := sorted(set(args.inputs.split(",")) - set(known)):
        ap.error(f"--inputs: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    if args.against and not (args.against / "chengxin").is_dir():
        ap.error(f"--against: {args.against} holds no chengxin package (give a checkout's src/)")
    codes = {"this": HERE, **({"against": args.against} if args.against else {})}
    results: list[dict] = []
    if args.detect:
        outs = {}
        for i in range(args.repeat):
            for name, src in codes.items():
                outs[name] = Path(f"/tmp/cx-detect-{name}.json")
                r = {"code": name, "repeat": i, **measure_detect(src, outs[name])}
                results.append(r)
                print(f"detect {name:8} wall {r['wall_s']:6.1f} s  peak (process tree) {r['peak_tree_mib']} MiB  "
                      f"findings {r['findings']}", flush=True)
        if len(outs) == 2:
            print("same findings:", outs["this"].read_bytes() == outs["against"].read_bytes())
        print(json.dumps(results))
        return 0
    for need in args.inputs.split(","):
        for i in range(args.repeat):
            for name, src in codes.items():
                r = {"input": need, "code": name, "repeat": i, **measure(need, src)}
                results.append(r)
                print(f"{need:13} {name:8} gather {r['gather_s']:7.2f} s  peak {r['peak_mib']:6} MiB "
                      f"(base {r['base_mib']})  detectors {r['detectors']}", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
