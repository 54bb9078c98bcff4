"""Extra population for the lookup bench: many parties and shops, no trade (events-v1 JSON Lines).

    python bench/gen_parties.py --merchants 90000 --subjects 938000 --out FILE

Self-contained (bench/gen_events.py is free to change) and deterministic for its arguments. Per merchant:
its registration (enterprise or individual business, valid USCC), business licence, a category licence
when it sells food, drugs or medical devices (10% of those lack it: licence gaps show on shop pages),
one shop, a commitment half the time, and, for half the Shanghai merchants, the regulator's own
registration of the same USCC (so party linking has work to do). Then natural persons (valid resident ID
numbers) until `--subjects` registrations in all. Source `urn:cx:platform:P2` by default, ids from 1;
regulator ids and every serial sit far above those of a bench/gen_events.py stream, so both files load
into one store without collisions.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta

import orjson

from chengxin.demo.loadgen import uscc  # same codes as the base marketplace: none collide

# (code, city, district): regions whose codes stdnum's table accepts for births from 1950 on
REGIONS = (("310101", "上海市", "黄浦区"), ("310104", "上海市", "徐汇区"), ("310105", "上海市", "长宁区"),
           ("310106", "上海市", "静安区"), ("310107", "上海市", "普陀区"), ("310110", "上海市", "杨浦区"),
           ("110101", "北京市", "东城区"), ("110102", "北京市", "西城区"), ("110105", "北京市", "朝阳区"),
           ("110108", "北京市", "海淀区"), ("120101", "天津市", "和平区"))
SHANGHAI = 6  # REGIONS[:6]
CATEGORIES = (("food", "食品", "food_business", "JY1"), ("daily_goods", "日用品", None, None),
              ("clothing", "服饰", None, None), ("electronics", "数码", None, None),
              ("medical_device", "医疗器械", "medical_device_business", "YLQX"),
              ("drug", "医药", "drug_business", "YPJY"), ("cosmetics", "美妆", None, None))
CAT_WEIGHTS = (20, 24, 20, 12, 4, 3, 8)
BRANDS = ("鑫源", "恒信", "佳禾", "优品", "百味", "康泰", "锦程", "禾丰", "悦家", "云创", "盛达", "良田")
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰"
RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
BIG_PRIME = 2_147_483_647
OFFSET = 5_000_000  # USCC serials, regulator ids and event ids start here: far above gen_events'
START = date(2026, 1, 1)
SPAN_S = 7 * 86400  # all onboarding happens in the first week of 2026
_DATES = [(START + timedelta(d)).isoformat() for d in range(400)]


def ts(t: int) -> str:
    return f"{_DATES[t // 86400]}T{t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}+08:00"


_FIRST, _DAYS = date(1950, 1, 1).toordinal(), date(2005, 12, 31).toordinal() - date(1950, 1, 1).toordinal() + 1


def ric(region: str, k: int, salt: int) -> str:
    """GB 11643 resident ID (MOD 11-2); distinct k of one region give distinct numbers."""
    x = (k * BIG_PRIME + salt) % (_DAYS * 999)
    body = region + date.fromordinal(_FIRST + x // 999).strftime("%Y%m%d") + f"{x % 999 + 1:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, RIC_WEIGHTS, strict=True)) % 11]


class Parties:
    def __init__(self, merchants: int, subjects: int, seed: int, platform: str) -> None:
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.salt = self.rng.getrandbits(30)
        self.merchants, self.subjects = merchants, subjects
        self.src, self.key = f"urn:cx:platform:{platform}", platform.lower()
        self.reg = "urn:cx:regulator:310000"
        self.n = {self.src: 0, self.reg: OFFSET}
        self.serial, self.reg_ids, self.person_k = OFFSET, OFFSET // 50, [100_000] * len(REGIONS)
        self.t, self.step = 0.0, SPAN_S / (merchants * 4 + subjects + 1)

    def ev(self, src: str, typ: str, data: dict) -> dict:
        self.n[src] += 1
        self.t += self.step
        return {"specversion": "1.0", "id": f"e-{self.n[src]}", "source": src, "type": typ,
                "time": ts(int(self.t)), "data": data}

    def pick(self, seq):  # type: ignore[no-untyped-def]
        return seq[int(self.r() * len(seq))]

    def subject(self, src: str, sid: str, kind: str, name: str, region: str, verified: bool, **ids: str) -> dict:
        data = {"subject_id": sid, "kind": kind, "name": name, "region": region, **ids}
        if verified:
            data["verified_at"] = ts(int(self.t) + 600)
        return self.ev(src, "cx.subject.registered", data)

    def merchant(self, m: int) -> Iterator[dict]:
        ri = int(self.r() * len(REGIONS))
        region, city, district = REGIONS[ri]
        cat = self.rng.choices(CATEGORIES, CAT_WEIGHTS)[0]
        brand, company = self.pick(BRANDS), self.r() < 0.6
        kind, name = (("enterprise", f"{city[:-1]}{brand}{cat[1]}有限公司") if company
                      else ("individual_business", f"{city[:-1]}{district}{brand}{cat[1]}店"))
        self.serial += 1
        code = uscc("91" if company else "92", region, self.serial, self.salt)
        mid, issuer = f"M{m}", f"{city}{district}市场监督管理局"
        yield self.subject(self.src, mid, kind, name, region, True, uscc=code)
        start = date(2010 + int(self.r() * 15), 1 + int(self.r() * 12), 1 + int(self.r() * 28))
        yield self.ev(self.src, "cx.licence.published", {
            "subject_id": mid, "licence_type": "business_licence", "number": code, "issuer": issuer,
            "valid_from": start.isoformat(), "valid_until": start.replace(year=start.year + 30).isoformat()})
        if cat[2] and self.r() < 0.9:
            start = START - timedelta(30 + int(self.r() * 1900))
            yield self.ev(self.src, "cx.licence.published", {
                "subject_id": mid, "licence_type": cat[2], "number": f"{cat[3]}{region}{m:07d}", "issuer": issuer,
                "valid_from": start.isoformat(), "valid_until": (start + timedelta(1826)).isoformat()})
        if ri < SHANGHAI and self.r() < 0.5:
            self.reg_ids += 1
            yield self.subject(self.reg, f"E{self.reg_ids}", kind, name, region, False, uscc=code)
        yield self.ev(self.src, "cx.shop.opened", {
            "shop_id": f"S{m}", "operator_id": mid, "name": f"{brand}{cat[1]}{self.pick(('旗舰店', '专营店', '小店'))}",
            "url": f"https://s{m}.{self.key}.shop.example", "categories": [cat[0]]})
        if self.r() < 0.5:
            yield self.ev(self.src, "cx.commitment.published", {
                "commitment_id": f"K{m}", "subject_id": mid, "template": "merchant-standard-v1",
                "clauses": ["依法经营，信息真实", "七天无理由退货"], "valid_until": "2027-01-01"})

    def person(self, u: int) -> dict:
        ri = int(self.r() * len(REGIONS))
        self.person_k[ri] += 1
        name = self.pick(SURNAMES) + "".join(self.pick(GIVEN) for _ in range(1 + (self.r() < 0.6)))
        return self.subject(self.src, f"U{u}", "person", name, REGIONS[ri][0], self.r() < 0.85,
                            id_number=ric(REGIONS[ri][0], self.person_k[ri], self.salt))

    def stream(self) -> Iterator[dict]:
        written = 0
        for m in range(1, self.merchants + 1):
            for ev in self.merchant(m):
                written += ev["type"] == "cx.subject.registered"
                yield ev
        u = 0
        while written < self.subjects:
            u += 1
            written += 1
            yield self.person(u)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--merchants", type=int, required=True, help="merchants, each with one shop")
    ap.add_argument("--subjects", type=int, required=True, help="cx.subject.registered lines in all")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--platform", default="P2")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    started, n = time.perf_counter(), 0
    line = functools.partial(orjson.dumps, option=orjson.OPT_APPEND_NEWLINE)
    with open(args.out, "wb", buffering=1 << 20) as f:
        for ev in Parties(args.merchants, args.subjects, args.seed, args.platform).stream():
            f.write(line(ev))
            n += 1
    print(f"{n} events in {time.perf_counter() - started:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
