"""SQLAlchemy Core tables. Migrations in `migrations/versions/` create them; `tests/integration/test_schema.py`
checks the two agree.

Times are fixed-width UTC text (`2026-02-10T12:15:00.000000Z`): portable between SQLite and PostgreSQL and
sortable as text. References are stored as written, `<name>_source` + `<name>_id`, and resolved by join.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
})

T = String  # text of any length on both databases


def _ref(name: str) -> list[Column[Any]]:
    return [Column(f"{name}_source", T), Column(f"{name}_id", T)]


def _state_table(name: str, key: str, *cols: Column[Any], refs: tuple[str, ...] = ()) -> Table:
    """An entity's current state, keyed by (source, key), last writer (by event order) wins."""
    ref_cols = [c for r in refs for c in _ref(r)]
    return Table(
        name, metadata,
        Column("source", T, primary_key=True), Column(key, T, primary_key=True),
        *cols, *ref_cols, Column("ord", T, nullable=False),
    )


def _append_table(name: str, *cols: Column[Any], refs: tuple[str, ...] = ()) -> Table:
    """One row per event (scans, payments, price points), keyed by the event's identity."""
    ref_cols = [c for r in refs for c in _ref(r)]
    return Table(
        name, metadata,
        Column("source", T, primary_key=True), Column("event_id", T, primary_key=True),
        Column("at", T, nullable=False), *cols, *ref_cols,
    )


# --- raw events, append-only as received (personal data encrypted in place) ---
events = Table(
    "events", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("source", T, nullable=False),
    Column("event_id", T, nullable=False),
    Column("type", T, nullable=False),
    Column("at", T, nullable=False),
    Column("content_hash", T, nullable=False),
    Column("body", Text, nullable=False),
    Column("batch_id", T, nullable=False),
    UniqueConstraint("source", "event_id"),
)

ingest_batches = Table(
    "ingest_batches", metadata,
    Column("batch_id", T, primary_key=True),
    Column("received_at", T, nullable=False),
    Column("origin", T, nullable=False),
    Column("actor", T, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("conflicts", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
)

# Reported conflicts and rejects, so an operator can see later what a feed got wrong (never the raw line:
# it may carry personal data).
ingest_problems = Table(
    "ingest_problems", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", T, nullable=False, index=True),
    Column("origin", T, nullable=False),
    Column("line", Integer, nullable=False),
    Column("problem", T, nullable=False),
    Column("reason", Text, nullable=False),
)

# --- current state ---
subjects = _state_table(
    "subjects", "subject_id",
    Column("kind", T, nullable=False), Column("name", T, nullable=False), Column("uscc", T, index=True),
    Column("id_cipher", LargeBinary), Column("id_hmac", T, index=True), Column("id_masked", T),
    Column("region", T, nullable=False), Column("verified_at", T), Column("registered_at", T, nullable=False),
    Column("identity_scheme", T), Column("identity_valid", Boolean, nullable=False),
    Column("identity_reason", T), Column("party_key", T, nullable=False, index=True),
    Column("representatives", Text),  # JSON list of person subject ids of the same source (an extension)
    refs=("employer",),
)
shops = _state_table(
    "shops", "shop_id",
    Column("name", T, nullable=False, index=True), Column("url", T, nullable=False, index=True),
    Column("categories", Text, nullable=False), Column("opened_at", T, nullable=False),
    Column("name_key", T),  # what the public search matches (`projection.name_key`); NULL only mid-migration
    refs=("operator",),
)
shop_closures = _state_table("shop_closures", "shop_id", Column("reason", T), Column("closed_at", T))
licences = _append_table(
    "licences", Column("licence_type", T, nullable=False), Column("number", T, nullable=False),
    Column("issuer", T, nullable=False), Column("valid_from", T, nullable=False), Column("valid_until", T),
    refs=("subject",),
)
products = _state_table(
    "products", "product_id", Column("title", T, nullable=False), Column("category", T, nullable=False),
    Column("gtin", T), Column("listed_at", T, nullable=False), refs=("shop",),
)
price_points = _append_table(
    "price_points", Column("list_price", BigInteger, nullable=False), Column("price", BigInteger, nullable=False),
    Column("currency", T, nullable=False), refs=("product",),
)
orders = _state_table(
    "orders", "order_id", Column("items", Text, nullable=False), Column("total", BigInteger, nullable=False),
    Column("currency", T, nullable=False), Column("ship_to_region", T, nullable=False), Column("device", T),
    Column("ip", T), Column("address", T), Column("placed_at", T, nullable=False), refs=("shop", "buyer"),
)
order_updates = _append_table(
    "order_updates", Column("kind", T, nullable=False), Column("amount", BigInteger), Column("currency", T),
    Column("method", T), Column("payer_account", T), Column("by", T), Column("reason", T), refs=("order",),
)
traffic = _append_table(
    "traffic", Column("day", T, nullable=False), Column("visits", BigInteger, nullable=False),
    Column("unique_visitors", BigInteger, nullable=False), Column("orders", BigInteger, nullable=False),
    refs=("shop", "product"),
)
shipments = _state_table(
    "shipments", "shipment_id", Column("tracking_no", T, nullable=False, index=True),
    Column("weight_g", BigInteger), Column("created_at", T, nullable=False),
    refs=("order", "carrier", "courier"),
)
shipment_scans = _append_table(
    "shipment_scans", Column("status", T, nullable=False), Column("region", T, nullable=False),
    Column("signed_by", T), refs=("shipment",),
)
reviews = _state_table(
    "reviews", "review_id", Column("direction", T, nullable=False), Column("score", Integer, nullable=False),
    Column("dimensions", Text), Column("text", Text),
    Column("images", BigInteger().with_variant(Integer, "sqlite")),  # SQLite's INTEGER is 64-bit already
    Column("posted_at", T, nullable=False), refs=("order", "author", "target", "follows"),
)
returns = _state_table(
    "returns", "return_id", Column("reason", T, nullable=False), Column("requested_at", T, nullable=False),
    refs=("order",),
)


def _resolution_table(name: str, key: str, *cols: Column[Any]) -> Table:
    """The resolution of an entity (possibly reported by another source than the entity's)."""
    return _state_table(name, key, Column("at", T, nullable=False), *cols, refs=("event",))


return_resolutions = _resolution_table(
    "return_resolutions", "return_id", Column("outcome", T, nullable=False), Column("amount", BigInteger),
    Column("currency", T),  # as sent; none: CNY (events-v1)
)
complaints = _state_table(
    "complaints", "complaint_id", Column("channel", T, nullable=False), Column("category", T, nullable=False),
    Column("text", Text), Column("amount_claimed", BigInteger), Column("filed_at", T, nullable=False),
    Column("currency", T), refs=("complainant", "target", "order"),
)
complaint_resolutions = _resolution_table(
    "complaint_resolutions", "complaint_id", Column("outcome", T, nullable=False),
    Column("compensation", BigInteger), Column("currency", T), *_ref("resolved_by"),
)
commitments = _state_table(
    "commitments", "commitment_id", Column("template", T, nullable=False), Column("clauses", Text, nullable=False),
    Column("valid_until", T), Column("published_at", T, nullable=False), refs=("subject",),
)
sanctions = _state_table(
    "sanctions", "sanction_id", Column("kind", T, nullable=False), Column("authority", T, nullable=False),
    Column("decision_no", T, nullable=False), Column("legal_basis", T, nullable=False),
    Column("category", T, nullable=False), Column("disclose_until", T), Column("imposed_at", T, nullable=False),
    refs=("subject",),
)
sanction_lifts = _resolution_table("sanction_lifts", "sanction_id", Column("reason", T, nullable=False))
inspections = _state_table(
    "inspections", "inspection_id", Column("authority", T, nullable=False), Column("result", T, nullable=False),
    Column("inspected_at", T, nullable=False), refs=("subject",),
)

# --- the credit log ---
credit_records = Table(
    "credit_records", metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", T, nullable=False),
    Column("subject_kind", T, nullable=False),
    Column("subject_source", T, nullable=False),
    Column("subject_id", T, nullable=False),
    Column("event_source", T, nullable=False),
    Column("event_id", T, nullable=False),
    Column("event_hash", T, nullable=False),
    Column("at", T, nullable=False),
    Column("payload", Text, nullable=False),
    Column("leaf_hash", LargeBinary, nullable=False),
)
Index("ix_credit_records_subject", credit_records.c.subject_source, credit_records.c.subject_id)

# Every perfect subtree completed so far: (level, index) covers leaves [index*2^level, (index+1)*2^level).
merkle_nodes = Table(
    "merkle_nodes", metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

tree_heads = Table(
    "tree_heads", metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary, nullable=False),
    Column("signed_at", T, nullable=False),
    Column("key_id", T, nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

# One row: the log's size, locked by every writer so appends are serialised (the log's sequencer).
log_state = Table(
    "log_state", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
)

# --- access ---
api_keys = Table(
    "api_keys", metadata,
    Column("key_id", T, primary_key=True),
    Column("secret_hash", T, nullable=False, unique=True),
    Column("role", T, nullable=False),
    Column("source", T),
    Column("label", T, nullable=False),
    Column("created_at", T, nullable=False),
    Column("revoked_at", T),
    # rotation (services/keys.rotate_key): the secret replaced, still accepted until `previous_until`
    Column("previous_hash", T),
    Column("previous_until", T),
    Column("rotated_at", T),
)
Index("ix_api_keys_previous_hash", api_keys.c.previous_hash, unique=True)

# Who saw unmasked personal data, when and why (PIPL art. 51, ASVS 16.3.2).
access_journal = Table(
    "access_journal", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", T, nullable=False),
    Column("key_id", T, nullable=False),
    Column("action", T, nullable=False),
    Column("object", T, nullable=False),
)

# Lookup indexes used by the portal and the credit file.
Index("ix_shops_operator", shops.c.operator_source, shops.c.operator_id)
Index("ix_licences_subject", licences.c.subject_source, licences.c.subject_id)
Index("ix_products_shop", products.c.shop_source, products.c.shop_id)
Index("ix_price_points_product", price_points.c.product_source, price_points.c.product_id)
Index("ix_orders_shop", orders.c.shop_source, orders.c.shop_id)
Index("ix_orders_buyer", orders.c.buyer_source, orders.c.buyer_id)
Index("ix_order_updates_order", order_updates.c.order_source, order_updates.c.order_id)
Index("ix_shipments_order", shipments.c.order_source, shipments.c.order_id)
Index("ix_scans_shipment", shipment_scans.c.shipment_source, shipment_scans.c.shipment_id)
Index("ix_reviews_target", reviews.c.target_source, reviews.c.target_id)
Index("ix_complaints_target", complaints.c.target_source, complaints.c.target_id)
Index("ix_sanctions_subject", sanctions.c.subject_source, sanctions.c.subject_id)
Index("ix_commitments_subject", commitments.c.subject_source, commitments.c.subject_id)
Index("ix_inspections_subject", inspections.c.subject_source, inspections.c.subject_id)

STATE_TABLES = {t.name: t for t in (
    subjects, shops, shop_closures, products, orders, shipments, reviews, returns, return_resolutions,
    complaints, complaint_resolutions, commitments, sanctions, sanction_lifts, inspections,
)}
APPEND_TABLES = {t.name: t for t in (licences, price_points, order_updates, traffic, shipment_scans)}

# Detection findings are defined in their own module on this `metadata`; importing it registers the table.
from chengxin.adapters.db import findings as _findings  # noqa: E402, F401

# The order graph's integer columns for ring detection (services/order_graph.py).
from chengxin.adapters.db import graph_tables as _graph  # noqa: E402, F401

# And the tables of consequences: dishonesty records, lists, measures (issue 6).
from chengxin.adapters.db import lists_tables as _lists  # noqa: E402, F401
from chengxin.adapters.db import review_tables as _review  # noqa: E402, F401

# And the credit log's key chain (signing-key rotation).
from chengxin.adapters.db import signing_key_tables as _signing_keys  # noqa: E402, F401

# Likewise the tables of the rating-derived standing.
from chengxin.adapters.db import standing_tables as _standing  # noqa: E402, F401
