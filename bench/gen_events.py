"""Load generator for benchmarks: `python bench/gen_events.py --events N [--seed S] [--platforms P] --out FILE`.

The generator itself lives in the package (`chengxin.demo.loadgen`) because `chengxin demo` uses it too.
"""

from __future__ import annotations

import sys

from chengxin.demo.loadgen import generate, main, write

__all__ = ["generate", "main", "write"]

if __name__ == "__main__":
    sys.exit(main())
