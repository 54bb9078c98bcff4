"""Fast, deterministic, streaming generator of valid events-v1 JSON Lines (benchmarks, load tests).

    python bench/gen_events.py --events N [--seed S] [--platforms P] --out FILE   (FILE "-" = stdout)

First a population (parties, licences, shops, products, commitments, buyers: about one shop per
100 events and one buyer per 20), then trade: orders through their lifecycle (payment, shipment,
scans, delivery, completion, reviews, cancellations, returns, complaints), traffic, price changes
and supervision. Sources: platforms P1..Pn; logistics firm L1, reporting scans of platform
shipments by cross-source reference; the 12315 hotline, complaining about platform shops; the
Shanghai regulator, which registers merchants itself (same USCC) and inspects and sanctions them.

How: a clock advances by random gaps; at each tick one story starts (mostly an order) and is
planned whole at once: every later event of it (payment, scans, reviews ...) waits in a time slot,
released in time order once the clock has passed the slot, so times never go backwards and every
reference points to an event already emitted. Memory does not grow with the event count: ids are
counters, the only per-entity state is a few bytes per shop, product and buyer, plus the planned
events of the stories in flight.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import sys
import time
from array import array
from collections import defaultdict
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import date, timedelta
from operator import itemgetter

import orjson

# the same identifiers as the simulator's (its first regions are this file's REGIONS, in the same order)
from chengxin.simulate.ids import gtin13, ric, uscc

MIN, HOUR, DAY = 60, 3600, 86400
SLOT = 600                       # planned events wait in 10-minute slots, each sorted when released
SETUP_DAYS, TRADE_DAYS = 7, 180  # population onboarding, then about half a year of trade
EVENTS_PER_TICK = 7.8            # events one tick's story brings on average (measured): paces the clock
START = date(2026, 1, 1)         # t = 0 is 2026-01-01T00:00:00+08:00; t counts seconds

# Real county codes (code, city, district, since): `since` is the first birth year for which stdnum's
# cn/loc table accepts the code in a resident ID. The first nine are in Shanghai, the regulator's 310000.
REGIONS = (
    ("310101", "上海市", "黄浦区", 1950), ("310104", "上海市", "徐汇区", 1950), ("310105", "上海市", "长宁区", 1950),
    ("310106", "上海市", "静安区", 1950), ("310107", "上海市", "普陀区", 1950), ("310109", "上海市", "虹口区", 1950),
    ("310110", "上海市", "杨浦区", 1950), ("310112", "上海市", "闵行区", 1981), ("310115", "上海市", "浦东新区", 1992),
    ("110101", "北京市", "东城区", 1950), ("110102", "北京市", "西城区", 1950), ("110105", "北京市", "朝阳区", 1950),
    ("110108", "北京市", "海淀区", 1950), ("120101", "天津市", "和平区", 1950), ("330102", "杭州市", "上城区", 1983),
    ("330106", "杭州市", "西湖区", 1983), ("330108", "杭州市", "滨江区", 1996), ("440304", "深圳市", "福田区", 1983),
    ("440305", "深圳市", "南山区", 1983), ("440104", "广州市", "越秀区", 1983), ("440106", "广州市", "天河区", 1985),
    ("320102", "南京市", "玄武区", 1983), ("320106", "南京市", "鼓楼区", 1983), ("510104", "成都市", "锦江区", 1990),
    ("510107", "成都市", "武侯区", 1990), ("420106", "武汉市", "武昌区", 1983), ("610113", "西安市", "雁塔区", 1983),
    ("500103", "重庆市", "渝中区", 1997), ("370102", "济南市", "历下区", 1983), ("350203", "厦门市", "思明区", 1983),
    ("410105", "郑州市", "金水区", 1983))
SHANGHAI_REGIONS = 9
# (category, trade word for names, weight, price range in fen, product nouns, licence it requires)
CATEGORIES = (
    ("food", "食品", 20, (990, 19900), ("坚果礼盒", "挂耳咖啡", "牛肉干", "蜂蜜", "月饼"), "food_business"),
    ("daily_goods", "日用品", 24, (590, 9900), ("毛巾 三条装", "洗衣液", "抽纸 12包", "保温杯"), None),
    ("clothing", "服饰", 20, (2990, 59900), ("纯棉T恤", "牛仔裤", "羽绒服", "运动鞋"), None),
    ("electronics", "数码", 12, (1990, 299900), ("蓝牙耳机", "充电宝", "数据线", "键盘"), None),
    ("farm_produce", "农产品", 8, (1990, 15900), ("赣南脐橙 5kg", "五常大米", "土鸡蛋 30枚"), None),
    ("cosmetics", "美妆", 8, (2990, 39900), ("保湿面霜", "口红", "防晒霜"), None),
    ("medical_device", "医疗器械", 4, (1590, 49900), ("电子体温计", "血压计", "医用口罩"), "medical_device_business"),
    ("drug", "医药", 3, (990, 9900), ("维生素C片", "布洛芬缓释胶囊"), "drug_business"),
    ("farm_input", "农资", 1, (4990, 29900), ("复合肥 50kg", "蔬菜种子"), None))
CAT_TABLE = tuple(i for i, c in enumerate(CATEGORIES) for _ in range(c[2]))  # weighted draw by index
LICENCE_PREFIX = {"food_business": "JY1", "drug_business": "YPJY", "medical_device_business": "YLQX"}
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰"
BRANDS = ("鑫源", "恒信", "佳禾", "优品", "百味", "康泰", "锦程", "禾丰", "悦家", "云创", "盛达", "良田")
CLAUSES = ["依法经营，信息真实", "七天无理由退货", "违法失信自愿接受约束和惩戒"]
COMPLAINT_CATS = ("not_as_described", "service_breach", "delivery", "counterfeit", "price_fraud",
                  "false_advertising", "other")
SANCTION_CATS = (*COMPLAINT_CATS, "fake_order", "empty_parcel", "fake_traffic", "fake_review")
LEGAL_BASES = ("《中华人民共和国价格法》第十四条", "《中华人民共和国电子商务法》第十七条",
               "《中华人民共和国反不正当竞争法》第八条", "《中华人民共和国食品安全法》第三十五条")
RETURN_REASONS = ("no_reason", "quality", "not_as_described", "damaged", "counterfeit", "other")
RETURN_OUTCOMES = ("refunded",) * 7 + ("exchanged", "rejected", "rejected")
COMPLAINT_OUTCOMES = ("upheld", "partly_upheld", "rejected", "withdrawn")
INSPECTION_RESULTS = ("pass",) * 7 + ("issues_found",) * 2 + ("violation",)
SANCTION_KINDS = ("administrative_penalty",) * 15 + ("abnormal_operation",) * 4 + ("serious_dishonesty",)
SCORES = (5,) * 12 + (4,) * 4 + (3,) * 2 + (2, 1)
REVIEW_TEXT = {5: "很好，推荐", 4: "不错，物流快", 3: "一般", 2: "和描述有差距", 1: "质量差，不推荐"}
SIGNED_BY = ("recipient",) * 6 + ("locker",) * 2 + ("station", "proxy")
CARRIERS = (0,) * 5 + (1,) * 3 + (2,) * 2  # LG1, the firm that is source L1, carries half the parcels
SCAN_PLANS = (("picked_up", "in_transit"), ("picked_up", "in_transit", "out_for_delivery"),
              ("picked_up", "in_transit", "arrived", "out_for_delivery"), ("picked_up", "exception", "in_transit"))
SCAN_AT = {"picked_up": 0, "in_transit": 1, "exception": 1, "arrived": 2, "out_for_delivery": 3}
# The first orders take every rare path, so that every event type appears for N >= 1000.
FORCE_CANCEL, FORCE_RETURN, FORCE_COMPLAINT, FORCE_REVIEWS = 2, 3, 4, 5

# RFC 3339 times from two tables (dates, times of day): far cheaper than datetime.isoformat().
_DATES = [(START + timedelta(d)).isoformat() for d in range(3700)]
_CLOCK = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(DAY)]


_time = itemgetter(0)


def ts(t: int) -> str:
    return _DATES[t // DAY] + _CLOCK[t % DAY]


def day_of(t: float, plus_days: int = 0) -> str:
    return _DATES[int(t) // DAY + plus_days]


class Source:
    __slots__ = ("n", "name")

    def __init__(self, name: str) -> None:
        self.name, self.n = name, 0


class Platform:
    """One platform's id counters, and the few bytes per entity that later events need."""

    def __init__(self, key: str) -> None:
        self.key, self.src, self.closed = key, Source(f"urn:cx:platform:{key}"), set()
        self.ids = dict.fromkeys(("M", "U", "S", "G", "O", "SH", "R", "CP", "K", "PX"), 0)
        self.shop_region, self.person_region = bytearray(1), bytearray(1)  # [0] unused: ids start at 1
        self.prod_first, self.prod_count = array("I", [0]), bytearray(1)   # a shop's products: a range
        self.price, self.list_price = array("I", [0]), array("I", [0])

    def new(self, prefix: str) -> str:
        self.ids[prefix] += 1
        return f"{prefix}{self.ids[prefix]}"


class Generator:
    def __init__(self, n_events: int, seed: int, platforms: int) -> None:
        self.rng = random.Random(seed)
        self.r, self.salt = self.rng.random, self.rng.getrandbits(30)
        self.n_events = n_events
        self.plats = [Platform(f"P{i + 1}") for i in range(platforms)]
        self.l1, self.hotline = Source("urn:cx:logistics:L1"), Source("urn:cx:hotline:12315")
        self.reg = Source("urn:cx:regulator:310000")
        self.shops = max(2, n_events // 100 // platforms)   # per platform
        self.persons = max(5, n_events // 20 // platforms)  # per platform
        self.couriers = max(2, n_events // 5000)
        self.parties, self.region_k = 0, [0] * len(REGIONS)  # serials behind USCCs and resident IDs
        self.reg_regions = bytearray(1)  # region of each subject the regulator registered (E1, E2, ...)
        self.slots: defaultdict = defaultdict(list)  # planned events by time slot: (time, source, type, data)
        self.orders = self.complaints = self.inspections = self.sanctions = 0
        self.clock = 0.0

    # -- plumbing ----------------------------------------------------------------------------
    def ev(self, src: Source, typ: str, t: int, data: dict) -> dict:
        src.n += 1
        return {"specversion": "1.0", "id": f"e-{src.n}", "source": src.name, "type": typ,
                "time": _DATES[t // DAY] + _CLOCK[t % DAY], "data": data}  # ts(t), inlined: hot

    def later(self, t: int, src: Source, typ: str, data: dict) -> None:
        self.slots[t // SLOT].append((t, src, typ, data))

    def rand(self, lo: int, hi: int) -> int:
        return lo + int(self.r() * (hi - lo))

    def pick(self, seq):
        return seq[int(self.r() * len(seq))]

    def tick(self, step: float) -> int:
        self.clock += step
        return int(self.clock)

    def stream(self) -> Iterator[dict]:
        n = 0
        for n, ev in enumerate(self.setup(), 1):  # noqa: B007 - n counts the setup events
            yield ev
        # Mean gap between ticks such that the trade spans about TRADE_DAYS.
        gap = 2 * TRADE_DAYS * DAY * EVENTS_PER_TICK / max(1, self.n_events - n)
        slots, ev, now = self.slots, self.ev, self.tick(HOUR)
        slot = now // SLOT
        for k in itertools.count():
            (self.OPENING[k] if k < len(self.OPENING) else self.spontaneous())(self, now)
            # Every story plans at or after its start, so the slots before now's are complete: release
            # them in time order (a stable sort keeps the planning order of equal times).
            for s in range(slot, now // SLOT):
                for t, src, typ, data in sorted(slots.pop(s, ()), key=_time):
                    yield ev(src, typ, t, data)
            slot = now // SLOT
            now = self.tick(gap * self.r())

    def spontaneous(self):
        x = self.r()
        for bound, story in self.STORIES:  # cumulative shares
            if x < bound:
                return story
        return Generator.order

    # -- population --------------------------------------------------------------------------
    def setup(self) -> Iterator[dict]:
        step = SETUP_DAYS * DAY / (len(self.plats) * (self.shops * 10.5 + self.persons) + self.couriers + 20)
        yield from self.fixed_parties(step)
        for i in range(self.shops):
            for p in self.plats:
                yield from self.merchant(p, i == 0, step)
        for _ in range(self.persons):
            for p in self.plats:
                region = self.rand(0, len(REGIONS))
                p.person_region.append(region)
                yield self.subject(p.src, self.tick(step), p.new("U"), "person", self.person_name(), region,
                                   verified=self.r() < 0.85, id_number=self.new_ric(region))

    def subject(self, src: Source, t: int, sid: str, kind: str, name: str, region: int,
                verified: bool = True, **ids: str) -> dict:
        data = {"subject_id": sid, "kind": kind, "name": name, "region": REGIONS[region][0], **ids}
        if verified:
            data["verified_at"] = ts(t + self.rand(0, HOUR))
        return self.ev(src, "cx.subject.registered", t, data)

    def new_uscc(self, kind: str, region: int) -> str:
        self.parties += 1
        return uscc(kind, REGIONS[region][0], self.parties, self.salt)

    def new_ric(self, region: int) -> str:
        self.region_k[region] += 1
        return ric(region, self.region_k[region], self.salt)

    def person_name(self) -> str:
        return self.pick(SURNAMES) + self.pick(GIVEN) + (self.pick(GIVEN) if self.r() < 0.6 else "")

    def fixed_parties(self, step: float) -> Iterator[dict]:
        """Each platform and its three carriers; L1 (carrier LG1) and its couriers; the hotline."""
        firms = [(self.new_uscc("91", r), n, r) for r, n in ((0, "示例速递"), (11, "迅达物流"), (18, "南方快运"))]
        for p in self.plats:
            yield self.subject(p.src, self.tick(step), "PLAT", "platform", f"示例电商平台{p.key}有限公司", 15,
                               uscc=self.new_uscc("91", 15))
            for i, (code, name, region) in enumerate(firms, 1):
                yield self.subject(p.src, self.tick(step), f"LG{i}", "logistics", f"{name}有限公司", region, uscc=code)
        yield self.subject(self.l1, self.tick(step), "LG", "logistics", "示例速递有限公司", 0, uscc=firms[0][0])
        for c in range(1, self.couriers + 1):
            region = self.rand(0, len(REGIONS))
            yield self.subject(self.l1, self.tick(step), f"C{c}", "courier", self.person_name(), region,
                               id_number=self.new_ric(region), employer_id="LG")
        yield self.subject(self.hotline, self.tick(step), "HL", "service_agency", "12315消费者投诉举报中心", 1,
                           uscc=self.new_uscc("12", 1))

    def merchant(self, p: Platform, first: bool, step: float) -> Iterator[dict]:
        # The first merchant is in Shanghai and known to the regulator, so supervision always happens.
        region = 1 if first else self.rand(0, len(REGIONS))
        _, city, district, _ = REGIONS[region]
        cats = [self.pick(CAT_TABLE)]
        if self.r() < 0.25 and (second := self.pick(CAT_TABLE)) != cats[0]:
            cats.append(second)
        brand, trade, company = self.pick(BRANDS), CATEGORIES[cats[0]][1], self.r() < 0.6
        kind, name = (("enterprise", f"{city[:-1]}{brand}{trade}有限公司") if company
                      else ("individual_business", f"{city[:-1]}{district}{brand}{trade}店"))
        mid, number, t = p.new("M"), self.new_uscc("91" if company else "92", region), self.tick(step)
        yield self.subject(p.src, t, mid, kind, name, region, uscc=number)
        yield from self.licences(p, mid, number, region, cats, step)
        if region < SHANGHAI_REGIONS and (first or self.r() < 0.5):  # the regulator registers it too
            self.reg_regions.append(region)
            yield self.subject(self.reg, self.tick(step), f"E{len(self.reg_regions) - 1}", kind, name, region,
                               verified=False, uscc=number)
        sid = p.new("S")
        p.shop_region.append(region)
        yield self.ev(p.src, "cx.shop.opened", self.tick(step), {
            "shop_id": sid, "operator_id": mid, "name": f"{brand}{trade}{self.pick(('旗舰店', '专营店', '小店'))}",
            "url": f"https://{sid.lower()}.{p.key.lower()}.shop.example",
            "categories": [CATEGORIES[c][0] for c in cats]})
        yield from self.products(p, sid, cats, step)
        if self.r() < 0.5:
            yield self.ev(p.src, "cx.commitment.published", self.tick(step), {
                "commitment_id": p.new("K"), "subject_id": mid, "template": "merchant-standard-v1",
                "clauses": CLAUSES, "valid_until": day_of(self.clock, 365)})

    def licences(self, p: Platform, mid: str, number: str, region: int, cats: list, step: float):
        issuer = f"{REGIONS[region][1]}{REGIONS[region][2]}市场监督管理局"
        start = date(self.rand(2010, 2025), self.rand(1, 13), self.rand(1, 29))
        data = {"subject_id": mid, "licence_type": "business_licence", "number": number, "issuer": issuer,
                "valid_from": start.isoformat()}
        if self.r() < 0.8:
            data["valid_until"] = start.replace(year=start.year + 30).isoformat()
        yield self.ev(p.src, "cx.licence.published", self.tick(step), data)
        for kind in (CATEGORIES[c][5] for c in cats):
            if kind and self.r() < 0.9:  # key categories need a licence: some merchants lack it
                start = START - timedelta(self.rand(30, 2000))  # valid five years: a few have expired
                yield self.ev(p.src, "cx.licence.published", self.tick(step), {
                    "subject_id": mid, "licence_type": kind, "issuer": issuer,
                    "number": f"{LICENCE_PREFIX[kind]}{REGIONS[region][0]}{p.ids['M']:07d}",
                    "valid_from": start.isoformat(), "valid_until": (start + timedelta(1826)).isoformat()})

    def products(self, p: Platform, sid: str, cats: list, step: float) -> Iterator[dict]:
        count = self.rand(2, 9)
        p.prod_first.append(p.ids["G"] + 1)
        p.prod_count.append(count)
        for _ in range(count):
            cat = CATEGORIES[self.pick(cats)]
            price = self.rand(*cat[3]) // 100 * 100 + 90
            p.price.append(price)
            p.list_price.append(max(price, price * self.rand(100, 160) // 1000 * 10))
            data = {"product_id": p.new("G"), "shop_id": sid, "title": f"{self.pick(BRANDS)}{self.pick(cat[4])}",
                    "category": cat[0], "list_price": p.list_price[-1], "price": price}
            if self.r() < 0.6:  # interleave the platforms' serials: GTINs stay distinct
                data["gtin"] = gtin13(p.ids["G"] * len(self.plats) + int(p.key[1:]), self.salt)
            yield self.ev(p.src, "cx.product.listed", self.tick(step), data)


    # -- trade: an order, planned whole when it is placed --------------------------------------
    def open_shop(self, p: Platform) -> int:
        while True:  # popular shops first (a squared uniform draw); closed shops take no orders
            shop = 1 + int(self.shops * self.r() ** 2)
            if shop not in p.closed:
                return shop

    def order(self, t: int) -> None:
        p, r, rand = self.pick(self.plats), self.r, self.rand
        shop, buyer, oid = self.open_shop(p), 1 + int(self.persons * r()), p.new("O")
        self.orders += 1
        first, count = p.prod_first[shop], p.prod_count[shop]
        items = [{"product_id": f"G{g}", "quantity": 1 + int(r() * r() * 3), "unit_price": p.price[g]}
                 for g in {first + int(r() * count) for _ in range(1 + (r() < 0.15))}]
        o = (p, oid, shop, buyer, REGIONS[p.person_region[buyer]][0],
             sum(i["quantity"] * i["unit_price"] for i in items), self.orders)
        h = (buyer * 2654435761 + self.salt) & 0xFFFFF  # the platform's opaque hashes: stable per buyer
        self.later(t, p.src, "cx.order.placed", {
            "order_id": oid, "shop_id": f"S{shop}", "buyer_id": f"U{buyer}", "items": items, "total": o[5],
            "ship_to_region": o[4], "device": f"d:{h & 0xFFFF:04x}", "ip": f"i:{h >> 4:04x}",
            "address": f"a:{h ^ 0x5A5A5:05x}"})
        if o[6] == FORCE_CANCEL or r() < 0.03:
            self.later(t + rand(5 * MIN, HOUR), p.src, "cx.order.cancelled", {"order_id": oid, "by": "buyer",
                                                                                "reason": "拍错了"})
            return
        t += rand(MIN, 15 * MIN)
        self.later(t, p.src, "cx.order.paid", {"order_id": oid, "amount": o[5], "method": "wallet" if r() < 0.6
                                               else "card", "payer_account": f"p:{h >> 2 & 0xFFFF:04x}"})
        if r() < 0.015:
            self.later(t + rand(HOUR, DAY), p.src, "cx.order.cancelled", {
                "order_id": oid, "by": "seller" if r() < 0.7 else "platform", "reason": "缺货"})
            return
        t, carrier = self.delivery(o, t + rand(2 * HOUR, 36 * HOUR))
        self.after_delivery(o, t, carrier)

    def delivery(self, o: tuple, t: int) -> tuple[int, str]:
        """Shipment, two to four scans, delivery; returns (delivery time, carrier)."""
        p, oid, shop, _, region, _, _ = o
        r, rand, later, ci = self.r, self.rand, self.later, self.pick(CARRIERS)
        sh, carrier = p.new("SH"), f"LG{ci + 1}"
        data = {"shipment_id": sh, "order_id": oid, "carrier_id": carrier,
                "tracking_no": f"{'SYZ'[ci]}{p.key[1:]}{p.ids['SH']:010d}", "weight_g": rand(100, 5000)}
        if ci == 0 and r() < 0.6:
            data["courier_id"] = {"source": self.l1.name, "id": f"C{rand(1, self.couriers + 1)}"}
        later(t, p.src, "cx.shipment.created", data)
        # Picked up at the shop, in transit in its province, arrived in the buyer's, out to the buyer.
        origin = REGIONS[p.shop_region[shop]][0]
        route = (origin, origin[:2] + "0000", region[:2] + "0000", region)
        by_l1 = ci == 0 and r() < 0.7  # L1 reports most of its parcels itself, by cross-source reference
        rep, name = (self.l1, p.src.name) if by_l1 else (p.src, "")
        for status in SCAN_PLANS[int(r() * 3) if r() >= 0.01 else 3]:
            t += rand(HOUR, 20 * HOUR)
            later(t, rep, "cx.shipment.scanned", {"shipment_id": {"source": name, "id": sh} if by_l1 else sh,
                                                  "status": status, "region": route[SCAN_AT[status]]})
        t += rand(HOUR, 10 * HOUR)
        later(t, rep, "cx.shipment.delivered", {"shipment_id": {"source": name, "id": sh} if by_l1 else sh,
                                                "signed_by": self.pick(SIGNED_BY), "region": region})
        return t, carrier

    def after_delivery(self, o: tuple, t: int, carrier: str) -> None:
        """Maybe a complaint; maybe a return (a refund ends the order); else completion, reviews."""
        p, oid, shop, buyer, _, total, n = o
        r, rand = self.r, self.rand
        if n == FORCE_COMPLAINT or r() < 0.02:
            cid = p.new("CP")
            self.complaint(p.src, t + rand(12 * HOUR, 5 * DAY), "PLAT", total, {
                "complaint_id": cid, "channel": "platform", "complainant_id": f"U{buyer}", "target_id": f"S{shop}",
                "order_id": oid, "category": self.pick(COMPLAINT_CATS), "text": "与描述不符，要求处理",
                "amount_claimed": total})
        elif r() < 0.005:
            self.hotline_complaint(t + rand(DAY, 10 * DAY), (p, oid, shop))
        if n == FORCE_RETURN or r() < 0.04:
            rt, outcome = f"RT{oid[1:]}", self.pick(RETURN_OUTCOMES)  # at most one return per order
            t += rand(12 * HOUR, 3 * DAY)
            self.later(t, p.src, "cx.return.requested",
                       {"return_id": rt, "order_id": oid, "reason": self.pick(RETURN_REASONS)})
            t += rand(DAY, 5 * DAY)
            self.later(t, p.src, "cx.return.resolved", {"return_id": rt, "outcome": outcome, **(
                {"amount": total} if outcome == "refunded" else {})})
            if outcome == "refunded":
                return
        t += rand(DAY, 7 * DAY)
        self.later(t, p.src, "cx.order.completed", {"order_id": oid})
        self.reviews(p, t, oid, f"U{buyer}", f"S{shop}", carrier, n == FORCE_REVIEWS)

    def reviews(self, p: Platform, t: int, oid: str, buyer: str, shop: str, carrier: str, forced: bool) -> None:
        r, rand = self.r, self.rand
        for direction, share, author, target in (("buyer_to_seller", 0.6, buyer, shop),
                                                 ("seller_to_buyer", 0.15, shop, buyer),
                                                 ("buyer_to_carrier", 0.1, buyer, carrier)):
            if not (forced or r() < share):
                continue
            rid, score, when = p.new("R"), self.pick(SCORES), t + rand(HOUR, 5 * DAY)
            data = {"review_id": rid, "order_id": oid, "author_id": author, "target_id": target,
                    "direction": direction, "score": score}
            if direction == "buyer_to_seller":
                if r() < 0.5:
                    data["dimensions"] = {"as_described": score, "service": max(1, score - (r() < 0.3)),
                                          "logistics": max(1, score - (r() < 0.3))}
                if r() < 0.3:
                    data["images"] = rand(1, 5)
                if forced or r() < 0.03:  # a follow-up weeks later
                    self.later(when + rand(10 * DAY, 40 * DAY), p.src, "cx.review.posted", {
                        "review_id": p.new("R"), "order_id": oid, "author_id": buyer, "target_id": shop,
                        "direction": direction, "score": self.pick(SCORES), "text": "追评", "follows": rid})
            if r() < 0.4:
                data["text"] = REVIEW_TEXT[score]
            self.later(when, p.src, "cx.review.posted", data)

    # -- complaints ---------------------------------------------------------------------------
    def complaint(self, src: Source, t: int, resolver: str, claimed: int, data: dict) -> None:
        """File it; resolve it days later."""
        self.later(t, src, "cx.complaint.filed", data)
        outcome = self.pick(COMPLAINT_OUTCOMES)
        resolution = {"complaint_id": data["complaint_id"], "outcome": outcome, "resolved_by": resolver}
        if outcome in ("upheld", "partly_upheld"):
            resolution["compensation"] = self.rand(0, claimed + 1)
        self.later(t + self.rand(DAY, 20 * DAY), src, "cx.complaint.resolved", resolution)

    def hotline_complaint(self, t: int, about: tuple | None = None) -> None:
        """A 12315 call about a platform's shop (about an order, if given) or about carrier L1."""
        self.complaints += 1
        data = {"complaint_id": f"H{self.complaints}", "channel": "12315", "text": "消费者来电投诉"}
        if about is None and self.r() < 0.15:
            data["target_id"], data["category"] = {"source": self.l1.name, "id": "LG"}, "delivery"
        else:
            p, oid, shop = about or (self.pick(self.plats), None, None)
            data["target_id"] = {"source": p.src.name, "id": f"S{shop or self.open_shop(p)}"}
            data["category"] = self.pick(("price_fraud", "false_advertising", "counterfeit", "not_as_described"))
            if oid:
                data["order_id"] = {"source": p.src.name, "id": oid}
        self.complaint(self.hotline, t, "HL", 5000, data)

    # -- other stories ------------------------------------------------------------------------
    def traffic(self, t: int) -> None:
        p = self.pick(self.plats)
        shop, uv = self.open_shop(p), self.rand(10, 2000)
        data = {"shop_id": f"S{shop}", "date": day_of(t, -1 if t >= DAY else 0), "visits": uv + self.rand(0, uv),
                "unique_visitors": uv, "orders": self.rand(0, 1 + uv // 50)}
        if self.r() < 0.6:
            data["product_id"] = f"G{p.prod_first[shop] + self.rand(0, p.prod_count[shop])}"
        self.later(t, p.src, "cx.traffic.reported", data)

    def price_change(self, t: int) -> None:
        p = self.pick(self.plats)
        g = self.rand(1, p.ids["G"] + 1)
        if self.r() < 0.3:  # "raise the crossed-out price, then discount": the price-fraud pattern
            p.list_price[g] = p.list_price[g] * self.rand(130, 180) // 1000 * 10
        else:
            p.price[g] = max(90, p.price[g] * self.rand(70, 111) // 1000 * 10)
            p.list_price[g] = max(p.list_price[g], p.price[g])
        self.later(t, p.src, "cx.product.price_changed",
                   {"product_id": f"G{g}", "list_price": p.list_price[g], "price": p.price[g]})

    def close_shop(self, t: int) -> None:
        p = self.pick(self.plats)
        if len(p.closed) >= self.shops // 2:  # keep most shops open, so that open_shop() stays quick
            return self.traffic(t)
        p.closed.add(shop := self.open_shop(p))
        reason = self.pick(("operator request", "platform: violation", "licence expired"))
        self.later(t, p.src, "cx.shop.closed", {"shop_id": f"S{shop}", "reason": reason})

    # -- supervision ---------------------------------------------------------------------------
    def inspection(self, t: int) -> None:
        """The regulator inspects a subject it registered (E<n>: a merchant's USCC); a violation brings
        a sanction. The first inspection always finds one, so that sanctions appear early."""
        self.inspections += 1
        e = self.rand(1, len(self.reg_regions))
        authority = f"上海市{REGIONS[self.reg_regions[e]][2]}市场监督管理局"
        result = "violation" if self.inspections == 1 else self.pick(INSPECTION_RESULTS)
        self.later(t, self.reg, "cx.inspection.recorded", {
            "inspection_id": f"IN{self.inspections}", "subject_id": f"E{e}", "authority": authority, "result": result})
        if result == "violation":
            self.sanction(self.reg, "X", t + self.rand(DAY, 30 * DAY), {
                "subject_id": f"E{e}", "kind": self.pick(SANCTION_KINDS), "authority": authority,
                "decision_no": f"沪市监罚〔2026〕{self.sanctions + 1}号", "legal_basis": self.pick(LEGAL_BASES),
                "category": self.pick(SANCTION_CATS), "disclose_until": day_of(t, 3 * 365)})

    def platform_sanction(self, t: int) -> None:
        p = self.pick(self.plats)
        self.sanction(p.src, "PX", t, {
            "subject_id": f"M{self.rand(1, p.ids['M'] + 1)}", "kind": "platform_measure",
            "authority": f"示例电商平台{p.key}有限公司", "decision_no": f"{p.key}-PM-{self.sanctions + 1}",
            "legal_basis": "《平台服务协议》第八条", "disclose_until": day_of(t, 180),
            "category": self.pick(("fake_order", "fake_traffic", "fake_review", "counterfeit"))})

    def sanction(self, src: Source, prefix: str, t: int, data: dict) -> None:
        """Impose; most sanctions are lifted later (the first one always, and soon)."""
        self.sanctions += 1
        sid, first = f"{prefix}{self.sanctions}", self.sanctions == 1
        self.later(t, src, "cx.sanction.imposed", {"sanction_id": sid, **data})
        if first or self.r() < 0.6:
            t += self.rand(20 * DAY, 40 * DAY) if first else self.rand(30 * DAY, 120 * DAY)
            reason = self.pick(("repaired", "repaired", "expired", "revoked"))
            self.later(t, src, "cx.sanction.lifted", {"sanction_id": sid, "reason": reason})

    # Trade opens with one story of each rare kind, so that every type appears in short streams too.
    OPENING = (inspection, platform_sanction, close_shop, hotline_complaint, price_change, traffic)
    STORIES = ((0.90, order), (0.95, traffic), (0.98, price_change), (0.992, hotline_complaint),
               (0.997, inspection), (0.999, platform_sanction), (1.0, close_shop))


def generate(n_events: int, seed: int = 1, platforms: int = 1) -> Iterator[dict]:
    """Exactly n_events events-v1 dicts, deterministic for (n_events, seed, platforms)."""
    if n_events < 0 or platforms < 1:
        raise ValueError("n_events must be >= 0 and platforms >= 1")
    return itertools.islice(Generator(n_events, seed, platforms).stream(), n_events)


def write(path: str, n_events: int, seed: int = 1, platforms: int = 1) -> int:
    """Write the events as JSON Lines to path ("-" = stdout); returns the number of lines."""
    line = functools.partial(orjson.dumps, option=orjson.OPT_APPEND_NEWLINE)
    with nullcontext(sys.stdout.buffer) if path == "-" else open(path, "wb", buffering=1 << 20) as f:
        f.writelines(map(line, generate(n_events, seed, platforms)))
        f.flush()
    return n_events  # generate() yields exactly that many


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, required=True, help="number of events (lines) to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--platforms", type=int, default=1, help="number of platform sources P1..Pn")
    ap.add_argument("--out", required=True, help='output file, "-" for stdout')
    args = ap.parse_args(argv)
    started = time.perf_counter()
    n = write(args.out, args.events, args.seed, args.platforms)
    secs = max(time.perf_counter() - started, 1e-9)
    print(f"{n} events in {secs:.2f}s: {n / secs:,.0f} events/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
