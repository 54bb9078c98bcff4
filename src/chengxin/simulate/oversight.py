"""Background life of the marketplace around trade: traffic reports, price changes and promotions,
12315 calls, shop closures, and supervision (inspections, penalties, platform measures, lifting)."""

from __future__ import annotations

from typing import Any

from chengxin.simulate.engine import DAY, HOUR, Platform, Source, promotion
from chengxin.simulate.geo import REGIONS
from chengxin.simulate.schemes import Schemes

INSPECTION_RESULTS = ("pass",) * 7 + ("issues_found",) * 2 + ("violation",)
SANCTION_KINDS = ("administrative_penalty",) * 15 + ("abnormal_operation",) * 4 + ("serious_dishonesty",)
SANCTION_CATS = ("not_as_described", "false_advertising", "price_fraud", "counterfeit", "service_breach",
                 "fake_order", "empty_parcel", "fake_traffic")
LEGAL_BASES = ("《中华人民共和国价格法》第十四条", "《中华人民共和国电子商务法》第十七条",
               "《中华人民共和国反不正当竞争法》第八条", "《中华人民共和国食品安全法》第三十五条")
HOTLINE_CATS = ("price_fraud", "false_advertising", "counterfeit", "not_as_described")


class Oversight(Schemes):
    def background(self, d: int, t0: int) -> None:
        p = self.p
        for plat in self.plats:
            for _ in range(self.count(p.shops * p.traffic_reports_per_shop_week / 7)):
                self.traffic(plat, 1 + int(self.r() * p.shops), t0)
        for _ in range(self.count(p.price_changes_per_day)):
            self.price_change(t0 + self.second_of_day())
        if promotion(self.trading_day(d + 3)) > 2:  # discounts for a festival three days out
            self.festival_discounts(d, t0)
        for _ in range(self.count(p.hotline_complaints_per_day)):
            self.hotline_call(t0 + self.second_of_day())
        for _ in range(self.count(p.inspections_per_day)):
            self.inspection(t0 + self.second_of_day())
        for _ in range(self.count(p.platform_measures_per_day)):
            self.platform_measure(t0 + self.second_of_day())
        if d == 0 or self.r() < 0.02 * p.platforms:  # one closure on the first day: every type appears
            self.close_shop(t0 + self.second_of_day())

    # -- traffic ------------------------------------------------------------------------------
    def traffic(self, plat: Platform, shop: int, t0: int) -> None:
        if shop in plat.closed:
            return
        visits, uv, orders = self.normal_traffic(plat, shop)
        self.later(t0 + self.rand(HOUR, 6 * HOUR), plat.src, "cx.traffic.reported", {
            "shop_id": f"S{shop}", "date": self.day_text(t0, -1), "visits": visits, "unique_visitors": uv,
            "orders": orders})

    # -- prices -------------------------------------------------------------------------------
    def price_change(self, t: int) -> None:
        """An ordinary repricing: the offer moves; the crossed-out price follows it up, never jumps alone."""
        plat = self.pick(self.plats)
        g = self.rand(1, plat.ids["G"] + 1)
        plat.price[g] = max(90, plat.price[g] * self.rand(85, 116) // 1000 * 10)
        plat.list_price[g] = max(plat.list_price[g], plat.price[g])
        self.price_event(plat, g, t)

    def festival_discounts(self, d: int, t0: int) -> None:
        """A real discount: the offer drops, the list price stays; restored after the festival."""
        for plat in self.plats:
            for _ in range(self.count(plat.ids["G"] * 0.01)):
                g = self.rand(1, plat.ids["G"] + 1)
                old = plat.price[g]
                plat.price[g] = max(90, old * self.rand(70, 91) // 1000 * 10)
                self.price_event(plat, g, t0 + self.second_of_day())
                self.book(d + 5, self.restore_price, plat, g, old)

    def restore_price(self, plat: Platform, g: int, old: int, t0: int) -> None:
        plat.price[g] = old
        plat.list_price[g] = max(plat.list_price[g], old)
        self.price_event(plat, g, t0 + self.second_of_day())

    # -- 12315 and closures -------------------------------------------------------------------
    def hotline_call(self, t: int) -> None:
        """A 12315 call about a platform's shop, or (sometimes) about carrier L1."""
        self.hotline_seq += 1
        data: dict[str, Any] = {"complaint_id": f"H{self.hotline_seq}", "channel": "12315", "text": "消费者来电投诉"}
        if self.r() < 0.15:
            data["target_id"], data["category"] = {"source": self.l1.name, "id": "LG"}, "delivery"
        else:
            plat = self.pick(self.plats)
            data["target_id"] = {"source": plat.src.name, "id": f"S{self.pick_shop(plat)}"}
            data["category"] = self.pick(HOTLINE_CATS)
        self.filed_and_resolved(self.hotline, t, "HL", data)

    def filed_and_resolved(self, src: Source, t: int, resolver: str, data: dict[str, Any]) -> None:
        if self.later(t, src, "cx.complaint.filed", data):
            outcome = self.pick(("upheld", "partly_upheld", "rejected", "withdrawn"))
            res = {"complaint_id": data["complaint_id"], "outcome": outcome, "resolved_by": resolver}
            if outcome in ("upheld", "partly_upheld"):
                res["compensation"] = self.rand(0, 5001)
            self.later(t + self.rand(DAY, 20 * DAY), src, "cx.complaint.resolved", res)

    def close_shop(self, t: int) -> None:
        plat = self.pick(self.plats)
        if len(plat.closed) > self.p.shops // 10:
            return
        for _ in range(20):  # a shop with no planted role, not closed yet
            shop = 1 + int(self.r() * self.p.shops)
            if shop not in plat.planted and shop not in plat.closed:
                break
        else:
            return
        plat.closed.add(shop)
        self.later(t, plat.src, "cx.shop.closed", {"shop_id": f"S{shop}", "reason": self.pick(
            ("operator request", "platform: violation", "licence expired"))})

    # -- supervision --------------------------------------------------------------------------
    def inspection(self, t: int) -> None:
        """The Shanghai regulator inspects a merchant it registered; a violation brings a penalty."""
        if not self.reg_subjects:
            return
        eid, region = self.pick(self.reg_subjects)
        authority = f"上海市{REGIONS[region].district}市场监督管理局"
        self.inspections_done += 1
        # The first inspection finds a violation, so that short runs show the whole supervision path.
        result = "violation" if self.inspections_done == 1 else self.pick(INSPECTION_RESULTS)
        self.later(t, self.reg, "cx.inspection.recorded", {
            "inspection_id": f"IN{self.inspections_done}", "subject_id": eid, "authority": authority, "result": result})
        if result == "violation":
            self.sanction(self.reg, "X", t + self.rand(DAY, (5 if self.inspections_done == 1 else 30) * DAY), {
                "subject_id": eid, "kind": self.pick(SANCTION_KINDS), "authority": authority,
                "decision_no": f"沪市监罚〔2026〕{self.sanctions + 1}号", "legal_basis": self.pick(LEGAL_BASES),
                "category": self.pick(SANCTION_CATS), "disclose_until": self.day_text(t, 3 * 365)})

    def platform_measure(self, t: int) -> None:
        plat = self.pick(self.plats)
        self.sanction(plat.src, "PX", t, {
            "subject_id": f"M{self.rand(1, plat.ids['M'] + 1)}", "kind": "platform_measure",
            "authority": f"示例电商平台{plat.key}有限公司", "decision_no": f"{plat.key}-PM-{self.sanctions + 1}",
            "legal_basis": "《平台服务协议》第八条", "disclose_until": self.day_text(t, 180),
            "category": self.pick(("fake_order", "fake_traffic", "fake_review", "counterfeit"))})

    def sanction(self, src: Source, prefix: str, t: int, data: dict[str, Any]) -> None:
        """Impose; most are lifted months later (repaired, expired or revoked); the first one within weeks."""
        self.sanctions += 1
        sid, first = f"{prefix}{self.sanctions}", self.sanctions == 1
        if self.later(t, src, "cx.sanction.imposed", {"sanction_id": sid, **data}) and (first or self.r() < 0.6):
            self.later(t + self.rand(*((5 * DAY, 20 * DAY) if first else (30 * DAY, 120 * DAY))), src,
                       "cx.sanction.lifted",
                       {"sanction_id": sid, "reason": self.pick(("repaired", "repaired", "expired", "revoked"))})
