"""review items keyed by suspicion: grown by later runs, followed up after a decision

An item was keyed by its finding's kind, level and every party and order named: a roll-up that gained one
order was queued again each run, and products were not in the key. Items now carry `suspicion` (kind, level
and subject: `services/review_publish.suspicion_of`) and `follows` (the decided item a follow-up continues).
Existing items get their suspicion from the finding that queued them, computed here as `suspicion_of` does
today (a copy: a migration must not change with later code; `tests/unit/test_review_publish.py` checks the
two agree).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 01:10:00.000000
"""

import hashlib
import json
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('review_items', sa.Column('suspicion', sa.String(), nullable=True))
    op.add_column('review_items', sa.Column('follows', sa.BigInteger(), nullable=True))
    op.create_index(op.f('ix_review_items_suspicion'), 'review_items', ['suspicion'], unique=False)
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM review_subjects WHERE role = 'product'"))  # written anew below
    rows = conn.execute(sa.text("SELECT i.id, i.item_key, f.kind, f.subjects, f.evidence FROM review_items i "
                                "LEFT JOIN findings f ON f.id = i.finding_id")).fetchall()
    for item_id, item_key, kind, subjects, evidence in rows:
        named = json.loads(subjects) if kind is not None else {}
        key = item_key if kind is None else suspicion(kind, named, json.loads(evidence))
        conn.execute(sa.text("UPDATE review_items SET suspicion = :s WHERE id = :i"), {"s": key, "i": item_id})
        for source, product in _products(kind, named):  # an item names the products of its suspicion now
            conn.execute(sa.text("INSERT INTO review_subjects (item_id, role, source, entity_id, subject_kind) "
                                 "VALUES (:i, 'product', :s, :p, 'product')"), {"i": item_id, "s": source, "p": product})


def downgrade() -> None:
    op.execute("DELETE FROM review_subjects WHERE role = 'product'")
    op.drop_index(op.f('ix_review_items_suspicion'), table_name='review_items')
    op.drop_column('review_items', 'follows')
    op.drop_column('review_items', 'suspicion')


def suspicion(kind: str, subjects: dict[str, Any], evidence: dict[str, Any]) -> str:
    """`review_publish.suspicion_of` of a stored finding (subjects as `chengxin detect --json` writes them)."""
    level = evidence.get("level")
    level = {"order_delivery": "order"}.get(level, level) if isinstance(level, str) else None
    body = {"kind": kind, "level": level, "subject": _subject(kind, subjects, evidence)}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _subject(kind: str, subjects: dict[str, Any], evidence: dict[str, Any]) -> list[Any]:
    def refs(cls: str) -> list[list[str]]:
        return [[r["source"], r["id"]] for r in subjects.get(cls) or []]

    if kind == "fake_order_ring" and isinstance(shops := evidence.get("shop_refs"), list) and shops:
        return sorted(["shop", s.get("source"), s.get("id")] for s in shops if isinstance(s, dict))
    if kind == "payment_fraud" and isinstance(account := evidence.get("payer_account"), str):
        return [["payer_account", account]]
    if kind == "empty_parcel" and evidence.get("level") in ("order", "order_delivery"):
        return sorted(["order", *r] for r in refs("orders"))
    named = [["party", *r] for r in refs("parties")] + [["product", *r] for r in _products(kind, subjects)]
    return sorted(named) or sorted(["order", *r] for r in refs("orders"))


def _products(kind: str | None, subjects: dict[str, Any]) -> list[list[str]]:
    """`review_publish.subject_products`: a fake discount's product."""
    if kind != "price_fraud":
        return []
    return list({(r["source"], r["id"]): [r["source"], r["id"]] for r in subjects.get("products") or []}.values())


def _canonical(value: Any) -> bytes:
    """As `domain.events.canonical`: sorted keys, compact, UTF-8."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
