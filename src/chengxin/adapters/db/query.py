"""Query helpers shared by the read models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, or_


def pair_in(first: Any, second: Any, pairs: Iterable[tuple[Any, Any]]) -> ColumnElement[bool]:
    """`(first, second) IN pairs`, written as an OR of equalities.

    SQLite does not use a composite index for a row-value `IN (VALUES ...)`: it scans the whole table, which
    at a million rows turns a page view into a table scan. An OR of `a = ? AND b = ?` uses the index on both
    SQLite and PostgreSQL. An empty list matches nothing."""
    terms = [and_(first == a, second == b) for a, b in dict.fromkeys(pairs)]
    return or_(*terms) if terms else false()


def bound_pair_in(first: Any, second: Any, name: str, n: int) -> ColumnElement[bool]:
    """`pair_in` for `n` pairs given later as parameters (`pair_params(name, pairs)`): a statement built
    once per shape is reused, so SQLAlchemy neither rebuilds it nor recomputes its cache key per request."""
    terms = [and_(first == bindparam(f"{name}a{i}"), second == bindparam(f"{name}b{i}")) for i in range(n)]
    return or_(*terms) if terms else false()


def pair_params(name: str, pairs: Sequence[tuple[Any, Any]]) -> dict[str, Any]:
    """The parameters of a `bound_pair_in(..., name, len(pairs))`."""
    params: dict[str, Any] = {}
    for i, (a, b) in enumerate(pairs):
        params[f"{name}a{i}"], params[f"{name}b{i}"] = a, b
    return params


_IN: dict[tuple[int, str, int], tuple[Any, Any]] = {}


def select_in(stmt: Any, col: Any, values: Sequence[Any], name: str = "k") -> tuple[Any, dict[str, Any]]:
    """`stmt` where `col` is one of `values`, as a statement built once per shape (1, 2, 4 ... values, the
    last value repeated to fill) and its parameters, so that `adapters/db/direct.py` can run it as is."""
    n = 1 << (max(1, len(values)) - 1).bit_length()
    found = _IN.get((id(stmt), name, n))
    if found is None or found[0] is not stmt:  # keyed by id: check it is the very statement
        found = _IN[(id(stmt), name, n)] = (stmt, stmt.where(col.in_([bindparam(f"{name}{i}") for i in range(n)])))
    padded = [*values, *[values[-1]] * (n - len(values))] if values else [None] * n
    return found[1], {f"{name}{i}": v for i, v in enumerate(padded)}
