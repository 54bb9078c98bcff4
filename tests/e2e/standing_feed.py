"""A small marketplace for the standing and score pages and endpoints, as events-v1 lines (after
tests/integration/test_scoring.py's `Feed`): two merchants with a shop each in one category, three buyers, and
paid, completed, rated orders. Times are relative to now, so the 180-day windows always hold the ratings.

Shop S1 (merchant M1, registered 60 days ago, licensed): five counted five/four-star ratings (5 points, one
heart), detailed ratings above its category. Shop S2 (merchant M2, no licence published): two three-star
ratings (no points), detailed ratings below the category.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.services.ingest import ingest, read_lines
from chengxin.settings import Settings

P1 = "urn:cx:platform:P1"
CST = timezone(timedelta(hours=8))
S1_ORDERS = ("O1", "O2", "O3", "O4", "O5")
M1_USCC = "91310000MA1FL8LQ21"


def at(days_ago: float, hour: int = 10) -> str:
    moment = (datetime.now(UTC) - timedelta(days=days_ago)).astimezone(CST)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+08:00")


class Feed:
    """Builds events of platform P1."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.n = 0

    def ev(self, typ: str, time: str, data: dict[str, Any]) -> Feed:
        self.n += 1
        self.lines.append(json.dumps({"specversion": "1.0", "id": f"st-{self.n}", "source": P1, "type": typ,
                                      "time": time, "data": data}, ensure_ascii=False).encode())
        return self

    def merchant(self, subject_id: str, uscc: str, name: str, shop_id: str, shop_name: str) -> Feed:
        self.ev("cx.subject.registered", at(60, 9), {
            "subject_id": subject_id, "kind": "enterprise", "name": name, "uscc": uscc, "region": "310104",
            "verified_at": at(60, 11)})
        return self.ev("cx.shop.opened", at(60, 12), {
            "shop_id": shop_id, "operator_id": subject_id, "name": shop_name,
            "url": f"https://{shop_id.lower()}.standing.example", "categories": ["daily_goods"]})

    def buyer(self, subject_id: str, name: str, id_number: str) -> Feed:
        return self.ev("cx.subject.registered", at(59, 9), {
            "subject_id": subject_id, "kind": "person", "name": name, "id_number": id_number, "region": "310104"})

    def order(self, oid: str, shop: str, buyer: str, days_ago: int, score: int, dims: tuple[int, int, int]) -> Feed:
        product = f"G-{oid}"  # one product per order: the 14-day same-item rule never applies
        self.ev("cx.order.placed", at(days_ago, 10), {
            "order_id": oid, "shop_id": shop, "buyer_id": buyer,
            "items": [{"product_id": product, "quantity": 1, "unit_price": 990}], "total": 990,
            "ship_to_region": "310104"})
        self.ev("cx.order.paid", at(days_ago, 11), {"order_id": oid, "amount": 990, "method": "wallet"})
        self.ev("cx.order.completed", at(days_ago, 18), {"order_id": oid})
        return self.ev("cx.review.posted", at(days_ago, 19), {
            "review_id": f"R{oid}", "order_id": oid, "author_id": buyer, "target_id": shop,
            "direction": "buyer_to_seller", "score": score,
            "dimensions": {"as_described": dims[0], "service": dims[1], "logistics": dims[2]}})


def standing_lines() -> list[bytes]:
    feed = (Feed()
            .merchant("M1", M1_USCC, "示例好评贸易有限公司", "S1", "好评小店")
            .ev("cx.licence.published", at(60, 13), {
                "subject_id": "M1", "licence_type": "business_licence", "number": M1_USCC,
                "issuer": "上海市徐汇区市场监督管理局", "valid_from": "2020-05-01"})
            .merchant("M2", "91310104MA1FL8XQ36", "示例一般贸易有限公司", "S2", "一般小店")
            .buyer("U1", "张三", "31010419900307123X")
            .buyer("U2", "李四", "110105198511224567")
            .buyer("U3", "王五", "440305199208157893"))
    # S1: three by U1 and two by U3 (the DSR counts at most three per buyer and month), all counted
    for oid, buyer, days, score, dims in (("O1", "U1", 40, 5, (5, 5, 5)), ("O2", "U1", 35, 5, (5, 5, 4)),
                                          ("O3", "U1", 30, 4, (4, 5, 5)), ("O4", "U3", 25, 5, (5, 4, 5)),
                                          ("O5", "U3", 20, 5, (5, 5, 5))):
        feed.order(oid, "S1", buyer, days, score, dims)
    for oid, days in (("O6", 33), ("O7", 23)):  # S2: two middling ratings by U2
        feed.order(oid, "S2", "U2", days, 3, (3, 3, 3))
    feed.ev("cx.review.posted", at(39, 9), {  # the seller rates buyer U1: the buyer's own credit point
        "review_id": "RB1", "order_id": "O1", "author_id": "S1", "target_id": "U1", "direction": "seller_to_buyer",
        "score": 5})
    return feed.lines


def make_standing_cx(tmp: Path, *extra: bytes) -> Chengxin:
    """A fresh SQLite store in `tmp` holding the standing marketplace (and any extra lines after it)."""
    cx = bootstrap(Settings(database_url=f"sqlite:///{tmp}/standing.db", keys_file=tmp / "keys.json"))
    report = ingest(cx, read_lines("standing", [*standing_lines(), *extra]), origin="standing")
    assert report.rejected == 0, report.as_dict()
    return cx
