"""Authorization matrix of the `/v1` API: every route x viewer x object, with exact status and body rules.

Deny by default: the routes are enumerated from the application, so a new `/v1` route without a row in
`MATRIX` fails `test_every_v1_route_is_in_the_matrix`; a row must name all four real viewers, and bad
keys (revoked, garbage) get 401 on every route unless the row says otherwise.

Viewers: `anonymous` (no key), `p1` (platform key of urn:cx:platform:P1, which reported the sample's
objects), `p2` (platform key of another platform), `regulator`, `revoked` (a revoked key), `garbage` (a
well-formed key that was never issued). Objects: P1's own shop S1 / S2, person U1 and credit records, and
others' (the regulator's report E-M2 of the party P1 knows as M2, the logistics firm's courier C1).

Ingesting the sample also records its consequences at the end of the log: #23 `record_repaired` (the
dishonesty record 1 that the regulator's sanction X1 of E-M2 opened, lifted as repaired; not public) and #24
`list_entered` (M1, grade A with a commitment, enters the red list; public). A list entry's event id depends on
the time it was made, so credit-file cells name those records by log index (`CONSEQUENCES`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.conftest import BACKENDS, SAMPLE, ingest_file, ingest_text, make_database

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings
from chengxin.bootstrap import Chengxin, bootstrap
from chengxin.domain import merkle
from chengxin.domain.quality import Finding
from chengxin.entrypoints.api.app import create_app
from chengxin.services import keys, review
from chengxin.settings import Settings

P1, P2 = "urn:cx:platform:P1", "urn:cx:platform:P2"
L1, REG_SOURCE = "urn:cx:logistics:L1", "urn:cx:regulator:310000"
U1_ID, U2_ID, C1_ID = "31010419900307123X", "110105198511224567", "440305199208157893"
PLAIN_IDS = (U1_ID, U2_ID, C1_ID)
VIEWERS = ("anonymous", "p1", "p2", "regulator", "revoked", "garbage")
BAD_KEYS = ("revoked", "garbage")
ERROR_CODES = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 409: "conflict",
               413: "payload_too_large", 422: "invalid_input"}
SAMPLE_TREE_SIZE = 25  # 23 records stated by the sample's events, and 2 consequences:
RECORD_REPAIRED, RED_LIST_ENTERED = 23, 24  # dishonesty record 1 lifted as repaired; M1 enters the red list
CONSEQUENCES = {RECORD_REPAIRED: ("record_repaired", "urn:cx:chengxin:lifecycle", (REG_SOURCE, "E-M2")),
                RED_LIST_ENTERED: ("list_entered", "urn:cx:chengxin:lists", (P1, "M1"))}


# --- viewers -----------------------------------------------------------------------------------------

@dataclass
class Env:
    """A sample-loaded node, its API client, and one set of credentials per viewer."""

    cx: Chengxin
    client: TestClient
    headers: dict[str, dict[str, str]]
    key_ids: dict[str, str]

    def call(self, viewer: str, request: Call) -> Any:
        return self.client.request(request.method, request.url, json=request.json, content=request.content,
                                   headers={**request.headers, **self.headers[viewer]})

    def journal(self) -> list[Any]:
        with read_connection(self.cx.engine) as conn:
            return list(conn.execute(select(t.access_journal)))


def make_env(cx: Chengxin, client: TestClient) -> Env:
    """Keys for every viewer; both header styles are exercised (Bearer and X-API-Key)."""
    p1_id, p1 = keys.create_key(cx, "platform", "matrix p1", P1)
    p2_id, p2 = keys.create_key(cx, "platform", "matrix p2", P2)
    reg_id, reg = keys.create_key(cx, "regulator", "matrix regulator")
    old_id, old = keys.create_key(cx, "regulator", "matrix revoked")
    keys.revoke_key(cx, old_id)
    garbage = "cx_0123456789ab_" + "A" * 43  # shaped like a real secret, never issued
    headers = {
        "anonymous": {},
        "p1": {"Authorization": f"Bearer {p1}"},
        "p2": {"X-API-Key": p2},
        "regulator": {"Authorization": f"Bearer {reg}"},
        "revoked": {"X-API-Key": old},
        "garbage": {"Authorization": f"Bearer {garbage}"},
    }
    return Env(cx, client, headers, {"p1": p1_id, "p2": p2_id, "regulator": reg_id, "revoked": old_id})


@pytest.fixture
def env(sample_app: Chengxin) -> Iterator[Env]:
    """A fresh sample node per test: for cells that write (events, reveals) and the other tests."""
    with TestClient(create_app(sample_app)) as client:
        yield make_env(sample_app, client)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path,
               pg_template: str | None) -> Iterator[Env]:
    """One sample node per backend shared by the read-only cells (built like conftest's `sample_app`), which
    keeps the matrix fast; `test_read_only_cells_leave_no_trace` checks that those cells write nothing."""
    tmp = tmp_path_factory.mktemp("matrix")
    url, cleanup = make_database(str(request.param), tmp, sqlite_template, pg_template)
    cx = bootstrap(Settings(database_url=url, keys_file=tmp / "keys.json", batch_size=1000))
    try:
        assert ingest_file(cx, SAMPLE).accepted == 48
        with TestClient(create_app(cx)) as client:
            yield make_env(cx, client)
    finally:
        cx.engine.dispose()
        cleanup()  # type: ignore[operator]


# --- requests and expectations ----------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Env], None] | None = None  # sets the node up first (runs on a fresh node per cell)


def get(url: str) -> Call:
    return Call("GET", url)


def get_journaled(url: str) -> Call:
    """A GET that may journal (a regulator's name search finding persons): on a fresh node per cell, as the
    writing cells are, so that each cell counts its own journal rows."""
    return Call("GET", url, prepare=lambda env: None)


def post_json(url: str, body: Any) -> Call:
    return Call("POST", url, json=body)


def post_lines(*lines: dict[str, Any]) -> Call:
    body = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    return Call("POST", "/v1/events", content=body, headers={"Content-Type": "application/x-ndjson"})


Check = Callable[[Any, Env, Call], None]


@dataclass(frozen=True)
class Expect:
    status: int
    check: Check | None = None
    journal: int = 0  # access_journal rows the call must leave behind (a reveal, a lookup by ID number)
    reveals: str | None = None  # the one plain ID number this response may carry
    xfail: str | None = None


def ok(*checks: Check, journal: int = 0, reveals: str | None = None) -> Expect:
    def run(body: Any, env: Env, call: Call) -> None:
        for check in checks:
            check(body, env, call)
    return Expect(200, run, journal, reveals)


UNAUTHENTICATED = Expect(401)
FORBIDDEN = Expect(403)
HIDDEN = Expect(404)
HIDDEN_JOURNALED = Expect(404, journal=1)  # a lookup by ID number that finds nothing the key may see
BAD_KEY_IGNORED = (
    "route takes no ViewerDep, so a revoked or unknown key is silently treated as anonymous (200) "
    "instead of 401")
BAD_KEY_ON_PUBLIC_ROUTE = Expect(401)


def row(*, anonymous: Expect, p1: Expect, p2: Expect, regulator: Expect,
        bad_key: Expect = UNAUTHENTICATED) -> dict[str, Expect]:
    """One matrix row: all four real viewers are required; bad keys default to 401."""
    return {"anonymous": anonymous, "p1": p1, "p2": p2, "regulator": regulator,
            "revoked": bad_key, "garbage": bad_key}


# --- body checks ------------------------------------------------------------------------------------

def event_ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["event"]["id"] for r in records}


Events = set[str | int]  # event ids of the sample's events, or log indexes of its consequences


def expected_event_ids(env: Env, events: Events) -> set[str]:
    """The event ids a credit file must list: a consequence (given by log index) is checked to be the record
    described in `CONSEQUENCES` and named by its event id as stored."""
    out = {e for e in events if isinstance(e, str)}
    with read_connection(env.cx.engine) as conn:
        for index in (e for e in events if isinstance(e, int)):
            r = conn.execute(select(t.credit_records).where(t.credit_records.c.idx == index)).one()
            assert (r.kind, r.event_source, (r.subject_source, r.subject_id)) == CONSEQUENCES[index]
            out.add(r.event_id)
    return out


PUBLIC_PERSON_KEYS = {"entity", "source", "id", "kind", "name", "region", "region_name", "identity", "flags",
                      "credit_records", "credit_records_total"}


def masked_person(name: str, region: str, verified: bool) -> Check:
    """The public view of a natural person, minimised: masked name, kind, verification mark and province.
    No ID number (not even masked), no party key, no reports, licences or shops, no credit records."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert set(body) == PUBLIC_PERSON_KEYS
        assert (body["entity"], body["name"], body["region"]) == ("party", name, region)
        assert body["identity"] == {"valid": True, "verified": verified}
        assert body["credit_records"] == [] and body["credit_records_total"] == 0
    return check


def full_person(name: str, id_masked: str, region: str, events: Events) -> Check:
    """A natural person in full: real name and region, still a masked ID, the credit records."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert (body["entity"], body["name"], body["id_number"]) == ("party", name, id_masked)
        assert body["region"] == region and body["party_key"].startswith("ric:")
        assert event_ids(body["credit_records"]) == expected_event_ids(env, events)
        assert body["credit_records_total"] == len(events)
    return check


def credit_file(entity: str, events: Events) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["entity"] == entity
        assert event_ids(body["credit_records"]) == expected_event_ids(env, events)
        assert body["credit_records_total"] == len(events)
    return check


def same_as_public(body: Any, env: Env, call: Call) -> None:
    """Another platform sees exactly what the public sees, except that the joint measures in force on the party
    also list those meant for platforms (any platform's key, `GET /v1/measures/{entity_id}` alike)."""
    public = env.call("anonymous", call)
    assert public.status_code == 200
    theirs, mine = public.json(), dict(body)
    if "measures" in mine:
        measures = mine.pop("measures")
        assert all(m["audience"] in AUDIENCES["platform"] for m in measures)
        assert [m for m in measures if m["audience"] in AUDIENCES["anonymous"]] == theirs.pop("measures")
    assert mine == theirs


U1_PUBLIC = masked_person("张*", "310000", verified=True)
U1_FULL = full_person("张三", "3101**********123X", "310104", {"s-004", "s-026"})
C1_PUBLIC = masked_person("王*", "440000", verified=False)
C1_FULL = full_person("王五", "4403**********7893", "440305", {"s-008"})
# M1's red-list entry is public: it is in the file of M1's shop S1 for everyone
S1_FILE = credit_file("shop", {"s-002", "s-009", "s-010", "s-016", "s-025", "s-028", RED_LIST_ENTERED})
# Party M2 (P1) = E-M2 (regulator): the public never sees complaint *filings* (s-039, s-043), only outcomes,
# nor the sanction s-046 and its lifting s-047: lifted as `repaired`, it left public view (市场监督管理行政处罚
# 信息公示规定 art. 14); P1 (which reported M2) and the regulator still see it, marked lifted, and the dishonesty
# record's move to `repaired` (#23), which is not public either.
M2_PUBLIC_EVENTS: Events = {"s-003", "s-038", "s-040", "s-044", "s-045"}
M2_FULL_EVENTS: Events = M2_PUBLIC_EVENTS | {"s-039", "s-043", "s-046", "s-047", RECORD_REPAIRED}


def sanction_marked_lifted(body: Any, env: Env, call: Call) -> None:
    (sanction,) = [r for r in body["credit_records"] if r["kind"] == "sanction"]
    assert sanction["lifted"] == {"at": "2026-09-10T01:00:00.000000Z", "reason": "repaired"}


def all_of(*checks: Check) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        for inner in checks:
            inner(body, env, call)
    return check


S2_PUBLIC, EM2_PUBLIC = credit_file("shop", M2_PUBLIC_EVENTS), credit_file("party", M2_PUBLIC_EVENTS)
S2_FULL = all_of(credit_file("shop", M2_FULL_EVENTS), sanction_marked_lifted)
EM2_FULL = all_of(credit_file("party", M2_FULL_EVENTS), sanction_marked_lifted)


def page_of(indexes: list[int], next_before: int | None, total: int) -> Check:
    """One page of a credit file: these log indexes (newest first), the cursor of the next page, the total."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert [r["index"] for r in body["credit_records"]] == indexes
        assert (body["credit_records_next_before"], body["credit_records_total"]) == (next_before, total)
    return check


def operator_named(name: str) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["operator"]["name"] == name  # a business operator is never masked
    return check


def record_proven(index: int) -> Check:
    """The record at `index`, with an inclusion proof that verifies against a correctly signed head."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["record"]["index"] == index
        proof, head = body["proof"], body["tree_head"]
        assert proof["index"] == index and proof["tree_size"] == head["size"] == SAMPLE_TREE_SIZE
        root = base64.b64decode(head["root"])
        leaf = merkle.leaf_hash(base64.b64decode(body["record"]["leaf_bytes"]))  # the record's, not a served hash
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        merkle.verify_inclusion(leaf, index, head["size"], [base64.b64decode(p) for p in proof["proof"]], root)
        Ed25519PublicKey.from_public_bytes(base64.b64decode(head["public_key"])).verify(
            base64.b64decode(head["signature"]), head["note"].encode())
        assert body["checks"] == {"inclusion": True, "signature": True}  # the server checked both too
    return check


def kind_is(kind: str) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["record"]["kind"] == kind
    return check


def lifted_as(reason: str) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["record"]["lifted"]["reason"] == reason
    return check


def parties_are(*refs: tuple[str, str]) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert [(p["source"], p["id"]) for p in body["parties"]] == list(refs)
    return check


def named(*names: str) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert [p["name"] for p in body["parties"]] == list(names)
    return check


def each_party(inner: Check) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        for party in body["parties"]:
            inner(party, env, call)
    return check


def no_complaint_filings(body: Any, env: Env, call: Call) -> None:
    for party in body["parties"]:
        assert not {r["kind"] for r in party["credit_records"]} & {"complaint"}


def revealed(plain: str, subject: str, source: str) -> Check:
    """The plain number, and exactly one journal row naming the regulator's key, the subject and purpose."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert body == {"id_number": plain}
        (entry,) = env.journal()
        assert (entry.key_id, entry.action) == (env.key_ids["regulator"], "reveal_id_number")
        assert entry.object == "\x1f".join((source, subject, call.json["purpose"]))  # parties.JOURNAL_SEP
    return check


def journal_is_empty(body: Any, env: Env, call: Call) -> None:
    assert body == {"entries": [], "next_before": None}  # a fresh node: nobody revealed anything


def shops_are(*ids: str) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert sorted(s["id"] for s in body["shops"]) == sorted(ids)
    return check


def signed_head(body: Any, env: Env, call: Call) -> None:
    assert body["size"] == SAMPLE_TREE_SIZE and body["algorithm"] == "Ed25519"
    Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"])).verify(
        base64.b64decode(body["signature"]), body["note"].encode())


def heads_listed(body: Any, env: Env, call: Call) -> None:
    """The sample's three signed heads, newest first, each verifying with the key served beside them."""
    sizes = [h["size"] for h in body["heads"]]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == SAMPLE_TREE_SIZE and len(sizes) == 3
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["public_key"]))
    for head in body["heads"]:
        key.verify(base64.b64decode(head["signature"]), head["note"].encode())


def consistent_with_itself(body: Any, env: Env, call: Call) -> None:
    assert (body["first"], body["second"], body["proof"]) == (SAMPLE_TREE_SIZE, SAMPLE_TREE_SIZE, [])
    assert body["first_root"] == body["second_root"]


def key_chain_of_one(body: Any, env: Env, call: Call) -> None:
    """Before any rotation the chain is the node's key alone, signing from size 1 (a public route: verifiers
    elsewhere follow it)."""
    assert [(k["key_id"], k["from_size"], k["until_size"], k["rotation"]) for k in body["keys"]] == \
        [(env.cx.keys.key_id, 1, None, None)] and body["current_key_id"] == env.cx.keys.key_id


def healthy(body: Any, env: Env, call: Call) -> None:
    assert body == {"status": "ok", "tree_size": SAMPLE_TREE_SIZE, "scoring_parked": 0}


def ingested(accepted: int) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert (body["accepted"], body["rejected"], body["rejects"]) == (accepted, 0, [])
        assert body["tree_size"] is None  # order.completed adds no credit record, so no new head
        with read_connection(env.cx.engine) as conn:
            assert conn.execute(select(func.count()).select_from(t.events)).scalar_one() == 48 + accepted
    return check


def source_rejected(body: Any, env: Env, call: Call) -> None:
    """A key submitting another source's event: a per-line reject naming `source`, nothing stored."""
    assert (body["accepted"], body["rejected"]) == (0, 1)
    (reject,) = body["rejects"]
    assert reject["line"] == 1 and "source" in reject["reason"]
    with read_connection(env.cx.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.events)).scalar_one() == 48


def ratings_are(*reviews: tuple[str, str]) -> Check:
    """The ratings ledger: these (review id, why code), newest first."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert [(r["review"]["id"], r["why"]["code"]) for r in body["ratings"]] == list(reviews)
    return check


def verdict_taken(credit_records: int) -> Check:
    """The verdict stored; `credit_records` records (points taken back) added to the log."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["verdict"] == call.json["verdict"] and body["credit_records"] == credit_records
    return check


def queue_two_findings(env: Env) -> None:
    """Review items 1 (an empty parcel of P1's order O1: about P1's shop S1) and 2 (the logistics firm's
    courier C1 faking the delivery of P1's order O2)."""
    found = (Finding("empty_parcel", 0.96, {"orders": ((P1, "O1"),)}, {"level": "order", "tells": {"light": {}}}),
             Finding("empty_parcel", 0.8, {"parties": ((L1, "C1"),), "orders": ((P1, "O2"),)},
                     {"level": "courier", "parcels": 2, "flagged": 1, "share": 0.5}))
    with write_transaction(env.cx.engine) as conn:
        insert_findings(conn, found, detector="matrix", run_id="detect-matrix")
    assert review.publish(env.cx)["published"] == 2


def items_are(*ids: int) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert [i["id"] for i in body["items"]] == list(ids) and body["next_after"] is None
    return check


def decided(credit_records: int) -> Check:
    """The item decided as asked, by the caller; `credit_records` records added (its own, points taken back)."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["item"]["status"] == {"confirm": "confirmed", "dismiss": "dismissed"}[call.json["decision"]]
        assert body["item"]["decision"]["reason"] == call.json["reason"]
        assert body["credit_records"] == credit_records
    return check


def review_get(url: str) -> Call:
    return Call("GET", url, prepare=queue_two_findings)


def review_post(url: str, body: Any) -> Call:
    return Call("POST", url, json=body, prepare=queue_two_findings)


# --- lists, measures, dishonesty records, commitments, policies ----------------------------------------------

AUDIENCES = {"anonymous": {"public"}, "platform": {"public", "platforms"},
             "regulator": {"public", "platforms", "regulators"}}


def lists_are(*names: str) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert [x["name"] for x in body["lists"]] == list(names)
        assert {m["measure"] for m in body["measures"]} >= {"search_ranking_weight", "inspection_frequency"}
    return check


def members_are(name: str, *parties: tuple[str, str], full: bool = False) -> Check:
    """The list's current members (party refs); M1 on the red list by the policy, its shop S1 listed."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["list"]["name"] == name and body["total"] == len(parties)
        assert [(m["party"]["source"], m["party"]["id"]) for m in body["members"]] == list(parties)
        for member in body["members"]:
            assert member["by"] == "policy" and member["credit_record"] == RED_LIST_ENTERED
            assert [s["id"] for s in member["shops"]] == ["S1"]
    return check


def measures_seen(audience: str, lists: tuple[str, ...] = ()) -> Check:
    """`GET /v1/measures/{entity_id}`: the public lists the party is on, and exactly the measures in force that
    this audience may see (the red list grants platform and regulator measures, none public)."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert [x["list"] for x in body["lists"]] == list(lists)
        seen = {m["audience"] for m in body["measures"]}
        assert seen == (AUDIENCES[audience] - {"public"} if lists else set())
    return check


def feed_seen(audience: str) -> Check:
    """The measures feed: M1's red-list entry, with only the measures in force this audience may see."""
    def check(body: Any, env: Env, call: Call) -> None:
        (change,) = body["changes"]
        assert change["party"] == {"source": P1, "id": "M1"} and change["cause"] == [
            {"entered": "red", "policy": "red.trustworthy"}]
        assert {m["audience"] for m in change["measures"]} == AUDIENCES[audience] - {"public"}
        assert (body["next"], body["more"]) == (str(change["seq"]), False)
    return check


def record_is(record: int, origin: str, state: str, subject: tuple[str, str]) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert (body["id"], body["origin"], body["state"]) == (record, origin, state)
        assert (body["subject"]["source"], body["subject"]["id"]) == subject
        assert [m["action"] for m in body["transitions"]][:1] == ["confirm"]
    return check


def confirmed_by(decider: str, appeal_by: str | None = None) -> Callable[[Env], None]:
    """Review item 1 (the empty parcel of P1's order O1) confirmed by `decider`: it opens dishonesty record 2
    about P1's shop S1 (and record 3, the breach of M1's commitment); then, if `appeal_by`, that viewer appeals
    record 2 (application 1)."""
    def prepare(env: Env) -> None:
        queue_two_findings(env)
        assert env.call(decider, post_json("/v1/review/1/decision", CONFIRM)).status_code == 200
        if appeal_by:
            filed = env.call(appeal_by, post_json("/v1/records/2/applications", APPEAL))
            assert filed.status_code == 200, filed.text
    return prepare


def acting(env: Env, viewer: str) -> str:
    """Who an act is recorded as: a platform's source, or `regulator:<key id>`."""
    return P1 if viewer == "p1" else f"regulator:{env.key_ids[viewer]}"


def appealed(by: str) -> Check:
    """The appeal filed, recorded as the caller's; the record moves to `appealed` (still in force)."""
    def check(body: Any, env: Env, call: Call) -> None:
        application, record = body["application"], body["record"]
        assert (application["record"], application["kind"], application["status"]) == (2, "appeal", "pending")
        assert application["filed_by"] == acting(env, by)
        assert record["id"] == 2 and record["state"] == "appealed"
    return check


def upheld(by: str) -> Check:
    """The appeal decided as the caller's; the record back to `confirmed`."""
    def check(body: Any, env: Env, call: Call) -> None:
        application, record = body["application"], body["record"]
        assert (application["id"], application["status"], application["reason"]) == (1, "upheld", UPHOLD["reason"])
        assert application["decided_by"] == acting(env, by)
        assert record["id"] == 2 and record["state"] == "confirmed"
    return check


def applications_are(*ids: int) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert [a["id"] for a in body["applications"]] == list(ids) and body["next_after"] is None
    return check


def listed_by_hand(name: str, party: tuple[str, str]) -> Check:
    def check(body: Any, env: Env, call: Call) -> None:
        assert body["override"]["list"] == name and body["override"]["action"] == "add"
        (move,) = body["evaluation"]["moves"]
        assert (move["move"], move["list"], move["policy"]) == ("entered", name, "manual")
        assert (move["party"]["source"], move["party"]["id"]) == party
    return check


def committed(source: str, subject: str, by: str | None = None) -> Check:
    """The commitment about `source`'s `subject`, stored as an event of `by` (the platform's own source, or the
    authority a regulator acts for), `source` by default."""
    def check(body: Any, env: Env, call: Call) -> None:
        assert (body["ingest"]["accepted"], body["ingest"]["rejected"]) == (1, 0)
        assert (body["commitment"]["source"], body["commitment"]["id"]) == (by or source, COMMIT["commitment_id"])
        with read_connection(env.cx.engine) as conn:
            c = t.commitments.c
            assert conn.execute(select(c.source, c.subject_source, c.subject_id).where(
                c.commitment_id == COMMIT["commitment_id"])).one() == (by or source, source, subject)
    return check


def templates_listed(body: Any, env: Env, call: Call) -> None:
    assert "merchant-standard-v1" in {x["id"] for x in body["templates"]}


def shadow_report(body: Any, env: Env, call: Call) -> None:
    """The shadow report of the sample: nobody would move; it changes nothing."""
    assert body["effect"].startswith("none") and (body["counts"], body["lists"]) == ({}, {})


# --- the matrix -------------------------------------------------------------------------------------

def event(source: str, event_id: str) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": source, "type": "cx.order.completed",
            "time": "2026-04-01T09:00:00+08:00", "data": {"order_id": "O9"}}


PURPOSE = {"purpose": "case 2026-17: price fraud investigation"}
VERDICT = {"verdict": "fake", "reason": "paid by the shop's staff, nothing shipped"}
CONFIRM = {"decision": "confirm", "reason": "40 g parcel for a 650 g gift box, no transit scan", "basis": "rule 4.2"}
APPEAL = {"kind": "appeal", "grounds": "the parcel was weighed before the gift box was packed"}
REPAIR = {"kind": "repair", "grounds": "fine paid, prices corrected",
          "conditions": {"penalty_fulfilled": True, "harm_removed": True, "repair_commitment": True}}
UPHOLD = {"decision": "uphold", "reason": "the weights are the carrier's own scans"}
OVERRIDE = {"source": P1, "id": "S2", "action": "add", "reason": "court judgment: counterfeit goods",
            "basis": "某法院判决书"}
COMMIT = {"subject_id": "M2", "template": "merchant-standard-v1", "commitment_id": "K-MX-1"}
PARTY = "/v1/parties/{entity_id}"
Objects = dict[str, tuple[Call, dict[str, Expect]]]

MATRIX: dict[tuple[str, str], Objects] = {
    ("POST", "/v1/events"): {
        # A regulator key bound to no source sends any authority's events, never a platform's or a logistics
        # firm's: it forged P1's (found by review).
        "own source P1": (post_lines(event(P1, "m-1")), row(
            anonymous=UNAUTHENTICATED, p1=ok(ingested(1)), p2=ok(source_rejected), regulator=ok(source_rejected))),
        "other source L1": (post_lines(event(L1, "m-2")), row(
            anonymous=UNAUTHENTICATED, p1=ok(source_rejected), p2=ok(source_rejected),
            regulator=ok(source_rejected))),
        "an authority's source": (post_lines(event(REG_SOURCE, "m-3")), row(
            anonymous=UNAUTHENTICATED, p1=ok(source_rejected), p2=ok(source_rejected), regulator=ok(ingested(1)))),
    },
    ("GET", PARTY): {
        "own shop S1": (get(f"/v1/parties/S1?source={P1}"), row(
            anonymous=ok(S1_FILE, operator_named("上海示例食品有限公司")), p1=ok(S1_FILE),
            p2=ok(S1_FILE, same_as_public), regulator=ok(S1_FILE))),
        "own shop S2": (get(f"/v1/parties/S2?source={P1}"), row(
            anonymous=ok(S2_PUBLIC), p1=ok(S2_FULL), p2=ok(S2_PUBLIC, same_as_public), regulator=ok(S2_FULL))),
        # public file of S2: #20 #19 | #17 #15 | #2; in full: #23 #22 #21 #20 #19 | #18 #17 | #16 #15 | #2
        "own shop S2, second page": (get(f"/v1/parties/S2?source={P1}&limit=2&before=19"), row(
            anonymous=ok(page_of([17, 15], 15, 5)), p1=ok(page_of([18, 17], 17, 10)),
            p2=ok(page_of([17, 15], 15, 5), same_as_public), regulator=ok(page_of([18, 17], 17, 10)))),
        "own person U1": (get(f"/v1/parties/U1?source={P1}"), row(
            anonymous=ok(U1_PUBLIC), p1=ok(U1_FULL), p2=ok(U1_PUBLIC, same_as_public), regulator=ok(U1_FULL))),
        "other party E-M2": (get(f"/v1/parties/E-M2?source={REG_SOURCE}"), row(
            # The regulator's report is not P1's: P1 sees it as the public does (its own M2 it sees in full).
            anonymous=ok(EM2_PUBLIC), p1=ok(EM2_PUBLIC, same_as_public), p2=ok(EM2_PUBLIC, same_as_public),
            regulator=ok(EM2_FULL))),
        "other courier C1": (get(f"/v1/parties/C1?source={L1}"), row(
            anonymous=ok(C1_PUBLIC), p1=ok(C1_PUBLIC, same_as_public), p2=ok(C1_PUBLIC, same_as_public),
            regulator=ok(C1_FULL))),
        "unknown party": (get(f"/v1/parties/NOPE?source={P1}"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/parties"): {
        "own M1 by USCC": (get("/v1/parties?uscc=91310104MA1FL8XQ36"), row(
            anonymous=ok(parties_are((P1, "M1"))), p1=ok(parties_are((P1, "M1"))),
            p2=ok(parties_are((P1, "M1"))), regulator=ok(parties_are((P1, "M1"))))),
        "other E-M2 by USCC": (get("/v1/parties?uscc=92330106MA2B7C4D1W"), row(
            anonymous=ok(parties_are((P1, "M2"), (REG_SOURCE, "E-M2")), no_complaint_filings),
            p1=ok(parties_are((P1, "M2"), (REG_SOURCE, "E-M2"))),  # its own M2 in full, E-M2 as the public
            p2=ok(parties_are((P1, "M2"), (REG_SOURCE, "E-M2")), no_complaint_filings),
            regulator=ok(parties_are((P1, "M2"), (REG_SOURCE, "E-M2")), each_party(EM2_FULL)))),
        # by name (found by review: a credit office starts from a firm's name): businesses for everyone, natural
        # persons for regulators only, each person found journaled (a business found is not)
        "logistics firm LG by name": (get("/v1/parties?name=示例速递"), row(
            anonymous=ok(parties_are((L1, "LG"), (P1, "LG"))), p1=ok(parties_are((L1, "LG"), (P1, "LG"))),
            p2=ok(parties_are((L1, "LG"), (P1, "LG"))), regulator=ok(parties_are((L1, "LG"), (P1, "LG"))))),
        "own person U1 by name": (get_journaled("/v1/parties?name=张三"), row(
            anonymous=ok(parties_are()), p1=ok(parties_are()), p2=ok(parties_are()),
            regulator=ok(parties_are((P1, "U1")), named("张三"), journal=1))),
        "other courier C1 by name": (get_journaled("/v1/parties?name=王五"), row(
            anonymous=ok(parties_are()), p1=ok(parties_are()), p2=ok(parties_are()),
            regulator=ok(parties_are((L1, "C1")), named("王五"), journal=1))),
    },
    ("POST", "/v1/parties/lookup"): {
        # every lookup by a key is journaled, a miss too (naming no party): it was journaled nowhere (found
        # by review)
        "own person U1 by ID number": (post_json("/v1/parties/lookup", {"id_number": U1_ID, **PURPOSE}), row(
            anonymous=UNAUTHENTICATED, p1=ok(parties_are((P1, "U1")), each_party(U1_FULL), journal=1),
            p2=HIDDEN_JOURNALED,
            regulator=ok(parties_are((P1, "U1")), each_party(U1_FULL), journal=1))),
        "other courier C1 by ID number": (post_json("/v1/parties/lookup", {"id_number": C1_ID, **PURPOSE}), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN_JOURNALED, p2=HIDDEN_JOURNALED,
            regulator=ok(parties_are((L1, "C1")), each_party(C1_FULL), journal=1))),
    },
    ("POST", "/v1/parties/{entity_id}/reveal"): {
        "own person U1": (post_json(f"/v1/parties/U1/reveal?source={P1}", PURPOSE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN,
            regulator=ok(revealed(U1_ID, "U1", P1), journal=1, reveals=U1_ID))),
        "other courier C1": (post_json(f"/v1/parties/C1/reveal?source={L1}", PURPOSE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN,
            regulator=ok(revealed(C1_ID, "C1", L1), journal=1, reveals=C1_ID))),
        "unknown party": (post_json(f"/v1/parties/NOPE/reveal?source={P1}", PURPOSE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/access-journal"): {
        # a platform reads the agencies' queries about its own parties (test_journal_party_filters.py)
        "the journal of reveals": (get("/v1/access-journal"), row(
            anonymous=UNAUTHENTICATED, p1=ok(journal_is_empty), p2=ok(journal_is_empty),
            regulator=ok(journal_is_empty))),
    },
    ("GET", "/v1/parties/{entity_id}/ratings"): {
        "own shop S1": (get(f"/v1/parties/S1/ratings?source={P1}"), row(
            anonymous=ok(ratings_are(("R4", "follow_up"), ("R1", "counted"))),
            p1=ok(ratings_are(("R4", "follow_up"), ("R1", "counted"))),
            p2=ok(ratings_are(("R4", "follow_up"), ("R1", "counted")), same_as_public),
            regulator=ok(ratings_are(("R4", "follow_up"), ("R1", "counted"))))),
        # the ratings a natural person received are personal data, like the rest of its credit file
        "own person U1": (get(f"/v1/parties/U1/ratings?source={P1}"), row(
            anonymous=UNAUTHENTICATED, p1=ok(ratings_are(("R2", "counted"))), p2=FORBIDDEN,
            regulator=ok(ratings_are(("R2", "counted"))))),
        "other courier C1": (get(f"/v1/parties/C1/ratings?source={L1}"), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=ok(ratings_are()))),
        "unknown party": (get(f"/v1/parties/NOPE/ratings?source={P1}"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("POST", "/v1/orders/{order_id}/verdict"): {
        # O1's buyer rating R1 counted 1 point for S1 and the seller's R2 1 point for U1: both taken back
        "own order O1": (post_json(f"/v1/orders/O1/verdict?source={P1}", VERDICT), row(
            anonymous=UNAUTHENTICATED, p1=ok(verdict_taken(2)), p2=FORBIDDEN, regulator=ok(verdict_taken(2)))),
        "unknown order": (post_json(f"/v1/orders/NOPE/verdict?source={P1}", VERDICT), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=FORBIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/review"): {
        "no items yet": (get("/v1/review"), row(
            anonymous=UNAUTHENTICATED, p1=ok(items_are()), p2=ok(items_are()), regulator=ok(items_are()))),
        # item 1 names P1's order (about its shop), item 2 the logistics firm's courier and P1's order
        "two open items": (review_get("/v1/review?status=open"), row(
            anonymous=UNAUTHENTICATED, p1=ok(items_are(1, 2)), p2=ok(items_are()), regulator=ok(items_are(1, 2)))),
        "none confirmed": (review_get("/v1/review?status=confirmed"), row(
            anonymous=UNAUTHENTICATED, p1=ok(items_are()), p2=ok(items_are()), regulator=ok(items_are()))),
    },
    ("POST", "/v1/review/{item}/decision"): {
        # a confirmed record for S1, and O1's ratings' points taken back (R1 for S1, R2 for U1)
        "own order's empty parcel (1)": (review_post("/v1/review/1/decision", CONFIRM), row(
            anonymous=UNAUTHENTICATED, p1=ok(decided(3)), p2=HIDDEN, regulator=ok(decided(3)))),
        # P1 sees it (its order) but did not report the courier; the courier's orders keep counting
        "other's courier (2)": (review_post("/v1/review/2/decision", CONFIRM), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=HIDDEN, regulator=ok(decided(1)))),
        "unknown item": (review_post("/v1/review/99/decision", CONFIRM), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/shops"): {
        "own shop S1 by name": (get("/v1/shops?q=示例食品旗舰店"), row(
            anonymous=ok(shops_are("S1")), p1=ok(shops_are("S1")), p2=ok(shops_are("S1")),
            regulator=ok(shops_are("S1")), bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
        "other E-M2's shop by USCC": (get("/v1/shops?q=92330106MA2B7C4D1W"), row(
            anonymous=ok(shops_are("S2")), p1=ok(shops_are("S2")), p2=ok(shops_are("S2")),
            regulator=ok(shops_are("S2")), bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
    },
    ("GET", "/v1/log/head"): {
        "-": (get("/v1/log/head"), row(
            anonymous=ok(signed_head), p1=ok(signed_head), p2=ok(signed_head), regulator=ok(signed_head),
            bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
    },
    ("GET", "/v1/log/heads"): {
        "-": (get("/v1/log/heads"), row(
            anonymous=ok(heads_listed), p1=ok(heads_listed), p2=ok(heads_listed), regulator=ok(heads_listed),
            bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
    },
    ("GET", "/v1/log/records/{index}"): {
        "own: seller_to_buyer rating of person U1 (#12)": (get("/v1/log/records/12"), row(
            anonymous=HIDDEN, p1=ok(record_proven(12)), p2=HIDDEN, regulator=ok(record_proven(12)))),
        "own: identity of person U1 (#3)": (get("/v1/log/records/3"), row(
            anonymous=HIDDEN, p1=ok(record_proven(3)), p2=HIDDEN, regulator=ok(record_proven(3)))),
        "own: buyer rating of shop S1 (#11)": (get("/v1/log/records/11"), row(
            anonymous=ok(record_proven(11)), p1=ok(record_proven(11)), p2=ok(record_proven(11)),
            regulator=ok(record_proven(11)))),
        "own: complaint filing against S2 (#16)": (get("/v1/log/records/16"), row(
            anonymous=HIDDEN, p1=ok(record_proven(16)), p2=HIDDEN, regulator=ok(record_proven(16)))),
        # lifted as repaired: withdrawn from public view; P1 reported neither the sanction nor E-M2
        "other: sanction of E-M2, lifted as repaired (#21)": (get("/v1/log/records/21"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=ok(record_proven(21), lifted_as("repaired")))),
        "other: lifting of the sanction of E-M2 (#22)": (get("/v1/log/records/22"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=ok(record_proven(22)))),
        "other: identity of courier C1 (#7)": (get("/v1/log/records/7"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=ok(record_proven(7)))),
        # the consequences the sample records: the repair of record 1 is as private as the sanction it ends
        "other: dishonesty record 1 of E-M2 repaired (#23)": (get("/v1/log/records/23"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=ok(record_proven(23), kind_is("record_repaired")))),
        "own: M1 enters the red list (#24)": (get("/v1/log/records/24"), row(
            anonymous=ok(record_proven(24), kind_is("list_entered")), p1=ok(record_proven(24)),
            p2=ok(record_proven(24)), regulator=ok(record_proven(24)))),
        "beyond the log (#25)": (get("/v1/log/records/25"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/log/consistency"): {
        "25..25": (get(f"/v1/log/consistency?first={SAMPLE_TREE_SIZE}&second={SAMPLE_TREE_SIZE}"), row(
            anonymous=ok(consistent_with_itself), p1=ok(consistent_with_itself), p2=ok(consistent_with_itself),
            regulator=ok(consistent_with_itself), bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
    },
    ("GET", "/v1/log/keys"): {
        "-": (get("/v1/log/keys"), row(
            anonymous=ok(key_chain_of_one), p1=ok(key_chain_of_one), p2=ok(key_chain_of_one),
            regulator=ok(key_chain_of_one), bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
    },
    ("GET", "/v1/lists"): {
        "-": (get("/v1/lists"), row(
            anonymous=ok(lists_are("black", "watch", "red")), p1=ok(lists_are("black", "watch", "red")),
            p2=ok(lists_are("black", "watch", "red")), regulator=ok(lists_are("black", "watch", "red")))),
    },
    ("GET", "/v1/lists/{name}"): {
        "red (M1)": (get("/v1/lists/red"), row(
            anonymous=ok(members_are("red", (P1, "M1"))), p1=ok(members_are("red", (P1, "M1"))),
            p2=ok(members_are("red", (P1, "M1"))), regulator=ok(members_are("red", (P1, "M1"))))),
        "black (empty)": (get("/v1/lists/black"), row(
            anonymous=ok(members_are("black")), p1=ok(members_are("black")), p2=ok(members_are("black")),
            regulator=ok(members_are("black")))),
        # the watch list is not public: the list itself needs a key, whoever is on it
        "watch (not public)": (get("/v1/lists/watch"), row(
            anonymous=UNAUTHENTICATED, p1=ok(members_are("watch")), p2=ok(members_are("watch")),
            regulator=ok(members_are("watch")))),
        "unknown list": (get("/v1/lists/grey"), row(anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("POST", "/v1/lists/{name}/overrides"): {
        "black, own shop S2 (party M2)": (post_json("/v1/lists/black/overrides", OVERRIDE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=ok(listed_by_hand("black", (P1, "M2"))))),
        "unknown list": (post_json("/v1/lists/grey/overrides", OVERRIDE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=HIDDEN)),
        "unknown party": (post_json("/v1/lists/black/overrides", {**OVERRIDE, "id": "NOPE"}), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/measures"): {
        "feed from the start": (get("/v1/measures"), row(
            anonymous=UNAUTHENTICATED, p1=ok(feed_seen("platform")), p2=ok(feed_seen("platform")),
            regulator=ok(feed_seen("regulator")))),
    },
    ("GET", "/v1/measures/{entity_id}"): {
        "own shop S1 (M1 on the red list)": (get(f"/v1/measures/S1?source={P1}"), row(
            anonymous=ok(measures_seen("anonymous", ("red",))), p1=ok(measures_seen("platform", ("red",))),
            p2=ok(measures_seen("platform", ("red",))), regulator=ok(measures_seen("regulator", ("red",))))),
        "other courier C1 (on no list)": (get(f"/v1/measures/C1?source={L1}"), row(
            anonymous=ok(measures_seen("anonymous")), p1=ok(measures_seen("platform")),
            p2=ok(measures_seen("platform")), regulator=ok(measures_seen("regulator")))),
        "unknown party": (get(f"/v1/measures/NOPE?source={P1}"), row(
            anonymous=HIDDEN, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/records/{record}"): {
        # opened by the regulator's sanction X1 of E-M2, decided by its authority, lifted as repaired; P1
        # reported M2 (the same party) but neither E-M2 nor the record
        "other: sanction X1 of E-M2, repaired (1)": (get("/v1/records/1"), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=HIDDEN,
            regulator=ok(record_is(1, "sanction", "repaired", (REG_SOURCE, "E-M2"))))),
        "own shop S1's record, confirmed by the regulator (2)": (
            Call("GET", "/v1/records/2", prepare=confirmed_by("regulator")), row(
                anonymous=UNAUTHENTICATED, p1=ok(record_is(2, "review", "confirmed", (P1, "S1"))), p2=HIDDEN,
                regulator=ok(record_is(2, "review", "confirmed", (P1, "S1"))))),
        "unknown record": (get("/v1/records/99"), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("POST", "/v1/records/{record}/applications"): {
        # the platform that reported S1 may appeal for it, though the regulator decided the record
        "appeal: own shop S1's record (2)": (
            Call("POST", "/v1/records/2/applications", json=APPEAL, prepare=confirmed_by("regulator")), row(
                anonymous=UNAUTHENTICATED, p1=ok(appealed("p1")), p2=HIDDEN, regulator=ok(appealed("regulator")))),
        # only a confirmed record can be repaired; this one already is
        "repair: other sanction X1 of E-M2, repaired (1)": (post_json("/v1/records/1/applications", REPAIR), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=HIDDEN, regulator=Expect(409))),
        "unknown record": (post_json("/v1/records/99/applications", APPEAL), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/applications"): {
        "none in the sample": (get("/v1/applications"), row(
            anonymous=UNAUTHENTICATED, p1=ok(applications_are()), p2=ok(applications_are()),
            regulator=ok(applications_are()))),
        # the regulator's appeal on S1's record: P1 reported S1, so it sees the appeal in its queue
        "appeal on S1's record, pending (1)": (
            Call("GET", "/v1/applications", prepare=confirmed_by("regulator", "regulator")), row(
                anonymous=UNAUTHENTICATED, p1=ok(applications_are(1)), p2=ok(applications_are()),
                regulator=ok(applications_are(1)))),
        "appeal on S1's record, none upheld": (
            Call("GET", "/v1/applications?status=upheld", prepare=confirmed_by("regulator", "regulator")), row(
                anonymous=UNAUTHENTICATED, p1=ok(applications_are()), p2=ok(applications_are()),
                regulator=ok(applications_are()))),
    },
    ("POST", "/v1/applications/{application}/decision"): {
        # P1 sees the record (it reported S1) but did not decide it: the regulator did
        "appeal on S1's record the regulator decided (1)": (Call(
            "POST", "/v1/applications/1/decision", json=UPHOLD, prepare=confirmed_by("regulator", "regulator")),
            row(anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=HIDDEN, regulator=ok(upheld("regulator")))),
        # the provider decides objections about its own records (上海市社会信用条例 art. 36)
        "appeal on S1's record P1 decided (1)": (Call(
            "POST", "/v1/applications/1/decision", json=UPHOLD, prepare=confirmed_by("p1", "p1")),
            row(anonymous=UNAUTHENTICATED, p1=ok(upheld("p1")), p2=HIDDEN, regulator=ok(upheld("regulator")))),
        "unknown application": (post_json("/v1/applications/99/decision", UPHOLD), row(
            anonymous=UNAUTHENTICATED, p1=HIDDEN, p2=HIDDEN, regulator=HIDDEN)),
    },
    ("GET", "/v1/commitments/templates"): {
        "-": (get("/v1/commitments/templates"), row(
            anonymous=ok(templates_listed), p1=ok(templates_listed), p2=ok(templates_listed),
            regulator=ok(templates_listed))),
    },
    ("POST", "/v1/commitments"): {
        # a platform publishes under its own source only (naming another is refused before any lookup, so it
        # reveals nothing); a regulator must name the source, and the authority it acts for (its key is bound to
        # none) unless an authority reported the subject: never under a platform's source
        "own M2": (post_json("/v1/commitments", COMMIT), row(
            anonymous=UNAUTHENTICATED, p1=ok(committed(P1, "M2")), p2=HIDDEN, regulator=Expect(422))),
        "own M2, source named": (post_json("/v1/commitments", {**COMMIT, "source": P1}), row(
            anonymous=UNAUTHENTICATED, p1=ok(committed(P1, "M2")), p2=Expect(422), regulator=Expect(422))),
        "own M2, source and authority named": (post_json("/v1/commitments", {**COMMIT, "source": P1,
                                                                             "authority": REG_SOURCE}), row(
            anonymous=UNAUTHENTICATED, p1=Expect(422), p2=Expect(422),
            regulator=ok(committed(P1, "M2", by=REG_SOURCE)))),
        "other E-M2, source named": (post_json("/v1/commitments", {**COMMIT, "subject_id": "E-M2",
                                                                   "source": REG_SOURCE}), row(
            anonymous=UNAUTHENTICATED, p1=Expect(422), p2=Expect(422), regulator=ok(committed(REG_SOURCE, "E-M2")))),
    },
    ("GET", "/v1/policies/shadow"): {
        "-": (get("/v1/policies/shadow"), row(
            anonymous=UNAUTHENTICATED, p1=ok(shadow_report), p2=ok(shadow_report), regulator=ok(shadow_report))),
    },
    # credit reports are for credit agencies' keys (their cells: tests/e2e/test_api_agency_matrix.py)
    ("POST", "/v1/reports/{entity_id}"): {
        "own shop S2": (post_json(f"/v1/reports/S2?source={P1}", PURPOSE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=FORBIDDEN)),
        "other party E-M2": (post_json(f"/v1/reports/E-M2?source={REG_SOURCE}", PURPOSE), row(
            anonymous=UNAUTHENTICATED, p1=FORBIDDEN, p2=FORBIDDEN, regulator=FORBIDDEN)),
    },
    ("GET", "/v1/health"): {
        "-": (get("/v1/health"), row(
            anonymous=ok(healthy), p1=ok(healthy), p2=ok(healthy), regulator=ok(healthy),
            bad_key=BAD_KEY_ON_PUBLIC_ROUTE)),
    },
}


WRITING_ROUTES = {("POST", "/v1/events"), ("POST", "/v1/parties/{entity_id}/reveal"), ("POST", "/v1/parties/lookup"),
                  ("POST", "/v1/orders/{order_id}/verdict"), ("POST", "/v1/review/{item}/decision"),
                  ("POST", "/v1/lists/{name}/overrides"), ("POST", "/v1/records/{record}/applications"),
                  ("POST", "/v1/applications/{application}/decision"), ("POST", "/v1/commitments")}


def cells(*, writing: bool) -> Iterator[Any]:
    for (method, path), objects in MATRIX.items():
        for obj, (request, expectations) in objects.items():
            if ((method, path) in WRITING_ROUTES or request.prepare is not None) != writing:
                continue
            for viewer in VIEWERS:
                expect = expectations[viewer]
                marks = [pytest.mark.xfail(strict=True, reason=expect.xfail)] if expect.xfail else []
                yield pytest.param(request, viewer, expect, id=f"{method} {path} [{obj}] {viewer}", marks=marks)


# --- the tests --------------------------------------------------------------------------------------

def v1_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route under /v1, read from the app itself (nested routers included)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before 0.137 flattened included routers into app.routes
        contexts: Any = app.routes
    else:
        contexts = iter_route_contexts(app.routes)
    found = set()
    for route in contexts:
        path = getattr(route, "path", None)
        if not path or not (path == "/v1" or path.startswith("/v1/")):
            continue
        methods = getattr(route, "methods", None) or {"*"}  # a mount or websocket under /v1 counts too
        found |= {(m, path) for m in methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_v1_route_is_in_the_matrix(app: Chengxin) -> None:
    routes = v1_routes(create_app(app))
    assert ("GET", PARTY) in routes and ("POST", "/v1/events") in routes  # the enumeration itself works
    missing = routes - MATRIX.keys()
    assert not missing, f"routes without an authorization matrix row (add them to MATRIX): {sorted(missing)}"
    stale = MATRIX.keys() - routes
    assert not stale, f"matrix rows for routes that no longer exist: {sorted(stale)}"
    for objects in MATRIX.values():
        for _, expectations in objects.values():
            assert set(expectations) == set(VIEWERS)


@pytest.mark.parametrize(("request_", "viewer", "expect"), list(cells(writing=False)))
def test_matrix(shared_env: Env, request_: Call, viewer: str, expect: Expect) -> None:
    check_cell(shared_env, request_, viewer, expect)


@pytest.mark.parametrize(("request_", "viewer", "expect"), list(cells(writing=True)))
def test_matrix_writes(env: Env, request_: Call, viewer: str, expect: Expect) -> None:
    check_cell(env, request_, viewer, expect)


def test_read_only_cells_leave_no_trace(shared_env: Env) -> None:
    """Runs after the read-only cells of its backend (same module fixture): they stored and journaled nothing."""
    with read_connection(shared_env.cx.engine) as conn:
        counts = [conn.execute(select(func.count()).select_from(table)).scalar_one()
                  for table in (t.events, t.credit_records, t.tree_heads, t.access_journal)]
    assert counts == [48, SAMPLE_TREE_SIZE, 3, 0]  # one head for the events' records, one per consequence


def check_cell(env: Env, request_: Call, viewer: str, expect: Expect) -> None:
    if request_.prepare is not None:
        request_.prepare(env)
    response = env.call(viewer, request_)
    assert response.status_code == expect.status, response.text
    body = response.json()
    if expect.status >= 400:
        assert body == {"error": ERROR_CODES[expect.status], "detail": body["detail"]}
        assert isinstance(body["detail"], str) and body["detail"]
    if expect.status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    for number in PLAIN_IDS:  # a resident ID number leaves the server only through a regulator's reveal
        if number != expect.reveals:
            assert number not in response.text
    if expect.check:
        expect.check(body, env, request_)
    assert len(env.journal()) == expect.journal


# --- the line limit -----------------------------------------------------------------------------------

@pytest.fixture
def small_env(settings: Settings) -> Iterator[Env]:
    """An empty node whose API takes at most 3 lines per request."""
    cx = bootstrap(settings.model_copy(update={"api_max_lines": 3}))
    try:
        with TestClient(create_app(cx)) as client:
            yield make_env(cx, client)
    finally:
        cx.engine.dispose()


@pytest.mark.parametrize(("viewer", "status"), [
    ("anonymous", 401), ("p1", 413), ("p2", 413), ("regulator", 413), ("revoked", 401), ("garbage", 401)])
def test_events_over_the_line_limit(small_env: Env, viewer: str, status: int) -> None:
    """Authentication comes first; then a body over `api_max_lines` is refused whole (413), nothing stored."""
    too_many = post_lines(*(event(P1, f"big-{i}") for i in range(4)))
    response = small_env.call(viewer, too_many)
    assert response.status_code == status
    assert response.json()["error"] == ERROR_CODES[status]
    at_limit = post_lines(*(event(REG_SOURCE if viewer == "regulator" else P1, f"ok-{i}") for i in range(3)))
    if viewer in ("p1", "regulator"):
        assert small_env.call(viewer, at_limit).json()["accepted"] == 3
    with read_connection(small_env.cx.engine) as conn:
        stored = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
    assert stored == (3 if viewer in ("p1", "regulator") else 0)


def test_blank_lines_do_not_count_against_the_line_limit(small_env: Env) -> None:
    call = Call("POST", "/v1/events", content=b"\n\n".join(
        json.dumps(event(P1, f"b-{i}")).encode() for i in range(3)) + b"\n\n\n")
    response = small_env.call("p1", call)
    assert response.status_code == 200 and response.json()["accepted"] == 3


# --- credentials: a bad key is never treated as anonymous --------------------------------------------

@pytest.mark.parametrize("headers", [
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-auth"),
    pytest.param({"Authorization": "Bearer"}, id="bearer-without-key"),
    pytest.param({"Authorization": "Token abc"}, id="other-scheme"),
    pytest.param({"X-API-Key": "not-a-key"}, id="x-api-key-garbage"),
])
def test_malformed_credentials_are_401(env: Env, headers: dict[str, str]) -> None:
    response = env.client.get(f"/v1/parties/U1?source={P1}", headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "not_authenticated"


def test_empty_x_api_key_header_is_401(env: Env) -> None:
    response = env.client.get(f"/v1/parties/U1?source={P1}", headers={"X-API-Key": ""})
    assert response.status_code == 401


def test_a_garbage_bearer_next_to_a_valid_x_api_key_is_401(env: Env) -> None:
    valid = env.headers["p2"]["X-API-Key"]
    response = env.client.get(f"/v1/parties/U1?source={P1}",
                              headers={"X-API-Key": valid, "Authorization": "Bearer cx_garbage"})
    assert response.status_code == 401


def test_scheme_is_case_insensitive_and_headers_are_equivalent(env: Env) -> None:
    secret = env.headers["p1"]["Authorization"].removeprefix("Bearer ")
    views = [env.client.get(f"/v1/parties/U1?source={P1}", headers=h).json() for h in (
        {"Authorization": f"Bearer {secret}"}, {"Authorization": f"bearer {secret}"}, {"X-API-Key": secret})]
    assert views[0] == views[1] == views[2] and views[0]["name"] == "张三"


def test_a_key_revoked_after_use_stops_working(env: Env) -> None:
    url = f"/v1/parties/U1?source={P1}"
    assert env.call("p1", get(url)).json()["name"] == "张三"
    keys.revoke_key(env.cx, env.key_ids["p1"])
    assert env.call("p1", get(url)).status_code == 401


# --- beyond the sample: cross-source linking and derived records ---------------------------------------

def registered_u1_at_p2() -> dict[str, Any]:
    """P2 reports a person with U1's resident ID number (any platform can do this)."""
    return {"specversion": "1.0", "id": "p2-1", "source": P2, "type": "cx.subject.registered",
            "time": "2026-04-01T09:00:00+08:00",
            "data": {"subject_id": "V9", "kind": "person", "name": "张三", "id_number": U1_ID, "region": "310104"}}


def test_registering_the_same_id_number_does_not_open_another_platforms_person(env: Env) -> None:
    assert env.call("p2", post_lines(registered_u1_at_p2())).json()["accepted"] == 1
    body = env.call("p2", get(f"/v1/parties/U1?source={P1}")).json()
    U1_PUBLIC(body, env, get(""))


def test_a_platforms_own_person_does_not_carry_other_platforms_records(env: Env) -> None:
    env.call("p2", post_lines(registered_u1_at_p2()))
    body = env.call("p2", get(f"/v1/parties/V9?source={P2}")).json()
    assert body["name"] == "张三"
    assert all(r["event"]["source"] == P2 for r in body["credit_records"]), event_ids(body["credit_records"])


def test_public_view_of_a_person_does_not_link_accounts_across_platforms(env: Env) -> None:
    env.call("p2", post_lines(registered_u1_at_p2()))
    body = env.call("anonymous", get(f"/v1/parties/U1?source={P1}")).json()
    assert "reports" not in body and "party_key" not in body


def courier_case() -> str:
    """A sanction on courier C1 (lifted) and a complaint against C1 (resolved): records #25..#28."""
    def ev(i: str, source: str, type_: str, data: dict[str, Any], time: str) -> str:
        return json.dumps({"specversion": "1.0", "id": i, "source": source, "type": type_, "time": time,
                           "data": data}, ensure_ascii=False)
    return "\n".join([
        ev("z-1", L1, "cx.sanction.imposed", {
            "sanction_id": "X9", "subject_id": "C1", "kind": "platform_measure", "authority": "示例速递有限公司",
            "decision_no": "L1-2026-9", "legal_basis": "服务协议", "category": "delivery"},
           "2026-04-01T09:00:00+08:00"),
        ev("z-2", L1, "cx.sanction.lifted", {"sanction_id": "X9", "reason": "expired"}, "2026-05-01T09:00:00+08:00"),
        ev("z-3", P1, "cx.complaint.filed", {"complaint_id": "CP9", "channel": "platform",
                                             "target_id": {"source": L1, "id": "C1"}, "category": "delivery"},
           "2026-04-02T09:00:00+08:00"),
        ev("z-4", P1, "cx.complaint.resolved", {"complaint_id": "CP9", "outcome": "upheld", "resolved_by": "PLAT"},
           "2026-05-02T09:00:00+08:00"),
    ])


@pytest.mark.parametrize(("index", "kind"), [
    pytest.param(25, "sanction", id="sanction-of-courier"),
    pytest.param(26, "sanction_lifted", id="sanction-lifted-of-courier"),
    pytest.param(27, "complaint", id="complaint-against-courier"),
    pytest.param(28, "complaint_outcome", id="complaint-outcome-about-courier"),
])
def test_records_about_a_natural_person_are_not_public_in_the_log(env: Env, index: int, kind: str) -> None:
    """The party view hides a courier's whole credit file from the public; the log must agree."""
    report = ingest_text(env.cx, courier_case())
    # the report's size includes the consequences the events drew: #29, the courier's sanction record expired;
    # #30, the courier on the (non-public) watch list: one upheld complaint over the one parcel it carried
    assert report.accepted == 4 and report.tree_size == SAMPLE_TREE_SIZE + 6
    assert env.call("regulator", get("/v1/log/records/29")).json()["record"]["kind"] == "record_expired"
    assert env.call("regulator", get("/v1/log/records/30")).json()["record"]["kind"] == "list_entered_private"
    for consequence in (29, 30):
        assert env.call("anonymous", get(f"/v1/log/records/{consequence}")).status_code == 404
    regulator_view = env.call("regulator", get(f"/v1/parties/C1?source={L1}")).json()
    assert {"z-1", "z-2", "z-3", "z-4"} <= event_ids(regulator_view["credit_records"])
    assert env.call("regulator", get(f"/v1/log/records/{index}")).json()["record"]["kind"] == kind
    assert env.call("anonymous", get(f"/v1/parties/C1?source={L1}")).json()["credit_records"] == []
    for viewer in ("anonymous", "p2"):
        assert env.call(viewer, get(f"/v1/log/records/{index}")).status_code == 404, (viewer, kind)


def test_a_shop_run_by_a_person_does_not_publish_the_persons_credit_file(env: Env) -> None:
    opened = {"specversion": "1.0", "id": "z-5", "source": P1, "type": "cx.shop.opened",
              "time": "2026-04-01T09:00:00+08:00",
              "data": {"shop_id": "S9", "operator_id": "U1", "name": "张三的小店", "url": "https://s9.shop.example",
                       "categories": ["daily_goods"]}}
    assert env.call("p1", post_lines(opened)).json()["accepted"] == 1
    response = env.call("anonymous", get(f"/v1/parties/S9?source={P1}"))
    body = response.json()
    assert body["operator"]["name"] == "张*"
    assert not [r for r in body["credit_records"] if (r["subject"]["source"], r["subject"]["id"]) == (P1, "U1")]
    assert "ric:" not in response.text
