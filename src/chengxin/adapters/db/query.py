"""Query helpers shared by the read models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_


def pair_in(first: Any, second: Any, pairs: Iterable[tuple[Any, Any]]) -> ColumnElement[bool]:
    """`(first, second) IN pairs`, written as an OR of equalities.

    SQLite does not use a composite index for a row-value `IN (VALUES ...)`: it scans the whole table, which
    at a million rows turns a page view into a table scan. An OR of `a = ? AND b = ?` uses the index on both
    SQLite and PostgreSQL. An empty list matches nothing."""
    terms = [and_(first == a, second == b) for a, b in dict.fromkeys(pairs)]
    return or_(*terms) if terms else false()
