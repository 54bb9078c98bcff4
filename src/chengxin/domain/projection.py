"""Project an event into rows of current state: pure, and independent of arrival order.

Each event yields `Fact`s. A *state* fact (`lww=True`) sets an entity's row and wins only if its event
sorts later by `Event.ord` (time, then source and id), so any order or split of the same events gives the
same rows; the columns `EARLIEST` names keep the earliest value instead (when a party was first reported).
An *append* fact (`lww=False`) is one row per event (scans, payments, price points) keyed by the event's own
identity. References keep both halves, `<name>_source` and `<name>_id`, so a reference to an entity not yet
seen is kept as written and resolves by join once that entity arrives.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from chengxin.domain.event_times import as_date, utc
from chengxin.domain.events import Event, Ref, canonical


@dataclass(frozen=True, slots=True)
class Fact:
    """A row for table `table`; `lww` says whether it is entity state or one row per event."""

    table: str
    values: dict[str, Any]
    lww: bool = True


# Columns of a state row that keep the earliest value of all its events rather than the last writer's: when a
# party or shop was first reported. A registration re-sent to add `verified_at`, or a shop re-sent to rename it,
# must not make a party of three years "known for 8 days". Merged as the minimum, whatever the arrival order
# (`adapters/db/store.py` within a batch, `adapters/db/bulk.py` against the stored row). A review re-sent or
# edited keeps when it was first posted: its natural month and rolling windows are that time's, so re-sending
# a capped rating in the next month no longer counted it there, past the month's cap (found by review).
EARLIEST: dict[str, tuple[str, ...]] = {"subjects": ("registered_at",), "shops": ("opened_at",),
                                        "reviews": ("posted_at",)}


def project(event: Event) -> list[Fact]:
    """Every fact an event contributes to current state."""
    return list(_PROJECTORS[event.type](event))


def _ref_cols(name: str, ref: Ref | None) -> dict[str, Any]:
    return {f"{name}_source": ref[0] if ref else None, f"{name}_id": ref[1] if ref else None}


def _state(e: Event, table: str, key: str, **values: Any) -> Fact:
    return Fact(table, {"source": e.source, key: e.data[key], "ord": e.ord, **values})


def _append(e: Event, table: str, **values: Any) -> Fact:
    return Fact(table, {"source": e.source, "event_id": e.id, "at": e.at, **values}, lww=False)


def _time(value: Any) -> str | None:
    return utc(value) if value else None


def _day(value: Any) -> str | None:
    return as_date(value).isoformat() if value else None


def _json(value: Any) -> str | None:
    return canonical(value).decode() if value is not None else None


def _subject(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "subjects", "subject_id", kind=d["kind"], name=d["name"], uscc=d.get("uscc"),
        id_number=d.get("id_number"), region=d["region"], verified_at=_time(d.get("verified_at")),
        registered_at=e.at, representatives=_json(d.get("representatives")),
        **_ref_cols("employer", e.ref("employer_id")),
    )


def _shop_opened(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "shops", "shop_id", name=d["name"], name_key=name_key(d["name"]), url=d["url"],
        categories=_json(d["categories"]), opened_at=e.at, **_ref_cols("operator", e.ref("operator_id")),
    )


def name_key(name: str) -> str:
    """What a name is searched by: NFKC (full-width letters, digits and brackets as ASCII), case folded, without
    whitespace. A search for `ＡＢＣ` or `(官方)` missed `ABC数码店（官方）`, and one for `abc` found it on SQLite
    only (found by review)."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def _shop_closed(e: Event) -> Iterator[Fact]:
    shop = e.ref("shop_id")
    assert shop is not None
    yield Fact("shop_closures", {"source": shop[0], "shop_id": shop[1], "ord": e.ord,
                                 "reason": e.data["reason"], "closed_at": e.at})


def _licence(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _append(
        e, "licences", licence_type=d["licence_type"], number=d["number"], issuer=d["issuer"],
        valid_from=_day(d["valid_from"]), valid_until=_day(d.get("valid_until")),
        **_ref_cols("subject", e.ref("subject_id")),
    )


def _product(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "products", "product_id", title=d["title"], category=d["category"], gtin=d.get("gtin"),
        listed_at=e.at, **_ref_cols("shop", e.ref("shop_id")),
    )
    yield _price_point(e, (e.source, d["product_id"]))


def _price_point(e: Event, product: Ref | None) -> Fact:
    d = e.data
    return _append(e, "price_points", list_price=d["list_price"], price=d["price"],
                   currency=d.get("currency", "CNY"), **_ref_cols("product", product))


def _price_changed(e: Event) -> Iterator[Fact]:
    yield _price_point(e, e.ref("product_id"))


def _order(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "orders", "order_id", items=_json(d["items"]), total=d["total"],
        currency=d.get("currency", "CNY"), ship_to_region=d["ship_to_region"], device=d.get("device"),
        ip=d.get("ip"), address=d.get("address"), placed_at=e.at,
        **_ref_cols("shop", e.ref("shop_id")), **_ref_cols("buyer", e.ref("buyer_id")),
    )


# Each update stores only the fields its type declares: an undeclared extra field (allowed, and not
# checked) never reaches a column (a `"by": {...}` on a payment could not be bound and lost the batch).
_UPDATE_FIELDS = {
    "paid": ("amount", "currency", "method", "payer_account"),
    "cancelled": ("by", "reason"),
    "completed": (),
}


_UPDATE_COLUMNS = ("amount", "currency", "method", "payer_account", "by", "reason")


def _order_update(kind: str) -> Callable[[Event], Iterator[Fact]]:
    names = _UPDATE_FIELDS[kind]
    unset = dict.fromkeys(c for c in _UPDATE_COLUMNS if c not in names)  # every column given: a tuple at C speed

    def project_update(e: Event) -> Iterator[Fact]:
        d = e.data
        yield _append(e, "order_updates", kind=kind, **unset, **{n: d.get(n) for n in names},
                      **_ref_cols("order", e.ref("order_id")))

    return project_update


def _traffic(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _append(
        e, "traffic", day=_day(d["date"]), visits=d["visits"], unique_visitors=d["unique_visitors"],
        orders=d["orders"], **_ref_cols("shop", e.ref("shop_id")), **_ref_cols("product", e.ref("product_id")),
    )


def _shipment(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "shipments", "shipment_id", tracking_no=d["tracking_no"], weight_g=d.get("weight_g"),
        created_at=e.at, **_ref_cols("order", e.ref("order_id")), **_ref_cols("carrier", e.ref("carrier_id")),
        **_ref_cols("courier", e.ref("courier_id")),
    )


def _scan(e: Event) -> Iterator[Fact]:
    yield _append(e, "shipment_scans", status=e.data["status"], region=e.data["region"], signed_by=None,
                  **_ref_cols("shipment", e.ref("shipment_id")))


def _delivered(e: Event) -> Iterator[Fact]:
    # a delivery is a scan of status "delivered", whatever an undeclared `status` field of the event says
    yield _append(e, "shipment_scans", status="delivered", region=e.data["region"], signed_by=e.data["signed_by"],
                  **_ref_cols("shipment", e.ref("shipment_id")))


def _review(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "reviews", "review_id", direction=d["direction"], score=d["score"], dimensions=_json(d.get("dimensions")),
        text=d.get("text"), images=d.get("images"), posted_at=e.at,
        **_ref_cols("order", e.ref("order_id")), **_ref_cols("author", e.ref("author_id")),
        **_ref_cols("target", e.ref("target_id")), **_ref_cols("follows", e.ref("follows")),
    )


def _return_requested(e: Event) -> Iterator[Fact]:
    yield _state(e, "returns", "return_id", reason=e.data["reason"], requested_at=e.at,
                 **_ref_cols("order", e.ref("order_id")))


def _resolution(table: str, key: str, **fields: str) -> Callable[[Event], Iterator[Fact]]:
    """Project a `*.resolved`/`*.lifted` event onto the entity it resolves (which may live in another source)."""

    def project_resolution(e: Event) -> Iterator[Fact]:
        target = e.ref(key)
        assert target is not None
        values = {col: e.data.get(name) for col, name in fields.items()}
        yield Fact(table, {"source": target[0], key: target[1], "ord": e.ord, "at": e.at,
                           "event_source": e.source, "event_id": e.id, **values})

    return project_resolution


def _complaint(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "complaints", "complaint_id", channel=d["channel"], category=d["category"], text=d.get("text"),
        amount_claimed=d.get("amount_claimed"), currency=d.get("currency"), filed_at=e.at,
        **_ref_cols("complainant", e.ref("complainant_id")), **_ref_cols("target", e.ref("target_id")),
        **_ref_cols("order", e.ref("order_id")),
    )


def _complaint_resolved(e: Event) -> Iterator[Fact]:
    for fact in _resolution("complaint_resolutions", "complaint_id", outcome="outcome",
                            compensation="compensation", currency="currency")(e):
        fact.values.update(_ref_cols("resolved_by", e.ref("resolved_by")))  # who decided (a subject)
        yield fact


def _commitment(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(e, "commitments", "commitment_id", template=d["template"], clauses=_json(d["clauses"]),
                 valid_until=_day(d.get("valid_until")), published_at=e.at,
                 **_ref_cols("subject", e.ref("subject_id")))


def _sanction(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(
        e, "sanctions", "sanction_id", kind=d["kind"], authority=d["authority"], decision_no=d["decision_no"],
        legal_basis=d["legal_basis"], category=d["category"], disclose_until=_day(d.get("disclose_until")),
        imposed_at=e.at, **_ref_cols("subject", e.ref("subject_id")),
    )


def _inspection(e: Event) -> Iterator[Fact]:
    d = e.data
    yield _state(e, "inspections", "inspection_id", authority=d["authority"], result=d["result"],
                 inspected_at=e.at, **_ref_cols("subject", e.ref("subject_id")))


_PROJECTORS: dict[str, Callable[[Event], Iterator[Fact]]] = {
    "cx.subject.registered": _subject,
    "cx.shop.opened": _shop_opened,
    "cx.shop.closed": _shop_closed,
    "cx.licence.published": _licence,
    "cx.product.listed": _product,
    "cx.product.price_changed": _price_changed,
    "cx.order.placed": _order,
    "cx.order.paid": _order_update("paid"),
    "cx.order.cancelled": _order_update("cancelled"),
    "cx.order.completed": _order_update("completed"),
    "cx.traffic.reported": _traffic,
    "cx.shipment.created": _shipment,
    "cx.shipment.scanned": _scan,
    "cx.shipment.delivered": _delivered,
    "cx.review.posted": _review,
    "cx.return.requested": _return_requested,
    "cx.return.resolved": _resolution("return_resolutions", "return_id", outcome="outcome", amount="amount",
                                      currency="currency"),
    "cx.complaint.filed": _complaint,
    "cx.complaint.resolved": _complaint_resolved,
    "cx.commitment.published": _commitment,
    "cx.sanction.imposed": _sanction,
    "cx.sanction.lifted": _resolution("sanction_lifts", "sanction_id", reason="reason"),
    "cx.inspection.recorded": _inspection,
}

PROJECTED_TYPES = frozenset(_PROJECTORS)
