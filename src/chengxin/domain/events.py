"""Parse and validate one events-v1 line into an `Event`, or say exactly why not.

Pure: bytes in, `Event` or `Rejected` out. The reasons name the field (`data.amount negative`) so a
platform can fix its feed; every problem on the line is reported, not only the first.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import orjson
from stdnum import ean, luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from chengxin.domain.fastcheck import quick_check
from chengxin.domain.redact import redact
from chengxin.domain.vocabulary import (
    CONTROLS,
    HASH,
    LABEL,
    SOURCE_RESERVED,
    EventType,
    FieldSpec,
    Vocabulary,
    source_refusal,
)

MAX_LINE_BYTES = 1 << 20  # a CloudEvent this large is a producer bug, not a credit fact
# ASCII digits only (`\d` also matches other scripts' digits), and an offset of at most 23:59 (RFC 3339). A
# fraction may have any number of digits (RFC 3339's `1*DIGIT`): kept to the microsecond, the rest cut off
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                   r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_REGION = re.compile(r"[0-9]{6}\Z")
_ENVELOPE = ("specversion", "id", "source", "type", "time", "data")
_ENVELOPE_SET = frozenset(_ENVELOPE)
_DIMENSIONS = ("as_described", "service", "logistics")
_INT64_MAX = 2**63 - 1  # money and counts are stored as 64-bit integers
_OK: tuple[str, ...] = ()  # shared "no problems" answer: the common case allocates nothing

Ref = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event. `at` is `time` in UTC, fixed width, so text order is time order."""

    source: str
    id: str
    type: str
    at: str
    data: Mapping[str, Any]
    envelope: Mapping[str, Any]

    @property
    def ord(self) -> str:
        """Total order used for last-writer-wins projections: time, then identity (order-independent)."""
        return f"{self.at}|{self.source}|{self.id}"

    def ref(self, name: str) -> Ref | None:
        """The entity a reference field names, as (source, id); None when the field is absent."""
        return as_ref(self.source, self.data.get(name))


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that is not a valid event, with every reason found."""

    reason: str


def as_ref(own_source: str, value: Any) -> Ref | None:
    """Resolve a reference value: a bare id names an entity of the event's own source."""
    if value is None:
        return None
    if isinstance(value, dict):
        return (str(value["source"]), str(value["id"]))
    return (own_source, str(value))


def canonical(obj: Any) -> bytes:
    """Canonical JSON (sorted keys, compact, UTF-8): equal content gives equal bytes."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def parse_line(raw: bytes | str, vocab: Vocabulary) -> Event | Rejected:
    """Parse one line of JSON Lines; blank lines must be skipped by the caller."""
    if len(raw) > MAX_LINE_BYTES:
        return Rejected(f"line longer than {MAX_LINE_BYTES} bytes")
    parsed = _fast(raw, vocab) or _slow(raw, vocab)
    if not isinstance(parsed, Event):
        return parsed
    if _long_number(raw) and (why := _number_problem(raw)):
        return Rejected(why)
    why = source_refusal(vocab.types[parsed.type], parsed.source, parsed.data) or contradiction(parsed)
    return Rejected(why) if why else parsed


def _self_follow(e: Event) -> str | None:
    if e.data.get("follows") is not None and e.ref("follows") == (e.source, str(e.data["review_id"])):
        return "data.follows names the review itself: a follow-up follows an earlier review"
    return None


def _licence_period(e: Event) -> str | None:
    until = e.data.get("valid_until")
    if until is not None and as_date(until) < as_date(e.data["valid_from"]):
        return "data.valid_until is before data.valid_from: the licence would end before it begins"
    return None


# Fields that contradict each other, each a sender's bug that a shape cannot show (found by review: all were
# stored without a word, a licence then shown as not valid with no reason given)
_CONTRADICTIONS: dict[str, Callable[[Event], str | None]] = {
    "cx.review.posted": _self_follow, "cx.licence.published": _licence_period}


def contradiction(e: Event) -> str | None:
    """Why a valid event's fields contradict each other (None: they do not)."""
    check = _CONTRADICTIONS.get(e.type)
    return check(e) if check else None


# An integer beyond 64 bits is a JSON number of 19 or more digits; orjson reads it as a rounded float (two
# different such numbers then hashed and stored alike: found by review). Looked for in C, in two steps: any
# run of 19 digits (every digit a 0, anything else a space: 0.5 µs a line, and nearly every line is done);
# then, only for such a line, a number of 19 digits (whitespace deleted, the characters a number follows kept,
# anything else an x). Digits inside strings (a 19-digit order id) do not follow `:`, `[` or `,` directly, so
# they seldom send a line to the exact reading.
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_RUN = b"0" * 19
_SHAPE = bytes(48 if 48 <= b <= 57 else b if b in b":[,-" else 120 for b in range(256))
_LONG = tuple(m + _RUN for m in (b":", b"[", b",", b":-", b"[-", b",-"))
_LONG_TEXT = re.compile(r"[:\[,]\s*-?[0-9]{19}")


def _long_number(raw: bytes | str) -> bool:
    if isinstance(raw, bytes):
        if _RUN not in raw.translate(_DIGITS):
            return False
        shape = raw.translate(_SHAPE, b" \t\r\n")
        return any(m in shape for m in _LONG)
    return bool(_LONG_TEXT.search(raw))


def _number_problem(raw: bytes | str) -> str | None:
    """Why the line's numbers cannot be kept exactly, if they cannot: the path of the first integer outside 64
    bits (signed or unsigned), read again exactly by the standard library, walked without recursion."""
    try:
        todo: list[tuple[Any, str]] = [(json.loads(raw), "")]
    except RecursionError:
        return "the line is nested too deeply to check its numbers"
    while todo:
        value, path = todo.pop()
        if isinstance(value, dict):
            todo.extend((v, f"{path}.{k}" if path else str(k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
            return f"{path} is an integer beyond 64 bits, which would be stored rounded: send it as a string"
    return None


def _exact(raw: bytes | str, obj: dict[str, Any]) -> dict[str, Any]:
    """The line read again by the standard library, whose integers are exact (orjson has read it: it is valid
    JSON), so that an integer beyond 64 bits is `too large` or `negative`, as one just beyond 63 bits is."""
    try:
        exact = json.loads(raw)
    except RecursionError:
        return obj
    return exact if isinstance(exact, dict) else obj


def _slow(raw: bytes | str, vocab: Vocabulary) -> Event | Rejected:
    """The explaining validator: every problem of the line, each naming its field."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:  # also: not UTF-8, a number beyond a double, nesting too deep
        return Rejected(utf8_problem(raw) or f"broken JSON: {e.msg} at character {e.pos}")
    except RecursionError:
        return Rejected("broken JSON: nested too deeply")
    if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):  # events sent as one array
        return Rejected("one event per line (JSON Lines), not a JSON array")
    if not isinstance(obj, dict):
        return Rejected("not a JSON object")
    if _long_number(raw):  # orjson reads an integer beyond 64 bits as a float: "not an integer", for one too large
        obj = _exact(raw, obj)
    errors = [*_envelope_errors(obj, vocab)]
    kind = obj.get("type")
    etype = vocab.types.get(kind) if isinstance(kind, str) else None
    if etype is not None and isinstance(obj.get("data"), dict):  # with the envelope's, so that a sender
        errors.extend(data_errors(obj["data"], etype))           # fixing the line sees every problem at once
    if errors:
        return Rejected("; ".join(errors))
    return Event(obj["source"], obj["id"], obj["type"], utc(obj["time"]), obj["data"], obj)


def utf8_problem(raw: bytes | str) -> str | None:
    """Why a line is not UTF-8 text (None: it is): the first bad byte's position, counted from 1, and its
    value. orjson's own reason for it ("surrogates not allowed at character 0") points nowhere near it."""
    if isinstance(raw, str):
        return None
    try:
        raw.decode()
    except UnicodeDecodeError as e:
        return f"broken JSON: the line is not valid UTF-8 at byte {e.start + 1} (0x{raw[e.start]:02X}): send UTF-8 text"
    return None


def _fast(raw: bytes | str, vocab: Vocabulary) -> Event | None:
    """The fast path (fastcheck.py), plus the checks a pattern cannot do (no 30 February, a check digit)."""
    env = quick_check(raw, vocab)  # None for a line with a control character (NUL too): the slow path names it
    if env is None:
        return None
    try:  # the pattern check skips fields outside the vocabulary, which may still be bad JSON for orjson
        obj = orjson.loads(raw)
    except (orjson.JSONDecodeError, RecursionError):
        return None  # the slow path says why
    data = obj["data"]
    try:
        at = utc(env.time)  # the pattern matched; is it a real moment?
        for name, check in _extra_checks(vocab.types[env.type]):
            value = data.get(name)
            if value is not None:
                check(value)
    except (ValueError, OverflowError):
        return None
    return Event(env.source, env.id, env.type, at, data, obj)


def normalised(envelope: Mapping[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """An event's envelope as Chengxin reads it, for telling a re-send that means the same from a conflict: a
    JSON null left out (an optional attribute or field sent as null is absent: `subject`, `data.gtin`), and
    `time` and each time field of its data in UTC to the microsecond (`.000`, or the same instant in another
    offset, is the same time). The stored content hash stays that of the envelope as sent."""
    out = {k: v for k, v in envelope.items() if v is not None}
    data = out.get("data")
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if v is not None}
        etype = vocab.types.get(str(out.get("type")))
        for name in _time_fields(etype) if etype is not None else ():
            data[name] = _utc_or_as_sent(data.get(name))
        out["data"] = data
    out["time"] = _utc_or_as_sent(out.get("time"))
    return {k: v for k, v in out.items() if v is not None}


def _time_fields(etype: EventType) -> tuple[str, ...]:
    return etype.times


def _utc_or_as_sent(value: Any) -> Any:
    try:
        return utc(value) if isinstance(value, str) else value
    except (ValueError, OverflowError):
        return value


def differing_fields(kept: Mapping[str, Any], sent: Mapping[str, Any]) -> list[str]:
    """The paths where two normalised envelopes differ (the envelope's, then `data.`'s, each sorted): what a
    conflict's reason names (never the values, which may be personal data)."""
    paths = [k for k in sorted(kept.keys() | sent.keys()) if k != "data" and kept.get(k) != sent.get(k)]
    a, b = kept.get("data"), sent.get("data")
    if isinstance(a, dict) and isinstance(b, dict):
        paths += [f"data.{k}" for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
    elif a != b:
        paths.append("data")
    return paths


# An event reports what has happened: one dated later than its receipt by more than a clock's skew (a year
# typed 2062 for 2026, a clock set wrong) would take effect now with windows and disclosure periods counted
# from its date (a sanction disclosed until then, a rating inside the 180-day window for decades), and the
# credit log cannot forget it (found by review). The same allowance as the CLI's `--at`.
FUTURE_SKEW = timedelta(minutes=5)


def future_problem(e: Event, etype: EventType, received: str) -> str | None:
    """Why an event cannot be taken at `received` (fixed-width UTC, `utc`), None when it can: its `time`, or a
    time field of its data (`verified_at`: a registration verified later than it is reported), later than
    `received` plus FUTURE_SKEW. Dates are not looked at: a licence, commitment or disclosure may well end,
    or a licence begin, later."""
    latest = _latest(received)
    if e.at <= latest and not etype.times:  # most lines: one comparison
        return None
    skew = int(FUTURE_SKEW.total_seconds() // 60)
    problems = [f"{where} {sent} is in the future (received {received[:16]}Z; at most {skew} minutes of clock "
                f"skew): an event reports what has happened"
                for where, sent, at in _times_of(e, etype) if at > latest]
    return "; ".join(problems) or None


@lru_cache(maxsize=16)
def _latest(received: str) -> str:
    """The latest time an event received at `received` may hold (a batch shares one `received`)."""
    return _utc((_moment(received) + FUTURE_SKEW).isoformat())


def _times_of(e: Event, etype: EventType) -> Iterator[tuple[str, str, str]]:
    """(where, as sent, in UTC) of the event's time and each time field of its data that it holds."""
    yield "time", str(e.envelope["time"]), e.at
    for name in _time_fields(etype):
        if isinstance(value := e.data.get(name), str):
            yield f"data.{name}", value, utc(value)


def _real_date(value: str) -> None:
    """The slow path's _date_errors checks: a real date, or a real time whose day in China exists."""
    if len(value) == 10:
        date.fromisoformat(value)
    else:
        utc(value)
        as_date(value)


def _formatted(problem: Callable[[str], str | None]) -> Callable[[str], None]:
    def check(value: str) -> None:
        if problem(value):
            raise ValueError(value)

    return check


_EXTRA: dict[int, tuple[EventType, tuple[tuple[str, Callable[[str], Any]], ...]]] = {}


def _extra_checks(etype: EventType) -> tuple[tuple[str, Callable[[str], Any]], ...]:
    """The type's fields a pattern cannot check, each with its check (ValueError or OverflowError: not valid),
    worked out once: a time or date is real (no 30 February), a GTIN's check digit is right."""
    key = id(etype)
    if key not in _EXTRA:
        checks: list[tuple[str, Callable[[str], Any]]] = []
        for f in etype.fields:
            if f.kind == "time":
                checks.append((f.name, utc))
            elif f.kind == "date":
                checks.append((f.name, _real_date))
            elif f.format:
                checks.append((f.name, _formatted(_FORMATS[f.format])))
        _EXTRA[key] = (etype, tuple(checks))
    return _EXTRA[key][1]


def _envelope_errors(obj: dict[str, Any], vocab: Vocabulary) -> Sequence[str]:
    errors = [f"{name} missing" for name in _ENVELOPE if name not in obj]
    if errors:
        return errors
    if obj["specversion"] != "1.0":
        errors.append('specversion must be "1.0"')
    for name in ("id", "source"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            errors.append(f"{name} must be a non-empty string")
        elif "\x00" in obj[name]:
            errors.append(f"{name} must not contain a NUL character")
        elif why := key_character(name, obj[name], plain=name in vocab.no_controls, source=name == "source"):
            errors.append(why)
        elif (limit := vocab.lengths.get(name)) is not None and len(obj[name]) > limit:
            errors.append(too_long(name, obj[name], limit))
    if not isinstance(obj["type"], str) or obj["type"] not in vocab.types:
        # quoted masked: a reason is stored (`ingest_problems`), and a type can carry anything (found by review)
        errors.append(f"unknown type {redact(str(obj['type'])[:80])!r}")
    errors.extend(_time_errors("time", obj["time"]))
    if not isinstance(obj["data"], dict):
        errors.append("data must be an object")
    errors.extend(why for name, check in OPTIONAL_ATTRIBUTES.items() if obj.get(name) is not None
                  and (why := check(name, obj[name], vocab)))
    if obj.get("data_base64") is not None:  # CloudEvents: one or the other; both were stored (found by review)
        errors.append("data_base64 beside data: CloudEvents allows one of them; send the event in data")
    return errors


def _attribute_text(name: str, value: Any, vocab: Vocabulary, limit_class: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{name} must be a non-empty string"
    if why := control_character(name, value):
        return why
    limit = vocab.lengths.get(limit_class)
    return too_long(name, value, limit) if limit is not None and len(value) > limit else None


_JSON_MEDIA = re.compile(r"(?:application|text)/(?:[A-Za-z0-9!#$&^_.+-]+\+)?json\s*(?:;.*)?\Z", re.I)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+\Z")


def _datacontenttype(name: str, value: Any, vocab: Vocabulary) -> str | None:
    why = _attribute_text(name, value, vocab, "code")
    if why is None and not _JSON_MEDIA.match(value):
        why = f"{name} must be a JSON media type (application/json): data is a JSON object"
    return why


def _dataschema(name: str, value: Any, vocab: Vocabulary) -> str | None:
    why = _attribute_text(name, value, vocab, "source")
    return why or (None if _URI.match(value) else f"{name} must be a URI (RFC 3986), with its scheme")


# CloudEvents' optional attributes (a JSON null: absent): checked when present, as the spec's "as CloudEvents"
# asks; they were accepted whatever they held, a number or a list kept in the stored event (found by review)
OPTIONAL_ATTRIBUTES: dict[str, Callable[[str, Any, Vocabulary], str | None]] = {
    "subject": lambda name, value, vocab: _attribute_text(name, value, vocab, "id"),
    "datacontenttype": _datacontenttype,
    "dataschema": _dataschema,
}


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


def utc(text: str) -> str:
    """RFC 3339 text to fixed-width UTC (`2026-02-10T12:15:00.000000Z`); the text must be valid.

    Fast path: with an offset in whole hours, only the date and hour change, so the converted
    `YYYY-MM-DDTHH` is cached per (date, hour, offset) and minutes, seconds and fraction are copied. The
    first time of each hour goes through `datetime`, which also checks the date is real."""
    if len(text) >= 20 and text.isascii() and text[10] == "T" and text[13] == ":" and text[16] == ":":
        if text[-1] == "Z":
            offset, fraction = "Z", text[19:-1]
        elif text[-3:] == ":00" and text[-6] in "+-":
            offset, fraction = text[-6:], text[19:-6]
        else:
            offset, fraction = "", "?"
        minsec = text[14:16] + text[17:19]
        if offset and minsec.isdigit() and minsec[0] < "6" and minsec[2] < "6" and (
                not fraction or (fraction[0] == "." and len(fraction) > 1 and fraction[1:].isdigit())):
            key = text[:13] + offset
            hour = _UTC_HOURS.get(key)
            if hour is None:
                if len(_UTC_HOURS) > 100_000:
                    _UTC_HOURS.clear()
                hour = _UTC_HOURS[key] = _utc(f"{text[:13]}:00:00{offset}")[:13]
            micros = fraction[1:7].ljust(6, "0") if fraction else "000000"  # as fromisoformat: truncated
            return f"{hour}:{text[14:16]}:{text[17:19]}.{micros}Z"
    return _utc(text)


_UTC_HOURS: dict[str, str] = {}


def _utc(text: str) -> str:
    moment = _moment(text).astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # 3x faster than strftime


_LEAP = re.compile(r"(.{17})60(?:\.[0-9]+)?(.*)\Z")


def _moment(text: str) -> datetime:
    """An RFC 3339 time as an aware datetime (the fraction cut to microseconds). A leap second (`23:59:60Z`, or
    the same instant in another offset), which Python's datetime cannot hold, is the last microsecond before
    it, `23:59:59.999999Z`: it still sorts after every earlier time. ValueError for a :60 that ends no UTC day."""
    iso = text.upper().replace("Z", "+00:00")
    leap = _LEAP.match(iso) if iso[17:19] == "60" else None
    if leap is None:
        return datetime.fromisoformat(iso)
    moment = datetime.fromisoformat(f"{leap.group(1)}59.999999{leap.group(2)}")
    if moment.astimezone(UTC).time().isoformat() != "23:59:59.999999":
        raise ValueError("a leap second ends a UTC day (23:59:60Z)")
    return moment


CHINA = timezone(timedelta(hours=8), "CST")  # the project counts China's days (periods, disclosure, traffic)


def as_date(text: str) -> date:
    """A `date`-kind value as a calendar date: a date as sent; a full RFC 3339 time as the day it falls on in
    China (CST, UTC+8), whatever its offset, so one instant is one day (`2026-06-30T16:00:00Z` and
    `2026-07-01T00:00:00+08:00` are both 2026-07-01). OverflowError for a time whose China day is after 9999."""
    if _DATE.match(text):
        return date.fromisoformat(text)
    return _moment(text).astimezone(CHINA).date()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _time_errors(where: str, value: Any, spec: FieldSpec | None = None) -> Sequence[str]:
    if _is_int(value) or isinstance(value, float):
        return [f"{where} is a number, not an RFC 3339 time"]
    if not isinstance(value, str) or not _TIME.match(value):
        return [f"{where} not RFC 3339 with offset"]
    try:
        utc(value)
    except (ValueError, OverflowError):  # e.g. month 13, or year 1 shifted before year 1 by its offset
        return [f"{where} is not a real date and time"]
    return _OK


def _date_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
    if isinstance(value, str) and _DATE.match(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            return [f"{where} is not a real date"]
        return _OK
    if isinstance(value, str) and _TIME.match(value):
        errors = _time_errors(where, value)
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
    if spec.format is not None and (why := _FORMATS[spec.format](value)):
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


_FORMATS = {"gtin": gtin_problem}


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


def _hash_errors(where: str, value: Any, spec: FieldSpec) -> Sequence[str]:
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
    "hash": _hash_errors,
    "ref": _ref_errors,
    "money": _count_errors,
    "count": _count_errors,
    "int": _int_errors,
    "time": _time_errors,
    "date": _date_errors,
    "region": _region_errors,
    "enum": _enum_errors,
    "strs": _strs_errors,
    "items": _items_errors,
    "dims": _dims_errors,
}
