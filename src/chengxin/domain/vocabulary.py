"""The events-v1 vocabulary as checked data: load `vocab/events-v1.yaml` into typed field specs.

The domain stays free of I/O: callers read the YAML text (see `adapters/resources.py`) and pass it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

FIELD_KINDS = frozenset(
    {"str", "ref", "money", "count", "int", "time", "date", "region", "enum", "strs", "items", "dims"}
)


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


@dataclass(frozen=True)
class EventType:
    """An event type and its fields, in the order the spec lists them."""

    name: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class Vocabulary:
    """Every known event type, with the vocabulary's version."""

    version: str
    types: Mapping[str, EventType]


def load_event_types(text: str, source: str = "<string>") -> Vocabulary:
    """Parse and check the YAML vocabulary; raise VocabularyError naming what is wrong."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("types"), dict):
        raise VocabularyError(source, "expected a mapping with `version` and `types`")
    types = {name: _event_type(source, name, spec) for name, spec in doc["types"].items()}
    return Vocabulary(version=str(doc.get("version", "")), types=types)


def _event_type(source: str, name: str, spec: Any) -> EventType:
    if not isinstance(spec, dict) or not isinstance(spec.get("fields"), dict) or not spec["fields"]:
        raise VocabularyError(source, f"{name}: needs a non-empty `fields` mapping")
    fields = tuple(_field(source, name, fname, fspec) for fname, fspec in spec["fields"].items())
    names = {f.name for f in fields}
    for f in fields:
        for other in f.required_when:
            if other not in names:
                raise VocabularyError(source, f"{name}.{f.name}: required_when names unknown field {other}")
    return EventType(name=name, fields=fields)


def _field(source: str, tname: str, name: str, spec: Any) -> FieldSpec:
    where = f"{tname}.{name}"
    if not isinstance(spec, dict) or spec.get("kind") not in FIELD_KINDS:
        raise VocabularyError(source, f"{where}: kind must be one of {sorted(FIELD_KINDS)}")
    unknown = set(spec) - {"kind", "required", "values", "min", "max", "required_when"}
    if unknown:
        raise VocabularyError(source, f"{where}: unknown keys {sorted(unknown)}")
    values = spec.get("values", [])
    if spec["kind"] == "enum" and not values:
        raise VocabularyError(source, f"{where}: enum needs `values`")
    when = {k: frozenset(str(x) for x in v) for k, v in (spec.get("required_when") or {}).items()}
    return FieldSpec(
        name=name,
        kind=spec["kind"],
        required=bool(spec.get("required", True)),
        values=frozenset(str(v) for v in values),
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        required_when=when,
    )
