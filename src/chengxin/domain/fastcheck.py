"""A fast path for validating events-v1 lines, compiled from the same vocabulary.

`events.parse_line` asks this module first: msgspec checks a line in about a microsecond (C code), against
structs built from `vocab/events-v1.yaml`. Only when it says no does the slow, explaining validator run, to
produce the reasons that name each field. The fast path may refuse a line the slow path would accept (the
line is then simply checked slowly), but must never accept one the slow path refuses; a property test
(`tests/unit/test_events.py`) holds the two to that, length limits and control characters included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import msgspec

from chengxin.domain.vocabulary import CONTROLS, HASH, SOURCE_RESERVED, EventType, FieldSpec, Vocabulary

# Not blank: at least one character, and (checked once per line by `_MAY_BE_BLANK`, not per string: a
# pattern constraint calls back into Python's `re` for every string and cost 1.2 µs of the 1.7 µs an
# envelope took to decode) no string starting with whitespace. A string that is all whitespace starts
# with whitespace, written either as such or as an escape, so a line without any `"` followed by a
# whitespace character or a backslash has no blank string. Lines with one (`"a" ,` or `"\u4e2d"`) are
# simply left to the slow validator.
NonBlank = Annotated[str, msgspec.Meta(min_length=1)]
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" \
             "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # str.isspace(), which strip() uses
_MAY_BE_BLANK_TEXT = re.compile('"[\\\\' + re.escape(WHITESPACE) + "]")
_MAY_BE_BLANK_BYTES = re.compile(  # the same characters in UTF-8 (one class and a few sequences: 0.7 µs a line)
    rb'"(?:[\t-\r\x1c-\x20\\]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)')
# Control characters (C0, DEL, C1, U+2028, U+2029) are refused in the strings of the classes `no_controls` names
# (ids, sources, codes, names, urls) and kept in free text (a review's line breaks). A JSON line holds one
# escaped (a short escape \b \f \n \r \t, or \u0000-\u001F, \u007F, \u0080-\u009F, \u2028, \u2029, hex digits
# in either case) or raw (DEL, C1 and U+2028/9 in UTF-8; a raw C0 character is not valid JSON, which both
# decoders refuse). `_may_hold_control` looks once a line: an ASCII line without a backslash or DEL holds none
# (three scans in C), any other line is searched with one pattern (about 1 µs a line on 2 busy cores, on
# bench/gen_events.py output and on the sample alike; a pattern constraint on every string would call back into
# Python's `re` for each, and cost more). Only a line where it finds one (a review with lines, or an escaped
# backslash before an `n`) has the strings of those classes looked at (`_plain`, about 2 µs); one with a NUL,
# which no string may hold, is left to the slow validator.
_MAY_HAVE_CONTROL_TEXT = re.compile(r"\\(?:[bfnrt]|u(?:00[0189][0-9A-Fa-f]|007[Ff]|202[89]))|[\x7f-\x9f\u2028\u2029]")
_MAY_HAVE_CONTROL_BYTES = re.compile(
    rb"\\(?:[bfnrt]|u(?:00[0189][0-9A-Fa-f]|007[Ff]|202[89]))|\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]")
_CONTROL = re.compile(CONTROLS)
_CLOCK = r"[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"  # as event_times.TIME
TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}" + _CLOCK + r"\Z"
DATE_OR_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\Z|" + _CLOCK + r"\Z)"
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]  # stored as 64-bit integers
Score = Annotated[int, msgspec.Meta(ge=1, le=5)]


def _bounded(max_length: int | None, *, blank: bool = False) -> Any:
    """A string of at most `max_length` characters (code points, as `len` counts them; None: any length),
    not empty unless `blank`: the vocabulary's length limits, checked in C."""
    return Annotated[str, msgspec.Meta(min_length=None if blank else 1, max_length=max_length)]


_REFS: dict[tuple[int | None, int | None], tuple[Any, Any]] = {}


def _ref_types(max_id: int | None, max_source: int | None) -> tuple[Any, Any]:
    """(reference, order item) types with these length limits, made once: a reference is a bare id, or
    `{"source": ..., "id": ...}` naming an entity of another source; an item's product_id is a reference."""
    key = (max_id, max_source)
    if key not in _REFS:
        bare = _bounded(max_id)
        obj = msgspec.defstruct("RefObject", [("source", _bounded(max_source)), ("id", bare)])
        ref = bare | obj
        item = msgspec.defstruct("Item", [("product_id", ref), ("quantity", Count), ("unit_price", Count)])
        _REFS[key] = (ref, item)
    return _REFS[key]


class Dimensions(msgspec.Struct, forbid_unknown_fields=True):
    # UNSET, not None: a JSON null dimension is an error for the slow path too
    as_described: Score | msgspec.UnsetType = msgspec.UNSET
    service: Score | msgspec.UnsetType = msgspec.UNSET
    logistics: Score | msgspec.UnsetType = msgspec.UNSET


class Envelope(msgspec.Struct):
    specversion: Literal["1.0"]
    id: NonBlank
    source: NonBlank
    type: str
    time: Annotated[str, msgspec.Meta(pattern=TIME)]
    data: msgspec.Raw
    # CloudEvents' optional attributes: rare, so a line with any of them goes to the slow path, which checks
    # them (events.OPTIONAL_ATTRIBUTES)
    subject: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    datacontenttype: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    dataschema: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    data_base64: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET  # never beside data: the slow path says so


ENVELOPE = msgspec.json.Decoder(Envelope)


def _field_type(spec: FieldSpec) -> Any:
    if spec.kind == "int":
        return Annotated[int, msgspec.Meta(ge=spec.minimum, le=spec.maximum)]
    if spec.kind == "enum":
        return Literal[tuple(sorted(spec.values))]
    if spec.kind in ("ref", "items"):
        ref, item = _ref_types(spec.max_length, spec.max_source)
        if spec.kind == "ref":
            return ref
        return Annotated[list[item], msgspec.Meta(min_length=1)]  # type: ignore[valid-type]
    element = _bounded(spec.max_length)
    kinds: dict[str, Any] = {
        "str": element, "text": _bounded(spec.max_length, blank=True), "money": Count, "count": Count,
        "hash": Annotated[str, msgspec.Meta(pattern=HASH)],
        "time": Annotated[str, msgspec.Meta(pattern=TIME)],
        "date": Annotated[str, msgspec.Meta(pattern=DATE_OR_TIME)],
        "region": Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}\Z")],
        "strs": list[element],  # type: ignore[valid-type]
        "dims": Dimensions,
    }
    return kinds[spec.kind]


def _struct(etype: EventType) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for spec in etype.fields:
        kind = _field_type(spec)
        fields.append((spec.name, kind) if spec.required else (spec.name, kind | None, None))
    return msgspec.defstruct(etype.name.replace(".", "_"), fields, kw_only=True)


_DECODERS: dict[int, tuple[Vocabulary, dict[str, msgspec.json.Decoder[Any]]]] = {}
_LIMIT = 1 << 62  # no limit: longer than any line


def decoders(vocab: Vocabulary) -> dict[str, msgspec.json.Decoder[Any]]:
    """One decoder per event type of the vocabulary, built once (the entry keeps `vocab` alive)."""
    key = id(vocab)
    if key not in _DECODERS:
        _DECODERS[key] = (vocab, {name: msgspec.json.Decoder(_struct(et)) for name, et in vocab.types.items()})
    return _DECODERS[key][1]


def envelope_limits(vocab: Vocabulary) -> tuple[int, int]:
    """At most how many characters an event's `id` and `source` have (`lengths` in the vocabulary)."""
    return vocab.lengths.get("id", _LIMIT), vocab.lengths.get("source", _LIMIT)


def quick_check(raw: bytes | str, vocab: Vocabulary) -> Envelope | None:
    """The envelope of a line that is certainly valid in shape, else None (ask the slow validator)."""
    blank = _MAY_BE_BLANK_BYTES if isinstance(raw, bytes) else _MAY_BE_BLANK_TEXT
    if blank.search(raw):  # type: ignore[arg-type]
        return None
    controls = _may_hold_control(raw)
    if controls and (b"\\u0000" in raw if isinstance(raw, bytes) else "\\u0000" in raw):
        return None  # no string may hold a NUL: the slow path names the field
    try:
        env = ENVELOPE.decode(raw)
        decoder = decoders(vocab).get(env.type)
        if decoder is None or not (env.subject is env.datacontenttype is env.dataschema is env.data_base64
                                   is msgspec.UNSET):
            return None
        max_id, max_source = envelope_limits(vocab)
        if len(env.id) > max_id or len(env.source) > max_source:
            return None
        data = decoder.decode(env.data)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None  # too deep, or not UTF-8 in a string msgspec decodes: the slow path says so
    for name, other, values in _conditional(vocab.types[env.type]):
        if getattr(data, name) is None and str(getattr(data, other)) in values:
            return None
    if controls and _CONTROL.search("".join(_plain(env, data, vocab))):  # one where its class refuses it
        return None
    if _may_hold_pipe(raw) and any(SOURCE_RESERVED in one for one in _sources(env, data, vocab)):
        return None  # a source holding "|" (event_fields.source_character): the slow path names it
    return env


def _may_hold_pipe(raw: bytes | str) -> bool:
    """Whether the line may hold a "|", raw or escaped (\\u007c; any backslash counts: one scan in C)."""
    if isinstance(raw, bytes):
        return b"|" in raw or b"\\" in raw
    return "|" in raw or "\\" in raw


def _sources(env: Envelope, data: Any, vocab: Vocabulary) -> Iterator[str]:
    """The line's sources: the envelope's and each reference object's (a reference field is always one of
    `_plain_fields`: `no_controls` must name both `id` and `source`)."""
    yield env.source
    for name, items in _plain_fields(vocab.types[env.type]):
        value = getattr(data, name)
        if value is None:
            continue
        if items:
            value = [item.product_id for item in value]
        for one in value if isinstance(value, list) else (value,):
            if not isinstance(one, str):
                yield one.source


def _may_hold_control(raw: bytes | str) -> bool:
    """Whether the line may hold a control character, in any spelling (False: certainly none)."""
    if raw.isascii() and ("\\" not in raw and "\x7f" not in raw if isinstance(raw, str) else
                          b"\\" not in raw and b"\x7f" not in raw):
        return False  # an ASCII line without a backslash or DEL: no escape, no DEL, no C1, no U+2028/9
    if isinstance(raw, bytes):
        return _MAY_HAVE_CONTROL_BYTES.search(raw) is not None
    return _MAY_HAVE_CONTROL_TEXT.search(raw) is not None


def _plain(env: Envelope, data: Any, vocab: Vocabulary) -> Iterator[str]:
    """The line's strings whose class refuses control characters (`no_controls`): the envelope's `id` and
    `source`, and each such field's (each element of a list; a reference's id, or its object's `source` and
    `id`; each item's product_id)."""
    if "id" in vocab.no_controls:
        yield env.id
    if "source" in vocab.no_controls:
        yield env.source
    for name, items in _plain_fields(vocab.types[env.type]):
        value = getattr(data, name)
        if value is None:
            continue
        if items:
            value = [item.product_id for item in value]
        for one in value if isinstance(value, list) else (value,):
            if isinstance(one, str):
                yield one
            else:  # a reference object
                yield one.source
                yield one.id


_PLAIN: dict[int, tuple[EventType, tuple[tuple[str, bool], ...]]] = {}


def _plain_fields(etype: EventType) -> tuple[tuple[str, bool], ...]:
    """(field, is it `items`) of the fields that refuse control characters, per type, worked out once."""
    key = id(etype)
    if key not in _PLAIN:
        _PLAIN[key] = (etype, tuple((f.name, f.kind == "items") for f in etype.fields if f.plain))
    return _PLAIN[key][1]


_CONDITIONAL: dict[int, tuple[EventType, list[tuple[str, str, frozenset[str]]]]] = {}


def _conditional(etype: EventType) -> list[tuple[str, str, frozenset[str]]]:
    """(field, other field, values of the other that make the field required), per type, worked out once."""
    key = id(etype)
    if key not in _CONDITIONAL:
        rules = [(f.name, other, values) for f in etype.fields for other, values in f.required_when.items()]
        _CONDITIONAL[key] = (etype, rules)
    return _CONDITIONAL[key][1]
