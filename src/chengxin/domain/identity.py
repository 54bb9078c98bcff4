"""Legal identifiers of parties (R3 real-name registration) and their masking for display.

- USCC, unified social credit code (GB 32100-2015): 18 characters, mod-31 check character.
- Resident identity number, RIC (GB 11643-1999): 18 characters, MOD 11-2 check character (`X` = 10),
  a birth date and a GB/T 2260 region code.

Checks use python-stdnum (`stdnum.cn.uscc`, `stdnum.cn.ric`) and its GB/T 2260 data (`cn/loc`), and report
one short English reason naming the event field (`uscc: ...`, `id_number: ...`) and the same in Chinese
(`reason_zh`). Every reason is one of `REASONS`; `reason_zh()` maps a stored English reason to its Chinese
text, so the reasons stored as English translate at read time. Reasons never repeat a whole identifier, and
the Chinese text never repeats a birth date. Historical region codes count as known: a resident keeps the
code of the place of first registration after the division is renamed or abolished.

Masking follows platform-rules §5.9 / reliability §6 (ASVS 14.2.6: return the minimum): ID numbers keep the
first 4 and last 4 characters, names keep the surname, phone numbers keep 3 + 4 digits.

Pure: stdlib and stdnum only, no I/O beyond stdnum's packaged data.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from string import Formatter

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

__all__ = [
    "NO_IDENTIFIER",
    "REASONS",
    "IdentityCheck",
    "check_ric",
    "check_uscc",
    "mask_name",
    "mask_phone",
    "mask_ric",
    "normalise",
    "reason_zh",
    "region_known",
    "region_name",
]

_USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")  # 0-9 and A-Z without I O Z S V
_DIGITS = frozenset("0123456789")
_REGION_RE = re.compile(r"[0-9]{6}", re.ASCII)
_EARLIEST_BIRTH = datetime.date(1900, 1, 1)
# Grouping rows of GB/T 2260 that are not places and add nothing to a display name.
_GROUPING_NAMES = frozenset({"市辖区", "县"})

# Chinese compound surnames (复姓) kept whole by mask_name: "欧阳娜娜" -> "欧阳**".
_COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
        "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "公冶", "太叔",
        "申屠", "钟离", "闻人", "濮阳", "赫连", "万俟", "宗政", "拓跋", "东郭", "左丘", "司空", "闾丘",
    }
)  # fmt: skip


@dataclass(frozen=True)
class IdentityCheck:
    """The outcome of checking one identifier."""

    scheme: str  # "uscc" or "ric"
    normalised: str  # NFKC, whitespace removed, upper-case
    valid: bool
    reason: str | None  # None when valid; else a short English reason naming the event field
    reason_zh: str | None = None  # the same reason in Chinese


# --- reasons -------------------------------------------------------------------------------------------

# Every reason a check can give, (English, Chinese), by code. `{field}` is the event field (`uscc`,
# `id_number`), `{field_zh}` its Chinese name; the other placeholders are numbers or codes from the value.
REASONS: dict[str, tuple[str, str]] = {
    "length": ("{field}: length {n}, want 18", "{field_zh}长度为 {n} 位，应为 18 位"),
    "uscc_digit": ("{field}: character {pos} must be a digit (authority, type, region)",
                   "{field_zh}第 {pos} 位应为数字（登记管理部门、机构类别、行政区划）"),
    "uscc_alphabet": ("{field}: character {pos} not allowed (0-9, A-Z except I O Z S V)",
                      "{field_zh}第 {pos} 位字符无效（仅限数字和除 I、O、Z、S、V 以外的大写字母）"),
    "check_wrong": ("{field}: check character wrong", "{field_zh}校验位错误"),
    "invalid_characters": ("{field}: invalid characters", "{field_zh}含有无效字符"),
    "invalid": ("{field}: invalid", "{field_zh}无效"),
    "ric_digits": ("{field}: characters 1-17 must be digits", "{field_zh}前 17 位应为数字"),
    "ric_check_character": ("{field}: check character must be a digit or X", "{field_zh}校验位应为数字或 X"),
    # no digits of the number in these: a reason is stored in the clear and in the credit log, and with the
    # masked number (first and last four) a birth date and a region would give all eighteen (found by review)
    "birth_not_a_date": ("{field}: birth date is not a date", "{field_zh}出生日期无效"),
    "birth_before_1900": ("{field}: birth date before 1900", "{field_zh}出生日期早于 1900 年"),
    "birth_in_future": ("{field}: birth date in the future", "{field_zh}出生日期晚于当前日期"),
    "region_unknown": ("{field}: region unknown", "{field_zh}地区码不存在"),
    "no_identifier": ("no legal identifier given", "未提供统一社会信用代码或身份证号"),
    "uscc_holds_ric": ("{field}: a resident ID number, not a USCC (stored protected)",
                       "{field_zh}为身份证号而非统一社会信用代码（已加密保存）"),
}
NO_IDENTIFIER = REASONS["no_identifier"][0]
_FIELDS = {"uscc": "uscc", "ric": "id_number"}  # scheme -> event field
_FIELD_ZH = {"uscc": "统一社会信用代码", "id_number": "身份证号"}
_PLACEHOLDER_RE = {"field": "uscc|id_number", "n": "[0-9]+", "pos": "[0-9]+", "birth": "[0-9]+",
                   "region": "[0-9A-Z]+"}


def _reason_pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching what `template` formats to, one named group per placeholder."""
    parts = []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P<{name}>{_PLACEHOLDER_RE[name]})")
    return re.compile("".join(parts))


# reasons stored by releases before 2026-11-27, which quoted the digits: still translated, and shown in this
# release's words (`current_reason`)
_EARLIER = (("{field}: birth date {birth} is not a date", "birth_not_a_date"),
            ("{field}: birth date {birth} before 1900", "birth_before_1900"),
            ("{field}: region {region} unknown", "region_unknown"))
_EARLIER_PATTERNS = tuple((_reason_pattern(old), code) for old, code in _EARLIER)
_REASON_PATTERNS = tuple((_reason_pattern(en), zh) for en, zh in REASONS.values())


def current_reason(reason: str) -> str:
    """A stored reason in this release's words: an earlier release's that quoted the ID number's birth date or
    region, without them (with the masked number they gave all eighteen digits)."""
    for pattern, code in _EARLIER_PATTERNS:
        found = pattern.fullmatch(reason)
        if found is not None:
            return REASONS[code][0].format(field=found["field"])
    return reason


def reason_zh(reason: str) -> str:
    """The Chinese text of an English reason from `REASONS` ("uscc: check character wrong" ->
    "统一社会信用代码校验位错误"). Text that is not one of them (say, from an older release) comes back as is."""
    reason = current_reason(reason)
    for pattern, zh in _REASON_PATTERNS:
        found = pattern.fullmatch(reason)
        if found is not None:
            values = found.groupdict()
            return zh.format(field_zh=_FIELD_ZH.get(values.get("field") or "", ""), **values)
    return reason


def normalise(value: str) -> str:
    """NFKC (full-width digits and letters become ASCII), all whitespace removed, upper-case."""
    folded = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in folded if not ch.isspace()).upper()


def _ok(scheme: str, normalised: str) -> IdentityCheck:
    return IdentityCheck(scheme=scheme, normalised=normalised, valid=True, reason=None)


def _bad(scheme: str, normalised: str, code: str, **values: object) -> IdentityCheck:
    field = _FIELDS[scheme]
    en, zh = REASONS[code]
    return IdentityCheck(scheme=scheme, normalised=normalised, valid=False,
                         reason=en.format(field=field, **values),
                         reason_zh=zh.format(field_zh=_FIELD_ZH[field], **values))


_RIC_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def holds_ric(value: str) -> bool:
    """Whether a value sent as a USCC is no USCC but shaped as a resident ID number (17 digits and a digit or X):
    personal data, masked and encrypted as an ID number is. Kept as sent, a person's ID number in `uscc` was
    stored and searchable in the clear (found by review)."""
    n = normalise(value)
    return bool(_RIC_SHAPE.fullmatch(n)) and not check_uscc(n).valid


def check_uscc(value: str) -> IdentityCheck:
    """Check a unified social credit code: length, alphabet, mod-31 check character (GB 32100-2015)."""
    n = normalise(value)
    # Length and alphabet are checked here, before stdnum, because stdnum's own compaction also drops
    # hyphens; the code must be judged exactly as it will be stored.
    if len(n) != 18:
        return _bad("uscc", n, "length", n=len(n))
    for pos, ch in enumerate(n[:8], start=1):
        if ch not in _DIGITS:
            return _bad("uscc", n, "uscc_digit", pos=pos)
    for pos, ch in enumerate(n[8:], start=9):
        if ch not in _USCC_ALPHABET:
            return _bad("uscc", n, "uscc_alphabet", pos=pos)
    try:
        uscc.validate(n)
    except InvalidChecksum:
        return _bad("uscc", n, "uscc_holds_ric" if _RIC_SHAPE.fullmatch(n) else "check_wrong")
    except InvalidLength:  # unreachable after the checks above; kept so no stdnum error escapes unmapped
        return _bad("uscc", n, "length", n=len(n))
    except InvalidFormat:
        return _bad("uscc", n, "invalid_characters")
    except ValidationError:
        return _bad("uscc", n, "invalid")
    return _ok("uscc", n)


def check_ric(value: str, *, today: datetime.date) -> IdentityCheck:
    """Check an 18-character resident identity number (GB 11643-1999).

    In order: length, digits, MOD 11-2 check character, birth date (a real date, not before 1900, not after
    `today`), region (known to GB/T 2260, historical codes included). The first failure is reported.
    15-character first-generation numbers are not accepted (events-v1 carries 18-character ones).
    """
    n = normalise(value)
    if len(n) != 18:
        return _bad("ric", n, "length", n=len(n))
    if any(ch not in _DIGITS for ch in n[:17]):
        return _bad("ric", n, "ric_digits")
    if n[17] not in _DIGITS and n[17] != "X":
        return _bad("ric", n, "ric_check_character")
    if ric.calc_check_digit(n) != n[17]:
        return _bad("ric", n, "check_wrong")
    try:
        born = ric.get_birth_date(n)
    except (InvalidComponent, ValueError):
        return _bad("ric", n, "birth_not_a_date")
    if born < _EARLIEST_BIRTH:
        return _bad("ric", n, "birth_before_1900")
    if born > today:
        return _bad("ric", n, "birth_in_future")
    if not region_known(n[:6]):
        return _bad("ric", n, "region_unknown")
    return _ok("ric", n)


# --- GB/T 2260 regions ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _region_parts(code: str) -> tuple[str, str] | None:
    """(province, county-field) for a known 6-digit code, else None. County-field is stdnum's raw text,
    e.g. "[1983-1989]南头区办事处,[1990-]南山区"."""
    if not _REGION_RE.fullmatch(code):
        return None
    parts = numdb.get("cn/loc").info(code)
    if "".join(part for part, _ in parts) != code:
        return None
    info = {k: v for _, props in parts for k, v in props.items()}
    province, county = info.get("province"), info.get("county")
    if not province or not county:
        return None
    return province, county


def _current_name(county_field: str) -> str:
    """The name in use now (open-ended period), else the most recently used one."""
    best_end = -1
    best = ""
    for entry in county_field.split(","):
        name, end = entry, 10_000  # no period: always in use
        if entry.startswith("[") and "]" in entry:
            period, name = entry[1:].split("]", 1)
            end_text = period.split("-", 1)[1] if "-" in period else ""
            end = int(end_text) if end_text.isdigit() else 10_000
        if end >= best_end:
            best_end, best = end, name
    return best


def region_known(code: str) -> bool:
    """True when `code` is a 6-digit GB/T 2260 code: province, prefecture or county, current or historical."""
    return _region_parts(code) is not None


def region_name(code: str) -> str | None:
    """Display name, e.g. "上海市徐汇区", "浙江省杭州市西湖区", "上海市"; None when the code is unknown.

    Uses the current name, or the last one for an abolished code.
    """
    found = _region_parts(code)
    if found is None:
        return None
    province, county_field = found
    name = _current_name(county_field)
    if code.endswith("0000") or name == province:
        return province
    middle = ""
    if not code.endswith("00"):  # county level: add the prefecture when it is a real place
        city = _region_parts(code[:4] + "00")
        if city is not None:
            city_name = _current_name(city[1])
            if city_name not in _GROUPING_NAMES and "直辖" not in city_name:
                middle = city_name
    if name in _GROUPING_NAMES or "直辖" in name:
        name = ""
    return province + middle + name


# --- masking -------------------------------------------------------------------------------------------


def _mask_all_but_last4(s: str) -> str:
    if len(s) <= 4:
        return "*" * len(s)
    return "*" * (len(s) - 4) + s[-4:]


def mask_ric(value: str) -> str:
    """Mask a resident ID: "3101**********1234" (first 4, 10 stars, last 4) for a well-formed 18-character
    number (check character right). Anything else: every character but the last 4 masked; 4 or fewer: all."""
    n = normalise(value)
    well_formed = (
        len(n) == 18
        and all(ch in _DIGITS for ch in n[:17])
        and (n[17] in _DIGITS or n[17] == "X")
        and ric.calc_check_digit(n) == n[17]
    )
    if well_formed:
        return n[:4] + "*" * 10 + n[-4:]
    return _mask_all_but_last4(n)


def mask_name(name: str) -> str:
    """A natural person's name for display: the surname kept, each other character a star.

    "张三" -> "张*", "王小明" -> "王**", "欧阳娜娜" -> "欧阳**" (compound surname kept), a one-character
    name -> "*". Whitespace (as in Latin-script names) is dropped before masking.
    """
    n = "".join(ch for ch in unicodedata.normalize("NFKC", name) if not ch.isspace())
    if len(n) <= 1:
        return "*" * len(n)
    keep = 2 if len(n) >= 3 and n[:2] in _COMPOUND_SURNAMES else 1
    return n[:keep] + "*" * (len(n) - keep)


def _is_mobile(s: str) -> bool:
    return len(s) == 11 and s[0] == "1" and all(ch in _DIGITS for ch in s)


def mask_phone(value: str) -> str:
    """Mask a phone number: "138****1234" for an 11-digit mainland mobile number (starts with 1; a leading
    +86 / 0086 / 86 is dropped); anything else: all but the last 4 characters masked."""
    n = normalise(value).replace("-", "").replace("(", "").replace(")", "")
    for prefix in ("+86", "0086", "86"):
        rest = n[len(prefix) :]
        if n.startswith(prefix) and _is_mobile(rest):
            n = rest
            break
    if _is_mobile(n):
        return n[:3] + "****" + n[-4:]
    return _mask_all_but_last4(n)
