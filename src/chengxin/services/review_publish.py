"""Publishing detection findings to the review queue (`review.publish`): one item per suspicion, grown as
later runs find more of it.

A *suspicion* is what a finding is about, not the evidence it has so far: its kind, level and subject. The
subject is the parties and products it names (a ring's: its shops; a payment fraud's: the payer account;
a finding naming neither: its orders). Keyed by the whole evidence set, a shop's roll-up that gained one
order became a new item each run: a dismissed suspicion came back, and confirming the same act three times
left three serious records (repeat offender, no repair); keyed without products, a shop's second fake
discount was never queued (both found by review). So, per finding:

- a suspicion not seen before becomes an open item, with a `suspected` record per party;
- one whose newest item is still open grows it: the new parties and orders are added to that item (a
  `suspected` record for each new party), and the item shows the newest finding's evidence;
- one whose newest item was decided, with orders or parties none of its items named, becomes a new item
  that `follows` the decided one and names the subject and only what is new; nothing new: already queued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, update

from chengxin.adapters.db import findings as fd
from chengxin.adapters.db import review_tables as rt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import write_transaction
from chengxin.adapters.db.query import pair_in
from chengxin.bootstrap import Chengxin
from chengxin.domain import acts
from chengxin.domain.credit import CreditRecord
from chengxin.domain.events import canonical
from chengxin.domain.quality import Finding
from chengxin.services import credit_log

Ref = tuple[str, str]
_CHUNK = 200  # pairs per OR-list query


# --- pure ----------------------------------------------------------------------------------------------------
def suspicion_of(f: Finding) -> str:
    """What makes two findings the same suspicion: kind, level and subject (see the module)."""
    level = f.evidence.get("level")
    level = ONE_ORDER.get(level, level) if isinstance(level, str) else None
    body = {"kind": f.kind, "level": level, "subject": _subject(f)}
    return hashlib.sha256(canonical(body)).hexdigest()


# One parcel's suspicion whoever it turns out to be about: live detection (no roll-ups) files it against the
# shop; the next full run may find a courier's or carrier's roll-up explains it (`order_delivery`).
ONE_ORDER = {"order_delivery": "order"}


def _subject(f: Finding) -> list[Any]:
    if f.kind == "fake_order_ring" and isinstance(shops := f.evidence.get("shop_refs"), list) and shops:
        return sorted(["shop", s.get("source"), s.get("id")] for s in shops if isinstance(s, dict))
    if f.kind == "payment_fraud" and isinstance(account := f.evidence.get("payer_account"), str):
        return [["payer_account", account]]
    if f.kind == "empty_parcel" and f.evidence.get("level") in ("order", *ONE_ORDER):
        return sorted(["order", *r] for r in f.refs("orders"))
    named = [["party", *r] for r in f.refs("parties")] + [["product", *r] for r in subject_products(f)]
    return sorted(named) or sorted(["order", *r] for r in f.refs("orders"))


def subject_products(f: Finding) -> tuple[Ref, ...]:
    """The products a finding is about: a fake discount's product. A shop's not-as-described or fake-traffic
    finding names its products as evidence, which changes from run to run: in the suspicion, one more made a
    new item of the same shop (found by review)."""
    return f.refs("products") if f.kind in PRODUCT_KINDS else ()


PRODUCT_KINDS = frozenset({"price_fraud"})


def summarise(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence in brief, for a credit record: the level, the top-level figures and which tells fired
    (with their counts in a roll-up). No references, regions, tracking numbers or texts: the log cannot
    forget, and the whole evidence stays with the finding, named by its digest."""
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        if (key == "level" and isinstance(value, str)) or isinstance(value, bool | int | float):
            out[key] = value
        elif key == "tells" and isinstance(value, Mapping):
            out["tells"] = {name: x if isinstance(x, int | float) and not isinstance(x, bool) else True
                            for name, x in value.items()}
    return out


def evidence_sha256(evidence: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(dict(evidence))).hexdigest()


def finding_payload(item_id: int, kind: str, score: float | None, digest: str, run_id: str, orders: int,
                    summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"item": item_id, "finding_kind": kind, "score": score, "evidence_sha256": digest, "run_id": run_id,
            "orders": orders, "summary": dict(summary)}


@dataclass
class _Known:
    """The newest item of a suspicion, and everything its items named."""

    item_id: int
    status: str
    level: str | None = None
    finding_id: int | None = None
    parties: set[Ref] = field(default_factory=set)
    orders: set[Ref] = field(default_factory=set)
    products: set[Ref] = field(default_factory=set)


# --- publishing -----------------------------------------------------------------------------------------------
def publish(app: Chengxin, now: str, run_id: str | None = None) -> dict[str, Any]:
    """Queue a run's findings (default: each detector's newest run) in one transaction; returns the counts."""
    with write_transaction(app.engine) as conn:
        return publish_in(conn, app, now, run_id)


def publish_in(conn: Connection, app: Chengxin, now: str, run_id: str | None = None) -> dict[str, Any]:
    """`publish` in the caller's durable write transaction: live detection stores a run's findings and
    publishes them in one, so that no crash between the two leaves them stored and never queued for review
    (found by review)."""
    done = {"findings": 0, "published": 0, "grown": 0, "already_queued": 0, "about_no_one": 0,
            "credit_records": 0}
    stored = fd.read_findings(conn, run_id=run_id)
    done["findings"] = len(stored)
    keys = {s.id: suspicion_of(s.finding) for s in stored}
    known = _known(conn, list(dict.fromkeys(keys.values())))
    shops = _existing_shops(conn, [r for s in stored for r in s.finding.refs("parties")])
    shop_of = _shops_of_orders(conn, [r for s in stored if not s.finding.refs("parties")
                                      for r in s.finding.refs("orders")])
    records: list[tuple[CreditRecord, str]] = []
    for s in stored:
        parties = [(r, "shop" if r in shops else "subject") for r in dict.fromkeys(s.finding.refs("parties"))] \
            or [(r, "shop") for r in dict.fromkeys(shop_of[o] for o in s.finding.refs("orders") if o in shop_of)]
        outcome, added = _queue(conn, s, keys[s.id], known, parties, now)
        done[outcome] += 1
        records += added
    if records:
        credit_log.append(conn, app.keys, app.settings.log_origin, records)
    done["credit_records"] = len(records)
    return {"runs": sorted({s.run_id for s in stored}), **done}


def _queue(conn: Connection, s: fd.StoredFinding, key: str, known: dict[str, _Known],
           parties: list[tuple[Ref, str]], now: str) -> tuple[str, list[tuple[CreditRecord, str]]]:
    """One finding: a new item, a grown one, a follow-up of a decided one, or nothing (see the module)."""
    f = s.finding
    orders, products = list(dict.fromkeys(f.refs("orders"))), list(dict.fromkeys(subject_products(f)))
    if not parties and not orders:
        return "about_no_one", []
    was = known.get(key)
    if was is not None and was.level in ONE_ORDER and f.evidence.get("level") not in ONE_ORDER:
        return "already_queued", []  # a parcel a roll-up explained stays the courier's or carrier's (a live
        # read, without roll-ups, named the shop again; a roll-up at its threshold flipped it every run)
    if was is not None:
        new_parties = [(r, k) for r, k in parties if r not in was.parties]
        orders = [o for o in orders if o not in was.orders]
        products = [p for p in products if p not in was.products]
        if not (new_parties or orders or products or _again(conn, was, f)):
            return "already_queued", []
        if was.status == "open":
            if f.evidence.get("level") in ONE_ORDER and was.level not in ONE_ORDER:
                _reattribute(conn, was, parties)
            _remember(was, new_parties, orders, products)
            was.finding_id = s.id  # the item now shows this finding
            return "grown", _grow(conn, s, was.item_id, new_parties, orders, products)
    if was is not None:  # a follow-up of a decided item: its subject and what is new
        subject = {(x[1], x[2]) for x in _subject(f) if x[0] in ("party", "shop")}
        parties = [(r, k) for r, k in parties if r in subject or r not in was.parties]
        orders += [(x[1], x[2]) for x in _subject(f) if x[0] == "order" and (x[1], x[2]) not in orders]
        products += [p for p in subject_products(f) if p not in products]
    item_id = _insert_item(conn, s, key, was.item_id if was else None, now)
    level = f.evidence.get("level")
    known[key] = _remember(_Known(item_id, "open", level if isinstance(level, str) else None, s.id,
                                  *((was.parties, was.orders, was.products) if was else ())), parties, orders, products)
    _add_subjects(conn, item_id, parties, orders, products)
    return "published", _suspected_records(item_id, s, parties, orders, now)


def _again(conn: Connection, was: _Known, f: Finding) -> bool:
    """Whether the finding shows an act that began after those of the item's own finding: the same subject did
    it again (a new burst of fake traffic, a new fake discount). A decided shop-level suspicion without orders
    never came back (found by review)."""
    if not acts.episodes(f.kind, f.evidence):
        return False
    old = fd.finding_by_id(conn, was.finding_id)
    return old is not None and bool(acts.later_episodes(f.kind, f.evidence, old.finding.evidence))


def _remember(k: _Known, parties: list[tuple[Ref, str]], orders: list[Ref], products: list[Ref]) -> _Known:
    k.parties.update(r for r, _ in parties)
    k.orders.update(orders)
    k.products.update(products)
    return k


def _grow(conn: Connection, s: fd.StoredFinding, item_id: int, parties: list[tuple[Ref, str]], orders: list[Ref],
          products: list[Ref]) -> list[tuple[CreditRecord, str]]:
    """Add what is new to an open item, which now shows this finding's evidence."""
    f = s.finding
    level = f.evidence.get("level")
    conn.execute(update(rt.review_items).where(rt.review_items.c.id == item_id).values(
        finding_id=s.id, run_id=s.run_id, detector=s.detector, score=f.score,
        level=level if isinstance(level, str) else None, evidence_sha256=evidence_sha256(f.evidence),
        summary=orjson.dumps(summarise(f.evidence)).decode()))
    _add_subjects(conn, item_id, parties, orders, products)
    return _suspected_records(item_id, s, parties, orders, None) if parties else []


def _reattribute(conn: Connection, was: _Known, parties: list[tuple[Ref, str]]) -> None:
    """An open parcel item filed against the order's shop that a roll-up now explains: it is about the courier
    or carrier only (the shop's `suspected` record stays in the log, which cannot forget, and no longer
    names a party of an open item: nothing is decided about the shop)."""
    now = {r for r, _ in parties}
    sub = rt.review_subjects.c
    for ref in [r for r in was.parties if r not in now]:
        conn.execute(delete(rt.review_subjects).where(sub.item_id == was.item_id, sub.role == "party",
                                                      sub.source == ref[0], sub.entity_id == ref[1]))
        was.parties.discard(ref)
    was.level = "order_delivery"


def _known(conn: Connection, keys: list[str]) -> dict[str, _Known]:
    """The newest item of each of these suspicions, with what all of that suspicion's items named."""
    c, sub = rt.review_items.c, rt.review_subjects.c
    found: dict[str, _Known] = {}
    by_item: dict[int, str] = {}
    for i in range(0, len(keys), 500):
        for key, item_id, status, level, finding_id in conn.execute(select(
                c.suspicion, c.id, c.status, c.level, c.finding_id).where(
                c.suspicion.in_(keys[i:i + 500])).order_by(c.id)):
            was = found.get(key)
            found[key] = _Known(item_id, status, level, finding_id,
                                *((was.parties, was.orders, was.products) if was else ()))
            by_item[item_id] = key
    ids = list(by_item)
    for i in range(0, len(ids), 500):
        for item_id, role, src, eid in conn.execute(select(sub.item_id, sub.role, sub.source, sub.entity_id).where(
                sub.item_id.in_(ids[i:i + 500]))):
            k = found[by_item[item_id]]
            {"party": k.parties, "order": k.orders, "product": k.products}[role].add((src, eid))
    return found


def _existing_shops(conn: Connection, refs: Sequence[Ref]) -> set[Ref]:
    wanted, s = list(dict.fromkeys(refs)), t.shops.c
    found: set[Ref] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update((r.source, r.shop_id) for r in conn.execute(
            select(s.source, s.shop_id).where(pair_in(s.source, s.shop_id, wanted[i:i + _CHUNK]))))
    return found


def _shops_of_orders(conn: Connection, orders: Sequence[Ref]) -> dict[Ref, Ref]:
    wanted, o = list(dict.fromkeys(orders)), t.orders.c
    found: dict[Ref, Ref] = {}
    for i in range(0, len(wanted), _CHUNK):
        for r in conn.execute(select(o.source, o.order_id, o.shop_source, o.shop_id).where(
                pair_in(o.source, o.order_id, wanted[i:i + _CHUNK]))):
            if r.shop_id is not None:
                found[(r.source, r.order_id)] = (r.shop_source, r.shop_id)
    return found


def _insert_item(conn: Connection, s: fd.StoredFinding, key: str, follows: int | None, now: str) -> int:
    f = s.finding
    level = f.evidence.get("level")
    result = conn.execute(rt.review_items.insert().values(
        item_key=hashlib.sha256(canonical({"suspicion": key, "follows": follows})).hexdigest(), suspicion=key,
        follows=follows, finding_id=s.id, run_id=s.run_id, detector=s.detector, kind=f.kind,
        level=level if isinstance(level, str) else None, score=f.score, evidence_sha256=evidence_sha256(f.evidence),
        summary=orjson.dumps(summarise(f.evidence)).decode(), status="open", published_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _add_subjects(conn: Connection, item_id: int, parties: list[tuple[Ref, str]], orders: list[Ref],
                  products: list[Ref]) -> None:
    rows = [_subject_row(item_id, "party", ref, kind) for ref, kind in parties]
    rows += [_subject_row(item_id, "order", ref, "order") for ref in orders]
    rows += [_subject_row(item_id, "product", ref, "product") for ref in products]
    if rows:
        conn.execute(rt.review_subjects.insert(), rows)


def _subject_row(item_id: int, role: str, ref: Ref, kind: str) -> dict[str, Any]:
    return {"item_id": item_id, "role": role, "source": ref[0], "entity_id": ref[1], "subject_kind": kind}


def _suspected_records(item_id: int, s: fd.StoredFinding, parties: list[tuple[Ref, str]], orders: list[Ref],
                       at: str | None) -> list[tuple[CreditRecord, str]]:
    from chengxin.services.review import REVIEW_SOURCE

    f, when = s.finding, at or credit_log.now_utc()
    payload = finding_payload(item_id, f.kind, f.score, evidence_sha256(f.evidence), s.run_id, len(orders),
                              summarise(f.evidence))
    body = {**payload, "finding_id": s.id, "parties": [list(r) for r, _ in parties], "order_refs": orders}
    event_hash = hashlib.sha256(canonical(body)).hexdigest()
    return [(CreditRecord("suspected", kind, ref, (REVIEW_SOURCE, str(item_id)), when, payload), event_hash)
            for ref, kind in parties]
