"""carriers and couriers are scored over the parcels they carried: `carrier_trade`, and the carrier and courier
of each shipment's kept part

A logistics firm's or a courier's upheld complaints were counted per order it shipped as a seller or paid as a
buyer: none, so a carrier of 100,000 parcels with 10 upheld complaints scored as badly as one of 10 parcels.
Each shipment's part (`trade_parts`) now names its carrier and courier, and `carrier_trade` keeps per subject
the weights of the parcels it carried (services/trade.py). A store's parts are given their shipments' carrier
and courier here, and the sums made from them, so that kept figures stay built.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

COLUMNS = ('carrier_source', 'carrier_id', 'courier_source', 'courier_id')


def upgrade() -> None:
    op.create_table('carrier_trade',
    sa.Column('subject_source', sa.String(), nullable=False),
    sa.Column('subject_id', sa.String(), nullable=False),
    sa.Column('parcels', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('subject_source', 'subject_id', name=op.f('pk_carrier_trade'))
    )
    with op.batch_alter_table('trade_parts') as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(), nullable=True))
    # each shipment's part: its shipment's carrier and courier, by the shipment's key (one lookup each)
    found = ", ".join(f"{c} = (SELECT s.{c} FROM shipments s WHERE s.source = trade_parts.item_source "
                      "AND s.shipment_id = trade_parts.item_id)" for c in COLUMNS)
    op.execute(f"UPDATE trade_parts SET {found} WHERE item_kind = 'shipment'")
    # a parcel counts for its carrier and for its courier (once where both name the same subject)
    op.execute(
        "INSERT INTO carrier_trade (subject_source, subject_id, parcels) "
        "SELECT subject_source, subject_id, SUM(weight) FROM ("
        "SELECT carrier_source AS subject_source, carrier_id AS subject_id, weight FROM trade_parts "
        "WHERE item_kind = 'shipment' AND carrier_id IS NOT NULL "
        "UNION ALL SELECT courier_source, courier_id, weight FROM trade_parts "
        "WHERE item_kind = 'shipment' AND courier_id IS NOT NULL "
        "AND NOT COALESCE(courier_source = carrier_source AND courier_id = carrier_id, FALSE)"
        ") AS parts GROUP BY subject_source, subject_id")


def downgrade() -> None:
    with op.batch_alter_table('trade_parts') as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
    op.drop_table('carrier_trade')
