"""Credit records: the facts that bear on a party's credit, as entries of the tamper-evident log.

Pure. `records_for(event, facts)` says which records an accepted event adds; `leaf_bytes` is the exact
byte string the Merkle log hashes for a record, so the auditor can recompute every leaf from storage.
Leaves carry pseudonyms and hashes, never raw personal data (a log cannot forget; reliability.md §2): free
text people write is logged with its phone, resident ID and bank card numbers masked (`logged_payload`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from chengxin.domain.events import Event, Ref, canonical
from chengxin.domain.projection import Fact
from chengxin.domain.redact import redact_tree

LEAF_VERSION = 1

# Payload fields people write: a decision's reason and basis, a sanction's authority, decision number and legal
# basis, a list entry's reason (an override's is free text).
FREE_TEXT = frozenset({"reason", "basis", "authority", "decision_no", "legal_basis", "grounds", "text"})


@dataclass(frozen=True, slots=True)
class CreditRecord:
    """One credit fact about an entity (`subject_kind`: subject, shop, party, complaint or sanction)."""

    kind: str
    subject_kind: str
    subject: Ref
    event: Ref
    at: str
    payload: Mapping[str, Any] = field(default_factory=dict)


def leaf_bytes(index: int, record: CreditRecord, event_hash: str) -> bytes:
    """The log entry for record number `index` (its position is inside the leaf, so rows cannot be swapped)."""
    return canonical({
        "v": LEAF_VERSION,
        "i": index,
        "kind": record.kind,
        "subject": [record.subject_kind, record.subject[0], record.subject[1]],
        "event": [record.event[0], record.event[1], event_hash],
        "at": record.at,
        "payload": record.payload,
    })


LogEntry = tuple[bytes, bytes, tuple[Any, ...]]  # (leaf head, leaf tail, the record's stored columns): see log_entry


def log_entry(record: CreditRecord, event_hash: str) -> LogEntry:
    """A record ready to append at any index: its leaf split around the index (`join_leaf`), and the columns
    stored beside it (kind, subject kind, subject, event, event hash, at, payload JSON). A bulk load builds
    these off the storing thread, which then only joins, hashes and inserts."""
    payload = logged_payload(record.payload)
    head = canonical({"at": record.at, "event": [record.event[0], record.event[1], event_hash]})
    tail = canonical({"kind": record.kind, "payload": payload,
                      "subject": [record.subject_kind, record.subject[0], record.subject[1]], "v": LEAF_VERSION})
    stored = (record.kind, record.subject_kind, record.subject[0], record.subject[1], record.event[0],
              record.event[1], event_hash, record.at, canonical(payload).decode())
    return head[:-1] + b',"i":', b"," + tail[1:], stored


def logged_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What the log keeps of a record's payload: its free text (`FREE_TEXT`) with personal numbers masked
    (`domain/redact.py`). Masking only on display was not enough: a leaf's hash is public (it is a sibling in
    every neighbour's inclusion proof), and a phone number masked as 139****1234 was recovered from it in
    0.1 s by hashing the 10^4 leaves it could be (found by review). The whole text stays with whoever wrote
    it: the raw event the record cites, or the review decision or list override behind it."""
    return {k: redact_tree(v) if k in FREE_TEXT else v for k, v in payload.items()}


def join_leaf(index: int, head: bytes, tail: bytes) -> bytes:
    """`leaf_bytes(index, ...)` from a `log_entry`'s halves: canonical JSON sorts "i" between "event" and
    "kind", so the index sits between them (tests/unit/test_credit.py checks the two agree)."""
    return b"%s%d%s" % (head, index, tail)


def records_for(event: Event, facts: list[Fact]) -> list[CreditRecord]:
    """The credit records an accepted event adds (none for pure trade data such as scans)."""
    build = _BUILDERS.get(event.type)
    return [build(event, facts)] if build else []


def _record(e: Event, kind: str, subject_kind: str, subject: Ref | None, **payload: Any) -> CreditRecord:
    assert subject is not None
    clean = {k: v for k, v in payload.items() if v is not None}
    return CreditRecord(kind, subject_kind, subject, (e.source, e.id), e.at, clean)


def _identity(e: Event, facts: list[Fact]) -> CreditRecord:
    row = facts[0].values
    return _record(
        e, "identity", "subject", (e.source, e.data["subject_id"]), party=row["party_key"],
        scheme=row["identity_scheme"], valid=row["identity_valid"], reason=row["identity_reason"],
        verified=row["verified_at"] is not None, party_kind=e.data["kind"],
    )


def _licence(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    v = facts[0].values
    return _record(e, "licence", "subject", e.ref("subject_id"), licence_type=d["licence_type"],
                   number=d["number"], valid_from=v["valid_from"], valid_until=v["valid_until"])


_RATING_TARGET = {"buyer_to_seller": "shop", "seller_to_buyer": "subject", "buyer_to_carrier": "subject"}


def _rating(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    order = e.ref("order_id")
    follows = e.ref("follows")
    return _record(e, "rating", _RATING_TARGET[d["direction"]], e.ref("target_id"), direction=d["direction"],
                   score=d["score"], order=list(order) if order else None,
                   follows=list(follows) if follows else None)


def _complaint(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    order = e.ref("order_id")
    return _record(e, "complaint", "party", e.ref("target_id"), channel=d["channel"], category=d["category"],
                   order=list(order) if order else None)


def _complaint_outcome(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    by = e.ref("resolved_by")  # who decided: a platform, a hotline or a regulator
    return _record(e, "complaint_outcome", "complaint", e.ref("complaint_id"), outcome=d["outcome"],
                   compensation=d.get("compensation"), resolved_by=list(by) if by else None,
                   **({"currency": d["currency"]} if d.get("currency") else {}))


def _commitment(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    clauses = canonical(d["clauses"])
    return _record(e, "commitment", "subject", e.ref("subject_id"), template=d["template"],
                   clauses=len(d["clauses"]), clauses_sha256=sha256(clauses).hexdigest(),
                   valid_until=facts[0].values["valid_until"])


def _sanction(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    return _record(e, "sanction", "subject", e.ref("subject_id"), sanction_kind=d["kind"],
                   authority=d["authority"], decision_no=d["decision_no"], legal_basis=d["legal_basis"],
                   category=d["category"], disclose_until=facts[0].values["disclose_until"])


def _sanction_lifted(e: Event, facts: list[Fact]) -> CreditRecord:
    return _record(e, "sanction_lifted", "sanction", e.ref("sanction_id"), reason=e.data["reason"])


def _inspection(e: Event, facts: list[Fact]) -> CreditRecord:
    d = e.data
    return _record(e, "inspection", "subject", e.ref("subject_id"), authority=d["authority"], result=d["result"])


_BUILDERS = {
    "cx.subject.registered": _identity,
    "cx.licence.published": _licence,
    "cx.review.posted": _rating,
    "cx.complaint.filed": _complaint,
    "cx.complaint.resolved": _complaint_outcome,
    "cx.commitment.published": _commitment,
    "cx.sanction.imposed": _sanction,
    "cx.sanction.lifted": _sanction_lifted,
    "cx.inspection.recorded": _inspection,
}
