"""Live detection keeps what arrives while it reads (found by review): a shipment or product marked again
during a drain stays queued for the next pass, so the late data is read."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from tests.integration.test_detect_live import _live_orders, _market

from chengxin.adapters.db import findings as fd
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain.detection import empty_parcel as EP
from chengxin.domain.detection import price_fraud as PF
from chengxin.services import detect_live
from chengxin.services.ingest import ingest, read_lines

P = "urn:cx:platform:P1"


def _load(app: Chengxin, name: str, lines: list[bytes]) -> None:
    assert ingest(app, read_lines(name, lines), origin=name, defer=True).rejected == 0


def test_waybills_arriving_during_a_drain_are_read(app: Chengxin, tmp_path: Path, monkeypatch) -> None:
    """The planted parcels' waybills arrive while the drain reads their deliveries: they are read too."""
    lines, planted = _market(tmp_path)
    held, rest = [], []
    for line in lines:
        ev = json.loads(line)
        late = ev["type"] == "cx.shipment.created" and (ev["source"], ev["data"]["order_id"]) in planted
        (held if late else rest).append(line.encode())
    assert held
    _load(app, "rest", rest)
    real = EP.read_live

    def read_live(*args, **kwargs):  # the platform sends the waybills while the drain reads (no lock held)
        monkeypatch.setattr(EP, "read_live", real)
        _load(app, "late", held)
        return real(*args, **kwargs)

    monkeypatch.setattr(EP, "read_live", read_live)
    detect_live.drain(app, publish=False)
    caught = _live_orders(app) & planted
    assert len(caught) / len(held) >= 0.75, (len(caught), len(held))  # 3 of 73 before
    with read_connection(app.engine) as conn:
        assert conn.execute(select(fd.live_queue)).first() is None


def _product(app: Chengxin, n: int, at: str, list_price: int, price: int) -> None:
    _load(app, f"p{n}", [json.dumps({
        "specversion": "1.0", "id": f"pp-{n}", "source": P, "type": "cx.product.price_changed", "time": at,
        "data": {"product_id": "G1", "list_price": list_price, "price": price}}).encode()])


def test_a_price_arriving_during_a_drain_keeps_its_mark(app: Chengxin, monkeypatch) -> None:
    _product(app, 1, "2026-03-01T09:00:00+08:00", 1000, 1000)
    with read_connection(app.engine) as conn:
        first = conn.execute(select(fd.live_price_queue)).all()
    assert len(first) == 1
    real = PF.detect

    def detect(*args, **kwargs):
        monkeypatch.setattr(PF, "detect", real)
        _product(app, 2, "2026-03-02T09:00:00+08:00", 2000, 1000)  # arrives while the drain reads
        return real(*args, **kwargs)

    monkeypatch.setattr(PF, "detect", detect)
    assert detect_live.drain_prices(app, publish=False) is not None
    with read_connection(app.engine) as conn:
        left = conn.execute(select(fd.live_price_queue)).all()
    assert len(left) == 1 and left[0].marked_at > first[0].marked_at  # marked again: read at the next pass
    assert detect_live.drain_prices(app, publish=False) is not None
    assert detect_live.drain_prices(app, publish=False) is None


def test_marking_again_moves_the_mark_in_a_group_commit_too(app: Chengxin) -> None:
    """A bulk load's marks (PostgreSQL: through the staging table, which a group may fill twice)."""
    from chengxin.adapters.db.engine import write_transaction

    rows = [(P, f"SH{i}", f"2026-01-01T00:00:00.{i:06d}Z") for i in range(100)]
    with write_transaction(app.engine) as conn:
        detect_live.queue(conn, rows, [])
        detect_live.queue(conn, [(s, i, "2026-01-02T00:00:00.000000Z") for s, i, _ in rows[:70]], [])
    with write_transaction(app.engine) as conn:
        detect_live.queue(conn, [(P, "SH99", "2026-01-03T00:00:00.000000Z")], [])
    with read_connection(app.engine) as conn:
        marks = {r.shipment_id: r.marked_at for r in conn.execute(select(fd.live_queue))}
    assert len(marks) == 100
    assert marks["SH0"] == marks["SH69"] == "2026-01-02T00:00:00.000000Z"
    assert marks["SH70"] == "2026-01-01T00:00:00.000070Z" and marks["SH99"] == "2026-01-03T00:00:00.000000Z"


def _count(app: Chengxin, query) -> int:
    with read_connection(app.engine) as conn:
        return int(conn.execute(query).scalar_one())


def test_a_crash_while_publishing_leaves_the_live_findings_to_the_next_drain(app: Chengxin, tmp_path: Path,
                                                                           monkeypatch) -> None:
    """Stored and unmarked in one transaction, published in the next: a crash between left the findings
    unpublished for ever. Now all three are one transaction: the crash rolls back, the next drain redoes it."""
    from sqlalchemy import func

    from chengxin.adapters.db import review_tables as rt
    from chengxin.services import review_publish

    lines, _ = _market(tmp_path)
    _load(app, "ev", [line.encode() for line in lines])
    queued = _count(app, select(func.count()).select_from(fd.live_queue))
    real = review_publish._queue

    def crash(*args, **kwargs):
        raise SystemExit("the process dies while publishing")

    monkeypatch.setattr(review_publish, "_queue", crash)
    try:
        detect_live.drain(app)
        raise AssertionError("the drain must reach publishing")
    except SystemExit:
        pass
    monkeypatch.setattr(review_publish, "_queue", real)
    live = fd.findings.c.run_id.like(f"{fd.LIVE_PREFIX}%")
    assert _count(app, select(func.count()).select_from(fd.findings).where(live)) == 0
    assert _count(app, select(func.count()).select_from(fd.live_queue)) == queued
    done = detect_live.drain(app)  # the scorer's next pass, or the restarted process's
    assert done and sum(p["flagged"] for p in done["empty_parcel"]) > 0
    items = select(func.count()).select_from(rt.review_items).where(rt.review_items.c.run_id.like("live-%"))
    assert _count(app, items) > 0 and _count(app, select(func.count()).select_from(fd.live_queue)) == 0
    assert all(p["review"]["findings"] == p["flagged"] for p in done["empty_parcel"] if p["flagged"])
