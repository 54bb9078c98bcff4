"""The steps of docs/ingestion.md's "Adding an event type" that a test can hold: a type added to the vocabulary
but not to one of the other places fails here, under `make test`, rather than as a KeyError at ingest or a
column silently dropped on storing."""

from __future__ import annotations

import os
from datetime import date
from functools import cache

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.eventcheck import SHAPES

from chengxin.adapters import crypto
from chengxin.adapters.db import tables
from chengxin.adapters.resources import event_vocabulary
from chengxin.demo import loadgen
from chengxin.domain import credit
from chengxin.domain.events import Event, parse_line
from chengxin.domain.projection import PROJECTED_TYPES, Fact, project
from chengxin.services.identity import protect_subject

TYPES = set(event_vocabulary().types)


def test_every_vocabulary_type_has_a_projector():
    """Step 3: `project()` looks the type up in `_PROJECTORS`; a type without one would raise KeyError for
    every line of it (and a projector of a type not in the vocabulary never runs)."""
    assert not TYPES - PROJECTED_TYPES, "add a projector to domain/projection.py _PROJECTORS"
    assert not PROJECTED_TYPES - TYPES, "a projector for a type the vocabulary does not have"


def test_credit_builders_are_for_vocabulary_types():
    """Step 5: a credit-record builder keyed by a misspelt type would never run."""
    assert set(credit._BUILDERS) <= TYPES


def test_the_generators_shapes_are_the_vocabularys():
    """Step 6: tests/eventcheck.py SHAPES drives the simulator's and bench generator's checks; it must list
    every type with the vocabulary's required fields (and optional ones the vocabulary has)."""
    vocab = event_vocabulary().types
    assert set(SHAPES) == TYPES, "add the type to tests/eventcheck.py SHAPES"
    for name, (required, optional) in SHAPES.items():
        fields = {f.name: f.required for f in vocab[name].fields}
        assert set(required.split()) == {f for f, req in fields.items() if req}, name
        assert set(optional.split()) <= {f for f, req in fields.items() if not req}, name


KEYS = crypto.Keys(pii=os.urandom(32), index=os.urandom(32), signing=Ed25519PrivateKey.generate())


def _facts(event: Event) -> list[Fact]:
    """The event's facts as services/prepare.py stores them: a subject's ID numbers protected."""
    return [Fact(f.table, protect_subject(KEYS, dict(f.values), today=date(2026, 11, 28)), f.lww)
            if f.table == "subjects" else f for f in project(event)]


@cache
def _generated() -> tuple[Event, ...]:
    """A short stream of the demo's generator, parsed as ingestion parses it."""
    vocab, events = event_vocabulary(), []
    for raw in loadgen.generate(3000):
        event = parse_line(orjson.dumps(raw), vocab)
        assert isinstance(event, Event), (raw, event)
        events.append(event)
    return tuple(events)


def test_every_type_is_generated_and_projects_into_existing_columns():
    """Steps 4 and 7: the demo's generator writes every type (its short streams open with one story of each
    rare kind), and every projected fact names a table of `adapters/db/tables.py`, listed in `STATE_TABLES` (a
    state fact: `store.fact_rows` merges by its key) or `APPEND_TABLES`, and only its columns:
    `bulk.tuple_of` takes the table's columns from a fact and drops any other key without a word, so a
    projected column missing from the table (and its migration) would be lost, not refused."""
    for event in _generated():
        for fact in _facts(event):
            table = (tables.STATE_TABLES if fact.lww else tables.APPEND_TABLES).get(fact.table)
            assert table is not None, (event.type, fact.table, "not in tables.STATE_TABLES / APPEND_TABLES")
            assert set(fact.values) - set(table.c.keys()) == set(), (event.type, fact.table)
    assert {e.type for e in _generated()} == TYPES, "demo/loadgen.py writes no event of these types"


def test_every_credit_record_kind_of_an_event_reads_as_a_sentence():
    """Step 5: a record kind a new builder in `domain/credit.py` makes needs a label in both languages
    (`web/i18n.py` `record.KIND`) and a sentence (`web/present.py` `_DESCRIBERS`, with its `desc.KIND...`
    messages) on the portal, or its page shows the raw kind and JSON."""
    from chengxin.entrypoints.web import i18n, present

    kinds = {r.kind for e in _generated() for r in credit.records_for(e, _facts(e))}
    assert {"sanction", "inspection", "rating"} <= kinds
    for kind in kinds:
        assert kind in present._DESCRIBERS, kind
        for lang in i18n.LANGS:
            assert f"record.{kind}" in i18n.MESSAGES[lang], (kind, lang)
