"""End-to-end behaviour of the `/v1` API over HTTP: ingestion, credit files, the verifiable credit log, errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from tests.conftest import SAMPLE, SAMPLE_BAD

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.domain import merkle
from chengxin.entrypoints.api.app import create_app
from chengxin.services import credit_file, keys, parties
from chengxin.services.viewer import ANONYMOUS
from chengxin.settings import Settings

P1, L1 = "urn:cx:platform:P1", "urn:cx:logistics:L1"
REG_SOURCE = "urn:cx:regulator:310000"
HOTLINE = "urn:cx:hotline:12315"
U1_ID = "31010419900307123X"
SAMPLE_LINES = SAMPLE.read_bytes().splitlines()
S1_EVENTS = {"s-002", "s-009", "s-010", "s-016", "s-025", "s-028"}


@dataclass
class Api:
    """An API client with one key per role; `as_(who)` gives the headers."""

    cx: Chengxin
    client: TestClient
    secrets: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[who]}"} if who != "anonymous" else {}

    def post_events(self, who: str, lines: list[bytes]) -> Any:
        if who == "senders":
            return self.post_by_source(lines)
        response = self.client.post("/v1/events", content=b"\n".join(lines) + b"\n", headers={
            **self.as_(who), "Content-Type": "application/x-ndjson"})
        assert response.status_code == 200, response.text
        return response.json()

    def post_by_source(self, lines: list[bytes]) -> Any:
        """Lines of several sources, each sent with its own source's key (no key sends for every source: a
        regulator's only for regulator sources), the others blanked so each line keeps its number; one report
        as if one request had carried them all. A line of another source goes with the first."""
        def source(line: bytes) -> str | None:
            try:
                return str(json.loads(line)["source"])
            except (ValueError, KeyError, TypeError):
                return None
        who = {P1: "p1", L1: "l1", HOTLINE: "hotline", REG_SOURCE: "regulator"}
        known = [source(line) for line in lines]
        first = next((s for s in known if s in who), P1)
        sources = [s if s in who else first for s in known]
        total: dict[str, Any] = {"accepted": 0, "duplicates": 0, "conflicts": 0, "rejected": 0, "rejects": [],
                                 "conflict_details": [], "tree_size": None}
        for sender in dict.fromkeys(sources):
            mine = [line if s == sender else b"" for line, s in zip(lines, sources, strict=True)]
            report = self.post_events(who[sender], mine)
            for name in ("accepted", "duplicates", "conflicts", "rejected", "rejects", "conflict_details"):
                total[name] += report[name]
            total["tree_size"] = max(filter(None, (total["tree_size"], report["tree_size"])), default=None)
        total["rejects"].sort(key=lambda r: r["line"])
        return total

    def get(self, url: str, who: str = "anonymous", status: int = 200) -> Any:
        response = self.client.get(url, headers=self.as_(who))
        assert response.status_code == status, response.text
        return response.json()


def make_api(cx: Chengxin, client: TestClient) -> Api:
    secrets = {
        "p1": keys.create_key(cx, "platform", "e2e p1", P1)[1],
        "p2": keys.create_key(cx, "platform", "e2e p2", "urn:cx:platform:P2")[1],
        "l1": keys.create_key(cx, "platform", "e2e logistics", L1)[1],
        "hotline": keys.create_key(cx, "platform", "e2e hotline", HOTLINE)[1],
        "regulator": keys.create_key(cx, "regulator", "e2e regulator")[1],
    }
    return Api(cx, client, secrets)


@pytest.fixture
def api(app: Chengxin) -> Iterator[Api]:
    """An empty node."""
    with TestClient(create_app(app)) as client:
        yield make_api(app, client)


@pytest.fixture
def sample_api(sample_app: Chengxin) -> Iterator[Api]:
    """A node holding the sample: 23 credit records stated by its events and 2 consequences (the sanction
    X1's repair, M1's red-list entry)."""
    with TestClient(create_app(sample_app)) as client:
        yield make_api(sample_app, client)


@pytest.fixture
def small_api(settings: Settings) -> Iterator[Api]:
    """An empty node with the smallest request-body limit (1 KiB)."""
    cx = bootstrap(settings.model_copy(update={"api_max_bytes": 1024}))
    try:
        with TestClient(create_app(cx)) as client:
            yield make_api(cx, client)
    finally:
        cx.engine.dispose()


def v1_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /v1, from the app (as in test_api_matrix.py)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.137 flattened included routers into app.routes
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    found = set()
    for route in contexts:
        path = getattr(route, "path", None)
        if path and (path == "/v1" or path.startswith("/v1/")):
            found |= {(m, path) for m in (getattr(route, "methods", None) or {"*"}) - {"HEAD", "OPTIONS"}}
    return found


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def verify_head(head: dict[str, Any]) -> None:
    """The Ed25519 signature over `note`, and `note` states exactly the head's origin, size, root and time."""
    Ed25519PublicKey.from_public_bytes(b64(head["public_key"])).verify(b64(head["signature"]), head["note"].encode())
    assert head["note"] == f"{head['origin']}\n{head['size']}\n{head['root']}\n{head['signed_at']}\n"


# --- ingestion over HTTP --------------------------------------------------------------------------------

def test_sample_in_two_requests_out_of_order_then_resent(api: Api) -> None:
    first, second = SAMPLE_LINES[:24], SAMPLE_LINES[24:]
    late = api.post_events("senders", second)  # the later half arrives first
    early = api.post_events("senders", first)
    assert (late["accepted"], late["rejected"], early["accepted"], early["rejected"]) == (24, 0, 24, 0)
    assert early["tree_size"] == 23

    shop = api.get(f"/v1/parties/S1?source={P1}", "p1")
    assert {r["event"]["id"] for r in shop["credit_records"]} == S1_EVENTS
    assert shop["operator"]["name"] == "上海示例食品有限公司" and len(shop["licences"]) == 2
    assert shop["ratings"] == {"count": 1, "average": 5.0, "positive_rate": 1.0}  # R4 follows R1: not a 2nd rating
    assert api.get(f"/v1/parties/S2?source={P1}")["closed"]["reason"] == "operator request"

    for half in (second, first):
        again = api.post_events("senders", half)
        assert (again["accepted"], again["duplicates"], again["conflicts"], again["rejected"]) == (0, 24, 0, 0)
        assert again["tree_size"] is None
    assert api.get("/v1/log/head")["size"] == 23


def test_each_reporter_posts_its_own_lines(api: Api) -> None:
    """A platform key keeps its own source's lines and rejects the rest by line number, naming `source`."""
    report = api.post_events("p1", SAMPLE_LINES)
    foreign = [n for n, line in enumerate(SAMPLE_LINES, 1) if json.loads(line)["source"] != P1]
    assert report["accepted"] == 48 - len(foreign) == 37
    assert [r["line"] for r in report["rejects"]] == foreign
    assert all("source" in r["reason"] and r["file"] == "request" for r in report["rejects"])

    logistics = api.post_events("l1", SAMPLE_LINES)
    assert logistics["accepted"] == 6 and logistics["duplicates"] == 0 and logistics["rejected"] == 42
    # a regulator key sends its authorities' lines only: it forged a platform's, posing as it (found by review)
    regulator = api.post_events("regulator", SAMPLE_LINES)
    authority = [n for n, line in enumerate(SAMPLE_LINES, 1) if json.loads(line)["source"] == REG_SOURCE]
    assert (regulator["accepted"], regulator["duplicates"], regulator["rejected"]) == (4, 0, 44) == (
        len(authority), 0, 48 - len(authority))
    assert [r["line"] for r in regulator["rejects"]] == [n for n in range(1, 49) if n not in authority]
    assert all(r["reason"].startswith("source ") and "regulator" in r["reason"] for r in regulator["rejects"])
    rest = api.post_events("hotline", SAMPLE_LINES)
    assert (rest["accepted"], rest["duplicates"]) == (1, 0)
    assert api.get("/v1/health") == {"status": "ok", "tree_size": 23, "scoring_parked": 0}


def test_a_platform_key_cannot_lift_close_or_sanction_what_another_source_reported(sample_api: Api) -> None:
    """Found by review: a platform named the regulator's sanction, another platform's shop or subject as an
    object reference and changed them. Each such line is refused by line number, naming the field; the
    lines around it land; the regulator's sanction stays in force."""
    def line(event_id: str, type_: str, data: dict[str, Any]) -> bytes:
        return json.dumps({"specversion": "1.0", "id": event_id, "source": P1, "type": type_,
                           "time": "2026-11-03T09:00:00+08:00", "data": data}, ensure_ascii=False).encode()

    assert sample_api.post_events("regulator", sanction_events(DAY)[:1])["accepted"] == 1  # X-TODAY on P1's M1
    sample_api.post_events("p2", [json.dumps({
        "specversion": "1.0", "id": "p2-shop", "source": "urn:cx:platform:P2", "type": "cx.shop.opened",
        "time": "2026-11-01T09:00:00+08:00", "data": {"shop_id": "S9", "operator_id": "M9", "name": "别家店",
                                                      "url": "https://p2.example/s9", "categories": ["daily_goods"]}},
        ensure_ascii=False).encode()])
    report = sample_api.post_events("p1", [
        line("evil-lift", "cx.sanction.lifted", {"sanction_id": {"source": REG_SOURCE, "id": "X-TODAY"},
                                                 "reason": "revoked"}),
        line("own-close", "cx.shop.closed", {"shop_id": "S2", "reason": "moved"}),
        line("evil-close", "cx.shop.closed", {"shop_id": {"source": "urn:cx:platform:P2", "id": "S9"},
                                              "reason": "closed by P1"}),
        line("evil-impose", "cx.sanction.imposed", {
            "sanction_id": "XP", "subject_id": {"source": "urn:cx:platform:P2", "id": "M9"},
            "kind": "platform_measure", "authority": "P1", "decision_no": "XP", "legal_basis": "x",
            "category": "fake_order"}),
        line("own-penalty", "cx.sanction.imposed", {  # an authority's kind of sanction, even on its own merchant
            "sanction_id": "XQ", "subject_id": "M1", "kind": "serious_dishonesty", "authority": "某市监局",
            "decision_no": "XQ", "legal_basis": "x", "category": "fake_order"})])
    assert report["accepted"] == 1
    assert [(r["line"], r["reason"].split(":")[0]) for r in report["rejects"]] == [
        (1, "data.sanction_id"), (3, "data.shop_id"), (4, "data.subject_id"), (5, "data.kind")]
    assert sanctions_in(sample_api.get(f"/v1/parties/M1?source={P1}")) == {"X-TODAY": None}
    assert sample_api.get("/v1/parties/S9?source=urn:cx:platform:P2")["closed"] is None
    assert sample_api.get(f"/v1/parties/S2?source={P1}")["closed"]["reason"] == "moved"


def test_bad_lines_are_reported_with_line_numbers(api: Api) -> None:
    expected = json.loads((SAMPLE_BAD.parent / "sample-v1-bad.expected.json").read_text())
    report = api.post_events("senders", SAMPLE_BAD.read_bytes().split(b"\n"))
    assert [r["line"] for r in report["rejects"]] == [r["line"] for r in expected["rejects"]]
    assert report["accepted"] == expected["valid"] and report["rejected"] == len(expected["rejects"])
    reasons = {r["line"]: r["reason"] for r in report["rejects"]}
    assert "data.amount" in reasons[4] and "data.weight_g" in reasons[21]
    with read_connection(api.cx.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.events)).scalar_one() == expected["valid"]



def test_a_carriage_return_inside_a_line_is_whitespace_as_in_a_file(api: Api) -> None:
    """JSON allows a CR as whitespace inside a line; only LF ends a line, as `chengxin ingest` reads a file
    (the API split at a lone CR too, rejecting both halves and shifting every later line number: found by
    review). A CR before the LF is dropped as usual."""
    first = SAMPLE_LINES[0].replace(b'", "', b'",\r "', 1)
    assert b"\r" in first and json.loads(first) == json.loads(SAMPLE_LINES[0])
    body = first + b"\r\n" + SAMPLE_LINES[1] + b"\n{broken\n"
    report = api.client.post("/v1/events", content=body, headers=api.as_("p1")).json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert [r["line"] for r in report["rejects"]] == [3]

def test_body_over_the_byte_limit_is_413_and_nothing_lands(small_api: Api) -> None:
    response = small_api.client.post("/v1/events", content=b"\n".join(SAMPLE_LINES[:10]),
                                     headers=small_api.as_("p1"))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert small_api.get("/v1/health")["tree_size"] == 0
    assert small_api.post_events("p1", SAMPLE_LINES[:1])["accepted"] == 1  # under the limit


# --- the verifiable credit log ------------------------------------------------------------------------------

def test_log_head_is_signed_over_its_note(sample_api: Api) -> None:
    head = sample_api.get("/v1/log/head")
    assert head["algorithm"] == "Ed25519" and head["size"] == 25
    verify_head(head)
    public_key = Ed25519PublicKey.from_public_bytes(b64(head["public_key"]))
    forged = head["note"].replace("\n25\n", "\n26\n")
    with pytest.raises(InvalidSignature):
        public_key.verify(b64(head["signature"]), forged.encode())


def test_empty_log_head(api: Api) -> None:
    head = api.get("/v1/log/head")
    assert head["size"] == 0 and head["algorithm"] == "Ed25519"
    assert len(b64(head["public_key"])) == 32


def test_every_record_is_proven_against_the_signed_head(sample_api: Api) -> None:
    head = sample_api.get("/v1/log/head")
    verify_head(head)
    root = b64(head["root"])
    for index in range(head["size"]):
        body = sample_api.get(f"/v1/log/records/{index}", "regulator")
        proof = body["proof"]
        assert body["record"]["index"] == proof["index"] == index and proof["tree_size"] == 25
        assert body["tree_head"]["root"] == head["root"] and body["tree_head"]["signature"] == head["signature"]
        path = [b64(p) for p in proof["proof"]]
        leaf = merkle.leaf_hash(b64(body["record"]["leaf_bytes"]))  # the record's own leaf, not a served hash
        assert leaf == b64(proof["leaf_hash"]) and body["checks"]["inclusion"] is True
        merkle.verify_inclusion(leaf, index, 25, path, root)
        if path:  # a proof for another leaf, or a bent path, does not verify
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(leaf, index, 25, [path[0][::-1], *path[1:]], root)
    sample_api.get("/v1/log/records/25", "regulator", status=404)  # beyond the log
    sample_api.get("/v1/log/records/0?size=5", "regulator", status=404)  # no signed head of that size


def test_consistency_between_two_signed_heads(api: Api) -> None:
    api.post_events("senders", SAMPLE_LINES[:24])
    old = api.get("/v1/log/head")
    api.post_events("senders", SAMPLE_LINES[24:])
    new = api.get("/v1/log/head")
    verify_head(old)
    verify_head(new)
    assert 0 < old["size"] < new["size"] == 23

    body = api.get(f"/v1/log/consistency?first={old['size']}&second={new['size']}")
    assert (body["first"], body["second"]) == (old["size"], new["size"])
    assert (body["first_root"], body["second_root"]) == (old["root"], new["root"])
    proof = [b64(p) for p in body["proof"]]
    merkle.verify_consistency(old["size"], new["size"], b64(old["root"]), b64(new["root"]), proof)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(old["size"], new["size"], b64(new["root"]), b64(new["root"]), proof)

    earlier = api.get(f"/v1/log/records/0?size={old['size']}", "regulator")  # inclusion in the older head
    assert earlier["tree_head"]["root"] == old["root"]
    merkle.verify_inclusion(b64(earlier["proof"]["leaf_hash"]), 0, old["size"],
                            [b64(p) for p in earlier["proof"]["proof"]], b64(old["root"]))

    assert api.get(f"/v1/log/consistency?first={new['size']}&second={old['size']}", status=422)["error"] == \
        "invalid_input"
    assert api.get(f"/v1/log/consistency?first=1&second={new['size']}", status=404)["error"] == "not_found"


# --- parties ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("uscc", ["92330106MA2B7C4D1W", "92330106ma2b7c4d1w"])
def test_find_by_uscc_returns_every_report_of_the_linked_party(sample_api: Api, uscc: str) -> None:
    parties = sample_api.get(f"/v1/parties?uscc={uscc}")["parties"]
    assert [(p["source"], p["id"]) for p in parties] == [(P1, "M2"), (REG_SOURCE, "E-M2")]
    for party in parties:
        assert party["uscc"] == "92330106MA2B7C4D1W" and party["party_key"] == "uscc:92330106MA2B7C4D1W"
        assert party["reports"] == [{"source": P1, "id": "M2"}, {"source": REG_SOURCE, "id": "E-M2"}]
        assert [s["id"] for s in party["shops"]] == ["S2"]
        # the sanction was lifted as repaired (s-047), so it left the public view (and its lifting with it)
        assert not {"sanction", "sanction_lifted"} & {r["kind"] for r in party["credit_records"]}
    for party in sample_api.get(f"/v1/parties?uscc={uscc}", "regulator")["parties"]:
        (sanction,) = [r for r in party["credit_records"] if r["kind"] == "sanction"]
        assert sanction["lifted"] == {"at": "2026-09-10T01:00:00.000000Z", "reason": "repaired"}
    assert sample_api.get("/v1/parties?uscc=91110000100000000X", status=404)["error"] == "not_found"


def test_light_search_summaries_carry_only_what_a_result_shows(sample_api: Api) -> None:
    """The portal's USCC search: name, kind, mark, USCC and the (source, id) of the link, no credit file."""
    found = parties.search_parties(sample_api.cx, "92330106ma2b7c4d1w", ANONYMOUS)
    mark = {"valid": True, "reason": None, "reason_zh": None}
    assert found == [
        {"source": P1, "id": "M2", "name": "杭州西湖区示例日用品店", "kind": "individual_business",
         "uscc": "92330106MA2B7C4D1W", "verified": True, "identity": {**mark, "verified": True}},
        {"source": REG_SOURCE, "id": "E-M2", "name": "杭州西湖区示例日用品店", "kind": "individual_business",
         "uscc": "92330106MA2B7C4D1W", "verified": False, "identity": {**mark, "verified": False}}]
    assert parties.search_parties(sample_api.cx, "91110000100000000X", ANONYMOUS) == []


FULL_WIDTH_U1_ID = "".join(chr(ord(c) + 0xFEE0) for c in U1_ID)  # ３１０１…Ｘ, as typed with a Chinese IME


@pytest.mark.parametrize("number", [U1_ID, U1_ID.lower(), FULL_WIDTH_U1_ID])
def test_lookup_by_id_number(sample_api: Api, number: str) -> None:
    found = sample_api.client.post("/v1/parties/lookup", json={"id_number": number, "purpose": "case 1"},
                                   headers=sample_api.as_("regulator"))
    assert found.status_code == 200
    (party,) = found.json()["parties"]
    assert (party["source"], party["id"], party["name"]) == (P1, "U1", "张三")
    assert party["id_number"] == "3101**********123X" and U1_ID not in found.text
    other = sample_api.client.post("/v1/parties/lookup", json={"id_number": number, "purpose": "case 1"},
                                   headers=sample_api.as_("p2"))
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    anonymous = sample_api.client.post("/v1/parties/lookup", json={"id_number": number, "purpose": "case 1"})
    assert anonymous.status_code == 401


def test_reveal_is_journaled_once_per_call(sample_api: Api) -> None:
    url = f"/v1/parties/U1/reveal?source={P1}"
    for purpose in ("case 1", "case 2"):
        response = sample_api.client.post(url, json={"purpose": purpose}, headers=sample_api.as_("regulator"))
        assert response.json() == {"id_number": U1_ID}
    with read_connection(sample_api.cx.engine) as conn:
        journal = [row.object for row in conn.execute(select(t.access_journal).order_by(t.access_journal.c.id))]
    assert journal == ["\x1f".join((P1, "U1", "case 1")), "\x1f".join((P1, "U1", "case 2"))]  # parties.JOURNAL_SEP
    # and the regulators can read it back, newest first, a page at a time (it was written, never readable)
    page = sample_api.get("/v1/access-journal?limit=1", "regulator")
    assert [(e["party"], e["purpose"], e["action"]) for e in page["entries"]] == [
        ({"source": P1, "id": "U1"}, "case 2", "reveal_id_number")]
    rest = sample_api.get(f"/v1/access-journal?before={page['next_before']}", "regulator")
    assert [e["purpose"] for e in rest["entries"]] == ["case 1"] and rest["next_before"] is None


def test_unknown_party_is_404(sample_api: Api) -> None:
    for entity, source in (("NOPE", P1), ("S1", "urn:cx:platform:P2")):  # S1 exists, but not at P2
        body = sample_api.get(f"/v1/parties/{entity}?source={source}", "regulator", status=404)
        assert body["error"] == "not_found" and entity in body["detail"]


# --- paging, sanctions leaving the public view, the server's own checks -----------------------------------

@pytest.mark.parametrize("who", ["anonymous", "regulator"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_paging_through_a_credit_file_with_the_cursor(sample_api: Api, who: str, limit: int) -> None:
    """Following `credit_records_next_before` gives every record once, newest first, as one big page does."""
    url = f"/v1/parties/S2?source={P1}"
    whole = sample_api.get(url, who)
    assert whole["credit_records_next_before"] is None
    seen: list[int] = []
    before = None
    while True:
        page = sample_api.get(url + f"&limit={limit}" + (f"&before={before}" if before is not None else ""), who)
        assert page["credit_records_total"] == whole["credit_records_total"]
        assert len(page["credit_records"]) <= limit
        seen += [r["index"] for r in page["credit_records"]]
        before = page["credit_records_next_before"]
        if before is None:
            break
        assert before == seen[-1]
    assert seen == [r["index"] for r in whole["credit_records"]]
    assert len(seen) == whole["credit_records_total"] > limit


def test_a_cursor_below_every_record_gives_an_empty_last_page(sample_api: Api) -> None:
    page = sample_api.get(f"/v1/parties/S2?source={P1}&before=0")
    assert (page["credit_records"], page["credit_records_next_before"]) == ([], None)
    assert page["credit_records_total"] == 5
    sample_api.get(f"/v1/parties/S2?source={P1}&before=-1", status=422)


DAY = date(2027, 1, 10)  # "today" in the sanction tests (the service's clock is replaced)


def sanction_events(today: date) -> list[bytes]:
    """Sanctions on P1's enterprise M1 reported by the regulator, each probing one disclosure rule."""
    m1 = {"source": P1, "id": "M1"}

    def line(event_id: str, type_: str, data: dict[str, Any], time: str = "2026-11-01T09:00:00+08:00") -> bytes:
        return json.dumps({"specversion": "1.0", "id": event_id, "source": REG_SOURCE, "type": type_,
                           "time": time, "data": data}, ensure_ascii=False).encode()

    def sanction(sanction_id: str, until: date) -> bytes:
        return line(f"imposed-{sanction_id}", "cx.sanction.imposed", {
            "sanction_id": sanction_id, "subject_id": m1, "kind": "administrative_penalty", "authority": "某市监局",
            "decision_no": sanction_id, "legal_basis": "价格法", "category": "price_fraud",
            "disclose_until": until.isoformat()})

    def lifted(sanction_id: str, reason: str) -> bytes:
        return line(f"lifted-{sanction_id}", "cx.sanction.lifted", {"sanction_id": sanction_id, "reason": reason},
                    time="2026-11-02T09:00:00+08:00")

    later = today + timedelta(days=365)
    return [sanction("X-TODAY", today), sanction("X-YESTERDAY", today - timedelta(days=1)),
            sanction("X-REVOKED", later), lifted("X-REVOKED", "revoked"),
            sanction("X-REPAIRED", later), lifted("X-REPAIRED", "repaired"),
            sanction("X-EXPIRED", later), lifted("X-EXPIRED", "expired")]


def sanctions_in(view: dict[str, Any]) -> dict[str, Any]:
    """decision_no -> `lifted` of every sanction record in a view."""
    return {r["payload"]["decision_no"]: r["lifted"] for r in view["credit_records"] if r["kind"] == "sanction"}


def liftings_in(view: dict[str, Any]) -> set[str]:
    return {r["subject"]["id"] for r in view["credit_records"] if r["kind"] == "sanction_lifted"}


def test_sanctions_leave_the_public_view_when_disclosure_ends(sample_api: Api,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credit_file, "today", lambda: DAY)
    assert sample_api.post_events("regulator", sanction_events(DAY))["accepted"] == 8
    lifted_expired = {"at": "2026-11-02T01:00:00.000000Z", "reason": "expired"}

    public = sample_api.get(f"/v1/parties/M1?source={P1}")
    # disclose_until == today: still shown; yesterday: hidden; repaired or revoked: withdrawn at once
    assert sanctions_in(public) == {"X-TODAY": None, "X-EXPIRED": lifted_expired}
    assert liftings_in(public) == {"X-EXPIRED"}  # the lifting of a withdrawn sanction goes with it
    assert public["credit_records_total"] == len(public["credit_records"])

    for who in ("regulator", "p1"):  # the regulator, and the platform that reported M1, still see all
        full = sample_api.get(f"/v1/parties/M1?source={P1}", who)
        assert sanctions_in(full) == {
            "X-TODAY": None, "X-YESTERDAY": None, "X-EXPIRED": lifted_expired,
            "X-REVOKED": {"at": "2026-11-02T01:00:00.000000Z", "reason": "revoked"},
            "X-REPAIRED": {"at": "2026-11-02T01:00:00.000000Z", "reason": "repaired"}}, who
        assert liftings_in(full) == {"X-REVOKED", "X-REPAIRED", "X-EXPIRED"}
    assert sanctions_in(sample_api.get(f"/v1/parties/M1?source={P1}", "p2")) == sanctions_in(public)


def test_the_log_hides_a_sanction_from_the_public_from_the_day_after_its_period(
        sample_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credit_file, "today", lambda: DAY)
    sample_api.post_events("regulator", sanction_events(DAY))
    index = {r["payload"].get("decision_no") or f"lifted-{r['subject']['id']}": r["index"] for r in sample_api.get(
        f"/v1/parties/M1?source={P1}", "regulator")["credit_records"] if r["kind"].startswith("sanction")}
    visible = {k for k, i in index.items() if sample_api.client.get(f"/v1/log/records/{i}").status_code == 200}
    assert visible == {"X-TODAY", "X-EXPIRED", "lifted-X-EXPIRED"}
    assert sample_api.get(f"/v1/log/records/{index['X-EXPIRED']}")["record"]["lifted"]["reason"] == "expired"

    monkeypatch.setattr(credit_file, "today", lambda: DAY + timedelta(days=1))
    sample_api.get(f"/v1/log/records/{index['X-TODAY']}", status=404)
    assert "X-TODAY" not in sanctions_in(sample_api.get(f"/v1/parties/M1?source={P1}"))
    assert sample_api.get(f"/v1/log/records/{index['X-TODAY']}", "regulator")["record"]["index"] == index["X-TODAY"]


def test_the_server_reports_its_signature_check(sample_api: Api) -> None:
    body = sample_api.get("/v1/log/records/11")
    assert body["checks"] == {"inclusion": True, "signature": True}
    forged = bytes(64)
    with sample_api.cx.engine.begin() as conn:
        conn.execute(update(t.tree_heads).values(signature=forged))
    body = sample_api.get("/v1/log/records/11")
    assert body["checks"] == {"inclusion": True, "signature": False}
    assert b64(body["tree_head"]["signature"]) == forged


# --- the contract: OpenAPI and error bodies ------------------------------------------------------------------

def test_openapi_lists_every_route(sample_api: Api) -> None:
    spec = sample_api.get("/openapi.json")
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops
                  if path.startswith("/v1")}
    routes = v1_routes(sample_api.client.app)  # type: ignore[arg-type]
    assert routes and documented == routes
    events = spec["paths"]["/v1/events"]["post"]
    assert "application/x-ndjson" in events["requestBody"]["content"]
    for path, ops in spec["paths"].items():
        for op in ops.values() if path.startswith("/v1") else ():
            assert op.get("summary") and op.get("description"), path  # every operation is documented



def test_events_are_served_by_the_plain_route_and_documented_by_the_fastapi_one(sample_api: Api) -> None:
    """`POST /v1/events` skips FastAPI's dispatch (`routes.post_events_plain`, the first full match); the
    FastAPI route behind it still documents the operation, and other methods still get 405."""
    from starlette.routing import Match

    from chengxin.entrypoints.api.routes import post_events_plain

    scope = {"type": "http", "method": "POST", "path": "/v1/events", "root_path": ""}
    matches = [r for r in sample_api.client.app.router.routes  # type: ignore[attr-defined]
               if r.matches(scope)[0] == Match.FULL]
    assert len(matches) == 2 and getattr(matches[0], "endpoint", None) is post_events_plain  # then the router
    assert sample_api.get("/openapi.json")["paths"]["/v1/events"]["post"]["operationId"].startswith("post_events")
    assert sample_api.client.get("/v1/events").status_code == 405


ERRORS = [
    # (viewer, method, url, json body, status, error code)
    pytest.param("regulator", "GET", f"/v1/parties/NOPE?source={P1}", None, 404, "not_found", id="unknown-party"),
    pytest.param("anonymous", "POST", "/v1/events", None, 401, "not_authenticated", id="anonymous-ingest"),
    pytest.param("p1", "POST", f"/v1/parties/U1/reveal?source={P1}", {"purpose": "curious"}, 403, "forbidden",
                 id="platform-reveal"),
    pytest.param("anonymous", "GET", "/v1/log/consistency?first=9&second=3", None, 422, "invalid_input",
                 id="first-after-second"),
    pytest.param("regulator", "GET", "/v1/log/records/99", None, 404, "not_found", id="record-beyond-log"),
    pytest.param("anonymous", "GET", "/v1/parties/S1", None, 422, "invalid_input", id="missing-source-query"),
    pytest.param("regulator", "POST", f"/v1/parties/U1/reveal?source={P1}", {}, 422, "invalid_input",
                 id="missing-purpose"),
    pytest.param("anonymous", "GET", "/v1/nope", None, 404, "not_found", id="unknown-path"),
    pytest.param("anonymous", "DELETE", "/v1/health", None, 405, "method_not_allowed", id="wrong-method"),
    pytest.param("regulator", "POST", f"/v1/parties/U1/reveal?source={P1}", {"purpose": "   "}, 422,
                 "invalid_input", id="blank-purpose"),
]


@pytest.mark.parametrize(("viewer", "method", "url", "body", "status", "error"), ERRORS)
def test_error_bodies(sample_api: Api, viewer: str, method: str, url: str, body: Any, status: int,
                      error: str) -> None:
    response = sample_api.client.request(method, url, json=body, headers=sample_api.as_(viewer))
    assert response.status_code == status
    payload = response.json()
    assert {"error", "detail"} <= set(payload), payload
    assert payload["error"] == error and isinstance(payload["detail"], str) and payload["detail"]
    with read_connection(sample_api.cx.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.access_journal)).scalar_one() == 0


def test_a_database_that_cannot_be_reached_is_503_not_500(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    """As the CLI exits 69 (EX_UNAVAILABLE), the API answers 503 with its JSON error body (it answered 500 and
    a traceback: found by review). The driver's reason names the database's host and port: it goes to the
    server's log, not to the caller, who may be anyone (found by review)."""
    from chengxin.bootstrap import bootstrap
    from chengxin.entrypoints.api.app import create_app
    from chengxin.settings import Settings

    down = bootstrap(Settings(database_url="postgresql+psycopg://nobody:s3cret@127.0.0.9:9/none", env="demo",
                              keys_file=tmp_path / "keys.json"))
    with TestClient(create_app(down), raise_server_exceptions=False) as client:
        response = client.get(f"/v1/parties/S1?source={P1}")
    assert response.status_code == 503
    assert response.json() == {"error": "unavailable",
                               "detail": "the node cannot reach its database or message stream; try again later"}
    logged = [r for r in caplog.records if r.name == "chengxin.api" and getattr(r, "code", None) == "unavailable"]
    assert logged and "127.0.0.9" in logged[0].reason and "s3cret" not in logged[0].reason


@pytest.mark.parametrize("url", ["/v1/shops?q=%00", f"/v1/parties/S%001?source={P1}", "/v1/measures/U1%00?source=x"])
def test_a_nul_character_in_a_url_is_refused_not_a_500(api: Api, url: str) -> None:
    # PostgreSQL refuses NUL in text: a search or lookup with %00 was a 500 (found by review)
    body = api.get(url, "regulator", status=422)
    assert body["error"] == "invalid_input" and "NUL" in body["detail"]
    page = api.client.get("/search?q=%00")
    assert page.status_code == 422
