"""The benchmark load generator (bench/gen_events.py): exact counts, every type, valid identifiers,
resolvable references, events-v1 shapes, determinism."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from stdnum import ean
from stdnum.cn import ric, uscc
from tests.eventcheck import (
    ALL_TYPES,
    COUNTS,
    DATE_FIELDS,
    ENUMS,
    MONEY,
    SHAPES,
    entity_kinds,
    is_date_or_time,
    is_time,
)

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gen_events.py"
_spec = importlib.util.spec_from_file_location("gen_events_under_test", BENCH)
assert _spec and _spec.loader
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

@pytest.fixture(scope="module")
def events() -> list[dict]:
    return list(gen.generate(5000, seed=1))


@pytest.fixture(scope="module")
def events_two_platforms() -> list[dict]:
    return list(gen.generate(5000, seed=3, platforms=2))


@pytest.mark.parametrize("n", [0, 1, 7, 999, 1000, 5000])
def test_exactly_n_events(n):
    assert sum(1 for _ in gen.generate(n, seed=2)) == n


def test_write_gives_exactly_n_lines(tmp_path):
    path = tmp_path / "ev.jsonl"
    assert gen.write(str(path), 1234, 5, 2) == 1234
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 1235
    assert all(orjson.loads(line)["specversion"] == "1.0" for line in lines[:-1])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_every_type_appears_from_1000_events(seed):
    assert {e["type"] for e in gen.generate(1000, seed=seed)} == ALL_TYPES
    assert {e["type"] for e in gen.generate(1000, seed=seed, platforms=3)} == ALL_TYPES


def test_envelope_shapes_and_enumerations(events):
    for e in events:
        assert set(e) == {"specversion", "id", "source", "type", "time", "data"}, e
        assert e["specversion"] == "1.0" and re.fullmatch(r"e-\d+", e["id"])
        assert re.fullmatch(r"urn:cx:(platform:P\d+|logistics:L1|hotline:12315|regulator:310000)", e["source"])
        required, optional = (set(s.split()) for s in SHAPES[e["type"]])
        assert required <= set(e["data"]) <= required | optional, e
        for (typ, field), allowed in ENUMS.items():
            if e["type"] == typ and field in e["data"]:
                assert e["data"][field] in allowed, e


def test_identity_is_unique(events, events_two_platforms):
    for evs in (events, events_two_platforms):
        keys = [(e["source"], e["id"]) for e in evs]
        assert len(set(keys)) == len(keys)


def test_times_have_offsets_and_move_forward(events):
    assert events[0]["time"] >= "2026-01-01T00:00:00+08:00"
    previous = datetime.fromisoformat("2026-01-01T00:00:00+08:00")
    for e in events:
        assert is_time(e["time"]), e
        now = datetime.fromisoformat(e["time"])
        assert now >= previous, e  # never backwards
        previous = now
        for field, value in e["data"].items():
            if field.endswith("_at"):
                assert is_time(value), e
            if field in DATE_FIELDS:
                assert is_date_or_time(value), e
    assert (previous - datetime.fromisoformat(events[0]["time"])).days > 30  # days pass, realistically


def test_money_and_counts_are_non_negative_integers(events):
    def walk(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k in MONEY | COUNTS:
                    assert type(v) is int and v >= 0, (k, v)
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    for e in events:
        walk(e["data"])
        if e["type"] == "cx.order.placed":
            d = e["data"]
            assert d["items"] and d["total"] == sum(i["quantity"] * i["unit_price"] for i in d["items"])
        if e["type"] == "cx.review.posted" and "dimensions" in e["data"]:
            assert set(e["data"]["dimensions"].values()) <= {1, 2, 3, 4, 5}


def test_identifiers_are_valid(events_two_platforms):
    seen: dict[str, set[str]] = {"uscc": set(), "id_number": set()}
    gtins = set()
    for e in events_two_platforms:
        d = e["data"]
        if e["type"] == "cx.subject.registered":
            assert re.fullmatch(r"\d{6}", d["region"])
            if d["kind"] in ("person", "courier"):
                assert "uscc" not in d and ric.is_valid(d["id_number"]), d
                assert d["id_number"] not in seen["id_number"]  # one person, one number
                seen["id_number"].add(d["id_number"])
                assert 1950 <= int(d["id_number"][6:10]) <= 2005
            else:
                assert "id_number" not in d and uscc.is_valid(d["uscc"]), d
            if e["source"].startswith("urn:cx:platform:") and "uscc" in d:
                assert (e["source"], d["uscc"]) not in seen["uscc"]  # distinct parties, distinct codes
                seen["uscc"].add((e["source"], d["uscc"]))
        if e["type"] == "cx.product.listed" and "gtin" in d:
            assert ean.is_valid(d["gtin"]) and d["gtin"] not in gtins
            gtins.add(d["gtin"])
        if e["type"] == "cx.licence.published" and d["licence_type"] == "business_licence":
            assert uscc.is_valid(d["number"])
    assert len(seen["id_number"]) > 100 and len(gtins) > 20


def test_every_reference_points_to_an_entity_seen_before(events, events_two_platforms):
    entity_kinds(events)
    entity_kinds(events_two_platforms)


def test_several_sources_linked_by_reference_and_legal_identifier(events_two_platforms):
    evs = events_two_platforms
    sources = Counter(e["source"] for e in evs)
    assert set(sources) == {"urn:cx:platform:P1", "urn:cx:platform:P2", "urn:cx:logistics:L1",
                            "urn:cx:hotline:12315", "urn:cx:regulator:310000"}
    l1_scans = [e for e in evs if e["source"] == "urn:cx:logistics:L1" and e["type"] == "cx.shipment.scanned"]
    assert l1_scans and all(isinstance(e["data"]["shipment_id"], dict) for e in l1_scans)
    hotline = [e for e in evs if e["source"] == "urn:cx:hotline:12315" and e["type"] == "cx.complaint.filed"]
    assert hotline and all(isinstance(e["data"]["target_id"], dict) for e in hotline)
    platform_usccs = {e["data"].get("uscc") for e in evs if e["type"] == "cx.subject.registered"
                      and e["source"].startswith("urn:cx:platform:")}
    regulator = [e for e in evs if e["source"] == "urn:cx:regulator:310000" and e["type"] == "cx.subject.registered"]
    assert regulator and all(e["data"]["uscc"] in platform_usccs for e in regulator)
    assert all(e["data"]["region"].startswith("31") for e in regulator)  # Shanghai's regulator
    couriers = [e for e in evs if e["type"] == "cx.subject.registered" and e["data"]["kind"] == "courier"]
    assert couriers and all(e["data"]["employer_id"] == "LG" for e in couriers)


def test_population_and_proportions(events):
    types = Counter(e["type"] for e in events)
    kinds = Counter(e["data"]["kind"] for e in events if e["type"] == "cx.subject.registered")
    assert types["cx.shop.opened"] == 5000 // 100 and kinds["person"] == 5000 // 20
    assert {"enterprise", "individual_business", "platform", "logistics", "courier"} <= set(kinds)
    placed = types["cx.order.placed"]
    assert 0.8 < types["cx.order.paid"] / placed <= 1
    assert 2 <= types["cx.shipment.scanned"] / types["cx.shipment.created"] <= 4
    reviews = Counter(e["data"]["direction"] for e in events if e["type"] == "cx.review.posted")
    assert 0.4 < reviews["buyer_to_seller"] / types["cx.order.completed"] < 0.85
    assert reviews["buyer_to_seller"] > reviews["seller_to_buyer"] > 0 and reviews["buyer_to_carrier"] > 0
    licences = [e["data"] for e in events if e["type"] == "cx.licence.published"]
    merchants = {e["data"]["operator_id"] for e in events if e["type"] == "cx.shop.opened"}
    assert merchants <= {d["subject_id"] for d in licences if d["licence_type"] == "business_licence"}
    assert all("valid_until" in d for d in licences if d["licence_type"] != "business_licence")


def test_food_shops_mostly_hold_food_licences():
    evs = list(gen.generate(40_000, seed=1))
    food_operators = {e["data"]["operator_id"] for e in evs
                      if e["type"] == "cx.shop.opened" and "food" in e["data"]["categories"]}
    licensed = {e["data"]["subject_id"] for e in evs
                if e["type"] == "cx.licence.published" and e["data"]["licence_type"] == "food_business"}
    assert len(food_operators) > 20
    assert 0.7 < len(food_operators & licensed) / len(food_operators) < 1  # most, not all


def test_deterministic_per_seed(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    gen.write(str(a), 3000, 11, 2)
    gen.write(str(b), 3000, 11, 2)
    gen.write(str(c), 3000, 12, 2)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_cli_writes_to_stdout_and_reports_speed():
    done = subprocess.run([sys.executable, str(BENCH), "--events", "50", "--seed", "4", "--out", "-"],
                          capture_output=True, check=True, timeout=60)
    lines = done.stdout.splitlines()
    assert len(lines) == 50 and all(orjson.loads(line)["id"] for line in lines)
    assert b"events/s" in done.stderr
