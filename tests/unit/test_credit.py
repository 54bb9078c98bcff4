"""A credit record's log entry, built in halves off the storing thread, is the leaf the auditor recomputes."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from chengxin.domain.credit import CreditRecord, join_leaf, leaf_bytes, log_entry

text = st.text(max_size=12)
payloads = st.dictionaries(text, st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), text,
                                           st.lists(text, max_size=3)), max_size=6)
records = st.builds(CreditRecord, text, text, st.tuples(text, text), st.tuples(text, text), text, payloads)


@given(records, st.integers(0, 2**48), st.text(max_size=64))
def test_a_log_entry_joins_into_the_leaf_the_audit_recomputes(record, index, event_hash):
    before, after, stored = log_entry(record, event_hash)
    assert join_leaf(index, before, after) == leaf_bytes(index, record, event_hash)
    kind, subject_kind, subject_source, subject_id, event_source, event_id, stored_hash, at, payload = stored
    assert (kind, subject_kind, (subject_source, subject_id)) == (record.kind, record.subject_kind, record.subject)
    assert ((event_source, event_id), stored_hash, at) == (record.event, event_hash, record.at)
    assert orjson.loads(payload) == dict(record.payload)


def test_the_index_sits_between_event_and_kind():
    record = CreditRecord("rating", "shop", ("s", "1"), ("s", "e1"), "2026-01-01T00:00:00Z", {"score": 5})
    leaf = join_leaf(42, *log_entry(record, "h")[:2])
    assert leaf == (b'{"at":"2026-01-01T00:00:00Z","event":["s","e1","h"],"i":42,"kind":"rating",'
                    b'"payload":{"score":5},"subject":["shop","s","1"],"v":1}')
