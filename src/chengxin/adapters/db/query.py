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
