"""Control characters in ids, sources, references, codes, names and urls (`no_controls` in vocab/events-v1.yaml):
refused on both validation paths, in every spelling a JSON line can hold one, naming the field and the code point,
never the value. Stored keys join a source and an id with U+001F (services/lifecycle.py, columnar.py): an id
holding one was accepted, so two entities made one key (source "a\\x1fb" + id "c" and source "a" + id "b\\x1fc").
Free text keeps its tabs and line breaks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chengxin.adapters.resources import event_vocabulary, vocab_text
from chengxin.domain import events, fastcheck
from chengxin.domain.events import Event, Rejected, parse_line
from chengxin.domain.fastcheck import quick_check
from chengxin.domain.vocabulary import CONTROLS, VocabularyError, load_event_types

ROOT = Path(__file__).resolve().parents[2]
VOCAB = event_vocabulary()
SAMPLE = [json.loads(x) for x in (ROOT / "spec" / "sample-v1.jsonl").read_text(encoding="utf-8").splitlines()
          if x.strip()]
P1 = "urn:cx:platform:P1"
# every control character: C0, DEL, C1, and the line and paragraph separators
EVERY = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]]
SOME = ["\x01", "\t", "\n", "\x1f", "\x7f", "\x85", "\x9f", "\u2028"]  # each kind, the separators in keys too


def sample(event_type: str, **match: Any) -> dict[str, Any]:
    """The first sample event of this type (whose data has these values)."""
    return next(e for e in SAMPLE if e["type"] == event_type and all(e["data"].get(k) == v for k, v in match.items()))


def line(base: dict[str, Any], path: str, value: Any, *, ascii_only: bool = False) -> str:
    """`base` with the value at `path` (`id`, `data.order_id`, `data.items[0].product_id.source`) replaced, as
    JSON: escaped (`\\u001f`: ascii_only) or raw where JSON allows it (DEL, C1, U+2028), as producers write it."""
    obj = json.loads(json.dumps(base))
    *parents, last = re.findall(r"[a-z_]+|\[\d+\]", path)
    here = obj
    for part in parents:
        here = here[int(part[1:-1])] if part.startswith("[") else here[part]
    if last.startswith("["):
        here[int(last[1:-1])] = value
    else:
        here[last] = value
    return json.dumps(obj, ensure_ascii=ascii_only)


PLACED = sample("cx.order.placed")
PLACED_OBJ = {**PLACED, "data": {**PLACED["data"], "buyer_id": {"source": P1, "id": "U1"},
                                  "items": [{"product_id": {"source": P1, "id": "G1"}, "quantity": 1,
                                             "unit_price": 9900}]}}
REGISTERED = {**sample("cx.subject.registered", kind="enterprise"),
              "data": {**sample("cx.subject.registered", kind="enterprise")["data"], "representatives": ["U1", "U2"]}}
HOTLINE = sample("cx.complaint.filed", channel="12315")  # target_id {"source": P1, "id": "S2"}

# (event, path of the string, its class): every kind of string field that refuses control characters
FIELDS = [
    (PLACED, "id", "id"), (PLACED, "source", "source"),
    (PLACED, "data.order_id", "id"),  # an entity id
    (PLACED, "data.shop_id", "id"),  # a bare reference
    (PLACED_OBJ, "data.buyer_id.source", "source"), (PLACED_OBJ, "data.buyer_id.id", "id"),  # a reference object
    (PLACED, "data.items[0].product_id", "id"),  # an item's product, bare
    (PLACED_OBJ, "data.items[0].product_id.source", "source"), (PLACED_OBJ, "data.items[0].product_id.id", "id"),
    (HOTLINE, "data.target_id.id", "id"), (HOTLINE, "data.target_id.source", "source"),
    (REGISTERED, "data.subject_id", "id"), (REGISTERED, "data.representatives[1]", "id"),
    (REGISTERED, "data.uscc", "code"), (sample("cx.subject.registered", kind="person"), "data.id_number", "code"),
    (sample("cx.shipment.created"), "data.tracking_no", "code"), (sample("cx.order.paid"), "data.method", "code"),
    (sample("cx.licence.published"), "data.number", "code"),
    (sample("cx.licence.published"), "data.licence_type", "code"),
    (sample("cx.commitment.published"), "data.template", "code"),
    (sample("cx.sanction.imposed"), "data.decision_no", "code"),
    (REGISTERED, "data.name", "name"), (sample("cx.shop.opened"), "data.name", "name"),
    (sample("cx.shop.opened"), "data.categories[0]", "name"), (sample("cx.product.listed"), "data.title", "name"),
    (sample("cx.licence.published"), "data.issuer", "name"), (sample("cx.sanction.imposed"), "data.authority", "name"),
    (sample("cx.shop.opened"), "data.url", "url"),
]
FIELD_IDS = [f"{base['type']}:{path}" for base, path, _ in FIELDS]
COMMITMENT = {**sample("cx.commitment.published"),
              "data": {**sample("cx.commitment.published")["data"], "clauses": ["Clause 1", "Clause 2"]}}
# (event, path, the reason for a NUL there): free text, which keeps every control character but NUL
TEXTS = [(sample("cx.review.posted"), "data.text", "data.text must not contain a NUL character"),
         (HOTLINE, "data.text", "data.text must not contain a NUL character"),
         (sample("cx.order.cancelled"), "data.reason", "data.reason must not contain a NUL character"),
         (sample("cx.shop.closed"), "data.reason", "data.reason must not contain a NUL character"),
         (sample("cx.sanction.imposed"), "data.legal_basis", "data.legal_basis must not contain a NUL character"),
         (COMMITMENT, "data.clauses[1]", "data.clauses must contain only non-empty strings without NUL characters")]


def refused(raw: str, reason: str) -> None:
    """Refused on both paths, text and bytes: the fast path never takes the line, the slow one says why."""
    for form in (raw, raw.encode()):  # text (tests, the API's few lines) and bytes (files, request bodies)
        assert quick_check(form, VOCAB) is None
        assert events._fast(form, VOCAB) is None
        assert events._slow(form, VOCAB) == Rejected(reason)
        assert parse_line(form, VOCAB) == Rejected(reason)


def accepted(raw: str) -> Event:
    """Accepted on both paths, as sent; by the fast one (not sent to the slow one) unless a string of the line
    starts with an escape (`"\\u4e2d...`, as JSON escaped to ASCII writes Chinese), which goes slowly as before."""
    fast_too = not fastcheck._MAY_BE_BLANK_TEXT.search(raw)
    for form in (raw, raw.encode()):
        slow = events._slow(form, VOCAB)
        assert isinstance(slow, Event), slow
        if fast_too:
            assert quick_check(form, VOCAB) is not None
            fast = events._fast(form, VOCAB)
            assert isinstance(fast, Event)
            assert (fast.data, fast.id, fast.source) == (slow.data, slow.id, slow.source)
    got = parse_line(raw, VOCAB)
    assert isinstance(got, Event)
    return got


def test_every_field_that_refuses_them_is_in_the_table():
    """FIELDS covers every class that refuses control characters and every kind of field holding one."""
    assert {cls for _, _, cls in FIELDS} == set(VOCAB.no_controls) == {"id", "source", "code", "name", "url"}
    kinds = {f.kind for et in VOCAB.types.values() for f in et.fields if f.plain}
    assert kinds == {"str", "strs", "ref", "items"}


@pytest.mark.parametrize(("base", "path", "cls"), FIELDS, ids=FIELD_IDS)
@pytest.mark.parametrize("char", SOME, ids=[f"U+{ord(c):04X}" for c in SOME])
@pytest.mark.parametrize("ascii_only", [False, True], ids=["raw", "escaped"])
def test_a_control_character_is_refused_naming_the_field_and_the_code_point(base, path, cls, char, ascii_only):
    secret = "13812345678"  # never echoed: a value may be personal data
    raw = line(base, path, f"{secret}{char}x", ascii_only=ascii_only)
    refused(raw, f"{path}: control character U+{ord(char):04X} at position 12")
    assert secret not in parse_line(raw, VOCAB).reason  # type: ignore[union-attr]


@pytest.mark.parametrize("char", EVERY, ids=[f"U+{ord(c):04X}" for c in EVERY])
def test_every_control_character_is_refused_in_an_id_in_every_spelling(char):
    """C0 (tab, line feed, U+001F the key separator too), DEL, C1, U+2028 and U+2029; raw where JSON allows
    it (DEL, C1, U+2028/9), escaped as \\u00XX in lower and upper case hex, and as a short escape (\\b \\f \\n
    \\r \\t: Python's json writes them so)."""
    reason = f"data.order_id: control character U+{ord(char):04X} at position 2"
    if char == "\x00":
        reason = "data.order_id must not contain a NUL character"  # as before: NUL has its own reason
    template = line(PLACED, "data.order_id", "O@1")
    spellings = {line(PLACED, "data.order_id", f"O{char}1"),
                 line(PLACED, "data.order_id", f"O{char}1", ascii_only=True),
                 template.replace("O@1", "O\\u" + f"{ord(char):04x}1"),
                 template.replace("O@1", "O\\u" + f"{ord(char):04X}1")}
    for raw in spellings:
        refused(raw, reason)


def test_two_entities_no_longer_make_one_key():
    """The defect: source "a\\x1fb" with id "c", and source "a" with id "b\\x1fc", joined with U+001F for a
    stored key, were the same key. Each is refused, in the envelope and in a reference object."""
    one = {**PLACED, "source": "urn:cx:platform:a\x1fb", "id": "c"}
    two = {**PLACED, "source": "urn:cx:platform:a", "id": "b\x1fc"}
    refused(json.dumps(one), "source: control character U+001F at position 18")
    refused(json.dumps(two), "id: control character U+001F at position 2")
    three = line(PLACED_OBJ, "data.buyer_id", {"source": "urn:cx:platform:a\x1fb", "id": "c"})
    four = line(PLACED_OBJ, "data.buyer_id", {"source": "urn:cx:platform:a", "id": "b\x1fc"})
    refused(three, "data.buyer_id.source: control character U+001F at position 18")
    refused(four, "data.buyer_id.id: control character U+001F at position 2")


def test_every_problem_is_listed():
    both = line(PLACED_OBJ, "data.buyer_id", {"source": "s\u2028", "id": "\x85i"})
    refused(both, "data.buyer_id.source: control character U+2028 at position 2; "
                  "data.buyer_id.id: control character U+0085 at position 1")
    refused(json.dumps({**PLACED, "id": "e\t1", "source": "s\n"}),
            "id: control character U+0009 at position 2; source: control character U+000A at position 2")
    shop = sample("cx.shop.opened")
    raw = json.dumps({**shop, "data": {**shop["data"], "name": "店\n名", "url": "https://x\t",
                                       "categories": ["food", "a\x1fb", "c\x1f"]}})
    refused(raw, "data.name: control character U+000A at position 2; data.url: control character U+0009 at "
                 "position 10; data.categories[1]: control character U+001F at position 2")


def test_blank_nul_and_length_come_as_before():
    """A string of U+001F alone is blank (str.isspace); a NUL keeps its reason; a long id with a control
    character is named for the character."""
    refused(line(PLACED, "data.order_id", "\x1f"), "data.order_id must be a non-empty string")
    refused(line(PLACED, "data.order_id", "O\x001"), "data.order_id must not contain a NUL character")
    refused(line(PLACED, "data.order_id", "O\x1f" + "x" * 500), "data.order_id: control character U+001F at position 2")


@pytest.mark.parametrize(("base", "path", "nul"), TEXTS, ids=[f"{b['type']}:{p}" for b, p, _ in TEXTS])
@pytest.mark.parametrize("ascii_only", [False, True], ids=["raw", "escaped"])
def test_free_text_keeps_tabs_line_breaks_and_the_rest(base, path, nul, ascii_only):
    """A review with lines is a review: free text (`text` class) refuses only NUL, on the fast path too."""
    text = "A款质量很好\n物流也快\r\n\t推荐\x1f\x85\u2028"  # not starting with an escape (`"\\u...`: slowly)
    got = accepted(line(base, path, text, ascii_only=ascii_only))
    assert text in got.data[path.split(".")[1].split("[")[0]]
    refused(line(base, path, "a\x00b"), nul)


@pytest.mark.parametrize("value", ["a\u00a0b", "Oé", "O中文", "a\u200bb", "O\ufeffa", "a\u202eb", "a\\nb", "a\\u001fb",
                                   "a\u00a9b", "a\u2014b", "O“a”", "a…", "O\U00020000"])
def test_other_characters_pass_on_the_fast_path(value):
    """No-break space, zero-width and bidi characters, a BOM, a backslash before `n` (no line feed) and
    characters whose UTF-8 begins like a C1 control's or U+2028's (©, —, “”, …) are not control characters."""
    for ascii_only in (False, True):
        got = accepted(line(PLACED, "data.order_id", value, ascii_only=ascii_only))
        assert got.data["order_id"] == value


def test_the_fast_scan_finds_every_control_character_in_every_spelling():
    """`_may_hold_control` never misses one (the fast path would then accept it), raw or escaped, text or bytes,
    and finds none in a line without one, for every other character of the Basic Multilingual Plane and a
    sample of the others (a backslash before a `b`, written `\\\\b`, looks like the escape \\b: checked slowly)."""
    pattern = re.compile(CONTROLS)
    chars = [*range(0xD800), *range(0xE000, 0x10000), *range(0x10000, 0x110000, 97)]
    for c in map(chr, chars):
        control = pattern.match(c) is not None
        assert control == (c in EVERY)
        for ascii_only in (False, True):
            text = json.dumps({"id": f"a{c}b"}, ensure_ascii=ascii_only)
            found = (fastcheck._may_hold_control(text), fastcheck._may_hold_control(text.encode()))
            assert found == (control or c == "\\", control or c == "\\"), repr(c)
            if control and ascii_only:
                upper = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), text)
                assert fastcheck._may_hold_control(upper) and fastcheck._may_hold_control(upper.encode())


def test_no_controls_is_checked_at_load():
    text = vocab_text("events-v1.yaml")
    current = re.search(r"\nno_controls: .*\n", text)
    assert current is not None
    for replacement, message in [
        ("\n", "needs `no_controls`"),
        ("\nno_controls: [id, code, name, url]\n", "no_controls: needs source"),
        ("\nno_controls: [source, code]\n", "no_controls: needs id"),
        ("\nno_controls: [id, source, link]\n", "no_controls must list classes of `lengths`"),
        ("\nno_controls: id\n", "no_controls must list classes of `lengths`"),
    ]:
        with pytest.raises(VocabularyError, match=re.escape(message)):
            load_event_types(text[:current.start()] + replacement + text[current.end():], "events-v1.yaml")
    fewer = load_event_types(text[:current.start()] + "\nno_controls: [id, source]\n" + text[current.end():])
    assert fewer.no_controls == {"id", "source"}
    name = next(f for f in fewer.types["cx.shop.opened"].fields if f.name == "name")
    assert not name.plain  # a class not listed keeps its control characters


def test_the_ingestion_docs_name_the_classes_and_the_characters():
    doc = (ROOT / "docs" / "ingestion.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Control characters"):].split("\n## ")[0]
    listed = re.search(r"refused in the strings of the classes ((?:`[a-z]+`(?:, | and )?)+)", section)
    assert listed is not None
    assert set(re.findall(r"`([a-z]+)`", listed.group(1))) == set(VOCAB.no_controls)
    for words in ("U+0000", "U+001F", "U+007F", "U+0080", "U+009F", "U+2028", "U+2029",
                  "data.order_id: control character U+001F at position 3"):
        assert words in section, words
