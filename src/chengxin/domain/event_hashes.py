"""A keyed-hash field of an event (`hash` kind): a platform's opaque keyed hash of a personal value, never the value
itself. What the vocabulary's pattern refuses is looked at closely here, and only a real raw shape (a phone or
bank card number, a resident ID, an IP address: `raw_shape`) is refused.

Pure. Neighbours: `domain/event_fields.py` (the other field checks), `domain/events.py` (the line).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any

from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from chengxin.domain.vocabulary import HASH, LABEL, FieldSpec

_OK: tuple[str, ...] = ()  # shared "no problems" answer: the common case allocates nothing

_HASH = re.compile(HASH)
_HASH_CHARS = re.compile(r"[A-Za-z0-9:_\-+/=.]{1,256}\Z")
_HASH_BAD_CHAR = re.compile(r"[^A-Za-z0-9:_\-+/=.]")
_SEPARATORS = str.maketrans("", "", "-._/:+= ")
_MOBILE = re.compile(r"(?:0{0,2}86)?1[3-9][0-9]{9}\Z")  # after separators (and a +86's plus) are taken out
_LANDLINE = re.compile(r"(?:\+?86[-.]?)?0[1-9][0-9]{1,2}[-.][1-9][0-9]{6,7}(?:[-.][0-9]{1,4})?\Z")  # 021-1234567
_IPV4 = re.compile(r"(?:^|.*[^0-9A-Za-z.])([0-9]{1,3}(?:\.[0-9]{1,3}){3})(?:[:/][0-9]+)?\Z")


def raw_shape(value: str) -> str | None:
    """What raw personal value a would-be keyed hash has the shape of (None: none). Only real shapes count,
    however punctuated, alone or after a label of letters and separators (`tel:`, `card:`, `m`): a mainland
    mobile number (with or without +86), a landline written with its area code, a bank card number that passes
    the Luhn check, a resident ID with its check character and a real birth date (or a 15-digit one of a known
    region and birth date), an IPv4 address (also with a port or prefix length, or mapped into IPv6) or an
    address `ipaddress` parses as IPv6. A hash made only of digits (a decimal digest, or a hex one that happens
    to have no letter) is not refused for being digits."""
    shape = _raw_shape(value)
    label = _LABEL.match(value)
    if shape is None and label and 0 < label.end() < len(value):
        shape = _raw_shape(value[label.end():])
    if shape is None and (cut := _LABEL_SEP.match(value)) and cut.end() < len(value):
        shape = _raw_shape(value[cut.end():])  # letters, then separators: `ip:2001:db8::1`
    return shape


_LABEL = re.compile(LABEL)
_LABEL_SEP = re.compile(r"[A-Za-z]*+[:_\-+/=.]++")


def _raw_shape(value: str) -> str | None:
    digits = value.translate(_SEPARATORS)
    if digits.isdigit() and digits.isascii():
        if _MOBILE.match(digits):
            return "a mobile phone number"
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            return "a bank card number"
        if (len(digits) == 18 and _real_ric(digits)) or (len(digits) == 15 and _real_old_ric(digits)):
            return "a resident ID number"
    elif len(digits) == 18 and digits[:17].isdigit() and digits[17] in "Xx" and _real_ric(digits.upper()):
        return "a resident ID number"
    if _LANDLINE.match(value):
        return "a landline phone number"
    if "." in value and (m := _IPV4.match(value)) and _is_ip(m.group(1)):
        return "an IPv4 address"
    if ":" in value and _is_ip(value.split("/", 1)[0]):
        return "an IPv6 address"
    return None


def _real_ric(number: str) -> bool:
    try:
        return ric.calc_check_digit(number) == number[17] and bool(ric.get_birth_date(number))
    except (ValueError, KeyError, StdnumError):
        return False


def _real_old_ric(number: str) -> bool:
    """A first-generation (15-digit) resident ID: region, then birth date as YYMMDD in the 1900s."""
    full = f"{number[:6]}19{number[6:]}0"
    try:
        return bool(ric.get_birth_place(full))
    except (ValueError, KeyError, StdnumError):  # KeyError: stdnum 2.2 on a province's or city's own code
        return False


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def hash_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    # The vocabulary's HASH pattern (which the fast path checks too) refuses everything that may be raw;
    # only what it refuses is looked at closely here, and only a real raw shape is refused.
    if isinstance(value, str) and _HASH.match(value):
        return _OK
    what = "the platform's opaque keyed hash, never the raw value"
    if not isinstance(value, str):
        return [f"{where} must be {what}: a string, not {type(value).__name__}"]
    if not _HASH_CHARS.match(value):
        bad = _HASH_BAD_CHAR.search(value)
        found = f"found {bad.group()!r}" if bad else f"it has {len(value)} characters" if value else "it is empty"
        return [f"{where} must be {what}: 1 to 256 letters, digits or :_-+/=. ({found})"]
    shape = raw_shape(value)
    if shape:
        return [f"{where} must be {what}: it looks like {shape}; send a keyed hash of it"]
    return _OK
