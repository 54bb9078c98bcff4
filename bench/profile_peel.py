"""The FRAUDAR peeling kernel (`domain/detection/peeling.peel`) of this checkout against another's, alternately
in one process on the same synthetic graphs (`bench_fraudar.synthetic`): best and median seconds, edges/s, the
ratio, and a check that both give the same block and density.

    git worktree add /tmp/wt-old <commit>
    .venv/bin/python bench/profile_peel.py --against /tmp/wt-old/src --sizes 1000000,5000000 --reps 7
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_fraudar as bf
from _common import describe, log, machine
from chengxin.domain.detection import peeling


def load_other(src: Path) -> ModuleType:
    """The other checkout's peeling module, under another name (its numba functions compile apart)."""
    path = src / "chengxin" / "domain" / "detection" / "peeling.py"
    spec = importlib.util.spec_from_file_location("peeling_other", path)
    if spec is None or spec.loader is None or not path.exists():
        raise SystemExit(f"--against {src}: no chengxin/domain/detection/peeling.py there")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, required=True, help="another checkout's src/")
    ap.add_argument("--sizes", default="1000000,5000000", help="synthetic edge counts")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    other = load_other(args.against)
    log(describe(machine()))
    for size in (int(x) for x in args.sizes.split(",")):
        u, v, nb, ns, _ = bf.load(bf.synthetic(size, args.seed))
        inputs = bf.plain_inputs(u, v, nb, ns)
        this_block, this_density = peeling.peel(*inputs)  # compiles (or loads numba's cache) before timing
        other_block, other_density = other.peel(*inputs)
        same = bool((this_block == other_block).all()) and this_density == other_density
        times: dict[str, list[float]] = {"this": [], "other": []}
        for _ in range(args.reps):
            for name, peel in (("this", peeling.peel), ("other", other.peel)):
                t0 = time.perf_counter()
                peel(*inputs)
                times[name].append(time.perf_counter() - t0)
        for name, ts in times.items():
            log(f"{size:>9,} edges ({len(u):,} distinct) {name:5}: best {min(ts):.3f} s, median "
                f"{statistics.median(ts):.3f} s, {len(u) / min(ts) / 1e6:.2f} M edges/s")
        log(f"ratio (other / this): best ×{min(times['other']) / min(times['this']):.2f}, median "
            f"×{statistics.median(times['other']) / statistics.median(times['this']):.2f}; same block: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
