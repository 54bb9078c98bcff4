"""Where a full score rebuild (`chengxin score`) spends its time, step by step (measurement only).

    CHENGXIN_DATABASE_URL=sqlite:///bench/.cache/detect10m/store.db .venv/bin/python bench/profile_rebuild.py

Runs the steps of `standing_ledger.rebuild` and `scoring.rebuild` in-process on the store the settings name, in
the same order and transactions, with DuckDB reading the whole-table aggregates when it can (SQLite and
`CHENGXIN_BATCH_ENGINE=duckdb`, the default), and prints each step's seconds. It rewrites the derived
tables as `chengxin score` does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe, machine
from chengxin.adapters.db import duck
from chengxin.adapters.db.engine import write_transaction
from chengxin.bootstrap import bootstrap
from chengxin.services import profile_dsr, profile_facts, profile_gather, scoring, standing, standing_ledger
from chengxin.settings import Settings


def main() -> int:
    print(describe(machine()))
    app = bootstrap(Settings())
    times: dict[str, float] = {}

    def timed(name: str, step, *args):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = step(*args)
        times[name] = round(time.perf_counter() - started, 1)
        return result

    timed("recount every rating", standing_ledger.rebuild, app)
    now = scoring._now()
    with duck.batch_reader(app.engine, app.settings.batch_engine == "duckdb") as reader:
        with write_transaction(app.engine) as conn:
            timed("lockstep flags", scoring.find_lockstep_orders, conn)
            timed("rater fairness", scoring.fit_fairness, conn, reader)
        with write_transaction(app.engine) as conn:
            g = timed("parties and shops", profile_gather.Gather, conn, None, now, scoring.score_rules(), False,
                      reader)
            facts = profile_gather.Facts(g)
            for step in profile_facts.STEPS:
                timed(step.__name__.removeprefix("add_"), step, g, facts)
            timed("dsr", profile_dsr.add_dsr, g, facts, standing.rules())
            timed("profiles and saving", lambda: [
                scoring.save_scores(conn, facts.profiles(i, i + scoring.REBUILD_SLICE), "rebuild", {})
                for i in range(0, len(facts.keys), scoring.REBUILD_SLICE)])
    print(f"DuckDB: {reader is not None}; parties: {len(facts.keys):,}")
    for name, seconds in times.items():
        print(f"{name:>24} {seconds:8.1f} s")
    print(f"{'total':>24} {sum(times.values()):8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
