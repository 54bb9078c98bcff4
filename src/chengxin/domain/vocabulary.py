"""The events-v1 vocabulary as checked data: load `vocab/events-v1.yaml` into typed field specs.

The domain stays free of I/O: callers read the YAML text (see `adapters/resources.py`) and pass it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

FIELD_KINDS = frozenset(
    {"str", "text", "hash", "ref", "money", "count", "int", "time", "date", "region", "enum", "strs", "items", "dims"}
)
# Checks of a `str` field beyond its kind (`format: gtin`), done on both paths (`event_fields.FORMATS`, which
# `events.py` runs on the fast path too): a check digit is no pattern the fast path's msgspec types could hold.
FIELD_FORMATS = frozenset({"gtin"})
# Length limits (`lengths` in the vocabulary: a class name -> at most that many characters, i.e. Unicode code
# points, as JSON, Python and msgspec count them). Every `str`, `strs` (each element) and `text` field names its
# class (`length`); the envelope's `id` and `source` and every reference (a bare id, or the `id` and `source` of
# an object; an item's `product_id` too) take the `id` and `source` classes, which every vocabulary defines. An
# implementation limit (docs/ingestion.md): PostgreSQL refuses an index entry over 2,704 bytes, which failed the
# whole batch, so every string that reaches an index is bounded, checked on both validation paths.
ENVELOPE_LENGTHS = ("id", "source")
LENGTH_KINDS = frozenset({"str", "strs", "text"})
# A source is a URI (CloudEvents: a URI-reference, e.g. `urn:cx:platform:P1`), and RFC 3986 has no "|" (it is
# written %7C). Chengxin's stored keys join a source and what follows it with "|" (an event's order key, a
# party's local key `local:<source>|<id>`, the associated data of encrypted fields, a standing order's key),
# so they split unambiguously only while no source holds one; ids may. A rule of storage, not of vocabulary.
SOURCE_RESERVED = "|"
# Control characters (`no_controls` in the vocabulary: the length classes whose strings refuse them): C0
# (U+0000-U+001F), DEL (U+007F), C1 (U+0080-U+009F) and the line and paragraph separators U+2028 and U+2029.
# The stored keys are (source, id) pairs joined with U+001F (services/lifecycle.py, columnar.py), so an id or
# source holding one made two entities one key; every vocabulary refuses them in `id` and `source` (the
# envelope's and every reference's). NUL is refused in every string, free text included.
CONTROLS = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"  # a pattern: one control character


# A `hash` field carries a platform's opaque keyed hash (device, IP, address, payer account), never the raw
# value: 1 to 256 printable ASCII characters without spaces (letters, digits and :_-+/=.). This pattern is
# what the fast path checks (fastcheck.py): it lets through every value that cannot be raw and refuses, for
# the explaining validator to look at closely, every one that may be: 10 to 19 digits and no letter, however
# punctuated (a phone, landline, bank card or resident ID number: 138-1234-5678, 6222-0212-3456-7890), 17
# digits and an X, an IPv4 address (alone, with a port or prefix length, or mapped into IPv6: ::ffff:
# 192.0.2.1) or anything shaped like an IPv6 address. The explaining validator (`event_hashes.raw_shape`) refuses
# only those of a real raw shape (a mobile number, a card number passing Luhn, a resident ID with its check
# character, a real IP address, ...), so that a raw value sent by mistake is never stored, and a hash that
# happens to be all digits is kept. (The classes are disjoint: no backtracking blow-up.) Each shape may come
# after a label of letters and separators (`tel:`, `p:`, `card:`, `m`, `ip:`): labelled, a raw number was
# accepted and stored in the clear (found by review). The label is taken whole (possessive), as
# `event_hashes.raw_shape` takes it.
LABEL = r"[A-Za-z:_\-+/=.]*+"
HASH = (rf"^(?!{LABEL}[^A-Za-z0-9]*(?:[0-9][^A-Za-z0-9]*){{10,19}}\Z)"  # phone, landline, card, ID
        rf"(?!{LABEL}[^A-Za-z0-9]*(?:[0-9][^A-Za-z0-9]*){{17}}[Xx][^A-Za-z0-9]*\Z)"  # ID ending in X
        r"(?!(?=[^.]*\.).*?(?<![0-9A-Za-z])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:[:/][0-9]+)?\Z)"  # IPv4 (+port, prefix)
        r"(?!(?:[A-Za-z]*+[:_\-+/=.]++)?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:/[0-9]{1,3})?\Z)"  # IPv6
        r"[A-Za-z0-9:_\-+/=.]{1,256}\Z")


class VocabularyError(ValueError):
    """A vocabulary file is malformed; the message names the file and the place."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event type's `data`."""

    name: str
    kind: str
    required: bool = True
    values: frozenset[str] = frozenset()
    minimum: int | None = None
    maximum: int | None = None
    required_when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # A reference submitted with a source's own API key names that source's entity, unless the source is of
    # one of these kinds (`urn:cx:<kind>:...`): who may point it at another source's entity, and, with
    # `foreign_when`, only for these values of other fields
    foreign: frozenset[str] = frozenset()
    foreign_when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # and, per submitting kind, only to entities of sources of these kinds (a kind not in it: any)
    foreign_to: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # An enum value only sources of these kinds may send, whatever the channel (a sanction only an authority
    # imposes): value -> source kinds. Checked on every event, not only on an API key's
    only_from: Mapping[str, frozenset[str]] = field(default_factory=dict)
    format: str | None = None  # one of FIELD_FORMATS (a `str` field only): `gtin`, a GTIN with its check digit
    # The length class (`str`, `strs`, `text`; None for the other kinds) and what it allows, in characters: the
    # value's length (each element's for `strs`; the id's for a `ref`, and for each `items` entry's product_id);
    # `max_source` is a reference object's `source` (`ref`, `items`). None: no limit (a spec built in code)
    length: str | None = None
    max_length: int | None = None
    max_source: int | None = None
    # Control characters (CONTROLS) refused: the field's length class is one of `no_controls` (a `ref` and an
    # `items` entry's product_id: the `id` and `source` classes, which always are). False: only NUL is refused
    plain: bool = False


@dataclass(frozen=True)
class EventType:
    """An event type and its fields, in the order the spec lists them."""

    name: str
    fields: tuple[FieldSpec, ...]

    @cached_property
    def restricted(self) -> tuple[FieldSpec, ...]:
        """The fields with values only some kinds of source may send (`only_from`): none for most types."""
        return tuple(f for f in self.fields if f.only_from)

    @cached_property
    def times(self) -> tuple[str, ...]:
        """The names of its time fields (not dates): read for every line a bulk load takes."""
        return tuple(f.name for f in self.fields if f.kind == "time")


@dataclass(frozen=True)
class Vocabulary:
    """Every known event type, with the vocabulary's version."""

    version: str
    types: Mapping[str, EventType]
    lengths: Mapping[str, int] = field(default_factory=dict)  # length class -> at most that many characters
    no_controls: frozenset[str] = frozenset()  # the length classes whose strings refuse control characters


def load_event_types(text: str, source: str = "<string>") -> Vocabulary:
    """Parse and check the YAML vocabulary; raise VocabularyError naming what is wrong."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("types"), dict):
        raise VocabularyError(source, "expected a mapping with `version` and `types`")
    lengths = _lengths(source, doc.get("lengths"))
    plain = _no_controls(source, doc.get("no_controls"), lengths)
    types = {name: _event_type(source, name, spec, lengths, plain) for name, spec in doc["types"].items()}
    if not lengths:
        raise VocabularyError(source, f"needs `lengths`: a mapping of length classes to at most how many "
                                      f"characters, with {' and '.join(ENVELOPE_LENGTHS)}")
    if not plain:
        raise VocabularyError(source, f"needs `no_controls`: the length classes whose strings refuse control "
                                      f"characters, with {' and '.join(ENVELOPE_LENGTHS)}")
    return Vocabulary(version=str(doc.get("version", "")), types=types, lengths=lengths, no_controls=plain)


def _lengths(source: str, spec: Any) -> dict[str, int]:
    """The length classes ({} when the vocabulary has none: refused once its types are checked)."""
    if spec is None:
        return {}
    if not isinstance(spec, dict) or not all(isinstance(k, str) for k in spec):
        raise VocabularyError(source, "lengths must map length classes to at most how many characters")
    for name, limit in spec.items():
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise VocabularyError(source, f"lengths.{name}: must be a whole number of characters, at least 1")
    missing = [name for name in ENVELOPE_LENGTHS if name not in spec]
    if missing:
        raise VocabularyError(source, f"lengths: needs {', '.join(missing)} (the envelope's and every reference's)")
    return dict(spec)


def _no_controls(source: str, spec: Any, lengths: Mapping[str, int]) -> frozenset[str]:
    """The length classes that refuse control characters (empty when the vocabulary has no `no_controls`, or no
    `lengths`: refused once its types are checked)."""
    if spec is None or not lengths:
        return frozenset()
    if not isinstance(spec, list) or not all(isinstance(k, str) and k in lengths for k in spec):
        raise VocabularyError(source, f"no_controls must list classes of `lengths` ({', '.join(sorted(lengths))})")
    missing = [name for name in ENVELOPE_LENGTHS if name not in spec]
    if missing:
        raise VocabularyError(source, f"no_controls: needs {', '.join(missing)} (the envelope's and every "
                                      f"reference's: they are joined into stored keys)")
    return frozenset(spec)


def _event_type(source: str, name: str, spec: Any, lengths: Mapping[str, int],
                plain: frozenset[str] = frozenset()) -> EventType:
    if not isinstance(spec, dict) or not isinstance(spec.get("fields"), dict) or not spec["fields"]:
        raise VocabularyError(source, f"{name}: needs a non-empty `fields` mapping")
    fields = tuple(_field(source, name, fname, fspec, lengths, plain) for fname, fspec in spec["fields"].items())
    names = {f.name for f in fields}
    for f in fields:
        for other in [*f.required_when, *f.foreign_when]:
            if other not in names:
                raise VocabularyError(source, f"{name}.{f.name}: a `when` names unknown field {other}")
    return EventType(name=name, fields=fields)


def _field(source: str, tname: str, name: str, spec: Any, lengths: Mapping[str, int],
           plain: frozenset[str] = frozenset()) -> FieldSpec:
    where = f"{tname}.{name}"
    if not isinstance(spec, dict) or spec.get("kind") not in FIELD_KINDS:
        raise VocabularyError(source, f"{where}: kind must be one of {sorted(FIELD_KINDS)}")
    unknown = set(spec) - {"kind", "required", "values", "min", "max", "required_when", "foreign", "foreign_when",
                           "foreign_to", "only_from", "format", "length"}
    if unknown:
        raise VocabularyError(source, f"{where}: unknown keys {sorted(unknown)}")
    fmt = spec.get("format")
    if fmt is not None and (fmt not in FIELD_FORMATS or spec["kind"] != "str"):
        raise VocabularyError(source, f"{where}: format must be one of {sorted(FIELD_FORMATS)}, on a str field")
    values = spec.get("values", [])
    if spec["kind"] == "enum" and not values:
        raise VocabularyError(source, f"{where}: enum needs `values`")
    when = {k: frozenset(str(x) for x in v) for k, v in (spec.get("required_when") or {}).items()}
    foreign, to = spec.get("foreign", []), spec.get("foreign_to", [])
    if (foreign or to or spec.get("foreign_when")) and spec["kind"] != "ref":
        raise VocabularyError(source, f"{where}: only a ref may name who may point it at another source")
    if not isinstance(foreign, list) or not set(foreign) <= SOURCE_KINDS:
        raise VocabularyError(source, f"{where}: foreign must be a list of {sorted(SOURCE_KINDS)}")
    to_by_kind = _foreign_to(source, where, to, foreign)
    only = _only_from(source, where, spec.get("only_from") or {}, {str(v) for v in values})
    length, max_length, max_source = _field_length(source, where, spec, lengths)
    return FieldSpec(
        name=name,
        kind=spec["kind"],
        required=bool(spec.get("required", True)),
        values=frozenset(str(v) for v in values),
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        required_when=when,
        foreign=frozenset(foreign),
        foreign_when={k: frozenset(str(x) for x in v) for k, v in (spec.get("foreign_when") or {}).items()},
        foreign_to=to_by_kind,
        only_from=only,
        format=fmt,
        length=length,
        max_length=max_length,
        max_source=max_source,
        plain=(length in plain) if length is not None else (
            spec["kind"] in ("ref", "items") and all(k in plain for k in ENVELOPE_LENGTHS)),
    )


def _field_length(source: str, where: str, spec: dict[str, Any],
                  lengths: Mapping[str, int]) -> tuple[str | None, int | None, int | None]:
    """(length class, its limit, a reference object's source limit) of a field: a `str`, `strs` or `text` field
    names its class; a reference (and an item's product_id) takes the `id` and `source` classes."""
    kind, length = spec["kind"], spec.get("length")
    if not lengths:
        return None, None, None  # a vocabulary without `lengths` is refused once its types are checked
    if kind in ("ref", "items"):
        if length is not None:
            raise VocabularyError(source, f"{where}: a {kind} takes the `id` and `source` lengths, not `length`")
        return None, lengths.get("id"), lengths.get("source")
    if kind not in LENGTH_KINDS:
        if length is not None:
            raise VocabularyError(source, f"{where}: only a {', '.join(sorted(LENGTH_KINDS))} field has a `length`")
        return None, None, None
    if not isinstance(length, str) or length not in lengths:
        raise VocabularyError(source, f"{where}: a {kind} field needs `length`, one of the classes of `lengths` "
                                      f"({', '.join(sorted(lengths))})")
    return str(length), lengths[length], None


def _only_from(source: str, where: str, spec: Any, values: set[str]) -> dict[str, frozenset[str]]:
    if not isinstance(spec, dict) or not set(spec) <= values:
        raise VocabularyError(source, f"{where}: only_from must map values of the enum to source kinds")
    for kinds in spec.values():
        if not isinstance(kinds, list) or not kinds or not set(kinds) <= SOURCE_KINDS:
            raise VocabularyError(source, f"{where}: only_from lists must name {sorted(SOURCE_KINDS)}")
    return {str(value): frozenset(kinds) for value, kinds in spec.items()}


def _foreign_to(source: str, where: str, to: Any, foreign: list[str]) -> dict[str, frozenset[str]]:
    """`foreign_to` as a list (for every kind in `foreign`) or by submitting kind (`{platform: [logistics]}`:
    a platform may name a logistics firm's entity, the other kinds any)."""
    by_kind = {k: to for k in foreign} if isinstance(to, list) else to
    ok = isinstance(by_kind, dict) and set(by_kind) <= set(foreign) and all(
        isinstance(v, list) and (v or isinstance(to, list)) and set(v) <= SOURCE_KINDS for v in by_kind.values())
    if not ok or (isinstance(to, list) and to and not foreign):
        raise VocabularyError(source, f"{where}: foreign_to must be a list of {sorted(SOURCE_KINDS)}, or such lists "
                                      "by a kind of `foreign`")
    return {k: frozenset(v) for k, v in by_kind.items() if v}


def source_refusal(etype: EventType, source: str, data: Mapping[str, Any]) -> str | None:
    """Why a source may not send this event at all (None: it may): an enum value reserved to other kinds of
    source (`only_from`), e.g. a platform imposing a regulator's sanction."""
    for f in etype.restricted:
        kinds = f.only_from.get(str(data.get(f.name)))
        if kinds is not None and source_kind(source) not in kinds:
            return (f"data.{f.name}: {data.get(f.name)!r} may be sent only by {', '.join(sorted(kinds))} sources, "
                    f"not by {source!r}")
    return None


# events-v1's reporters: platforms, logistics firms, payment institutions, hotlines and regulators
SOURCE_KINDS = frozenset({"platform", "logistics", "payment", "hotline", "regulator"})


def source_kind(source: str) -> str | None:
    """`platform` of `urn:cx:platform:P1`; None for a source not of the form `urn:cx:<kind>:<name>`. `urn` and
    `cx` in any case (a URN's scheme and namespace are case-insensitive, RFC 8141: `URN:CX:regulator:310000`
    was refused a regulator's sanction; found by review)."""
    parts = source.split(":")
    namespace = len(parts) >= 4 and parts[0].lower() == "urn" and parts[1].lower() == "cx"
    return parts[2] if namespace and parts[2] in SOURCE_KINDS else None


def foreign_refusal(etype: EventType, data: Mapping[str, Any], own: str) -> str | None:
    """Why an event submitted with the API key of source `own` may not carry its references (None: it may):
    a reference to another source's entity is allowed only where the vocabulary's `foreign` names the
    submitter's kind, so that no key changes or reports on another source's shops, orders or sanctions."""
    for f in etype.fields:
        value = data.get(f.name)
        why = _items_refusal(f.name, value, own) if f.kind == "items" else \
            _ref_refusal(f, value, data, own) if f.kind == "ref" else None
        if why:
            return why
    return None


def _items_refusal(name: str, items: Any, own: str) -> str | None:
    """Each item's product is the order's shop's own: another source's is never named."""
    for i, item in enumerate(items if isinstance(items, list) else ()):
        ref = item.get("product_id") if isinstance(item, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("source") != own:
            return f"data.{name}[{i}].product_id: names {ref.get('source')!r}'s product; name your own"
    return None


def _ref_refusal(f: FieldSpec, ref: Any, data: Mapping[str, Any], own: str) -> str | None:
    if not isinstance(ref, Mapping) or ref.get("source") == own:
        return None  # a plain string names the submitter's own entity
    kind, target = source_kind(own), source_kind(str(ref.get("source")))
    to = f.foreign_to.get(kind or "")
    if kind in f.foreign and all(str(data.get(k)) in v for k, v in f.foreign_when.items()) \
            and (not to or target in to):
        return None
    allowed = f" (allowed for {', '.join(sorted(f.foreign))} sources" + "".join(
        f", {k} naming {', '.join(sorted(v))} sources'" for k, v in sorted(f.foreign_to.items())) + ")" \
        if f.foreign else ""
    return f"data.{f.name}: names {ref.get('source')!r}'s entity; a {kind or 'source'} key may only name its " \
           f"own source's here{allowed}"
