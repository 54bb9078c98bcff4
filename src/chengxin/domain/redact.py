"""Personal numbers in free text, masked for public display.

Free text that reporters and deciders write (a shop's closure reason, a review decision's reason and basis, a
list override's reason) can quote a phone or resident ID number, and the public never sees those unmasked
(docs/security.md). `redact(text)` masks, wherever they occur in the text, with the masks of
`domain/identity.py`:

- an 18-character resident ID number (17 digits and a digit or X, the 7th to 14th a date 1800-2099), also
  grouped 6-8-4 by spaces or hyphens: `mask_ric`, "1101**********4567";
- a mainland mobile number (11 digits, 13x-19x), with or without +86 / 0086 / 86, also grouped 3-4-4:
  `mask_phone`, "138****5678";
- a landline with its area code (010, 02x or a four-digit 0xxx, also in brackets or after +86 without the 0),
  then 7 or 8 digits: `mask_phone`'s form for other numbers, every digit but the last 4 masked;
- a bank-card-like run of 13 to 19 digits that passes the Luhn check, written whole or in groups of four:
  every digit but the last 4 masked.

A number counts only where no ASCII letter, digit or `*` touches it: `JY13101040000001` (a licence number),
a hash or a USCC is a code, not a number someone wrote, and a mask is not masked again. So "电话13812345678"
and "tel: 13812345678" are masked, "tel13812345678" is not. Full-width digits count as digits.

Two more kinds, not numbers alone:

- an e-mail address (a full-width ＠ too): its local part masked but for its first character, the domain kept
  ("z***@163.com"; a QQ mailbox's local part is the owner's QQ number);
- a street address's numbers: after a road, street, lane, village or estate word (路 街 道 巷 弄 胡同 村 组 里
  小区 花园 公寓 大厦 广场 苑 园 城), or on their own when they name a building, unit or room (3栋, 2单元, 501室,
  3号楼), the house, building, unit and room numbers that follow, each digit a `*` ("张江路***号*栋***室",
  "碧桂园东区*栋*单元****"); letters and phases on the way (A座, 二期, 东区) are kept. The district and the road
  stay: they say where, not who. Floors and households alone (5层, 30户), years and counts are not addresses;
  numbers written in Chinese numerals (三号楼) are not recognised. Under `name` (`redact_tree`), this rule is
  left out: "西湖路88号面馆" is what a shop is called, and a business's address is public on its licence.

Names in free text are not recognised: they stay as written (docs/security.md).

`redact_tree(value, keep)` masks every string in a JSON-like value except under the keys in `keep` (codes
and identifiers a page needs as they are). Pure: stdlib and stdnum.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from stdnum import luhn

from chengxin.domain.identity import mask_phone, mask_ric

__all__ = ["redact", "redact_tree"]

# Length-preserving folding, so that a match in the folded text is the same span of the original.
_FOLD = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)},
     **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}, **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
     "－": "-", "‐": "-", "‑": "-", "‒": "-", "–": "-", "（": "(", "）": ")", "＋": "+", "\u3000": " ",
     "\u00a0": " ", "＊": "*", "＠": "@", "．": ".", "＃": "#"})

_START = r"(?<![0-9A-Za-z*])"
_END = r"(?![0-9A-Za-z*])"
_SEP = r"[ -]?"
_AREA = r"(?:10|2[0-9]|[3-9][0-9]{2})"  # an area code without its leading 0
_RIC = re.compile(
    _START + r"[1-9][0-9]{5}" + _SEP + r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])" + _SEP
    + r"[0-9]{3}[0-9Xx]" + _END)
_MOBILE = re.compile(_START + r"(?:(?:\+|00)?86" + _SEP + r")?1[3-9][0-9](?:" + _SEP + r"[0-9]{4}){2}" + _END)
_LANDLINE = re.compile(
    _START + r"(?:(?:\+|00)86" + _SEP + r"\(?" + _AREA + r"\)?|\(0" + _AREA + r"\)|0" + _AREA + r")" + _SEP
    + r"[1-9][0-9]{2,3}" + _SEP + r"[0-9]{4}" + _END)
_CARD = re.compile(_START + r"(?:[0-9]{13,19}|[0-9]{4}(?P<sep>[ -])[0-9]{4}(?:(?P=sep)[0-9]{4}){1,2}"
                   r"(?:(?P=sep)[0-9]{1,3})?)" + _END)


_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A street address's numbers: a run of numbers each with its unit (号, 号楼, 栋, 单元, 室, ...; "12-3号", "3#楼"),
# letters or phases that stand for a building on the way ("A座", "二期", "东区"), and perhaps a room number with no
# unit after a building or unit ("5栋1单元1202", "A座1201"), every digit masked. The run follows a place word
# (a road, street, lane, village or estate: "张江路123号"), or holds a building, unit or room on its own
# ("3栋2单元501"); after a place word, also a building-unit-room triple ("幸福里6-2-301") and, after 大厦 or 公寓,
# a bare room number ("国贸大厦1801"). Floors (层) and households (户) alone are not part of one: "本村30户" and
# "5层" say no one's door. Numbers in Chinese numerals (三号楼) are not recognised.
_PLACE = r"(?:路|街|道|巷|弄|胡同|村|组|里|小区|花园|公寓|大厦|广场|苑|园|城)"
_NUMBER = r"[0-9]+(?:-[0-9]+)*#? ?"
_STEP = (r"(?:" + _NUMBER + r"(?:号楼|号院|号|弄|栋|幢|座|单元|楼|室)"  # a number with its unit, or a building's
         r"|[A-Za-z](?:栋|幢|座|区)|[一二三四五六七八九十]+期|[东南西北]区)")  # letter, a phase, a block
_ROOM = r"(?<=[栋幢座元楼])-?[0-9]{2,5}"  # a room number after a building, unit or floor
_STRONG = r"(?:" + _NUMBER + r"(?:栋|幢|单元|室|号楼)|[0-9]+#楼)"  # a building, unit or room: an address
_BARE = r"(?:[0-9]+-[0-9]+-[0-9]+|(?<=大厦|公寓)[0-9]{3,5})(?![0-9])"  # "幸福里6-2-301", "国贸大厦1801"
_HOUSE = re.compile(r"(?:" + _PLACE + r" ?(?:" + _STEP + r"(?: ?" + _STEP + r")*(?:" + _ROOM + r")?|" + _BARE
                    + r")|(?<![0-9A-Za-z])" + _STRONG + r"(?: ?" + _STEP + r")*(?:" + _ROOM + r")?)")


def _email(match: str) -> tuple[int, str]:
    return len(match), match[0] + "***" + match[match.index("@"):]


def _house(match: str) -> tuple[int, str]:
    return len(match), re.sub(r"[0-9]", "*", match)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit() or ch in "Xx").upper()


def _last4(digits: str) -> str:
    return "*" * (len(digits) - 4) + digits[-4:]


def _whole(mask: Callable[[str], str]) -> Callable[[str], tuple[int, str]]:
    return lambda match: (len(match), mask(_digits(match)))


def _card(match: str) -> tuple[int, str] | None:
    """The card number the run is, or begins with when its last group is not part of it ("6222 0212 3456 7890 1":
    a card and a digit after it)."""
    head = match.rsplit(match[4], 1)[0] if len(match) > 4 and match[4] in " -" else match
    for part in dict.fromkeys((match, head)):
        digits = _digits(part)
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            return len(part), _last4(digits)
    return None


# Each rule: a pattern and what a match becomes (the length of the match it masks, and its mask), or None.
_RULES: tuple[tuple[re.Pattern[str], Callable[[str], tuple[int, str] | None]], ...] = (
    (_EMAIL, _email),  # first: a QQ mailbox's local part is a number the rules below would mask otherwise
    (_RIC, _whole(mask_ric)),
    (_MOBILE, _whole(mask_phone)),
    (_LANDLINE, _whole(_last4)),
    (_CARD, _card),
    (_HOUSE, _house),  # last: `redact(..., addresses=False)` leaves it out
)


def redact(text: str, *, addresses: bool = True) -> str:
    """`text` with the resident ID, mobile, landline and bank card numbers, e-mail addresses and (unless not
    `addresses`) street addresses' numbers in it masked (see the module)."""
    if "@" not in text and "＠" not in text and not any(ch.isdigit() for ch in text):
        return text
    for pattern, mask in _RULES if addresses else _RULES[:-1]:
        folded = text.translate(_FOLD)
        out, at = [], 0
        for m in pattern.finditer(folded):
            found = mask(m.group())
            if found is not None:
                out += [text[at:m.start()], found[1]]
                at = m.start() + found[0]
        if at:
            text = "".join(out) + text[at:]
    return text


# Keys whose strings are names (a shop's, a business's): a business's address is public on its licence, and
# "西湖路88号面馆" is what the shop is called, so only personal numbers and e-mail addresses are masked there.
NAMES = frozenset({"name"})


def redact_tree(value: Any, keep: Collection[str] = (), *, name: bool = False) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings ...) with every string redacted, except the values of
    the dict keys in `keep`, left whole; under the keys in `NAMES` without the street-address rule."""
    if isinstance(value, str):
        return redact(value, addresses=not name)
    if isinstance(value, dict):
        return {k: v if k in keep else redact_tree(v, keep, name=k in NAMES) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(v, keep, name=name) for v in value]
    return value
