"""The checks of an event's data fields, one per field kind of `vocab/events-v1.yaml` (`data_errors`), and the
reasons they give, each naming the field and never its value (it may be personal data): too long, a control
character, a "|" in a source, a wrong GTIN.

Pure. Neighbours: `domain/events.py` (the line and its envelope), `domain/event_times.py` (times and dates),
`domain/event_hashes.py` (keyed-hash fields).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from stdnum import ean

from chengxin.domain.event_hashes import hash_errors
from chengxin.domain.event_times import DATE, TIME, as_date, utc
from chengxin.domain.redact import redact
from chengxin.domain.vocabulary import CONTROLS, SOURCE_RESERVED, EventType, FieldSpec

_REGION = re.compile(r"[0-9]{6}\Z")
_DIMENSIONS = ("as_described", "service", "logistics")
_INT64_MAX = 2**63 - 1  # money and counts are stored as 64-bit integers
_OK: tuple[str, ...] = ()  # shared "no problems" answer: the common case allocates nothing


def data_errors(data: Mapping[str, Any], etype: EventType) -> Sequence[str]:
    """Every problem with `data` for this event type, each naming its field."""
    errors: list[str] = []
    for name, path, check, spec in _compiled(etype):
        value = data.get(name)
        if value is None:
            if _required(spec, data):
                errors.append(f"{path} missing")
            continue
        found = check(path, value, spec)
        if found:
            errors.extend(found)
    return errors


_Compiled = tuple[tuple[str, str, Any, FieldSpec], ...]
_COMPILED: dict[int, tuple[EventType, _Compiled]] = {}  # keeps the type alive, so its id stays unique


def _compiled(etype: EventType) -> _Compiled:
    """Per type, each field's name, error path and check function, worked out once (hot path)."""
    key = id(etype)
    if key not in _COMPILED:
        _COMPILED[key] = (etype, tuple((f.name, f"data.{f.name}", _CHECKS[f.kind], f) for f in etype.fields))
    return _COMPILED[key][1]


def _required(spec: FieldSpec, data: Mapping[str, Any]) -> bool:
    if spec.required:
        return True
    return any(str(data.get(other)) in values for other, values in spec.required_when.items())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def time_errors(where: str, value: Any, spec: FieldSpec | None = None) -> Sequence[str]:
    if _is_int(value) or isinstance(value, float):
        return [f"{where} is a number, not an RFC 3339 time"]
    if not isinstance(value, str) or not TIME.match(value):
        return [f"{where} not RFC 3339 with offset"]
    try:
        utc(value)
    except (ValueError, OverflowError):  # e.g. month 13, or year 1 shifted before year 1 by its offset
        return [f"{where} is not a real date and time"]
    return _OK


def _date_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if isinstance(value, str) and DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return [f"{where} is not a real date"]
        return _OK
    if isinstance(value, str) and TIME.match(value):
        errors = time_errors(where, value)
        if not errors:
            try:
                as_date(value)
            except OverflowError:
                return [f"{where} falls after 9999-12-31 on China's calendar (a full time is kept as its day in "
                        f"China, UTC+8)"]
        return errors
    return [f"{where} not a date (YYYY-MM-DD) or RFC 3339 time"]


def too_long(where: str, value: str, limit: int) -> str:
    """The reason for a string over its length limit (`vocab/events-v1.yaml`, `lengths`): characters, as counted
    in Unicode code points (a Chinese character is one), never the value itself (it may be personal data)."""
    return f"{where}: {len(value)} characters, at most {limit}"


_CONTROL = re.compile(CONTROLS)


def control_character(where: str, value: str) -> str | None:
    """The reason for a string with a control character where its class refuses them (`no_controls` in
    `vocab/events-v1.yaml`: C0, DEL, C1, U+2028, U+2029), None without one: the first one's code point and
    position (in characters, from 1), never the value (it may be personal data)."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    return f"{where}: control character U+{ord(found.group()):04X} at position {found.start() + 1}"


def key_character(where: str, value: str, *, plain: bool, source: bool) -> str | None:
    """The reason an id or source may not be stored as a key: a control character (`plain`: its class refuses
    them) or, in a source, a "|"; None when it may."""
    return (control_character(where, value) if plain else None) or (source_character(where, value) if source
                                                                       else None)


def source_character(where: str, value: str) -> str | None:
    """The reason for a source holding "|" (None without one): where, never the value."""
    at = value.find(SOURCE_RESERVED)
    if at < 0:
        return None
    return f"{where}: '|' at position {at + 1}: a source is a URI, which has none (write it %7C)"


def _str_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not isinstance(value, str) or not value.strip():
        return [f"{where} must be a non-empty string"]
    if "\x00" in value:
        return [f"{where} must not contain a NUL character"]
    if spec.plain and (why := control_character(where, value)):
        return [why]
    if spec.max_length is not None and len(value) > spec.max_length:
        return [too_long(where, value, spec.max_length)]
    if spec.format is not None and (why := FORMATS[spec.format](value)):
        return [f"{where} {why}"]
    return _OK


def gtin_problem(value: str) -> str | None:
    """Why a string is not a GTIN-8, -12, -13 or -14 (None: it is one), as sent: digits only."""
    if not (value.isascii() and value.isdigit()):
        return f"must be a GTIN-8, -12, -13 or -14: digits only (found {redact(value[:20])!r})"
    if len(value) not in (8, 12, 13, 14):
        return f"must be a GTIN-8, -12, -13 or -14: 8, 12, 13 or 14 digits (found {len(value)})"
    want = ean.calc_check_digit(value[:-1])
    if want != value[-1]:
        return f"has a wrong check digit: a GTIN ending {value[-1]} after these digits ends {want}"
    return None


FORMATS = {"gtin": gtin_problem}


def _text_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    # Free text a person wrote (a review's words, a reason): it may be empty, as a rating without words is.
    if not isinstance(value, str):
        return [f"{where} must be a string"]
    if "\x00" in value:
        return [f"{where} must not contain a NUL character"]
    if spec.plain and (why := control_character(where, value)):  # a `text` of a class refusing them
        return [why]
    if spec.max_length is not None and len(value) > spec.max_length:
        return [too_long(where, value, spec.max_length)]
    return _OK


def _ref_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    """A bare id (`max_length`), or an object naming another source's entity: its `source` (`max_source`) and
    `id` (`max_length`); neither with a control character (`plain`)."""
    if isinstance(value, dict):
        ok = all(isinstance(v := value.get(k), str) and v.strip() and "\x00" not in v for k in ("source", "id"))
        if not ok:
            return [f"{where} reference object needs string `source` and `id`"]
        errors: list[str] = []
        for k, limit in (("source", spec.max_source), ("id", spec.max_length)):
            if why := key_character(f"{where}.{k}", value[k], plain=spec.plain, source=k == "source"):
                errors.append(why)
            elif limit is not None and len(value[k]) > limit:
                errors.append(too_long(f"{where}.{k}", value[k], limit))
        return errors
    return _str_errors(where, value, spec)


def _count_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not _is_int(value):
        return [f"{where} not an integer"]
    if value < 0:
        return [f"{where} negative"]
    if value > _INT64_MAX:
        return [f"{where} too large (at most {_INT64_MAX})"]
    return _OK


def _int_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not _is_int(value):
        return [f"{where} not an integer"]
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"{where} out of range {low}..{high}"]
    return _OK


def _enum_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not isinstance(value, str) or value not in spec.values:
        return [f"{where} not in enumeration ({', '.join(sorted(spec.values))})"]
    return _OK


def _region_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not isinstance(value, str) or not _REGION.match(value):
        return [f"{where} must be a 6-digit region code"]
    return _OK


def _strs_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    # an empty list is a list (events-v1 says "list"): a shop not yet in any category; it was refused (found
    # by review). Its strings are not empty.
    if not isinstance(value, list):
        return [f"{where} must be a list of strings"]
    if not all(isinstance(v, str) and v.strip() and "\x00" not in v for v in value):
        return [f"{where} must contain only non-empty strings without NUL characters"]
    if spec.plain:  # the first element with a control character
        for i, v in enumerate(value):
            if why := control_character(f"{where}[{i}]", v):
                return [why]
    limit = spec.max_length
    long = [] if limit is None else [i for i, v in enumerate(value) if len(v) > limit]
    if long and limit is not None:  # the first, and how many more (a list may be long)
        more = f" (and {len(long) - 1} more over it)" if len(long) > 1 else ""
        return [too_long(f"{where}[{long[0]}]", value[long[0]], limit) + more]
    return _OK


def _items_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not isinstance(value, list) or not value:
        return [f"{where} must be a non-empty list"]
    errors: list[str] = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{here} must be an object")
            continue
        if item.get("product_id") is None:
            errors.append(f"{here}.product_id missing")
        else:
            errors.extend(_ref_errors(f"{here}.product_id", item["product_id"], spec))
        for name in ("quantity", "unit_price"):
            if name not in item:
                errors.append(f"{here}.{name} missing")
            else:
                errors.extend(_count_errors(f"{here}.{name}", item[name], spec))
    return errors


_SCORE = FieldSpec(name="dimension", kind="int", minimum=1, maximum=5)


def _dims_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    errors = [f"{where}.{k} unknown dimension" for k in value if k not in _DIMENSIONS]
    for k in _DIMENSIONS:
        if k in value:
            errors.extend(_int_errors(f"{where}.{k}", value[k], _SCORE))
    return errors


_CHECKS = {
    "str": _str_errors,
    "text": _text_errors,
    "hash": hash_errors,
    "ref": _ref_errors,
    "money": _count_errors,
    "count": _count_errors,
    "int": _int_errors,
    "time": time_errors,
    "date": _date_errors,
    "region": _region_errors,
    "enum": _enum_errors,
    "strs": _strs_errors,
    "items": _items_errors,
    "dims": _dims_errors,
}
