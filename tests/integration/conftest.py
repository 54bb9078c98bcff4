"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError
from tests.integration.test_scoring import Feed, P

from chengxin.services import trade
from chengxin.services.ingest import ingest, read_lines


@pytest.fixture
def poisoned(app, monkeypatch):
    """Order O2's figures cannot be stored (as a 2,670-character shipment id over PostgreSQL's index limit):
    every transaction that refreshes them fails."""
    tries: list[int] = []
    real = trade.refresh

    def refresh(conn, rules, orders):
        if (P, "O2") in orders and -1 not in tries:  # -1: mended
            tries.append(1)
            raise DataError("INSERT INTO trade_parts ...", {}, Exception("index row size exceeds maximum"))
        return real(conn, rules, orders)

    monkeypatch.setattr(trade, "refresh", refresh)
    assert ingest(app, read_lines("f", Feed().parties().order("O1", "2026-03-02").order("O2", "2026-04-02")
                                  .order("O3", "2026-05-02").text().encode().splitlines()), origin="f",
                  defer=True).rejected == 0
    return tries
