"""`chengxin evaluate`: score detection findings against a simulator truth file (docs/simulator.md).

Findings come from the store (each detector's newest run) or from a `chengxin detect --json` file. The
universe of each class is the store's: every subject and shop (parties), order, review and product. The
store is not loaded whole: the universe is its row count plus a membership check of the entities the truth
and the findings name (a store may hold millions of orders; a truth file names thousands).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Table, func, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.adapters.db.findings import read_findings
from chengxin.bootstrap import Chengxin
from chengxin.domain import quality
from chengxin.domain.events import Ref
from chengxin.exc import InvalidInput

_T = TypeVar("_T")
_CHUNK = 400  # ids per IN (...) query: well under SQLite's variable limit

# Each class's tables and their id column; parties are subjects and shops (ids unique within a source).
_UNIVERSE: dict[str, tuple[tuple[Table, str], ...]] = {
    "parties": ((t.subjects, "subject_id"), (t.shops, "shop_id")),
    "orders": ((t.orders, "order_id"),),
    "reviews": ((t.reviews, "review_id"),),
    "products": ((t.products, "product_id"),),
}


def evaluate(cx: Chengxin, truth_path: Path, findings_path: Path | None = None, *,
             run_id: str | None = None) -> quality.Evaluation:
    """Score findings (the file's, or the store's: `run_id`'s, else each detector's newest run)."""
    truth = _parse(quality.parse_truth, truth_path, "truth file")
    found = _parse(quality.parse_findings, findings_path, "findings file") if findings_path is not None else None
    with read_connection(cx.engine) as conn:
        if found is None:
            found = [s.finding for s in read_findings(conn, run_id=run_id)]
        universe = store_universe(conn, _named(truth, found))
    return quality.evaluate(truth, found, universe)


def _parse(parse: Callable[[Any], _T], path: Path, what: str) -> _T:
    try:
        return parse(orjson.loads(path.read_bytes()))
    except OSError as e:
        raise InvalidInput(f"{what} {path}: cannot read ({e.strerror})") from None
    except orjson.JSONDecodeError as e:
        raise InvalidInput(f"{what} {path}: not JSON ({e})") from None
    except InvalidInput as e:
        raise InvalidInput(f"{what} {path}: {e.detail}") from None


def _named(truth: quality.Truth, found: Sequence[quality.Finding]) -> dict[str, set[Ref]]:
    merged = truth.merged()
    return {c: set(merged.of(c)).union(*(f.refs(c) for f in found)) for c in quality.CLASSES}


def store_universe(conn: Connection, named: dict[str, set[Ref]]) -> dict[str, quality.Universe]:
    """Per class, the store's entity count and which of the `named` entities it holds."""
    return {cls: quality.Universe(_count(conn, sources), _present(conn, sources, named.get(cls, set())))
            for cls, sources in _UNIVERSE.items()}


def _count(conn: Connection, sources: Iterable[tuple[Table, str]]) -> int:
    return sum(conn.execute(select(func.count()).select_from(table)).scalar_one() for table, _ in sources)


def _present(conn: Connection, sources: Iterable[tuple[Table, str]], refs: set[Ref]) -> frozenset[Ref]:
    # Per source `source = ? AND id IN (...)`: uses the primary key on both databases (see store.py).
    by_source: dict[str, list[str]] = {}
    for source, entity_id in refs:
        by_source.setdefault(source, []).append(entity_id)
    found: set[Ref] = set()
    for table, key in sources:
        col = table.c[key]
        for source, ids in by_source.items():
            for i in range(0, len(ids), _CHUNK):
                q = select(col).where(table.c.source == source, col.in_(ids[i:i + _CHUNK]))
                found.update((source, entity_id) for entity_id in conn.execute(q).scalars())
    return frozenset(found)
