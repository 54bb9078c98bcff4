"""Honest trade: an order through payment, shipment and its scan trail, delivery, after-sale and
reviews. The shop's hidden quality decides whether it goes well; the buyer's and the shop's regions
decide the route and the transit time. Planted schemes reuse these steps."""

from __future__ import annotations

from typing import Any

from chengxin.simulate.engine import DAY, HOUR, MIN, Platform
from chengxin.simulate.geo import REGIONS, TRANSIT_H, province
from chengxin.simulate.text import BAD, COMPLAINT_TEXT, FOLLOW_BAD, FOLLOW_GOOD, GOOD, MIXED, RETURN_BY_FLAW
from chengxin.simulate.world import FLAW_COUNTERFEIT, FLAW_NAD, World

CARRIERS = (1, 1, 1, 1, 1, 2, 2, 2, 3, 3)  # LG1 (source L1 itself) carries half the parcels
SIGNED_BY = ("recipient",) * 6 + ("locker",) * 2 + ("station", "proxy")
GOOD_SCORES = (5,) * 16 + (4,) * 3 + (3,)
BAD_SCORES = (1, 1, 1, 2, 2, 3)
FLAW_NAMES = ("quality", "not_as_described", "counterfeit")


class Order:
    """What the later steps of one order need to know."""

    __slots__ = ("buyer", "carrier", "oid", "payer", "plat", "region", "shop", "total", "weight")

    def __init__(self, plat: Platform, oid: str, shop: int, buyer: int, region: int, total: int,
                 weight: int, payer: str) -> None:
        self.plat, self.oid, self.shop, self.buyer, self.region = plat, oid, shop, buyer, region
        self.total, self.weight, self.payer, self.carrier = total, weight, payer, 1


class Trade(World):
    # -- ids and hashes -----------------------------------------------------------------------
    def hashes(self, plat: Platform, buyer: int) -> tuple[str, str, str, str]:
        """The platform's opaque keyed hashes of a buyer's device, IP, address and payer account:
        stable per buyer, so that shared ones link accounts."""
        k = plat.key[1:]
        h = (buyer * 2654435761 + self.salt + int(k) * 7919) & 0xFFFFFFF
        return f"d{k}:{h & 0xFFFFF:05x}", f"i{k}:{h >> 6 & 0xFFFFF:05x}", f"a{k}:{h ^ 0x5A5A5A5:07x}", \
            f"p{k}:{h >> 3 ^ 0x3C3C3C:06x}"

    def pick_shop(self, plat: Platform) -> int:
        while True:  # by popularity; closed shops take no orders
            shop = self.weighted(plat.shop_cum)
            if shop not in plat.closed:
                return shop

    def basket(self, plat: Platform, shop: int, cheapest: bool = False) -> tuple[list[dict[str, Any]], int, int]:
        """Items (a shop's first products sell best), total and parcel weight."""
        r, first, count = self.r, plat.prod_first[shop], plat.prod_count[shop]
        if cheapest:
            lines = [(min(range(first, first + count), key=plat.price.__getitem__), 1)]
        else:
            goods = dict.fromkeys(first + int(r() * r() * count) for _ in range(1 + (r() < 0.15)))
            lines = [(g, 1 + int(r() * r() * 3)) for g in goods]
        items = [{"product_id": f"G{g}", "quantity": q, "unit_price": plat.price[g]} for g, q in lines]
        total = sum(q * plat.price[g] for g, q in lines)
        return items, total, sum(q * plat.weight[g] for g, q in lines)

    # -- steps --------------------------------------------------------------------------------
    def place(self, t: int, plat: Platform, shop: int, buyer: int, cheapest: bool = False,
              hashes: tuple[str, str, str, str] | None = None) -> Order:
        items, total, weight = self.basket(plat, shop, cheapest)
        dev, ip, addr, payer = hashes or self.hashes(plat, buyer)
        region = plat.buyer_region[buyer]
        o = Order(plat, plat.new("O"), shop, buyer, region, total, weight, payer)
        self.later(t, plat.src, "cx.order.placed", {
            "order_id": o.oid, "shop_id": f"S{shop}", "buyer_id": f"U{buyer}", "items": items, "total": total,
            "ship_to_region": REGIONS[region].code, "device": dev, "ip": ip, "address": addr})
        return o

    def pay(self, t: int, o: Order) -> None:
        self.later(t, o.plat.src, "cx.order.paid", {"order_id": o.oid, "amount": o.total, "payer_account": o.payer,
                                                    "method": "wallet" if self.r() < 0.6 else "card"})

    def cancel(self, t: int, o: Order, by: str, reason: str) -> None:
        self.later(t, o.plat.src, "cx.order.cancelled", {"order_id": o.oid, "by": by, "reason": reason})

    def shipment(self, t: int, o: Order, weight: int) -> tuple[str, int, Any]:
        """Create the waybill; returns (shipment id, carrier number, who reports scans: source + ref)."""
        plat, carrier = o.plat, self.pick(CARRIERS)
        sh, o.carrier = plat.new("SH"), carrier
        data = {"shipment_id": sh, "order_id": o.oid, "carrier_id": f"LG{carrier}",
                "tracking_no": f"{'SYZ'[carrier - 1]}{plat.key[1:]}{plat.ids['SH']:010d}", "weight_g": weight}
        courier = 0
        if carrier == 1 and self.r() < 0.6:
            courier = self.rand(1, self.p.couriers + 1)
            data["courier_id"] = {"source": self.l1.name, "id": f"C{courier}"}
        self.later(t, plat.src, "cx.shipment.created", data)
        if carrier == 1 and self.r() < 0.7:  # L1 reports most of its parcels itself, by cross-source reference
            return sh, courier, (self.l1, {"source": plat.src.name, "id": sh})
        return sh, courier, (plat.src, sh)

    def scan(self, t: int, rep: Any, status: str, region: str) -> None:
        self.later(t, rep[0], "cx.shipment.scanned", {"shipment_id": rep[1], "status": status, "region": region})

    def deliver(self, t: int, rep: Any, region: str, signed_by: str | None = None) -> None:
        self.later(t, rep[0], "cx.shipment.delivered", {"shipment_id": rep[1], "region": region,
                                                        "signed_by": signed_by or self.pick(SIGNED_BY)})

    def transport(self, t: int, o: Order, weight: int) -> tuple[int, int]:
        """A real parcel: pick-up, hubs, delivery, with transit time from the distance.
        Returns (delivery time, courier number or 0)."""
        if t >= self.end:  # the story is cut off by the end of the period: no waybill
            return t, 0
        _, courier, rep = self.shipment(t, o, weight + self.rand(50, 250))  # packaging
        if courier in self.fake_couriers and self.r() < self.p.fake_delivery_share:
            return self.fake_delivery(t, o, courier, rep), courier
        a, b, r = o.plat.shop_region[o.shop], o.region, self.r
        origin, dest = REGIONS[a].code, REGIONS[b].code
        hours = TRANSIT_H[a][b] * (0.8 + 0.7 * r() * r())
        t += self.rand(HOUR, 4 * HOUR)
        self.scan(t, rep, "picked_up", origin)
        self.scan(t + int(hours * 0.2 * HOUR), rep, "in_transit", province(origin))
        if province(origin) != province(dest):
            self.scan(t + int(hours * 0.7 * HOUR), rep, "arrived", province(dest))
        if r() < 0.02:
            self.scan(t + int(hours * 0.8 * HOUR), rep, "exception", province(dest))
            hours += 24
        self.scan(t + int(hours * 0.9 * HOUR), rep, "out_for_delivery", dest)
        t += int(hours * HOUR)
        self.deliver(t, rep, dest)
        return t, courier

    def fake_delivery(self, t: int, o: Order, courier: int, rep: Any) -> int:
        """A courier's fake: marked delivered within hours of pick-up, at a station near the origin, with no
        transit. The buyer often complains; the goods turn up days later. Returns when they do."""
        origin = REGIONS[o.plat.shop_region[o.shop]].code
        t += self.rand(HOUR, 3 * HOUR)
        self.scan(t, rep, "picked_up", origin)
        t += self.rand(HOUR, 5 * HOUR)
        self.deliver(t, rep, origin, self.pick(("station", "locker")))
        self.fake_couriers[courier].add("orders", o.plat.src.name, o.oid)
        if self.r() < 0.4:
            self.complaint(t + self.rand(DAY, 3 * DAY), o, "delivery", o.total, 0.8, target="LG1")
        return t + self.rand(DAY, 3 * DAY)

    def review(self, t: int, o: Order, direction: str, score: int, text: str | None = None,
               dims: bool = True, follows: str | None = None) -> str | None:
        """Post a review; returns its id, or None when it would fall after the simulated period."""
        plat, r = o.plat, self.r
        buyer, shop = f"U{o.buyer}", f"S{o.shop}"
        author, target = {"buyer_to_seller": (buyer, shop), "seller_to_buyer": (shop, buyer),
                          "buyer_to_carrier": (buyer, f"LG{o.carrier}")}[direction]
        rid = f"R{plat.ids['R'] + 1}"
        data: dict[str, Any] = {"review_id": rid, "order_id": o.oid, "author_id": author, "target_id": target,
                                "direction": direction, "score": score}
        if dims and direction == "buyer_to_seller":
            data["dimensions"] = {"as_described": score, "service": max(1, min(5, score + (r() < 0.2) - (r() < 0.2))),
                                  "logistics": max(1, min(5, score + (r() < 0.3) - (r() < 0.3)))}
        if text:
            data["text"] = text
        if follows:
            data["follows"] = follows
        if not self.later(t, plat.src, "cx.review.posted", data):
            return None
        plat.ids["R"] += 1
        return rid

    def complaint(self, t: int, o: Order, category: str, claimed: int, upheld: float,
                  text: str | None = None, target: Any = None) -> None:
        """A complaint through the platform (most) or the 12315 hotline, resolved days later."""
        plat, r = o.plat, self.r
        by_hotline = r() < 0.15
        src, resolver = (self.hotline, "HL") if by_hotline else (plat.src, "PLAT")
        if by_hotline:
            self.hotline_seq += 1
        cid = f"H{self.hotline_seq}" if by_hotline else plat.new("CP")
        ref = (lambda i: {"source": plat.src.name, "id": i}) if by_hotline else (lambda i: i)
        data: dict[str, Any] = {"complaint_id": cid, "channel": "12315" if by_hotline else "platform",
                                "complainant_id": ref(f"U{o.buyer}"), "target_id": ref(target or f"S{o.shop}"),
                                "order_id": ref(o.oid), "category": category,
                                "text": text or COMPLAINT_TEXT.get(category, "要求处理"), "amount_claimed": claimed}
        if by_hotline:
            del data["complainant_id"]  # the hotline knows the caller, not the platform account
        if not self.later(t, src, "cx.complaint.filed", data):
            return
        x = r()
        outcome = "upheld" if x < upheld * 0.7 else "partly_upheld" if x < upheld else \
            self.pick(("rejected", "rejected", "withdrawn"))
        res = {"complaint_id": data["complaint_id"], "outcome": outcome, "resolved_by": resolver}
        if outcome != "rejected" and outcome != "withdrawn":
            res["compensation"] = claimed if outcome == "upheld" else claimed // 2
        self.later(t + self.rand(DAY, 15 * DAY), src, "cx.complaint.resolved", res)

    # -- the honest order ---------------------------------------------------------------------
    def order(self, t: int, plat: Platform | None = None, shop: int = 0, buyer: int = 0) -> Order:
        plat = plat or self.pick(self.plats)
        shop = shop or self.pick_shop(plat)
        buyer = buyer or self.weighted(plat.buyer_cum)
        o, r = self.place(t, plat, shop, buyer), self.r
        if r() < 0.03:
            self.cancel(t + self.rand(5 * MIN, HOUR), o, "buyer", "拍错了")
            return o
        t += self.rand(MIN, 15 * MIN)
        self.pay(t, o)
        if r() < 0.01:
            self.cancel(t + self.rand(HOUR, DAY), o, "seller", "缺货")
            return o
        good = r() < plat.quality[shop]
        t, _ = self.transport(t + self.rand(2 * HOUR, (36 if good else 72) * HOUR), o, o.weight)
        self.after_delivery(t, o, good)
        return o

    def after_delivery(self, t: int, o: Order, good: bool) -> None:
        """Returns and complaints if it went badly (by the shop's flaw), completion and reviews."""
        r, flaw = self.r, o.plat.shop_flaw[o.shop]
        if not good and r() < (0.25 if flaw == 0 else 0.5):
            category = ("service_breach", "not_as_described", "counterfeit")[flaw]
            self.complaint(t + self.rand(12 * HOUR, 6 * DAY), o, category, o.total, 0.4 if flaw == 0 else 0.85)
        if r() < (0.03 if good else 0.4 if flaw == 0 else 0.6):
            reason = "no_reason" if good else self.pick(RETURN_BY_FLAW[FLAW_NAMES[flaw]])
            if self.returned(t, o, reason, good):
                return
        t += self.rand(DAY, 7 * DAY)
        self.later(t, o.plat.src, "cx.order.completed", {"order_id": o.oid})
        self.honest_reviews(t, o, good)

    def returned(self, t: int, o: Order, reason: str, good: bool) -> bool:
        """Request and resolution of a return; True when the order ended in a refund."""
        rt = f"RT{o.oid[1:]}"  # at most one return per order
        t += self.rand(12 * HOUR, 3 * DAY)
        self.later(t, o.plat.src, "cx.return.requested", {"return_id": rt, "order_id": o.oid, "reason": reason})
        outcome = "rejected" if self.r() < (0.1 if good else 0.2) else "refunded" if self.r() < 0.85 else "exchanged"
        data: dict[str, Any] = {"return_id": rt, "outcome": outcome}
        if outcome == "refunded":
            data["amount"] = o.total
        self.later(t + self.rand(DAY, 5 * DAY), o.plat.src, "cx.return.resolved", data)
        return outcome == "refunded"

    def honest_reviews(self, t: int, o: Order, good: bool) -> None:
        r = self.r
        if r() < (0.55 if good else 0.75):
            score = self.pick(GOOD_SCORES if good else BAD_SCORES)
            text = self.text(score) if r() < 0.6 else None
            rid = self.review(t + self.rand(HOUR, 5 * DAY), o, "buyer_to_seller", score, text, dims=r() < 0.7)
            if rid and r() < 0.04:
                follow = self.pick(FOLLOW_GOOD if good else FOLLOW_BAD)
                self.review(t + self.rand(10 * DAY, 40 * DAY), o, "buyer_to_seller", score, follow, False, rid)
        if r() < 0.15:
            self.review(t + self.rand(HOUR, 3 * DAY), o, "seller_to_buyer", 5 if r() < 0.95 else 3, "好买家", False)
        if r() < 0.08:
            self.review(t + self.rand(HOUR, 5 * DAY), o, "buyer_to_carrier", self.pick(GOOD_SCORES), None, False)

    def text(self, score: int) -> str:
        pool = GOOD if score >= 4 else MIXED if score == 3 else BAD
        n = 1 + int(self.r() * 3)
        return "，".join(dict.fromkeys(self.pick(pool) for _ in range(n)))

    def flaw_name(self, plat: Platform, shop: int) -> str:
        return FLAW_NAMES[plat.shop_flaw[shop]]


__all__ = ["FLAW_COUNTERFEIT", "FLAW_NAD", "Order", "Trade"]
