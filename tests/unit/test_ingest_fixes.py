"""Ingestion fixes found by review: each test fails without its fix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chengxin.adapters.db import tables as t
from chengxin.adapters.resources import event_vocabulary
from chengxin.domain.events import Event, parse_line
from chengxin.domain.projection import project
from chengxin.domain.vocabulary import EventType, FieldSpec

VOCAB = event_vocabulary()
SOURCE = "urn:cx:regulator:310000"  # may send every enum value (a sanction's kind included)

_EXAMPLES: dict[str, Any] = {
    "str": "x1", "text": "words", "hash": "h:9f3ca1", "ref": "R1", "money": 3990, "count": 2,
    "time": "2026-03-01T10:15:00+08:00", "date": "2026-03-01", "region": "310104",
    "strs": ["food"], "items": [{"product_id": "G7", "quantity": 1, "unit_price": 3990}],
    "dims": {"as_described": 4, "service": 5},
}
_SPECIAL = {"uscc": "91310104MA1FL8XQ36", "id_number": "110105198511224567", "gtin": "4006381333931"}


def example_value(f: FieldSpec) -> Any:
    """A valid value of one field."""
    if f.name in _SPECIAL:
        return _SPECIAL[f.name]
    if f.kind == "enum":
        return sorted(f.values)[0]
    if f.kind == "int":
        return f.minimum if f.minimum is not None else 1
    return _EXAMPLES[f.kind]


def example_data(etype: EventType, optional: bool) -> dict[str, Any]:
    """Valid `data` for the type: its required fields, and its optional ones too when `optional`."""
    return {f.name: example_value(f) for f in etype.fields if optional or f.required or f.required_when}


def example_line(name: str, data: dict[str, Any], event_id: str = "e-1") -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": SOURCE, "type": name,
            "time": "2026-03-02T09:00:00+08:00", "data": data}


# every column of every table (a projection reading `data.get(<column>)` is caught), and every field the
# vocabulary declares for any type (a projection reading another type's field is caught)
EXTRA_NAMES = sorted({c.name for table in t.metadata.tables.values() for c in table.columns}
                     | {f.name for et in VOCAB.types.values() for f in et.fields})
EXTRA_VALUES = [None, {"channel": "app"}, "39.90", 12345, ["a", 1]]


def _extras(etype: EventType, value: Any) -> dict[str, Any]:
    declared = {f.name for f in etype.fields}
    return {name: value for name in EXTRA_NAMES if name not in declared}


@pytest.mark.parametrize("optional", [False, True], ids=["required", "all"])
@pytest.mark.parametrize("value", EXTRA_VALUES, ids=["null", "dict", "string", "number", "list"])
@pytest.mark.parametrize("name", sorted(VOCAB.types))
def test_undeclared_fields_never_reach_a_column(name, value, optional):
    etype = VOCAB.types[name]
    data = example_data(etype, optional)
    plain = parse_line(json.dumps(example_line(name, data)), VOCAB)
    extra = parse_line(json.dumps(example_line(name, {**data, **_extras(etype, value)})), VOCAB)
    assert isinstance(plain, Event), plain
    assert isinstance(extra, Event), extra  # extra fields are allowed (extend, never break)
    assert project(extra) == project(plain)


def test_a_delivery_is_a_delivery_and_a_scan_is_not():
    delivered = VOCAB.types["cx.shipment.delivered"]
    scanned = VOCAB.types["cx.shipment.scanned"]
    for status in ("signed", None, "picked_up"):
        e = parse_line(json.dumps(example_line(
            delivered.name, {**example_data(delivered, True), "status": status})), VOCAB)
        assert isinstance(e, Event)
        (fact,) = project(e)
        assert fact.values["status"] == "delivered" and fact.values["signed_by"] == "locker"
    e = parse_line(json.dumps(example_line(
        scanned.name, {**example_data(scanned, True), "signed_by": "locker"})), VOCAB)
    assert isinstance(e, Event)
    (fact,) = project(e)
    assert fact.values["signed_by"] is None and fact.values["status"] != "delivered"
