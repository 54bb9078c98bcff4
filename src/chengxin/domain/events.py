"""Parse and validate one events-v1 line into an `Event`, or say exactly why not.

Pure: bytes in, `Event` or `Rejected` out. The reasons name the field (`data.amount negative`) so a
platform can fix its feed; every problem on the line is reported, not only the first.

This module reads the line (a fast path, `domain/fastcheck.py`, and the explaining one), checks its envelope,
its numbers and the fields that contradict each other, and says how a re-send compares and whether an event
lies in the future. Its neighbours check the parts: `domain/event_fields.py` each data field by its kind,
`domain/event_times.py` times and dates (`utc`, `as_date`), `domain/event_hashes.py` keyed-hash fields.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import orjson

from chengxin.domain.event_fields import FORMATS, control_character, data_errors, key_character, time_errors, too_long
from chengxin.domain.event_times import as_date, instant, utc, utc_uncached
from chengxin.domain.fastcheck import quick_check
from chengxin.domain.redact import redact
from chengxin.domain.vocabulary import EventType, Vocabulary, source_refusal

MAX_LINE_BYTES = 1 << 20  # a CloudEvent this large is a producer bug, not a credit fact
_ENVELOPE = ("specversion", "id", "source", "type", "time", "data")

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
    return utc_uncached((instant(received) + FUTURE_SKEW).isoformat())


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
                checks.append((f.name, _formatted(FORMATS[f.format])))
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
    errors.extend(time_errors("time", obj["time"]))
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
