"""Extra population for the lookup bench: many parties and shops, few trade events (events-v1 JSON Lines).

    python bench/gen_parties.py --merchants 90000 --subjects 938285 --out FILE

Reuses bench/gen_events.py's merchant and person onboarding (same names, regions, USCCs, resident IDs,
licences, commitments, regulator registrations) without products, under a second platform source
(`urn:cx:platform:P2`, ids from 1) and the Shanghai regulator with ids and serials far above those of a
gen_events stream of the same seed, so the two files load into one store without a collision.
`--subjects` is the number of `cx.subject.registered` lines to write in all: merchants (and their regulator
registrations) first, then natural persons until the count is reached.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_events import REGIONS, SETUP_DAYS, Generator, Platform, Source  # noqa: E402

OFFSET = 5_000_000  # serials (USCC, regulator ids, event ids) above anything gen_events reaches


class PartyGenerator(Generator):
    def products(self, p, sid, cats, step):  # type: ignore[no-untyped-def, override]
        return iter(())  # shop pages do not list products: skip them to keep the file small


def parties(merchants: int, subjects: int, seed: int = 11, platform: str = "P2") -> Iterator[dict]:
    g = PartyGenerator(1000, seed, 1)
    p = Platform(platform)
    g.plats = [p]
    g.shops, g.persons = merchants, max(0, subjects - merchants)
    g.parties = OFFSET
    g.region_k = [100_000] * len(REGIONS)
    g.reg = Source("urn:cx:regulator:310000")
    g.reg.n = OFFSET
    g.reg_regions = bytearray(OFFSET // 50)  # regulator subject ids E100000+ (gen_events stays far below)
    step = SETUP_DAYS * 86400 / (merchants * 5 + subjects + 1)
    written = 0
    for _ in range(merchants):
        for ev in g.merchant(p, False, step):
            if ev["type"] == "cx.subject.registered":
                written += 1
            yield ev
    while written < subjects:
        written += 1
        yield g.person(p, g.tick(step))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--merchants", type=int, required=True, help="merchants, each with one shop")
    ap.add_argument("--subjects", type=int, required=True, help="cx.subject.registered lines in all")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--platform", default="P2")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    started, n = time.perf_counter(), 0
    line = functools.partial(orjson.dumps, option=orjson.OPT_APPEND_NEWLINE)
    with open(args.out, "wb", buffering=1 << 20) as f:
        for ev in parties(args.merchants, args.subjects, args.seed, args.platform):
            f.write(line(ev))
            n += 1
    print(f"{n} events in {time.perf_counter() - started:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
