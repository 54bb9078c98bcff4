"""Checks of events-v1 streams shared by the generator tests: shapes, enumerations, times, identifiers,
and that every reference points at an entity written earlier in the stream."""

from __future__ import annotations

import re
from datetime import date, datetime

# type -> (required data fields, optional data fields), from events-v1
SHAPES = {
    "cx.subject.registered": ("subject_id kind name region", "uscc id_number verified_at employer_id"),
    "cx.shop.opened": ("shop_id operator_id name url categories", ""),
    "cx.shop.closed": ("shop_id reason", ""),
    "cx.licence.published": ("subject_id licence_type number issuer valid_from", "valid_until"),
    "cx.product.listed": ("product_id shop_id title category list_price price", "gtin"),
    "cx.product.price_changed": ("product_id list_price price", ""),
    "cx.order.placed": ("order_id shop_id buyer_id items total ship_to_region", "device ip address"),
    "cx.order.paid": ("order_id amount method", "payer_account"),
    "cx.order.cancelled": ("order_id by", "reason"),
    "cx.order.completed": ("order_id", ""),
    "cx.traffic.reported": ("shop_id date visits unique_visitors orders", "product_id"),
    "cx.shipment.created": ("shipment_id order_id carrier_id tracking_no", "courier_id weight_g"),
    "cx.shipment.scanned": ("shipment_id status region", ""),
    "cx.shipment.delivered": ("shipment_id signed_by region", ""),
    "cx.review.posted": ("review_id order_id author_id target_id direction score", "dimensions text images follows"),
    "cx.return.requested": ("return_id order_id reason", ""),
    "cx.return.resolved": ("return_id outcome", "amount"),
    "cx.complaint.filed": ("complaint_id channel target_id category",
                           "complainant_id order_id text amount_claimed"),
    "cx.complaint.resolved": ("complaint_id outcome resolved_by", "compensation"),
    "cx.commitment.published": ("commitment_id subject_id template clauses", "valid_until"),
    "cx.sanction.imposed": ("sanction_id subject_id kind authority decision_no legal_basis category",
                            "disclose_until"),
    "cx.sanction.lifted": ("sanction_id reason", ""),
    "cx.inspection.recorded": ("inspection_id subject_id authority result", ""),
}
ALL_TYPES = set(SHAPES)
COMPLAINT_CATEGORIES = {"counterfeit", "not_as_described", "price_fraud", "false_advertising", "service_breach",
                        "delivery", "privacy", "intimidation", "fake_review", "other"}
ENUMS = {  # (type or "*", field) -> closed vocabulary
    ("cx.subject.registered", "kind"): {"enterprise", "individual_business", "person", "platform", "logistics",
                                        "courier", "service_agency"},
    ("cx.order.cancelled", "by"): {"buyer", "seller", "platform"},
    ("cx.shipment.scanned", "status"): {"picked_up", "in_transit", "arrived", "out_for_delivery", "exception"},
    ("cx.shipment.delivered", "signed_by"): {"recipient", "proxy", "locker", "station"},
    ("cx.review.posted", "direction"): {"buyer_to_seller", "seller_to_buyer", "buyer_to_carrier"},
    ("cx.review.posted", "score"): {1, 2, 3, 4, 5},
    ("cx.return.requested", "reason"): {"no_reason", "quality", "not_as_described", "damaged", "counterfeit",
                                        "other"},
    ("cx.return.resolved", "outcome"): {"refunded", "exchanged", "rejected"},
    ("cx.complaint.filed", "channel"): {"12312", "12315", "12318", "12358", "12365", "platform", "portal"},
    ("cx.complaint.filed", "category"): COMPLAINT_CATEGORIES,
    ("cx.complaint.resolved", "outcome"): {"upheld", "partly_upheld", "rejected", "withdrawn"},
    ("cx.sanction.imposed", "kind"): {"administrative_penalty", "abnormal_operation", "serious_dishonesty",
                                      "platform_measure"},
    ("cx.sanction.imposed", "category"): COMPLAINT_CATEGORIES | {"fake_order", "empty_parcel", "fake_traffic"},
    ("cx.sanction.lifted", "reason"): {"repaired", "expired", "revoked"},
    ("cx.inspection.recorded", "result"): {"pass", "issues_found", "violation"},
}
MONEY = {"list_price", "price", "unit_price", "total", "amount", "amount_claimed", "compensation"}
COUNTS = {"quantity", "visits", "unique_visitors", "orders", "weight_g", "images"}
DATE_FIELDS = {"valid_from", "valid_until", "disclose_until", "date"}
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00")
DATE_RE = re.compile(r"\d{4}-\d\d-\d\d")
# type -> (field that names a new entity, its kind)
DEFINES = {"cx.subject.registered": ("subject_id", "subject"), "cx.shop.opened": ("shop_id", "shop"),
           "cx.product.listed": ("product_id", "product"), "cx.order.placed": ("order_id", "order"),
           "cx.shipment.created": ("shipment_id", "shipment"), "cx.review.posted": ("review_id", "review"),
           "cx.return.requested": ("return_id", "return"), "cx.complaint.filed": ("complaint_id", "complaint"),
           "cx.commitment.published": ("commitment_id", "commitment"),
           "cx.sanction.imposed": ("sanction_id", "sanction"),
           "cx.inspection.recorded": ("inspection_id", "inspection")}
# reference field -> acceptable kinds ("subject:<kind>" narrows a subject); per type where it differs
REFS = {"operator_id": {"subject"}, "shop_id": {"shop"}, "product_id": {"product"}, "buyer_id": {"subject:person"},
        "order_id": {"order"}, "carrier_id": {"subject:logistics"}, "courier_id": {"subject:courier"},
        "employer_id": {"subject:logistics"}, "shipment_id": {"shipment"}, "follows": {"review"},
        "return_id": {"return"}, "complaint_id": {"complaint"}, "complainant_id": {"subject"},
        "resolved_by": {"subject"}, "sanction_id": {"sanction"}, "subject_id": {"subject"}}
REVIEW_PARTIES = {"buyer_to_seller": ("subject:person", "shop"), "seller_to_buyer": ("shop", "subject:person"),
                  "buyer_to_carrier": ("subject:person", "subject:logistics")}



def is_time(value: object) -> bool:
    if not (isinstance(value, str) and TIME_RE.fullmatch(value)):
        return False
    return datetime.fromisoformat(value).utcoffset() is not None


def is_date_or_time(value: object) -> bool:
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        date.fromisoformat(value)
        return True
    return is_time(value)


def entity_kinds(evs: list[dict]):
    """Walk the stream in order, checking every reference against the entities seen so far."""
    kinds: dict[tuple[str, str], str] = {}

    def resolve(e: dict, ref: object, allowed: set[str]) -> None:
        key = (ref["source"], ref["id"]) if isinstance(ref, dict) else (e["source"], ref)
        assert key in kinds, f"{e['type']} {e['id']}: {key} not seen yet"
        kind = kinds[key]
        assert kind in allowed or kind.split(":")[0] in allowed, (e, key, kind, allowed)

    for e in evs:
        d, typ = e["data"], e["type"]
        defined = DEFINES.get(typ)
        for field, value in d.items():
            if defined and field == defined[0]:
                continue
            if field == "items":
                for item in value:
                    resolve(e, item["product_id"], {"product"})
            elif field in ("author_id", "target_id") and typ == "cx.review.posted":
                resolve(e, value, {REVIEW_PARTIES[d["direction"]][field == "target_id"]})
            elif field == "target_id":
                resolve(e, value, {"shop", "subject:logistics", "subject:courier", "subject:platform"})
            elif field in REFS:
                resolve(e, value, REFS[field])
        if defined:
            key = (e["source"], d[defined[0]])
            assert key not in kinds, f"{key} defined twice"  # ids unique per source, across kinds
            kinds[key] = f"subject:{d['kind']}" if defined[1] == "subject" else defined[1]
    return kinds
