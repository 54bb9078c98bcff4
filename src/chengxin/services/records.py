"""One credit record with its inclusion proof, shown only to viewers who may see it.

The server checks the record itself into the signed root before it serves it: the leaf is recomputed from
the record's columns (never taken from the stored leaf hash), so a record edited in the database is served
with `checks.inclusion` false. It also checks the Ed25519 signature over the tree head's note. A browser or
auditor can repeat both checks from what is served (docs/credit-log.md "Checking a record").
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection
from chengxin.bootstrap import Chengxin
from chengxin.domain import merkle
from chengxin.domain.vocabulary import source_kind
from chengxin.exc import NotFound
from chengxin.services import credit_file, credit_log, key_chain
from chengxin.services.credit_file import (
    PUBLIC_KINDS,
    SANCTION_KINDS,
    SanctionState,
    public_record,
    record_view,
    sanction_state_of,
)
from chengxin.services.parties import NATURAL_PERSONS
from chengxin.services.viewer import Viewer

log = logging.getLogger("chengxin.records")

HOW_TO_VERIFY = ("leaf = SHA-256(0x00 || base64-decoded record.leaf_bytes), whose JSON must equal the record's "
                 "fields (docs/credit-log.md, Leaves); fold the proof per RFC 9162 §2.1.3.2 and compare with the "
                 "signed root; check the Ed25519 signature over the note with a key you got out of band. A record "
                 "served with `masked` fields has no leaf_bytes (docs/security.md): proof.leaf_hash, the hash of "
                 "its logged leaf, folds to the signed root, and the server checked the record against that leaf.")


def record_with_proof(cx: Chengxin, index: int, viewer: Viewer, size: int | None = None) -> dict[str, Any]:
    """The record, the signed tree head it is proven against, the proof, and `checks`: whether the leaf
    recomputed from the record leads to the signed root (`inclusion`) and whether the head's Ed25519
    signature verifies with the key it names, from the log's key chain (`signature`; `GET /v1/log/keys`: a head
    signed before a rotation verifies with the key of then). The proof's `leaf_hash` is the served record's;
    stored nodes that do not prove even the stored leaf are an integrity error.

    A viewer who does not read the record whole (`_in_full`) gets it as the public credit file shows it
    (`credit_file.public_record`): who decided as a role, personal numbers in free text masked, and then no
    `leaf_bytes`, whose logged text holds them; `proof.leaf_hash` stays the logged leaf's hash."""
    with read_connection(cx.engine) as conn:
        row = conn.execute(select(t.credit_records).where(t.credit_records.c.idx == index)).first()
        if row is None:
            raise NotFound(f"no credit record {index} visible to you")
        sanction = sanction_state_of(conn, row) if row.kind in SANCTION_KINDS else None
        if not _visible(conn, row, viewer) or (sanction and not _sees_sanction(row, sanction, viewer)) or \
                _withdrawn(conn, row, viewer):
            raise NotFound(f"no credit record {index} visible to you")
        proof = credit_log.inclusion(conn, cx.keys, index, size)
        head = credit_log.head_at(conn, proof["tree_size"])
        signer = key_chain.public_keys(conn, cx.keys)  # a head signed before a rotation: its own key's
    record = record_view(row, sanction)
    leaf = merkle.leaf_hash(base64.b64decode(record["leaf_bytes"]))
    included = _proves(leaf, proof, head.root)
    if not _in_full(row, viewer):
        record = public_record(record)  # as in the credit file: masked, and then without its leaf bytes
    tree_head = key_chain.served_head(head.as_dict(cx.settings.log_origin), signer)
    signed = key_chain.verify(signer.get(head.key_id, b""), head.signature, tree_head["note"].encode())
    return {"record": record, "proof": {**proof, "leaf_hash": base64.b64encode(leaf).decode()},
            "tree_head": tree_head, "checks": {"inclusion": included, "signature": signed},
            "how_to_verify": HOW_TO_VERIFY}


def source_names(cx: Chengxin, sources: Iterable[str]) -> dict[str, str]:
    """The name each reporting source registered for itself (a platform's own `platform` subject, a logistics
    firm's `logistics` one), for the sources that have one: how a page names who decided."""
    wanted = sorted({s for s in sources if source_kind(s) in _SELF_KINDS})
    if not wanted:
        return {}
    s = t.subjects.c
    with read_connection(cx.engine) as conn:
        rows = conn.execute(select(s.source, s.kind, s.name).where(s.source.in_(wanted), s.kind.in_(_SELF_KINDS))
                            .order_by(s.registered_at, s.subject_id))
        names: dict[str, str] = {}
        for r in rows:
            if r.kind == source_kind(r.source):
                names.setdefault(r.source, r.name)
    return names


_SELF_KINDS = ("platform", "logistics")


def _in_full(row: Any, viewer: Viewer) -> bool:
    """Whether the viewer reads the record whole, as logged: a regulator, and the platform that reported its
    subject or its event. Everyone else reads it as the public does (`credit_file.public_record`)."""
    return viewer.may_reveal_pii or viewer.sees_full(row.subject_source) or viewer.owns(row.event_source)


def _proves(leaf: bytes, proof: dict[str, Any], root: bytes) -> bool:
    """Whether the record's own leaf folds to the signed root. False means the record's columns were edited
    after it was logged: it is still served, marked, so the page shows what is wrong rather than hiding it."""
    try:
        merkle.verify_inclusion(leaf, proof["index"], proof["tree_size"],
                                [base64.b64decode(p) for p in proof["proof"]], root)
    except merkle.ProofError:
        log.error("credit record does not match its logged leaf; run `chengxin audit verify`",
                  extra={"index": proof["index"], "tree_size": proof["tree_size"]})
        return False
    return True


def _visible(conn: Connection, row: Any, viewer: Viewer) -> bool:
    if viewer.may_reveal_pii or viewer.sees_full(row.subject_source):
        return True
    if row.kind not in PUBLIC_KINDS:
        return False
    return not _about_natural_person(conn, row.subject_kind, row.subject_source, row.subject_id)


def _withdrawn(conn: Connection, row: Any, viewer: Viewer) -> bool:
    """A repaired, expired or overturned record (or an ended list entry) is withdrawn from the public; the
    regulator and the platforms that reported or decided it still see it."""
    if viewer.may_reveal_pii or viewer.owns(row.subject_source) or viewer.owns(row.event_source):
        return False
    return row.idx in credit_file.withdrawn_records(conn, [(row.subject_source, row.subject_id)])


def _sees_sanction(row: Any, sanction: SanctionState, viewer: Viewer) -> bool:
    """A withdrawn sanction (and its lifting) stays visible to regulators and to the platform that reported
    it or its subject, not to the public (市场监督管理行政处罚信息公示规定 art. 11, 13, 14; see
    domain/disclosure.py)."""
    if viewer.may_reveal_pii or viewer.owns(row.subject_source) or viewer.owns(row.event_source):
        return True
    return sanction.public(credit_file.today())


def _about_natural_person(conn: Connection, kind: str, source: str, entity_id: str) -> bool:
    """Follow a record's subject to the party it is about (complaint → target, sanction → subject,
    shop → operator) and say whether that party is a natural person."""
    if kind == "complaint":
        target = conn.execute(select(t.complaints.c.target_source, t.complaints.c.target_id).where(
            t.complaints.c.source == source, t.complaints.c.complaint_id == entity_id)).first()
        return target is None or _about_natural_person(conn, "party", *target)
    if kind == "sanction":
        target = conn.execute(select(t.sanctions.c.subject_source, t.sanctions.c.subject_id).where(
            t.sanctions.c.source == source, t.sanctions.c.sanction_id == entity_id)).first()
        return target is None or _about_natural_person(conn, "subject", *target)
    if kind in ("shop", "party"):
        shop = conn.execute(select(t.shops.c.operator_source, t.shops.c.operator_id).where(
            t.shops.c.source == source, t.shops.c.shop_id == entity_id)).first()
        if shop is not None:
            return _about_natural_person(conn, "subject", *shop)
    subject_kind = conn.execute(select(t.subjects.c.kind).where(
        t.subjects.c.source == source, t.subjects.c.subject_id == entity_id)).scalar()
    return subject_kind is None or subject_kind in NATURAL_PERSONS
