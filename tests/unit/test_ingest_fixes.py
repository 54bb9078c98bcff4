"""Ingestion fixes found by review: each test fails without its fix."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chengxin.adapters.db import tables as t
from chengxin.adapters.resources import event_vocabulary
from chengxin.domain.event_hashes import hash_errors
from chengxin.domain.events import Event, parse_line
from chengxin.domain.fastcheck import quick_check
from chengxin.domain.projection import project
from chengxin.domain.vocabulary import HASH, EventType, FieldSpec

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


# --- 2. keyed hashes: only a real raw shape is refused, and the reason names it ---

PAID = {"specversion": "1.0", "id": "e-1", "source": "urn:cx:platform:P1", "type": "cx.order.paid",
        "time": "2026-02-10T20:16:00+08:00", "data": {"order_id": "O9", "amount": 100, "method": "card"}}


def _payer(value: object) -> str:
    return json.dumps({**PAID, "data": {**PAID["data"], "payer_account": value}})


@pytest.mark.parametrize("hashed", [
    "84120937", "9f:3c:a1",  # the review's lines: a truncated hex digest without a letter, a colon-separated one
    "0123456789", "3141592653589793", "18446744073709551615", "9f:3c:a1:07", "a1::b2:c3:d4:e5:f6:07:18:29",
    "1234567", "12-34-56-78-90", "11111111111", "00000000000000001", "123456789012345678", "999.1.1.1",
])
def test_a_keyed_hash_without_a_letter_is_accepted(hashed):
    parsed = parse_line(_payer(hashed), VOCAB)
    assert isinstance(parsed, Event), parsed
    assert parsed.data["payer_account"] == hashed


@pytest.mark.parametrize(("raw", "shape"), [
    ("13812345678", "a mobile phone number"), ("+8613812345678", "a mobile phone number"),
    ("86-138-1234-5678", "a mobile phone number"), ("138.1234.5678", "a mobile phone number"),
    ("021-62345678", "a landline phone number"), ("0755-1234567", "a landline phone number"),
    ("4111111111111111", "a bank card number"), ("6222-0212-3456-7894", "a bank card number"),
    ("6212261202011584340", "a bank card number"),
    ("110105198511224567", "a resident ID number"), ("31010419900307123X", "a resident ID number"),
    ("310104-19900307-123x", "a resident ID number"), ("110105491231002", "a resident ID number"),
    ("192.168.1.1", "an IPv4 address"), ("10.0.0.1:8080", "an IPv4 address"), ("192.168.1.0/24", "an IPv4 address"),
    ("::ffff:192.168.1.20", "an IPv4 address"), ("2001:db8::1", "an IPv6 address"), ("fe80::1", "an IPv6 address"),
    ("2001:db8::/32", "an IPv6 address"), ("1:2:3:4:5:6:7:8", "an IPv6 address"),
])
def test_a_raw_value_is_refused_naming_its_shape(raw, shape):
    parsed = parse_line(_payer(raw), VOCAB)
    assert not isinstance(parsed, Event)
    assert f"data.payer_account must be the platform's opaque keyed hash, never the raw value: it looks like {shape}" \
        in parsed.reason
    assert quick_check(_payer(raw), VOCAB) is None


@pytest.mark.parametrize(("value", "why"), [
    ("a b", "found ' '"), ("", "it is empty"), ("x" * 257, "it has 257 characters"), ("张三", "found '张'"),
    (12345, "a string, not int"),
])
def test_a_value_that_is_no_hash_says_what_is_wrong(value, why):
    parsed = parse_line(_payer(value), VOCAB)
    assert not isinstance(parsed, Event) and why in parsed.reason


_HASHY = st.text(alphabet="0123456789-.:/+=_Xx", max_size=24) | st.text(alphabet="0123456789abcdefABCDEF:/.",
                                                                          max_size=40)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(_HASHY, st.from_regex(r"\A(\+?86-?)?1[3-9][0-9]{9}\Z"), st.from_regex(
    r"\A[0-9]{1,3}(\.[0-9]{1,3}){3}([:/][0-9]{1,5})?\Z"), st.from_regex(r"\A[0-9]{13,19}\Z")))
def test_the_fast_path_never_accepts_a_hash_the_explaining_validator_refuses(value):
    slow = hash_errors("data.x", value, VOCAB.types["cx.order.paid"].fields[0])
    if slow:
        assert not re.match(HASH, value), (value, slow)


# --- 6. a date field sent as a full time is the day that instant falls on in China ---

SANCTION = {"specversion": "1.0", "id": "x-1", "source": "urn:cx:regulator:310000", "type": "cx.sanction.imposed",
            "time": "2026-03-01T10:00:00+08:00",
            "data": {"sanction_id": "X1", "subject_id": "M1", "kind": "administrative_penalty", "authority": "市监局",
                     "decision_no": "沪市监罚〔2026〕1号", "legal_basis": "电子商务法", "category": "price_fraud"}}


def _disclosed_until(value: str) -> object:
    parsed = parse_line(json.dumps({**SANCTION, "data": {**SANCTION["data"], "disclose_until": value}}), VOCAB)
    assert isinstance(parsed, Event), parsed
    (fact,) = project(parsed)
    return fact.values["disclose_until"]


@pytest.mark.parametrize(("sent", "day"), [
    ("2026-06-30T16:00:00Z", "2026-07-01"), ("2026-07-01T00:00:00+08:00", "2026-07-01"),
    ("2026-06-30T12:00:00-04:00", "2026-07-01"), ("2026-06-30T15:59:59.999999Z", "2026-06-30"),
    ("2026-06-30", "2026-06-30"), ("2026-07-01T23:59:59+08:00", "2026-07-01"),
])
def test_a_date_sent_as_a_time_is_its_day_in_china(sent, day):
    assert _disclosed_until(sent) == day


def test_the_same_instant_is_the_same_day_in_every_date_field():
    licence = VOCAB.types["cx.licence.published"]
    traffic = VOCAB.types["cx.traffic.reported"]
    for etype, names in ((licence, ("valid_from", "valid_until")), (traffic, ("date",))):
        days = set()
        for sent in ("2026-06-30T16:00:00Z", "2026-07-01T00:00:00+08:00", "2026-06-30T09:00:00-07:00"):
            data = {**example_data(etype, True), **dict.fromkeys(names, sent)}
            parsed = parse_line(json.dumps(example_line(etype.name, data)), VOCAB)
            assert isinstance(parsed, Event), parsed
            (fact, *_) = project(parsed)
            days |= {fact.values.get(n) or fact.values.get("day") for n in names}
        assert days == {"2026-07-01"}, etype.name


def test_a_time_whose_day_in_china_is_after_9999_is_refused_on_both_paths():
    raw = json.dumps({**SANCTION, "data": {**SANCTION["data"], "disclose_until": "9999-12-31T20:00:00Z"}})
    parsed = parse_line(raw, VOCAB)
    assert not isinstance(parsed, Event) and "data.disclose_until falls after 9999-12-31" in parsed.reason


# --- 7. a product's GTIN: 8, 12, 13 or 14 digits with a right check digit ---

def _listed(gtin: object) -> str:
    data = {**example_data(VOCAB.types["cx.product.listed"], True), "gtin": gtin}
    return json.dumps(example_line("cx.product.listed", data))


@pytest.mark.parametrize("gtin", ["96385074", "036000291452", "4006381333931", "10012345000017", "6901234567892"])
def test_a_valid_gtin_is_accepted_on_both_paths(gtin):
    assert quick_check(_listed(gtin), VOCAB) is not None
    parsed = parse_line(_listed(gtin), VOCAB)
    assert isinstance(parsed, Event) and parsed.data["gtin"] == gtin


@pytest.mark.parametrize(("gtin", "why"), [
    ("not-a-gtin", "data.gtin must be a GTIN-8, -12, -13 or -14: digits only (found 'not-a-gtin')"),
    ("4006381333932", "data.gtin has a wrong check digit: a GTIN ending 2 after these digits ends 1"),
    ("400638133393", "data.gtin has a wrong check digit"),
    ("4006381333", "data.gtin must be a GTIN-8, -12, -13 or -14: 8, 12, 13 or 14 digits (found 10)"),
    ("4006381 333931", "digits only"), ("４００６３８１３３３９３１", "digits only"),
])
def test_an_invalid_gtin_is_refused_naming_the_field(gtin, why):
    parsed = parse_line(_listed(gtin), VOCAB)
    assert not isinstance(parsed, Event) and why in parsed.reason, parsed


def test_a_format_is_checked_when_the_vocabulary_loads():
    from chengxin.domain.vocabulary import VocabularyError, load_event_types

    with pytest.raises(VocabularyError, match="format must be one of"):
        load_event_types("types: {x.y: {fields: {a: {kind: count, format: gtin}}}}")
    with pytest.raises(VocabularyError, match="format must be one of"):
        load_event_types("types: {x.y: {fields: {a: {kind: str, format: isbn}}}}")


# --- 8. RFC 3339 forms Python's datetime does not take: a leap second, a fraction of more than 9 digits ---

@pytest.mark.parametrize(("sent", "at"), [
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999Z"),
    ("2017-01-01T07:59:60+08:00", "2016-12-31T23:59:59.999999Z"),  # the same leap second, in China
    ("2016-12-31T23:59:60.25Z", "2016-12-31T23:59:59.999999Z"),
    ("2026-02-10T20:16:00.1234567891+08:00", "2026-02-10T12:16:00.123456Z"),
    ("2026-02-10T20:16:00.12345678901234567890Z", "2026-02-10T20:16:00.123456Z"),
])
def test_a_leap_second_and_a_long_fraction_are_accepted(sent, at):
    line = {**PAID, "time": sent}
    parsed = parse_line(json.dumps(line), VOCAB)
    assert isinstance(parsed, Event), parsed
    assert parsed.at == at
    reg = VOCAB.types["cx.subject.registered"]
    data = {**example_data(reg, True), "verified_at": sent}
    parsed = parse_line(json.dumps(example_line(reg.name, data)), VOCAB)
    assert isinstance(parsed, Event), parsed
    assert project(parsed)[0].values["verified_at"] == at
    assert _disclosed_until(sent) == (datetime.fromisoformat(at[:-1]) + timedelta(hours=8)).date().isoformat()


def test_a_leap_second_sorts_after_the_second_before_it():
    late = parse_line(json.dumps({**PAID, "time": "2016-12-31T23:59:60Z"}), VOCAB)
    early = parse_line(json.dumps({**PAID, "time": "2016-12-31T23:59:59.999998Z"}), VOCAB)
    after = parse_line(json.dumps({**PAID, "time": "2017-01-01T00:00:00Z"}), VOCAB)
    assert isinstance(late, Event) and isinstance(early, Event) and isinstance(after, Event)
    assert early.ord < late.ord < after.ord


@pytest.mark.parametrize("sent", ["2016-12-31T22:59:60Z", "2016-12-31T23:58:60+08:00", "2016-12-31T23:59:61Z"])
def test_a_second_60_that_ends_no_utc_day_is_refused(sent):
    parsed = parse_line(json.dumps({**PAID, "time": sent}), VOCAB)
    assert not isinstance(parsed, Event) and "time is not a real date and time" in parsed.reason
