"""Where parties live and how long parcels take: real county codes with their cities' coordinates.

Transit times follow great-circle distance, so that a parcel "delivered" in under a day across the
country (an empty parcel, a faked delivery) stands out the way it does in real waybill data.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Region(NamedTuple):
    code: str       # 6-digit administrative division code
    city: str
    district: str
    since: int      # first birth year for which stdnum's table accepts the code in a resident ID
    lat: float
    lon: float


# code, city, district, since, latitude, longitude (the city's)
_TABLE = """
310101 上海市 黄浦区 1950 31.23 121.47
310104 上海市 徐汇区 1950 31.23 121.47
310105 上海市 长宁区 1950 31.23 121.47
310106 上海市 静安区 1950 31.23 121.47
310107 上海市 普陀区 1950 31.23 121.47
310109 上海市 虹口区 1950 31.23 121.47
310110 上海市 杨浦区 1950 31.23 121.47
310112 上海市 闵行区 1981 31.23 121.47
310115 上海市 浦东新区 1992 31.23 121.47
110101 北京市 东城区 1950 39.90 116.40
110102 北京市 西城区 1950 39.90 116.40
110105 北京市 朝阳区 1950 39.90 116.40
110108 北京市 海淀区 1950 39.90 116.40
120101 天津市 和平区 1950 39.13 117.20
330102 杭州市 上城区 1983 30.27 120.15
330106 杭州市 西湖区 1983 30.27 120.15
330108 杭州市 滨江区 1996 30.21 120.21
440304 深圳市 福田区 1983 22.54 114.06
440305 深圳市 南山区 1983 22.53 113.93
440104 广州市 越秀区 1983 23.13 113.26
440106 广州市 天河区 1985 23.13 113.36
320102 南京市 玄武区 1983 32.06 118.80
320106 南京市 鼓楼区 1983 32.07 118.77
510104 成都市 锦江区 1990 30.57 104.07
510107 成都市 武侯区 1990 30.64 104.04
420106 武汉市 武昌区 1983 30.55 114.31
610113 西安市 雁塔区 1983 34.22 108.95
500103 重庆市 渝中区 1997 29.56 106.55
370102 济南市 历下区 1983 36.65 117.12
350203 厦门市 思明区 1983 24.48 118.09
410105 郑州市 金水区 1983 34.75 113.62
650102 乌鲁木齐市 天山区 1983 43.83 87.62
230102 哈尔滨市 道里区 1983 45.80 126.53
530102 昆明市 五华区 1983 25.04 102.71
150102 呼和浩特市 新城区 1983 40.84 111.75
620102 兰州市 城关区 1983 36.06 103.83
210102 沈阳市 和平区 1983 41.80 123.43
340102 合肥市 瑶海区 1983 31.82 117.23
360102 南昌市 东湖区 1983 28.68 115.86
430102 长沙市 芙蓉区 1983 28.23 112.94
450102 南宁市 兴宁区 1983 22.82 108.32
520102 贵阳市 南明区 1983 26.65 106.63
630102 西宁市 城东区 1983 36.62 101.78
130102 石家庄市 长安区 1983 38.04 114.51
220102 长春市 南关区 1983 43.82 125.32
350102 福州市 鼓楼区 1983 26.07 119.30
540102 拉萨市 城关区 1983 29.65 91.14
"""
REGIONS = tuple(Region(c, city, district, int(since), float(lat), float(lon))
                for c, city, district, since, lat, lon in (line.split() for line in _TABLE.strip().splitlines()))
SHANGHAI = 9  # the first nine regions are Shanghai's districts: the regulator 310000 supervises them
# Where people shop from: the coast and big cities weigh more (a draw by index from this table).
PEOPLE = tuple(i for i, r in enumerate(REGIONS) for _ in range(3 if i < 31 else 1))
# Where merchants sit: e-commerce hubs (Hangzhou, Guangzhou, Shenzhen, Shanghai) weigh more.
MERCHANTS = tuple(i for i, r in enumerate(REGIONS)
                  for _ in range(6 if r.code[:2] in ("33", "44") else 3 if i < SHANGHAI else 1))


def province(code: str) -> str:
    """The province-level code of a county: where a carrier's provincial hub sorts the parcel."""
    return code[:2] + "0000"


def km(a: Region, b: Region) -> float:
    """Great-circle distance in km."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(h))


def _transit_hours(a: Region, b: Region) -> float:
    """Typical line-haul time: a day's sorting plus trucking at about 50 km/h (air beyond 1,500 km)."""
    d = km(a, b)
    return 10 + (d / 50 if d < 1500 else 30 + d / 400)


# Precomputed: the generator needs the transit time of every order.
TRANSIT_H = tuple(tuple(_transit_hours(a, b) for b in REGIONS) for a in REGIONS)
MIN_TRANSIT_H = 10.0  # fastest real transit (same city): faster "delivery" of a shipped parcel is implausible
