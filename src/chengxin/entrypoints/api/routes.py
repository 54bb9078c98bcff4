"""The `/v1` HTTP API. Thin: parse, authorise (per object, in the services), call one service."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.entrypoints.api.deps import AppDep, ViewerDep, get_app, get_sequencer, get_viewer
from chengxin.entrypoints.api.openapi import NEEDS_KEY, errors
from chengxin.exc import Forbidden, InvalidInput, NotAuthenticated, PayloadTooLarge
from chengxin.services import (
    agency_search,
    credit_log,
    ingest,
    key_chain,
    keys,
    parties,
    records,
    review,
    scoring_failures,
    shop_search,
    standing,
    standing_views,
)
from chengxin.services.viewer import AGENCY, PLATFORM, PUBLIC, REGULATOR, Viewer

# Every /v1 route resolves the viewer, so a bad key is refused even on public routes (401), and a key is
# looked up in the database (503 when it cannot be reached).
router = APIRouter(prefix="/v1", dependencies=[Depends(get_viewer)], responses=errors(401, 503))


def json_response(body: Any) -> Response:
    """JSON straight from orjson: FastAPI's generic encoder costs more than the lookup on big credit files."""
    return Response(orjson.dumps(body), media_type="application/json")
SourceQ = Query(description="The reporting source, e.g. `urn:cx:platform:P1`.", min_length=1)


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
    conflicts: int
    rejected: int
    rejects: list[dict[str, Any]]
    conflict_details: list[dict[str, Any]]
    tree_size: int | None


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str = Field(min_length=3, max_length=200, description="Why the unmasked ID is needed (journaled).")


class VerdictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    verdict: Literal["fake", "genuine"] = Field(description=(
        "`fake`: the order was a fake transaction (刷单), its ratings' points are taken back; `genuine`: it was "
        "real after all (e.g. on appeal), the points count again."))
    reason: str = Field(min_length=3, max_length=500, description="Why (recorded with the verdict).")
    basis: str | None = Field(None, max_length=500, description="Case number, decision or evidence reference.")


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=15, max_length=18, description="Resident ID number (in the body, never the URL).")
    purpose: str = Field(min_length=3, max_length=200, description=(
        "Why the person is looked up (journaled with the parties found, never the number)."))


@router.post("/events", response_model=IngestResult, tags=["ingestion"], responses=errors(413), openapi_extra={
    **NEEDS_KEY,
    "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}})
async def post_events(request: Request, cx: AppDep, viewer: ViewerDep) -> Response:
    """Submit events-v1 JSON Lines (at most `CHENGXIN_API_MAX_LINES` lines and `CHENGXIN_API_MAX_BYTES`).

    The accepted lines of one request land in one transaction; bad lines are reported by line number.
    A platform key may only submit events whose `source` is its own; a regulator key those of its authority's
    source (`chengxin keys create --role regulator --source urn:cx:regulator:...`), or, bound to none, of any
    `urn:cx:regulator:` source: another line is rejected by line number, naming `source`.
    The body is read as JSON Lines whatever its `Content-Type` says."""
    return await ingest_events(request, cx, viewer)


async def post_events_plain(request: Request) -> Response:
    """`POST /v1/events` as a plain Starlette route, registered ahead of the FastAPI route above, which stays
    for the OpenAPI document: the same viewer, checks and answer without FastAPI's dependency solving and
    request wrapping, ~110 µs of server CPU per request here (`bench/profile_routes.py`), a tenth
    of a core at 1,000 single-event requests a second."""
    cx = await get_app(request)
    return await ingest_events(request, cx, await get_viewer(request, cx))


async def ingest_events(request: Request, cx: Chengxin, viewer: Viewer) -> Response:
    """Both routes' work: read the body, prepare its lines, hand them to the process's sequencer."""
    if viewer.role == PUBLIC:
        raise NotAuthenticated("submitting events needs a platform or regulator API key")
    body = await _read_body(request, cx.settings.api_max_bytes)
    # lines end at LF only, as in a file (`bytes.splitlines` also ends one at a lone CR, which JSON allows
    # as whitespace inside a line, and at other separators); `read_lines` drops a CR before the LF
    lines = list(ingest.read_lines("request", body.split(b"\n")))
    if len(lines) > cx.settings.api_max_lines:
        raise PayloadTooLarge(f"{len(lines)} lines; at most {cx.settings.api_max_lines} per request")
    # a few lines are prepared on the event loop (a thread hop costs more); a large batch in a thread
    prepared = keys.prepare_submission(cx, viewer, lines) if len(lines) <= 20 else \
        await run_in_threadpool(keys.prepare_submission, cx, viewer, lines)
    done = get_sequencer(request).submit(prepared, origin=f"api:{viewer.key_id}", actor=viewer.key_id or "?")
    # a Response skips FastAPI's validation and encoding of the answer (`IngestResult` documents it): per request
    return json_response((await asyncio.wrap_future(done)).as_dict())


async def _read_body(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# The bound of every numeric path and query parameter: a larger number is a 422 naming the parameter, not an
# overflow in the database driver (SQLite and PostgreSQL integers are 64-bit) answered as a bare 500.
MAX_INDEX = 2**62


@router.get("/parties/{entity_id}", tags=["parties"], responses=errors(404, 422))
def get_party(entity_id: str, cx: AppDep, viewer: ViewerDep, source: str = SourceQ,
              limit: int = Query(20, ge=1, le=200, description="Most credit records in one page."),
              before: int | None = Query(None, ge=0, le=MAX_INDEX, description=(
                  "Page cursor: only credit records with a log index below this; pass the previous page's "
                  "`credit_records_next_before`."))) -> Response:
    """A party or shop by its reporter's id: identity, licences, credit records (masked per viewer).

    Credit records come newest first, `limit` per page. The log is append-only, so pages are addressed by log
    index rather than by offset: `credit_records_next_before` is the `before` of the next, older page (null on
    the last page), and a page stays the same while new records arrive. `credit_records_total` counts the
    records of every page. A natural person's public view is minimised (masked name, kind, verification mark,
    province); a lifted sanction carries `lifted: {at, reason}`, and leaves the public view once its disclosure
    period ends or it is lifted as `repaired` or `revoked`. Each record carries its leaf (`leaf_version`,
    `event.hash`, `leaf_bytes`), to be checked with `/v1/log/records/{index}` (docs/credit-log.md)."""
    return json_response(parties.show(cx, source, entity_id, viewer, limit=limit, before=before))


@router.get("/parties", tags=["parties"], responses=errors(404, 422))
def find_by_uscc(cx: AppDep, viewer: ViewerDep,
                 uscc: str | None = Query(None, min_length=18, max_length=18, description=(
                     "Unified social credit code: every report of that party, in full as the viewer may see it.")),
                 name: str | None = Query(None, min_length=2, max_length=200, description=(
                     "Part of a registered name: the parties whose name holds it, in brief, a page at a time.")),
                 limit: int = Query(20, ge=1, le=100, description="With `name`: most parties in one page."),
                 offset: int = Query(0, ge=0, le=MAX_INDEX, description=(
                     "With `name`: how many to skip, the previous page's `next_offset`.")),
                 purpose: str | None = Query(None, min_length=3, max_length=200, description=(
                     "With `name`, for regulators: why, journaled with each natural person found (optional: "
                     "without it the journal says none was stated)."))) -> dict[str, Any]:
    """Parties by `uscc` or by `name` (one of the two).

    By `uscc`: every report of the party with this unified social credit code (`parties`, each a whole party
    view; 404 when there is none). By `name`: the reports whose registered name holds it, ordered by name,
    `limit` per page: `parties` [{source, id, name, kind, uscc, verified}], `total` (over every page) and
    `next_offset` (null on the last page); an empty page when none matches. Enterprises, individual
    businesses, platforms and logistics firms are found by anyone; natural persons (persons, couriers) by
    regulators only, each person a page returns journaled (`search_name`, with `purpose`)."""
    if (uscc is None) == (name is None):
        raise InvalidInput("uscc or name: give one of the two")
    if viewer.role == AGENCY:  # as the public gets it, journaled (services/agency_search.py)
        return agency_search.parties_by_name(cx, viewer, name, limit=limit, offset=offset) if name is not None \
            else {"parties": agency_search.parties_by_uscc(cx, viewer, str(uscc))}
    if name is not None:
        return shop_search.search_parties_by_name(cx, name, viewer, limit=limit, offset=offset, purpose=purpose)
    return {"parties": parties.find_by_uscc(cx, str(uscc), viewer)}


@router.post("/parties/lookup", tags=["parties"], responses=errors(404, 422), openapi_extra=NEEDS_KEY)
def find_by_id_number(body: LookupRequest, cx: AppDep, viewer: ViewerDep) -> dict[str, Any]:
    """Find a natural person by resident ID number (regulators; platforms see only their own reports), with a
    `purpose`: each lookup is journaled (`lookup_id_number`, one entry per party found, or one naming none),
    as a reveal is; the number itself never is."""
    if viewer.role not in (PLATFORM, REGULATOR):
        raise NotAuthenticated("looking up by ID number needs an API key")
    return {"parties": parties.find_by_id_number(cx, body.id_number, viewer, body.purpose)}


@router.post("/parties/{entity_id}/reveal", tags=["parties"], responses=errors(403, 404, 422),
             openapi_extra=NEEDS_KEY)
def reveal(entity_id: str, body: RevealRequest, cx: AppDep, viewer: ViewerDep, source: str = SourceQ) -> \
        dict[str, Any]:
    """The unmasked ID number of a natural person: regulators only, journaled with the purpose."""
    if viewer.role == PUBLIC:
        raise NotAuthenticated("needs a regulator API key")
    if viewer.role != REGULATOR:
        raise Forbidden("only a regulator may see an unmasked ID number")
    return {"id_number": parties.reveal_id_number(cx, source, entity_id, viewer, body.purpose)}


class JournalQuery(BaseModel):
    """The access journal's filters; any other query parameter is 422 (a `party` filter was silently ignored)."""

    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, min_length=1, max_length=500, description=(
        "With `party`: the party's reporting source, e.g. `urn:cx:platform:P1` (a platform: its own)."))
    party: str | None = Field(None, min_length=1, max_length=500, description=(
        "Entries about this party or shop (with `source`)."))
    linked: bool = Field(True, description=(
        "With `party`: its linked reports too (same `party_key`; a shop: its operator's) and the shops they run."))
    key: str | None = Field(None, min_length=1, max_length=64, description=(
        "Entries made with this key id (a platform: one of its own keys)."))
    action: str | None = Field(None, min_length=1, max_length=64, description=(
        "e.g. `agency_report`, `reveal_id_number`, `lookup_id_number`, `search_name`."))
    before: int | None = Field(None, ge=1, le=2**62, description="An entry id: older entries only.")
    limit: int = Field(100, ge=1, le=500)


@router.get("/access-journal", tags=["parties"], responses=errors(403, 422), openapi_extra=NEEDS_KEY)
def access_journal(cx: AppDep, viewer: ViewerDep, q: Annotated[JournalQuery, Query()]) -> dict[str, Any]:
    """Who read whose personal data or credit report (`reveal_id_number`, `lookup_id_number`, `search_name`,
    `agency_report`, ...), when, with which key (`by`: its holder's role and source) and for what purpose, newest
    first. A regulator reads every entry; a platform the credit agencies' queries about the parties it reports,
    and its own keys' entries, so it can answer its user (个人信息保护法 第四十四条、第四十五条; 上海市社会信用条例
    第三十四条), never another key's id nor a regulator's reads (docs/security.md). `party` is null for a lookup
    that found nothing."""
    if viewer.role == PUBLIC:
        raise NotAuthenticated("needs a regulator's or platform's API key")
    if (q.party is None) != (q.source is None):
        raise InvalidInput("party and source: give both (a party is named by its source and id) or neither")
    return parties.access_journal(cx, viewer, party=(q.source, q.party) if q.source and q.party else None,
                                  linked=q.linked, key=q.key, action=q.action, before=q.before, limit=q.limit)


@router.get("/parties/{entity_id}/ratings", tags=["standing"], responses=errors(403, 404, 422))
def get_ratings(entity_id: str, cx: AppDep, viewer: ViewerDep, source: str = SourceQ,
                limit: int = Query(50, ge=1, le=200, description="Most ratings, newest first.")) -> dict[str, Any]:
    """The newest ratings a shop (or subject) received, with what each counts toward its credit points and why.

    Each rating: `review` {source, id}, `score` (1-5), `at`, `points` (what it adds, after the pair rules),
    and `why` {code, en, zh}: `counted`, `pair_month_cap` (beyond ±6 a natural month between one buyer and one
    seller), `same_item_window` (the same item rated within 14 days), `follow_up`, `order_not_paid`,
    `order_not_completed`, `order_unknown`, `retracted_fake_order` (the order was confirmed fake) or
    `direction_without_points`. A merchant's ratings are its shops': ask for the shop. The ratings a natural
    person received are personal data: only the platform that reported the person and regulators see them."""
    view = parties.show(cx, source, entity_id, viewer, limit=1)  # 404 when unknown; who may see what
    # a natural person's file, hidden from this viewer (the minimal view has no reports); "no points" was the
    # test, and a courier or logistics firm, which earns no points, was refused to regulators too
    if view["entity"] == "party" and "reports" not in view:
        _forbid_unless_key(viewer, "the ratings of a natural person need the reporting platform's or a regulator's key")
        raise Forbidden("the ratings of a natural person are seen only by the platform that reported the person "
                        "and by regulators")
    return {"entity": view["entity"], "source": source, "id": entity_id,
            "ratings": standing_views.ledger_view(cx, (source, entity_id), limit=limit)}


@router.post("/orders/{order_id}/verdict", tags=["standing"], responses=errors(403, 404, 422),
             openapi_extra=NEEDS_KEY)
def post_verdict(order_id: str, body: VerdictRequest, cx: AppDep, viewer: ViewerDep, source: str = SourceQ) -> \
        dict[str, Any]:
    """Decide whether an order was fake: a regulator, or the platform that reported the order.

    The order's ratings are recounted at once: a `fake` verdict takes their credit points back (a
    `points_retracted` credit record for each rated shop or buyer whose points change), a later `genuine`
    verdict restores them (`points_restored`); the parties are rescored. Answers `order` {source, id},
    `verdict`, `decided_at` and `credit_records` (how many credit records the verdict added). Nothing else is
    punished here. `decided_by` in the records is the platform's source, or `regulator:<key id>`."""
    _forbid_unless_key(viewer, "a verdict needs a regulator's key or the reporting platform's key")
    if viewer.role != REGULATOR and not viewer.owns(source):
        raise Forbidden("only a regulator or the platform that reported the order may decide on it")
    decided_by = viewer.source if viewer.role == PLATFORM and viewer.source else f"{viewer.role}:{viewer.key_id}"
    return standing.set_order_verdict(cx, (source, order_id), body.verdict, decided_by, body.reason, body.basis)


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["confirm", "dismiss"] = Field(description=(
        "`confirm`: the finding is right: a public `confirmed` credit record for each business it names, and "
        "for a fake-order ring or an empty parcel the shop sent, its orders are recorded as fake (their "
        "ratings' points taken back); `dismiss`: the finding is wrong: a `dismissed` record (not public)."))
    reason: str = Field(min_length=3, max_length=500, description=(
        "Why (recorded; published with a confirmation, so no personal data)."))
    basis: str | None = Field(None, max_length=500, description="Legal or rule basis, case number.")


@router.get("/review", tags=["review"], responses=errors(422), openapi_extra=NEEDS_KEY)
def get_review(cx: AppDep, viewer: ViewerDep,
               status: Literal["open", "confirmed", "dismissed"] | None = Query(None, description=(
                   "Only items in this state (default: all).")),
               limit: int = Query(100, ge=1, le=500, description="Most items in one page."),
               after: int | None = Query(None, ge=0, le=MAX_INDEX, description=(
                   "Page cursor: only items with a higher id; pass the previous page's `next_after`.")),
               kind: str | None = Query(None, max_length=64, description="Only findings of this kind."),
               level: str | None = Query(None, max_length=64, description="Only roll-ups of this level."),
               min_score: float | None = Query(None, ge=0, le=1, description="Only items scored at least this."),
               party: str | None = Query(None, max_length=512, description=(
                   "Only items naming this party or shop (with `party_source`).")),
               party_source: str | None = Query(None, max_length=512)) -> Response:
    """The review queue of detection findings, oldest first: a regulator sees every item, a platform the items
    naming one of its own parties or orders. Filters for triage: `kind`, `level`, `min_score`, and a party or
    shop the item names (`party` with `party_source`).

    Each item: `id`, `kind`, `level` (of a roll-up: `shop`, `courier`, `carrier`; `order`), `score` (the
    machine's, 0-1), `status` (`open`, `confirmed`, `dismissed`), `parties` [{source, id, kind}] (whom its
    credit records are about; for a finding naming only orders, their shops), `orders`, `summary` (the evidence
    in brief), `evidence` (whole, as the detector gave it) and `evidence_sha256`, `run_id`, `finding_id`,
    `published_at`, and `decision` {decision, decided_by, decided_at, reason, basis, verdicts_at} once decided.
    Publishing an item appended a `suspected` credit record per party: not public, seen by regulators and by
    the platform that reported the party."""
    _forbid_unless_key(viewer, "the review queue needs a platform or regulator API key")
    if (party is None) != (party_source is None):
        raise InvalidInput("party and party_source: give both, or neither")
    return json_response(review.list_items(cx, viewer, status=status, limit=limit, after=after, kind=kind,
                                           level=level, min_score=min_score,
                                           party=(party_source, party) if party and party_source else None))


@router.post("/review/{item}/decision", tags=["review"], responses=errors(403, 404, 409, 422),
             openapi_extra=NEEDS_KEY)
def post_review_decision(body: DecisionRequest, cx: AppDep, viewer: ViewerDep,
                         item: int = Path(ge=1, le=MAX_INDEX, description="The review item's id.")) -> Response:
    """Confirm or dismiss a review item, once, with a reason: a regulator, or the platform that reported every
    party and order the item names. Nothing is punished on a machine score alone; this is the human decision.

    Confirming appends a `confirmed` credit record per party (public for businesses, with the reason, basis,
    who decided and the evidence in brief); for `fake_order_ring`, and `empty_parcel` other than a courier's
    or carrier's roll-up, each named order is recorded as fake (as `POST /v1/orders/{id}/verdict` does), so
    its ratings stop counting and the points taken back become `points_retracted` records. Dismissing appends
    a `dismissed` record per party (not public). Answers the decided `item`, `credit_records` (how many the
    decision added), `order_verdicts`, `orders_missing`, `orders_held_genuine` (found genuine by a regulator
    meanwhile: that verdict stands) and `standing` [{source, id, kind, before, after}] (credit points, score
    and grade). An item not visible to the caller is 404; one it may see but not decide 403; an item already
    decided, or a platform's confirmation finding fake an order a regulator found genuine, 409 `conflict`."""
    _forbid_unless_key(viewer, "a review decision needs a regulator's key or the reporting platform's key")
    return json_response(review.decide(cx, item, body.decision, viewer, body.reason, body.basis))


def _forbid_unless_key(viewer: Viewer, why: str) -> None:
    if viewer.role == PUBLIC:
        raise NotAuthenticated(why)


_GROUPING = re.compile(r"[\s\-\u2010-\u2014]")  # spaces and hyphens (dashes) a code is written in groups with


def shop_query(q: str) -> str:
    """A search as the services take it: a USCC written in groups, with spaces or hyphens, full-width or in lower
    case ("9131 0000 MA1K 3R5T 2F", "91310000-MA1K3R5T2F") as its 18 characters, upper-case; any other query
    as typed. The length was tested before the spaces and hyphens were dropped, so such a code found nothing
    (found by review). The portal's search (entrypoints/web/routes.py) uses it too."""
    code = _GROUPING.sub("", unicodedata.normalize("NFKC", q)).upper()
    # a USCC's 3rd to 8th characters are its region code, all digits: a name of 18 letters is not taken for one
    return code if len(code) == 18 and code.isascii() and code.isalnum() and code[2:8].isdigit() else q.strip()


class ShopPage(BaseModel):
    shops: list[dict[str, Any]] = Field(description=(
        "Each shop: `source`, `id`, `name`, `url`, `closed_at`, its operator's public `lists` and `grade`."))
    total: int = Field(description="How many shops the query finds, over every page.")
    next_offset: int | None = Field(description="The `offset` of the next page; null on the last.")


@router.get("/shops", tags=["parties"], response_model=ShopPage, responses=errors(422))
def search(cx: AppDep, viewer: ViewerDep, q: str = Query(min_length=1, max_length=200, description=(
               "Shop name, shop URL (an item link too), or the operator's registered name or USCC.")),
           limit: int = Query(20, ge=1, le=100, description="Most shops in one page."),
           offset: int = Query(0, ge=0, le=MAX_INDEX, description=(
               "How many shops to skip: the previous page's `next_offset`."))) -> Response:
    """Public credit query: shops by name, shop URL (a link to a page of the shop finds it: host and leading path
    match, whatever the query string, fragment, case or port), the operator's registered name (a business's,
    never a natural person's) or the operator's USCC (also written in groups with spaces or hyphens), ordered by
    name, `limit` per page. `total` counts every shop found; `next_offset` is the
    `offset` of the next page (null on the last)."""
    if viewer.role == AGENCY:  # as the public gets it, journaled (services/agency_search.py)
        return json_response(agency_search.shops(cx, viewer, shop_query(q), limit=limit, offset=offset))
    return json_response(shop_search.search_page(cx, shop_query(q), limit=limit, offset=offset))


@router.get("/log/head", tags=["credit log"])
def log_head(cx: AppDep) -> dict[str, Any]:
    """The latest signed tree head of the credit log, with the public key of the key that signed it (the key
    chain, for heads signed before a rotation: `GET /v1/log/keys`)."""
    with read_connection(cx.engine) as conn:
        head = credit_log.latest_head(conn)
        signers = key_chain.public_keys(conn, cx.keys)
    if head is None:
        return {"size": 0, "public_key": cx.keys.public_key_b64(), "algorithm": "Ed25519"}
    return {**key_chain.served_head(head.as_dict(cx.settings.log_origin), signers), "algorithm": "Ed25519"}


@router.get("/log/heads", tags=["credit log"], responses=errors(422))
def log_heads(cx: AppDep, before: int | None = Query(None, ge=1, le=MAX_INDEX, description=(
                  "Page cursor: only heads of a smaller size; pass the previous page's `next_before`.")),
              limit: int = Query(100, ge=1, le=1000, description="Most heads in one page.")) -> dict[str, Any]:
    """Every signed tree head of the credit log, newest (largest) first, `limit` per page, each as
    `GET /v1/log/head` serves one (`origin`, `size`, `root`, `signed_at`, `key_id`, `signature`, `note`,
    `public_key` of its own key), with the node's current public key. An auditor who saved no head earlier picks
    one here, checks its signature, and asks `GET /v1/log/consistency` for a proof from it to a later one."""
    with read_connection(cx.engine) as conn:
        found, next_before = credit_log.heads(conn, before=before, limit=limit)
        signers = key_chain.public_keys(conn, cx.keys)
    return {"heads": [key_chain.served_head(h.as_dict(cx.settings.log_origin), signers) for h in found],
            "next_before": next_before, "public_key": cx.keys.public_key_b64(), "algorithm": "Ed25519"}


@router.get("/log/records/{index}", tags=["credit log"], responses=errors(404, 422))
def log_record(cx: AppDep, viewer: ViewerDep, index: int = Path(ge=0, le=MAX_INDEX, description="Log index."),
               size: int | None = Query(None, ge=1, le=MAX_INDEX, description=(
                   "Tree size to prove against (default latest)."))) -> dict[str, Any]:
    """One credit record with its inclusion proof against a signed tree head (if the viewer may see it).

    The record carries its leaf: every field the leaf covers (`leaf_version`, `event.hash`) and its exact bytes
    (`leaf_bytes`, base64; encoding in docs/credit-log.md). `checks` says what the server verified before
    answering: that the leaf recomputed from the record folds with the proof to the signed root (`inclusion`;
    false for a record edited since it was logged) and the Ed25519 signature over the head's note
    (`signature`)."""
    return records.record_with_proof(cx, index, viewer, size)


@router.get("/log/consistency", tags=["credit log"], responses=errors(404, 422))
def log_consistency(cx: AppDep, first: int = Query(ge=1, le=MAX_INDEX), second: int = Query(ge=1, le=MAX_INDEX)) -> \
        dict[str, Any]:
    """Proof that the signed tree of size `first` is a prefix of the one of size `second` (RFC 9162 §2.1.4),
    with both signed heads (`first_head`, `second_head`, as `GET /v1/log/head` serves one) and the public key
    that verifies them: check each head's signature over its `note`, then the proof from `first_head.root` to
    `second_head.root`. The sizes are those of signed heads: `GET /v1/log/heads` lists them."""
    if first > second:
        raise InvalidInput("first must not exceed second")
    with read_connection(cx.engine) as conn:
        proof = credit_log.consistency(conn, first, second, cx.settings.log_origin)
        signers = key_chain.public_keys(conn, cx.keys)
    heads = {name: key_chain.served_head(proof[name], signers) for name in ("first_head", "second_head")}
    return {**proof, **heads, "public_key": cx.keys.public_key_b64(), "algorithm": "Ed25519"}


@router.get("/log/keys", tags=["credit log"])
def log_keys(cx: AppDep) -> dict[str, Any]:
    """The credit log's key chain: every key that has signed its heads (`key_id`, `public_key`, the sizes it
    signs: `from_size`..`until_size`, null for the current key), and for each key after the first its rotation
    (`statement`, signed by the key before it, `endorsement`, and by itself, `acceptance`; `log_index`: the
    statement's record in the log). A verifier elsewhere checks the chain from a first key it trusts, then each
    head with the key in force at its size (docs/credit-log.md, "Rotating the signing key")."""
    with read_connection(cx.engine) as conn:
        return key_chain.chain_view(conn, cx.keys, cx.settings.log_origin)


@router.get("/health", tags=["operations"])
def health(cx: AppDep) -> dict[str, Any]:
    """Liveness, the log size, and how many scoring marks are parked after failing (`chengxin scoring parked`;
    cheap, for load balancers and monitoring)."""
    with read_connection(cx.engine) as conn:
        head = credit_log.latest_head(conn)
        parked = scoring_failures.count(conn)
    return {"status": "ok", "tree_size": head.size if head else 0, "scoring_parked": parked}
