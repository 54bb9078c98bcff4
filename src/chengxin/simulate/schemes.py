"""Planted dishonesty, every kind the guiding opinions name, each labelled in the truth file.

`plant()` runs once after onboarding: it picks the parties of every scheme and books each scheme's
days in `by_day`; the day loop then runs them on those days, through the same steps honest trade
uses (so a fake order looks like an order, except where the scheme gives it away).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from chengxin.simulate.engine import DAY, HOUR, MIN, ONBOARD_DAYS, Platform
from chengxin.simulate.geo import REGIONS, km, province
from chengxin.simulate.text import (
    BAD,
    CATEGORIES,
    EXTORTION_TEXT,
    GOOD,
    RING_TEMPLATES,
    SABOTAGE_TEMPLATES,
    VARIANTS,
)
from chengxin.simulate.trade import CARRIERS, Order, Trade
from chengxin.simulate.truth import Group
from chengxin.simulate.world import FLAW_COUNTERFEIT, FLAW_NAD


class Ring:
    """One fake-order ring: its accounts, target shops, shared identifiers and truth groups."""

    def __init__(self, plat: Platform, g: Group, tg: Group, eg: Group) -> None:
        self.plat, self.g, self.tg, self.eg = plat, g, tg, eg
        self.members: list[int] = []
        self.shared: tuple[list[str], list[str], list[str]] = ([], [], [])  # devices, addresses, payers
        self.schedule: dict[int, list[tuple[int, int]]] = {}  # trading day -> [(buyer, shop)]
        self.tracking: list[str] = []                          # waybill numbers, some reused


class Schemes(Trade):
    def plant(self) -> None:
        p = self.p
        for _ in range(p.bad_sellers):
            self.plant_seller(FLAW_NAD)
        for _ in range(p.counterfeit_sellers):
            self.plant_seller(FLAW_COUNTERFEIT)
        for _ in range(p.rings):
            self.plant_ring()
        for _ in range(p.sabotage_campaigns):
            self.plant_sabotage()
        for _ in range(p.extortionists):
            self.plant_reviewer("extortion")
        for _ in range(p.serial_negative_reviewers):
            self.plant_reviewer("serial_negative")
        self.plant_couriers()
        for _ in range(p.fake_traffic_shops):
            self.plant_traffic()
        for _ in range(p.price_fraud_products):
            self.plant_price_fraud()
        for _ in range(p.stolen_accounts):
            self.plant_stolen_account()

    # -- helpers ------------------------------------------------------------------------------
    def book(self, day: int, fn: Any, *args: Any) -> None:
        if 0 <= day < self.p.days:
            self.by_day[day].append(partial(fn, *args))

    def free_shop(self, plat: Platform, unpopular: bool = False) -> int:
        """A shop not yet given a planted role (unpopular ones for rings: brushing builds new shops up)."""
        for _ in range(1000):
            shop = 1 + int(self.r() * self.p.shops) if unpopular else self.weighted(plat.shop_cum)
            if shop not in plat.planted and (not unpopular or self.popularity_rank(plat, shop) > 0.3):
                plat.planted.add(shop)
                return shop
        raise ValueError("too few shops for the planted schemes: raise --shops")

    def popularity_rank(self, plat: Platform, shop: int) -> float:
        """Share of a shop's popularity in the platform's total, relative to the mean shop: > 1 popular."""
        cum = plat.shop_cum
        w = cum[shop - 1] - (cum[shop - 2] if shop > 1 else 0.0)
        return 1.0 / (w * len(cum) / cum[-1])

    def new_accounts(self, plat: Platform, n: int, day: int) -> list[int]:
        """Fresh buyer accounts registered a few days before `day` (young accounts; no honest activity)."""
        t = (ONBOARD_DAYS + day) * DAY
        return [self.buyer(plat, max(HOUR, t - self.rand(HOUR, 5 * DAY)), activity=0.0) for _ in range(n)]

    def established(self, plat: Platform, n: int) -> list[int]:
        """Active existing accounts (drawn by activity), distinct."""
        seen: dict[int, None] = {}
        for _ in range(50 * n):
            if len(seen) == n:
                break
            seen.setdefault(self.weighted(plat.buyer_cum))
        return list(seen)

    def start_day(self, span: int) -> int:
        return self.rand(0, max(1, self.p.days - span))

    def shop_party(self, g: Group, plat: Platform, shop: int, role: str = "shop") -> None:
        g.party(plat.src.name, f"S{shop}", role)

    def buyer_party(self, g: Group, plat: Platform, buyer: int, role: str) -> None:
        g.party(plat.src.name, f"U{buyer}", role)

    def variant(self, text: str) -> str:
        return text.rstrip("！!。") + self.pick(VARIANTS)

    def hex_id(self, plat: Platform, prefix: str, digits: int) -> str:
        return f"{prefix}{plat.key[1:]}:{self.rng.getrandbits(4 * digits):0{digits}x}"

    # -- not as described, counterfeit --------------------------------------------------------
    def plant_seller(self, flaw: int) -> None:
        plat = self.pick(self.plats)
        shop = self.free_shop(plat)
        plat.shop_flaw[shop] = flaw
        plat.quality[shop] = 0.3 + 0.3 * self.r()
        scheme = "counterfeit" if flaw == FLAW_COUNTERFEIT else "not_as_described"
        g = self.truth.group("not_as_described", scheme, {"quality": round(plat.quality[shop], 3)})
        self.shop_party(g, plat, shop)
        for prod in range(plat.prod_first[shop], plat.prod_first[shop] + plat.prod_count[shop]):
            g.add("products", plat.src.name, f"G{prod}")

    # -- fake-order rings ---------------------------------------------------------------------
    def plant_ring(self) -> None:
        p, plat = self.p, self.pick(self.plats)
        n = len(self.truth.groups["fake_order_ring"]) + 1
        g = self.truth.group("fake_order_ring", "ring", {"camouflage": p.ring_camouflage,
                                                         "lockstep_minutes": p.ring_lockstep_minutes})
        ring = Ring(plat, g, self.truth.group("template_review", "template", {"ring": g.name}),
                    self.truth.group("empty_parcel", "empty_parcel", {"ring": g.name, "features": {}}))
        first, span = self.start_day(30), min(30, p.days)
        workers = self.new_accounts(plat, self.between(p.ring_workers), first)
        hijacked = self.established(plat, round(len(workers) * p.ring_hijacked_share))
        ring.members = workers + hijacked
        for b in workers:
            self.buyer_party(g, plat, b, "worker")
        for b in hijacked:
            self.buyer_party(g, plat, b, "hijacked")
        for k, pool in enumerate(ring.shared):
            pool.extend(self.hex_id(plat, "dap"[k], 5) for _ in range(self.rand(1, 4)))
        targets = [self.free_shop(plat, unpopular=True) for _ in range(self.between(p.ring_target_shops))]
        for shop in targets:
            self.shop_party(g, plat, shop)
            self.shop_party(ring.eg, plat, shop)
        g.details.update(number=n, first_day=self.day_text((ONBOARD_DAYS + first) * DAY))
        days = sorted(self.rng.sample(range(first, first + span), min(span, p.ring_orders_per_worker[1] + 3)))
        for buyer in ring.members:
            for shop in targets:
                for d in self.rng.sample(days, min(len(days), self.between(p.ring_orders_per_worker))):
                    ring.schedule.setdefault(d, []).append((buyer, shop))
            for _ in range(self.between(p.ring_camouflage_orders) if p.ring_camouflage != "none" else 0):
                self.book(first + self.rand(0, span), self.camouflage, plat, buyer)
        for d in ring.schedule:
            self.book(d, self.ring_day, ring, d)

    def camouflage(self, plat: Platform, buyer: int, t0: int) -> None:
        """An honest order by a ring account at a shop outside the ring: hides the account."""
        popular = self.p.ring_camouflage == "popular"
        shop = self.pick_shop(plat) if popular else 1 + int(self.r() * self.p.shops)
        if shop not in plat.closed:
            self.order(t0 + self.second_of_day(), plat, shop, buyer)

    def ring_day(self, ring: Ring, day: int, t0: int) -> None:
        """One campaign day: every scheduled fake order inside the lockstep window."""
        p, r, window = self.p, self.r, t0 + self.rand(10 * HOUR, 21 * HOUR)
        for buyer, shop in ring.schedule[day]:
            hashes = list(self.hashes(ring.plat, buyer))
            for k, pool in enumerate(ring.shared):  # device, address, payer: shared in part
                if r() < p.ring_shared_share:
                    hashes[(0, 2, 3)[k]] = self.pick(pool)
            t = window + self.rand(0, p.ring_lockstep_minutes * MIN)
            o = self.place(t, ring.plat, shop, buyer, cheapest=True, hashes=tuple(hashes))  # type: ignore[arg-type]
            ring.g.add("orders", ring.plat.src.name, o.oid)
            t += self.rand(MIN, 5 * MIN)
            self.pay(t, o)
            t += self.rand(HOUR, 8 * HOUR)
            t = self.empty_parcel(t, o, ring) if r() < p.ring_empty_parcel_share else \
                self.transport(t, o, o.weight)[0]
            self.fake_review(t, o, ring)

    def fake_review(self, t: int, o: Order, ring: Ring) -> None:
        """Confirm receipt quickly, then five stars: a near-copy of the ring's template, mostly."""
        t += self.rand(2 * HOUR, DAY)
        self.later(t, o.plat.src, "cx.order.completed", {"order_id": o.oid})
        templated = self.r() < self.p.ring_template_share
        text = self.variant(RING_TEMPLATES[ring.g.details["number"] % len(RING_TEMPLATES)]) if templated \
            else self.pick(GOOD)
        rid = self.review(t + self.rand(10 * MIN, 3 * HOUR), o, "buyer_to_seller", 5, text)
        if rid:
            ring.g.add("reviews", o.plat.src.name, rid)
            if templated:
                ring.tg.add("reviews", o.plat.src.name, rid)
                self.buyer_party(ring.tg, o.plat, o.buyer, "author")

    def empty_parcel(self, t: int, o: Order, ring: Ring) -> int:
        """空包: a waybill with nothing real behind it. Each carries at least one tell: too light,
        only pick-up and signature within hours, signed far from the ship-to region, or a reused number."""
        plat, r = o.plat, self.r
        carrier = self.pick(CARRIERS)
        sh, o.carrier = plat.new("SH"), carrier
        reused = bool(ring.tracking) and r() < 0.2
        tracking = self.pick(ring.tracking) if reused else f"{'SYZ'[carrier - 1]}{plat.key[1:]}{plat.ids['SH']:010d}"
        ring.tracking.append(tracking)
        light, two_node, far = r() < 0.85, r() < 0.7, r() < 0.3
        if not (light or two_node or far):
            two_node = True
        if not self.later(t, plat.src, "cx.shipment.created", {
                "shipment_id": sh, "order_id": o.oid, "carrier_id": f"LG{carrier}", "tracking_no": tracking,
                "weight_g": self.rand(5, 50) if light else o.weight + self.rand(50, 250)}):
            return t
        features = ring.eg.details["features"]
        for name, on in (("light", light), ("two_node", two_node), ("far", far), ("reused_tracking", reused)):
            features[name] = features.get(name, 0) + on
        ring.eg.add("orders", plat.src.name, o.oid)
        rep = (plat.src, sh)
        origin, dest = REGIONS[plat.shop_region[o.shop]].code, REGIONS[o.region].code
        t += self.rand(HOUR, 3 * HOUR)
        self.scan(t, rep, "picked_up", origin)
        if two_node:
            t += self.rand(2 * HOUR, 10 * HOUR)
        else:
            self.scan(t + self.rand(2 * HOUR, 6 * HOUR), rep, "in_transit", province(origin))
            t += self.rand(20 * HOUR, 60 * HOUR)
            self.scan(t - 3 * HOUR, rep, "out_for_delivery", dest)
        signed = self.far_region(o.region) if far else dest
        self.deliver(t, rep, signed, self.pick(("proxy", "station")))
        return t

    def far_region(self, region: int) -> str:
        here = REGIONS[region]
        far = [r.code for r in REGIONS if km(here, r) > 1000]
        return self.pick(far) if far else REGIONS[(region + 20) % len(REGIONS)].code

    # -- 降信: sabotage of a rival ------------------------------------------------------------
    def plant_sabotage(self) -> None:
        plat = self.pick(self.plats)
        victim = self.free_shop(plat)
        rivals = [s for s in range(1, self.p.shops + 1) if plat.shop_cat[s] == plat.shop_cat[victim]
                  and s not in plat.planted]
        instigator = self.pick(rivals) if rivals else self.free_shop(plat)
        plat.planted.add(instigator)
        g = self.truth.group("malicious_review", "sabotage", {"victim": {"source": plat.src.name, "id": f"S{victim}"}})
        tg = self.truth.group("template_review", "template", {"campaign": g.name})
        self.shop_party(g, plat, instigator, "instigator")
        n = self.between(self.p.sabotage_orders)
        first = self.start_day(12)
        workers = self.new_accounts(plat, max(3, n // 2), first)
        for b in workers:
            self.buyer_party(g, plat, b, "worker")
        for k in range(n):
            self.book(first + self.rand(0, 10), self.sabotage_order, plat, victim, workers[k % len(workers)], g, tg)

    def sabotage_order(self, plat: Platform, victim: int, buyer: int, g: Group, tg: Group, t0: int) -> None:
        t = t0 + self.second_of_day()
        o = self.place(t, plat, victim, buyer, cheapest=True)
        g.add("orders", plat.src.name, o.oid)
        self.pay(t + self.rand(MIN, 10 * MIN), o)
        t, _ = self.transport(t + self.rand(2 * HOUR, 24 * HOUR), o, o.weight)  # the victim ships for real
        t += self.rand(HOUR, 2 * DAY)
        self.later(t, plat.src, "cx.order.completed", {"order_id": o.oid})
        text = self.variant(self.pick(SABOTAGE_TEMPLATES))
        rid = self.review(t + self.rand(10 * MIN, DAY), o, "buyer_to_seller", 1, text)
        if rid:
            g.add("reviews", plat.src.name, rid)
            tg.add("reviews", plat.src.name, rid)
            self.buyer_party(tg, plat, buyer, "author")
        if self.r() < 0.3:
            self.complaint(t + self.rand(HOUR, DAY), o, "counterfeit", o.total, 0.1)

    # -- 差评师 and serial negative reviewers -------------------------------------------------
    def plant_reviewer(self, scheme: str) -> None:
        plat, p = self.pick(self.plats), self.p
        reviewer = self.established(plat, 1)[0]
        g = self.truth.group("malicious_review", scheme)
        self.buyer_party(g, plat, reviewer, "reviewer")
        n = self.between(p.extortion_victims if scheme == "extortion" else p.serial_negative_orders)
        for _ in range(n):
            if scheme == "extortion":
                shop = 1 + int(self.r() * p.shops)  # small shops, who pay to make it stop
            else:
                shop = max((self.pick_shop(plat) for _ in range(3)), key=plat.quality.__getitem__)
            self.book(self.rand(0, p.days), self.malicious_order, plat, shop, reviewer, g, scheme)

    def malicious_order(self, plat: Platform, shop: int, buyer: int, g: Group, scheme: str, t0: int) -> None:
        if shop in plat.closed:
            return
        t = t0 + self.second_of_day()
        o = self.place(t, plat, shop, buyer)
        g.add("orders", plat.src.name, o.oid)
        self.pay(t + self.rand(MIN, 10 * MIN), o)
        t, _ = self.transport(t + self.rand(2 * HOUR, 24 * HOUR), o, o.weight)
        t += self.rand(HOUR, 3 * DAY)
        self.later(t, plat.src, "cx.order.completed", {"order_id": o.oid})
        extortion = scheme == "extortion"
        score = 1 if extortion else self.pick((1, 1, 2))
        text = EXTORTION_TEXT if extortion else "，".join(dict.fromkeys(self.pick(BAD) for _ in range(2)))
        t += self.rand(HOUR, DAY)
        rid = self.review(t, o, "buyer_to_seller", score, text)
        if not rid:
            return
        g.add("reviews", plat.src.name, rid)
        if extortion:
            self.extort(t, o, rid)

    def extort(self, t: int, o: Order, rid: str) -> None:
        """Demand compensation; the seller pays, the complaint is withdrawn and a glowing follow-up appears."""
        plat, claimed = o.plat, o.total * self.rand(3, 10)
        cid = plat.new("CP")
        t += self.rand(HOUR, DAY)
        if not self.later(t, plat.src, "cx.complaint.filed", {
                "complaint_id": cid, "channel": "platform", "complainant_id": f"U{o.buyer}",
                "target_id": f"S{o.shop}", "order_id": o.oid, "category": "not_as_described",
                "text": "商品有严重问题，要求赔偿，否则差评不删", "amount_claimed": claimed}):
            return
        t += self.rand(DAY, 3 * DAY)
        self.later(t, plat.src, "cx.complaint.resolved", {"complaint_id": cid, "outcome": "withdrawn",
                                                          "resolved_by": "PLAT"})
        self.review(t + self.rand(HOUR, DAY), o, "buyer_to_seller", 5, "问题已解决，追加好评", False, rid)

    # -- couriers faking deliveries -----------------------------------------------------------
    def plant_couriers(self) -> None:
        n = min(self.p.fake_delivery_couriers, self.p.couriers)
        for c in self.rng.sample(range(1, self.p.couriers + 1), n):
            g = self.truth.group("empty_parcel", "fake_delivery")
            g.party(self.l1.name, f"C{c}", "courier")
            self.fake_couriers[c] = g  # Trade.fake_delivery adds the orders

    # -- fake traffic -------------------------------------------------------------------------
    def plant_traffic(self) -> None:
        plat = self.pick(self.plats)
        shop = self.free_shop(plat)
        g = self.truth.group("fake_traffic", "fake_traffic", {"burst_days": []})
        self.shop_party(g, plat, shop)
        product = plat.prod_first[shop]
        g.add("products", plat.src.name, f"G{product}")
        for _ in range(self.rand(2, 5)):
            first = self.start_day(6)
            for d in range(first, first + self.rand(2, 6)):
                self.book(d, self.traffic_burst, plat, shop, product, g)

    def traffic_burst(self, plat: Platform, shop: int, product: int, g: Group, t0: int) -> None:
        """Bought visits: many times the shop's normal traffic, orders as usual, few repeat visitors."""
        visits, uv, orders = self.normal_traffic(plat, shop)
        boost = self.rand(8, 30)
        t = t0 + DAY + self.rand(HOUR, 6 * HOUR)  # reported the next morning
        day = self.day_text(t0)
        for pid in (None, product):
            data = {"shop_id": f"S{shop}", "date": day, "visits": visits * boost, "unique_visitors": uv * boost,
                    "orders": orders}
            if pid:
                data["product_id"] = f"G{pid}"
            self.later(t, plat.src, "cx.traffic.reported", data)
        g.details["burst_days"].append(day)

    # -- price fraud --------------------------------------------------------------------------
    def plant_price_fraud(self) -> None:
        plat = self.pick(self.plats)
        shop = self.free_shop(plat)
        g = self.truth.group("price_fraud", "raise_then_discount")
        self.shop_party(g, plat, shop)
        prod = plat.prod_first[shop] + self.rand(0, plat.prod_count[shop])
        g.add("products", plat.src.name, f"G{prod}")
        d = self.start_day(10)
        self.book(d, self.raise_list_price, plat, prod)
        self.book(d + self.rand(1, 8), self.fake_discount, plat, prod)

    def raise_list_price(self, plat: Platform, prod: int, t0: int) -> None:
        plat.list_price[prod] = plat.list_price[prod] * self.rand(140, 181) // 1000 * 10
        self.price_event(plat, prod, t0 + self.second_of_day())

    def fake_discount(self, plat: Platform, prod: int, t0: int) -> None:
        """The 'discount': the offer barely moves (or rises) against the freshly raised list price."""
        plat.price[prod] = plat.price[prod] * self.rand(95, 111) // 1000 * 10
        plat.list_price[prod] = max(plat.list_price[prod], plat.price[prod])
        self.price_event(plat, prod, t0 + self.second_of_day())

    def price_event(self, plat: Platform, prod: int, t: int) -> None:
        self.later(t, plat.src, "cx.product.price_changed", {
            "product_id": f"G{prod}", "list_price": plat.list_price[prod], "price": plat.price[prod]})

    # -- payment fraud ------------------------------------------------------------------------
    def plant_stolen_account(self) -> None:
        plat, p = self.pick(self.plats), self.p
        owner = self.established(plat, 1)[0]
        payer = self.hashes(plat, owner)[3]
        g = self.truth.group("payment_fraud", "stolen_account", {
            "owner": {"source": plat.src.name, "id": f"U{owner}"}, "payer_account": payer})
        n = self.between(p.stolen_orders)
        first = self.start_day(5)
        fraudsters = self.new_accounts(plat, max(2, (n + 1) // 2), first)
        for b in fraudsters:
            self.buyer_party(g, plat, b, "fraudster")
        for k in range(n):
            self.book(first + self.rand(0, 4), self.stolen_order, plat, fraudsters[k % len(fraudsters)], payer, g)
        self.book(first + 4, self.theft_report, plat, owner, g)

    def stolen_order(self, plat: Platform, buyer: int, payer: str, g: Group, t0: int) -> None:
        """Dear goods, paid from the stolen account."""
        electronics = next(i for i, c in enumerate(CATEGORIES) if c[0] == "electronics")
        shop = next((s for s in (self.pick_shop(plat) for _ in range(20)) if plat.shop_cat[s] == electronics),
                    self.pick_shop(plat))
        dev, ip, addr, _ = self.hashes(plat, buyer)
        t = t0 + self.second_of_day()
        o = self.place(t, plat, shop, buyer, hashes=(dev, ip, addr, payer))
        g.add("orders", plat.src.name, o.oid)
        t += self.rand(MIN, 5 * MIN)
        self.pay(t, o)  # o.payer is the stolen account
        t, _ = self.transport(t + self.rand(2 * HOUR, 24 * HOUR), o, o.weight)
        self.later(t + self.rand(HOUR, DAY), plat.src, "cx.order.completed", {"order_id": o.oid})

    def theft_report(self, plat: Platform, owner: int, g: Group, t0: int) -> None:
        """The account's owner reports the theft to the platform, naming a payment that was not theirs."""
        orders = list(g.refs["orders"])
        if not orders:
            return
        cid = plat.new("CP")
        t = t0 + self.second_of_day()
        if self.later(t, plat.src, "cx.complaint.filed", {
                "complaint_id": cid, "channel": "platform", "complainant_id": f"U{owner}", "target_id": "PLAT",
                "order_id": orders[0][1], "category": "other", "text": "支付账户被盗用，非本人交易"}):
            self.later(t + self.rand(DAY, 5 * DAY), plat.src, "cx.complaint.resolved",
                       {"complaint_id": cid, "outcome": "upheld", "resolved_by": "PLAT"})
