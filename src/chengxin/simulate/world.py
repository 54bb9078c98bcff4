"""Population: platforms, logistics firms and couriers, the hotline, merchants with their licences,
shops and products, buyers. Each shop gets a hidden true quality and a popularity; each buyer an
activity; both heavy-tailed."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from chengxin.simulate.engine import DAY, HOUR, ONBOARD_DAYS, Engine, Platform, Source
from chengxin.simulate.geo import MERCHANTS, PEOPLE, REGIONS, SHANGHAI
from chengxin.simulate.ids import gtin13, ric, uscc
from chengxin.simulate.text import (
    BRANDS,
    CAT_TABLE,
    CATEGORIES,
    CLAUSES,
    GIVEN,
    LICENCE_PREFIX,
    SHOP_SUFFIX,
    SURNAMES,
)

CARRIER_FIRMS = ((0, "示例速递"), (11, "迅达物流"), (18, "南方快运"))  # (region, name): LG1..LG3
FLAW_QUALITY, FLAW_NAD, FLAW_COUNTERFEIT = 0, 1, 2


class World(Engine):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.parties = 0                              # serials behind USCCs
        self.region_k = [0] * len(REGIONS)            # serials behind resident IDs, per region
        self.reg_subjects: list[tuple[str, int]] = []  # (E<n>, region) the regulator registered
        self.courier_region = bytearray(1)
        self.firm_uscc: list[str] = []

    # -- identifiers --------------------------------------------------------------------------
    def new_uscc(self, kind: str, region: int) -> str:
        self.parties += 1
        return uscc(kind, REGIONS[region].code, self.parties, self.salt)

    def new_ric(self, region: int) -> str:
        self.region_k[region] += 1
        return ric(region, self.region_k[region], self.salt)

    def person_name(self) -> str:
        return self.pick(SURNAMES) + self.pick(GIVEN) + (self.pick(GIVEN) if self.r() < 0.6 else "")

    def subject(self, src: Source, t: int, sid: str, kind: str, name: str, region: int,
                verified: bool = True, **ids: Any) -> None:
        data = {"subject_id": sid, "kind": kind, "name": name, "region": REGIONS[region].code, **ids}
        if verified:
            data["verified_at"] = self.ts(t + self.rand(0, HOUR))
        self.later(t, src, "cx.subject.registered", data)

    # -- onboarding (the week before trading) --------------------------------------------------
    def onboard(self) -> None:
        p, span = self.p, ONBOARD_DAYS * DAY - 2 * HOUR
        self.fixed_parties()
        for plat in self.plats:
            for _ in range(p.shops):
                self.merchant(plat, HOUR + self.rand(0, span))
            self.popularity(plat)
            for _ in range(p.buyers):
                self.buyer(plat, HOUR + self.rand(0, span))

    def fixed_parties(self) -> None:
        """Each platform, its three carriers; L1 (carrier LG1 reporting for itself) and its couriers;
        the 12315 hotline. Their commitments too."""
        self.firm_uscc = [self.new_uscc("91", r) for r, _ in CARRIER_FIRMS]
        for plat in self.plats:
            self.subject(plat.src, 60, "PLAT", "platform", f"示例电商平台{plat.key}有限公司", 15,
                         uscc=self.new_uscc("91", 15))
            self.later(120, plat.src, "cx.commitment.published", {
                "commitment_id": plat.new("K"), "subject_id": "PLAT", "template": "platform-standard-v1",
                "clauses": ["平台规则公开透明", "依法核验经营者身份", "及时处理投诉举报"]})
            for i, (region, name) in enumerate(CARRIER_FIRMS):
                self.subject(plat.src, 180, f"LG{i + 1}", "logistics", f"{name}有限公司", region,
                             uscc=self.firm_uscc[i])
        self.subject(self.l1, 60, "LG", "logistics", "示例速递有限公司", 0, uscc=self.firm_uscc[0])
        self.later(120, self.l1, "cx.commitment.published", {
            "commitment_id": "K1", "subject_id": "LG", "template": "logistics-standard-v1",
            "clauses": ["如实记录揽收投递信息", "不虚假签收"]})
        for c in range(1, self.p.couriers + 1):
            region = self.pick(PEOPLE)
            self.courier_region.append(region)
            self.subject(self.l1, 300 + c, f"C{c}", "courier", self.person_name(), region,
                         id_number=self.new_ric(region), employer_id="LG")
        self.subject(self.hotline, 60, "HL", "service_agency", "12315消费者投诉举报中心", 1,
                     uscc=self.new_uscc("12", 1))

    def merchant(self, plat: Platform, t: int) -> None:
        region = self.pick(MERCHANTS)
        r = REGIONS[region]
        cats = [self.pick(CAT_TABLE)]
        if self.r() < 0.2 and (second := self.pick(CAT_TABLE)) != cats[0]:
            cats.append(second)
        brand, trade, company = self.pick(BRANDS), CATEGORIES[cats[0]][1], self.r() < 0.6
        city = r.city[:-1]
        kind, name = (("enterprise", f"{city}{brand}{trade}有限公司") if company
                      else ("individual_business", f"{city}{r.district}{brand}{trade}店"))
        mid, number = plat.new("M"), self.new_uscc("91" if company else "92", region)
        self.subject(plat.src, t, mid, kind, name, region, uscc=number)
        self.licences(plat, t + 60, mid, number, region, cats)
        if region < SHANGHAI and self.r() < 0.5:  # the regulator registers it too (same USCC)
            eid = f"E{len(self.reg_subjects) + 1}"
            self.reg_subjects.append((eid, region))
            self.subject(self.reg, t + 90, eid, kind, name, region, verified=False, uscc=number)
        sid = plat.new("S")
        plat.shop_region.append(region)
        plat.shop_cat.append(cats[0])
        plat.shop_flaw.append(FLAW_QUALITY)
        plat.quality.append(self.rng.betavariate(14, 1.6))  # mean ~0.9, a long tail of poor shops
        self.later(t + 120, plat.src, "cx.shop.opened", {
            "shop_id": sid, "operator_id": mid, "name": f"{brand}{trade}{self.pick(SHOP_SUFFIX)}",
            "url": f"https://{sid.lower()}.{plat.key.lower()}.shop.example",
            "categories": [CATEGORIES[c][0] for c in cats]})
        self.products(plat, t + 180, sid, cats)
        if self.r() < 0.5:
            self.later(t + 240, plat.src, "cx.commitment.published", {
                "commitment_id": plat.new("K"), "subject_id": mid, "template": "merchant-standard-v1",
                "clauses": list(CLAUSES), "valid_until": self.day_text(t, 365)})

    def licences(self, plat: Platform, t: int, mid: str, number: str, region: int, cats: list[int]) -> None:
        r = REGIONS[region]
        issuer = f"{r.city}{r.district}市场监督管理局"
        start = date(self.rand(2010, 2026), self.rand(1, 13), self.rand(1, 29))
        data = {"subject_id": mid, "licence_type": "business_licence", "number": number, "issuer": issuer,
                "valid_from": start.isoformat()}
        if self.r() < 0.8:
            data["valid_until"] = start.replace(year=start.year + 30).isoformat()
        self.later(t, plat.src, "cx.licence.published", data)
        # dict, not set: set order of strings changes between processes, and the output must not
        for kind in dict.fromkeys(k for c in cats if (k := CATEGORIES[c][6]) is not None):
            if self.r() < self.p.licence_missing_share:
                self.truth.licence_gaps.append({"source": plat.src.name, "id": mid, "licence_type": kind})
                continue
            start = self.p.start - timedelta(self.rand(30, 1700))  # valid five years
            self.later(t + 30, plat.src, "cx.licence.published", {
                "subject_id": mid, "licence_type": kind, "issuer": issuer,
                "number": f"{LICENCE_PREFIX[kind]}{r.code}{plat.ids['M']:07d}",
                "valid_from": start.isoformat(), "valid_until": (start + timedelta(1826)).isoformat()})

    def products(self, plat: Platform, t: int, sid: str, cats: list[int]) -> None:
        count = 2 + int(10 * self.r() ** 2)
        plat.prod_first.append(plat.ids["G"] + 1)
        plat.prod_count.append(count)
        for k in range(count):
            cat = CATEGORIES[self.pick(cats)]
            price = self.rand(*cat[3]) // 100 * 100 + 90
            plat.price.append(price)
            plat.list_price.append(max(price, price * self.rand(100, 150) // 1000 * 10))
            plat.weight.append(self.rand(*cat[4]))
            data = {"product_id": plat.new("G"), "shop_id": sid, "title": f"{self.pick(BRANDS)}{self.pick(cat[5])}",
                    "category": cat[0], "list_price": plat.list_price[-1], "price": price}
            if self.r() < 0.7:  # the platforms' serials interleave: GTINs stay distinct
                data["gtin"] = gtin13(plat.ids["G"] * len(self.plats) + int(plat.key[1:]), self.salt)
            self.later(t + k, plat.src, "cx.product.listed", data)

    def popularity(self, plat: Platform) -> None:
        """Zipf popularity over a random ranking of the shops."""
        n = self.p.shops
        ranks = list(range(1, n + 1))
        self.rng.shuffle(ranks)
        plat.shop_cum = list(accumulate(rank ** -self.p.popularity_exponent for rank in ranks))

    def buyer(self, plat: Platform, t: int, activity: float | None = None) -> int:
        """Register a buyer; returns its serial. Activity is Pareto-distributed unless given."""
        region = self.pick(PEOPLE)
        plat.buyer_region.append(region)
        if activity is None:
            activity = min(200.0, (1.0 - self.r()) ** (-1 / self.p.buyer_activity_alpha))
        plat.buyer_cum.append((plat.buyer_cum[-1] if plat.buyer_cum else 0.0) + activity)
        uid = plat.new("U")
        self.subject(plat.src, t, uid, "person", self.person_name(), region,
                     verified=self.r() < 0.9, id_number=self.new_ric(region))
        return plat.ids["U"]

    def normal_traffic(self, plat: Platform, shop: int) -> tuple[int, int, int]:
        """(visits, unique visitors, orders) of an ordinary day, from the shop's popularity and category."""
        cum = plat.shop_cum
        share = (cum[shop - 1] - (cum[shop - 2] if shop > 1 else 0.0)) / cum[-1]
        orders = self.count(self.p.orders_per_day / self.p.platforms * share)
        conversion = CATEGORIES[plat.shop_cat[shop]][7] * (0.7 + 0.6 * self.r())
        visits = max(orders, int((orders + self.r()) / conversion * (0.8 + 0.4 * self.r())))
        return visits, min(visits, max(1, int(visits * (0.6 + 0.2 * self.r())))), orders  # no more visitors than visits
