"""who resolved a complaint and the currencies of complaints and resolutions kept; review image counts 64-bit

`cx.complaint.resolved.resolved_by` (a required field) and the optional `currency` of complaints, complaint
and return resolutions were kept only in the raw events: their columns are filled from the stored events.
`reviews.images` was a 32-bit column on PostgreSQL while events-v1 allows any 64-bit count: a larger one
made PostgreSQL refuse the whole batch.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 21:50:00.000000
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_FILLED = (  # table, key, [(column, data field)], reference columns filled from a reference field
    ("complaints", "complaint_id", [("currency", "currency")], None),
    ("complaint_resolutions", "complaint_id", [("currency", "currency")], "resolved_by"),
    ("return_resolutions", "return_id", [("currency", "currency")], None),
)


def upgrade() -> None:
    op.add_column('complaints', sa.Column('currency', sa.String(), nullable=True))
    op.add_column('complaint_resolutions', sa.Column('currency', sa.String(), nullable=True))
    op.add_column('complaint_resolutions', sa.Column('resolved_by_source', sa.String(), nullable=True))
    op.add_column('complaint_resolutions', sa.Column('resolved_by_id', sa.String(), nullable=True))
    op.add_column('return_resolutions', sa.Column('currency', sa.String(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":  # SQLite's INTEGER is 64-bit already
        op.alter_column('reviews', 'images', type_=sa.BigInteger(), existing_type=sa.Integer())
    for table, key, columns, ref in _FILLED:
        _fill(table, key, columns, ref)


def _fill(table: str, key: str, columns: list[tuple[str, str]], ref: str | None) -> None:
    """Each row's new columns from the stored event that wrote it."""
    conn = op.get_bind()
    if table == "complaints":  # a state row keeps the identity of the event that wrote it in `ord`: its
        # 27-character UTC time, "|", the row's own source, "|", the event id (an index lookup per row)
        rows = conn.execute(sa.text(f"SELECT c.source, c.{key}, e.body FROM {table} c JOIN events e "
                                    "ON e.source = c.source AND e.event_id = substr(c.ord, length(c.source) + 30)"))
    else:
        rows = conn.execute(sa.text(f"SELECT r.source, r.{key}, e.body FROM {table} r JOIN events e "
                                    "ON e.source = r.event_source AND e.event_id = r.event_id"))
    updates = []
    for source, entity, body in rows:
        data = json.loads(body).get("data") or {}
        values = {col: data.get(name) for col, name in columns}
        if ref is not None:
            value = data.get(ref)
            ref_source, ref_id = (value["source"], value["id"]) if isinstance(value, dict) else (
                (json.loads(body)["source"], value) if value is not None else (None, None))
            values.update({f"{ref}_source": ref_source, f"{ref}_id": ref_id})
        if any(v is not None for v in values.values()):
            updates.append({**values, "s": source, "k": entity})
    if updates:
        sets = ", ".join(f"{col} = :{col}" for col in updates[0] if col not in ("s", "k"))
        conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE source = :s AND {key} = :k"), updates)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('reviews', 'images', type_=sa.Integer(), existing_type=sa.BigInteger())
    with op.batch_alter_table('return_resolutions') as batch:
        batch.drop_column('currency')
    with op.batch_alter_table('complaint_resolutions') as batch:
        batch.drop_column('resolved_by_id')
        batch.drop_column('resolved_by_source')
        batch.drop_column('currency')
    with op.batch_alter_table('complaints') as batch:
        batch.drop_column('currency')
