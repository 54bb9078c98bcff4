"""Length limits of events-v1 strings (`lengths` in vocab/events-v1.yaml): an over-long id, source, name or text
is rejected as its own line, naming the field and the limit, on both validation paths; at the limit it passes;
the limits are checked at load, documented, and keep every index entry within PostgreSQL's btree maximum."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chengxin.adapters.db import tables as t
from chengxin.adapters.resources import event_vocabulary, vocab_text
from chengxin.domain.events import Event, Rejected, parse_line
from chengxin.domain.fastcheck import quick_check
from chengxin.domain.vocabulary import VocabularyError, load_event_types

ROOT = Path(__file__).resolve().parents[2]
VOCAB = event_vocabulary()
L = VOCAB.lengths
P1 = "urn:cx:platform:P1"
WIDE = "\U00020000"  # a CJK Extension B character: one character, 4 bytes in UTF-8
HAN = "中"  # one character, 3 bytes in UTF-8

PLACED = {"specversion": "1.0", "id": "e-1", "source": P1, "type": "cx.order.placed",
          "time": "2026-03-01T10:15:00+08:00",
          "data": {"order_id": "O1", "shop_id": "S1", "buyer_id": "U1",
                   "items": [{"product_id": "G7", "quantity": 1, "unit_price": 3990}], "total": 3990,
                   "ship_to_region": "310104"}}
SHOP = {**PLACED, "type": "cx.shop.opened", "data": {"shop_id": "S1", "operator_id": "M1", "name": "示例食品旗舰店",
                                                     "url": "https://s1.shop.example", "categories": ["food"]}}
REVIEW = {**PLACED, "type": "cx.review.posted", "data": {"review_id": "R1", "order_id": "O1", "author_id": "U1",
                                                         "target_id": "S1", "direction": "buyer_to_seller", "score": 5}}
SHIPMENT = {**PLACED, "type": "cx.shipment.created", "data": {"shipment_id": "W1", "order_id": "O1",
                                                              "carrier_id": "L1", "tracking_no": "SF1234567890"}}
SUBJECT = {**PLACED, "type": "cx.subject.registered", "data": {
    "subject_id": "M1", "kind": "enterprise", "name": "上海示例食品有限公司", "uscc": "91310104MA1FL8XQ36",
    "region": "310104", "representatives": ["U1"]}}
SANCTION = {**PLACED, "source": "urn:cx:regulator:310000", "type": "cx.sanction.imposed", "data": {
    "sanction_id": "X1", "subject_id": {"source": P1, "id": "M1"}, "kind": "administrative_penalty",
    "authority": "上海市市场监督管理局", "decision_no": "沪市监处〔2026〕1号", "legal_basis": "《电子商务法》第十七条",
    "category": "false_advertising"}}


def line(base: dict[str, Any], path: str, value: Any) -> str:
    """`base` with the value at `path` (`id`, `data.order_id`, `data.items[0].product_id.source`) replaced."""
    obj = json.loads(json.dumps(base))
    *parents, last = re.findall(r"[a-z_]+|\[\d+\]", path)
    here = obj
    for part in parents:
        here = here[int(part[1:-1])] if part.startswith("[") else here[part]
    if last.startswith("["):
        here[int(last[1:-1])] = value
    else:
        here[last] = value
    return json.dumps(obj, ensure_ascii=False)


# (event, path of the string, its length class)
CASES = [
    (PLACED, "id", "id"), (PLACED, "source", "source"),
    (PLACED, "data.order_id", "id"), (PLACED, "data.shop_id", "id"),  # an entity id; a bare reference
    (PLACED, "data.items[0].product_id", "id"),
    (SANCTION, "data.subject_id.source", "source"), (SANCTION, "data.subject_id.id", "id"),  # a reference object
    (SHOP, "data.name", "name"), (SHOP, "data.url", "url"), (SHOP, "data.categories[0]", "name"),
    (SUBJECT, "data.uscc", "code"), (SUBJECT, "data.representatives[0]", "id"),
    (SHIPMENT, "data.tracking_no", "code"), (SANCTION, "data.authority", "name"),
    (SANCTION, "data.legal_basis", "text"), (REVIEW, "data.text", "text"),
]
IDS = [f"{base['type']}:{path}" for base, path, _ in CASES]


def items_ref(part: str, value: str) -> str:
    """An order whose item names its product by a reference object, with this `source` or `id`."""
    return line(PLACED, "data.items[0].product_id", {"source": P1, "id": "G7", part: value})


@pytest.mark.parametrize(("base", "path", "kind"), CASES, ids=IDS)
@pytest.mark.parametrize("char", ["x", HAN, WIDE], ids=["ascii", "han", "wide"])
def test_one_over_the_limit_is_rejected_naming_the_field_and_the_limit(base, path, kind, char):
    limit = L[kind]
    raw = line(base, path, char * (limit + 1))
    for form in (raw, raw.encode()):  # text (tests, the API's few lines) and bytes (files, request bodies)
        assert quick_check(form, VOCAB) is None  # the fast path never takes it
        got = parse_line(form, VOCAB)
        assert got == Rejected(f"{path}: {limit + 1} characters, at most {limit}")


@pytest.mark.parametrize(("base", "path", "kind"), CASES, ids=IDS)
@pytest.mark.parametrize("char", ["x", HAN, WIDE], ids=["ascii", "han", "wide"])
def test_at_the_limit_passes_on_the_fast_path(base, path, kind, char):
    """Characters, not bytes: 128 Chinese characters (384 bytes) are an id of 128."""
    raw = line(base, path, char * L[kind])
    for form in (raw, raw.encode()):
        assert quick_check(form, VOCAB) is not None
        assert isinstance(parse_line(form, VOCAB), Event)


@pytest.mark.parametrize("part", ["source", "id"])
def test_an_items_reference_object_is_held_to_the_limits_too(part):
    limit = L[part]
    assert isinstance(parse_line(items_ref(part, WIDE * limit), VOCAB), Event)
    raw = items_ref(part, WIDE * (limit + 1))
    assert quick_check(raw, VOCAB) is None
    assert parse_line(raw, VOCAB) == Rejected(
        f"data.items[0].product_id.{part}: {limit + 1} characters, at most {limit}")


def test_every_problem_of_the_envelope_is_listed_and_the_value_never_echoed():
    secret = "13812345678" + "x" * L["id"]
    got = parse_line(json.dumps({**PLACED, "id": secret, "source": "s" * 1000, "time": "soon"}), VOCAB)
    assert isinstance(got, Rejected)
    assert got.reason == (f"id: {len(secret)} characters, at most {L['id']}; source: 1000 characters, at most "
                          f"{L['source']}; time not RFC 3339 with offset")
    assert "13812345678" not in got.reason


def test_every_over_long_problem_of_data_is_listed():
    data = {**SHOP["data"], "name": "n" * 600, "url": "u" * 600, "categories": ["food", "c" * 513, "d" * 600]}
    got = parse_line(json.dumps({**SHOP, "data": data}), VOCAB)
    assert got == Rejected(f"data.name: 600 characters, at most {L['name']}; data.url: 600 characters, at most "
                           f"{L['url']}; data.categories[1]: 513 characters, at most {L['name']} (and 1 more over it)")


def test_a_nul_or_a_blank_is_named_before_the_length():
    assert parse_line(line(PLACED, "data.order_id", " " * 200), VOCAB) == Rejected(
        "data.order_id must be a non-empty string")
    assert parse_line(line(PLACED, "data.order_id", "x\u0000" * 100), VOCAB) == Rejected(
        "data.order_id must not contain a NUL character")


def test_free_text_may_still_be_empty():
    raw = line(REVIEW, "data.text", "")
    assert quick_check(raw, VOCAB) is not None and isinstance(parse_line(raw, VOCAB), Event)


def test_every_string_field_has_a_limit():
    """A string the vocabulary declares without a limit could reach an index unbounded."""
    for etype in VOCAB.types.values():
        for f in etype.fields:
            if f.kind in ("str", "strs", "text", "ref", "items"):
                assert f.max_length is not None, f"{etype.name}.{f.name}"
            if f.kind in ("ref", "items"):
                assert (f.max_length, f.max_source) == (L["id"], L["source"]), f"{etype.name}.{f.name}"


# --- checked at load ------------------------------------------------------------------------------------

TEXT = vocab_text("events-v1.yaml")


def edited(old: str, new: str) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1)


@pytest.mark.parametrize(("text", "message"), [
    (re.sub(r"\nlengths:\n(  .*\n)+", "\n", TEXT), "needs `lengths`"),
    (edited("  source: 128", "  origin: 128"), "lengths: needs source"),
    (edited("  url: 512", "  url: 0"), "lengths.url: must be a whole number of characters, at least 1"),
    (edited("  url: 512", "  url: many"), "lengths.url: must be a whole number"),
    (edited("  url: 512", "  url: true"), "lengths.url: must be a whole number"),
    (edited("lengths:\n", "lengths: [id, source]\nx:\n"), "lengths must map length classes"),
    (edited("url: {kind: str, length: url}", "url: {kind: str}"), "cx.shop.opened.url: a str field needs `length`"),
    (edited("url: {kind: str, length: url}", "url: {kind: str, length: link}"),
     "cx.shop.opened.url: a str field needs `length`, one of the classes of `lengths` "
     "\\(code, id, name, source, text, url\\)"),
    (edited("text: {kind: text, length: text, required: false}", "text: {kind: text, required: false}"),
     "cx.review.posted.text: a text field needs `length`"),
    (edited("shop_id: {kind: ref}", "shop_id: {kind: ref, length: id}"), "a ref takes the `id` and `source`"),
    (edited("total: {kind: money}", "total: {kind: money, length: id}"), "only a str, strs, text field has"),
])
def test_the_limits_are_checked_at_load(text, message):
    with pytest.raises(VocabularyError, match=message):
        load_event_types(text, "events-v1.yaml")


# --- documented -----------------------------------------------------------------------------------------

def test_the_ingestion_docs_give_every_limit():
    """docs/ingestion.md tables each length class with its limit and the fields it covers, as the vocabulary."""
    doc = (ROOT / "docs" / "ingestion.md").read_text(encoding="utf-8")
    table = doc[doc.index("| class | at most | strings |"):].split("\n\n")[0].splitlines()[2:]
    documented = {}
    for row in table:
        name, limit, strings = (c.strip() for c in row.strip("|").split("|"))
        documented[name.strip("`")] = (int(limit.replace(",", "").split()[0]), set(re.findall(r"`([a-z_]+)`", strings)))
    assert {k: v[0] for k, v in documented.items()} == dict(L)
    for etype in VOCAB.types.values():
        for f in etype.fields:
            if f.length is not None:
                assert f.name in documented[f.length][1], f"{etype.name}.{f.name} ({f.length})"


# --- within PostgreSQL's btree maximum ------------------------------------------------------------------

BTREE_MAX = 2704  # bytes: PostgreSQL's largest btree index entry ("exceeds btree version 4 maximum 2704")
SHORT = 64  # bytes: a value the project makes itself (a kind, a status, a time, a sha256 in hex, a uuid)
# Indexed string columns holding only values the project makes (short and ASCII)
OWN = {("api_keys", "key_id"), ("api_keys", "secret_hash"), ("api_keys", "previous_hash"),
       ("credit_scores", "computed_at"),
       ("detector_state", "detector"), ("dishonesty_records", "state"), ("dsr_days", "day"),
       ("findings", "kind"), ("findings", "run_id"), ("findings", "detector"), ("findings", "created_at"),
       ("ingest_batches", "batch_id"), ("ingest_problems", "batch_id"), ("job_runs", "job"),
       ("list_memberships", "ended_at"), ("list_memberships", "list"), ("measure_changes", "at"),
       ("measure_changes", "published_at"), ("order_graph_chunks", "col"), ("order_graph_names", "role"),
       ("order_graph_state", "name"), ("rating_ledger", "at"), ("record_applications", "status"),
       ("review_items", "status"), ("review_items", "suspicion"), ("review_items", "item_key"),
       ("review_subjects", "role"), ("scoring_queue", "kind"), ("scoring_failures", "kind"), ("subjects", "id_hmac"),
       ("trade_parts", "item_kind"), ("trade_state", "name")}


def widest_bytes(table: str, column: str) -> int:
    """The most bytes a value of this indexed string column takes in UTF-8 at the vocabulary's limits."""
    wide = 4  # bytes a character may take in UTF-8
    source, ident = L["source"] * wide, L["id"] * wide
    party = len("local:|") + source + ident  # services/identity.py: local:<source>|<id> (or uscc:, ric:<hmac>)
    by_name = {"source": source, "ident": max(ident, 256),  # order graph: an entity's id, or a keyed hash
               "party_key": party, "record_key": SHORT + max(party, source + ident)}  # services/lifecycle.py
    by_table = {("shops", "name"): L["name"] * wide, ("shops", "url"): L["url"] * wide,
                ("subjects", "uscc"): L["code"] * wide, ("shipments", "tracking_no"): L["code"] * wide,
                ("category_dsr", "category"): L["name"] * wide}  # a shop's first category, as its event gave it
    if (table, column) in OWN:
        return SHORT
    if (table, column) in by_table:
        return by_table[table, column]
    if column in by_name:
        return by_name[column]
    if column.endswith("_source"):
        return source
    if column.endswith("_id"):
        return ident
    raise AssertionError(f"{table}.{column} is indexed: say what it holds (OWN, or a length class) in this test")


def test_every_index_entry_fits_postgresqls_btree_at_the_limits():
    """An index entry over 2,704 bytes failed the whole batch on PostgreSQL. At the limits, in the widest UTF-8
    (4 bytes a character), with each column's header and alignment, every index of the schema fits."""
    from sqlalchemy import String

    widest: dict[str, int] = {}
    for table in t.metadata.sorted_tables:
        keys = [table.primary_key, *table.indexes,
                *(c for c in table.constraints if c.__class__.__name__ == "UniqueConstraint")]
        for key in keys:
            cols = list(key.columns)
            if not any(isinstance(c.type, String) for c in cols):
                continue
            size = 8 + sum(8 + (widest_bytes(table.name, c.name) if isinstance(c.type, String) else 8)
                           for c in cols)  # tuple header; per column a 4-byte length and up to 3 of alignment
            widest[f"{table.name}({', '.join(c.name for c in cols)})"] = size
    assert widest and max(widest.values()) <= BTREE_MAX, {k: v for k, v in widest.items() if v > BTREE_MAX}
    assert widest["scoring_queue(kind, a_source, a_id, b_source, b_id)"] <= BTREE_MAX
