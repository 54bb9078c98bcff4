"""Valid legal identifiers, made up: each serial number gives a distinct code with a correct check digit.

Computed directly rather than through stdnum (which the tests use to check them), because the
simulator makes hundreds of thousands of them.
"""

from __future__ import annotations

from datetime import date

from chengxin.simulate.geo import REGIONS

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
BIG_PRIME = 2_147_483_647  # a prime above every modulus below: k -> k * BIG_PRIME % m is one-to-one
LAST_BIRTH = date(2005, 12, 31).toordinal()


def uscc(kind: str, region: str, n: int, salt: int) -> str:
    """GB 32100 code (kind "91" company, "92" individual business ...); serial n fills the organisation
    code, so distinct serials never collide."""
    x, org = (n * BIG_PRIME + salt) % 31**7, ""
    for _ in range(7):
        x, c = divmod(x, 31)
        org += USCC_CHARS[c]
    body = kind + region + "MA" + org
    s = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return body + USCC_CHARS[(31 - s % 31) % 31]


def ric(region: int, k: int, salt: int) -> str:
    """Resident ID of a region's k-th person: a distinct (birth date, sequence) pair per k."""
    code, since = REGIONS[region].code, REGIONS[region].since
    first = date(max(1950, since), 1, 1).toordinal()
    x = (k * BIG_PRIME + salt) % ((LAST_BIRTH - first + 1) * 999)
    body = code + date.fromordinal(first + x // 999).isoformat().replace("-", "") + f"{x % 999 + 1:03d}"
    # MOD 11-2: the weights are 2**(17-i) mod 11, and 13 = 2 (mod 11), so the weighted sum of the
    # 17 digits is int(body, 13) * 2 (mod 11); the check c makes sum + c = 1 (mod 11).
    return body + "0123456789X"[(1 - 2 * int(body, 13)) % 11]


def gtin13(n: int, salt: int) -> str:
    """A GTIN-13 with China's 69 prefix; the multiplier is prime to 10, so distinct n give distinct codes."""
    body = f"69{(n * 7_654_321 + salt) % 10**10:010d}"
    s = sum(map(int, body[::2])) + 3 * sum(map(int, body[1::2]))
    return body + str(-s % 10)
