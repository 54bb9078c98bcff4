"""live detection: the queue of newly delivered shipments and the state full runs leave for live reads; an
index for the measures-feed publisher

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_queue',
    sa.Column('shipment_source', sa.String(), nullable=False),
    sa.Column('shipment_id', sa.String(), nullable=False),
    sa.Column('marked_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('shipment_source', 'shipment_id', name=op.f('pk_live_queue'))
    )
    op.create_table('detector_state',
    sa.Column('detector', sa.String(), nullable=False),
    sa.Column('run_id', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('detector', name=op.f('pk_detector_state'))
    )
    with op.batch_alter_table('measure_changes', schema=None) as batch_op:
        batch_op.create_index('ix_measure_changes_published', ['published_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('measure_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_measure_changes_published')
    op.drop_table('detector_state')
    op.drop_table('live_queue')
