"""lockstep_orders: orders placed in a lockstep burst at their shop

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lockstep_orders',
    sa.Column('order_source', sa.String(), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('shop_source', sa.String(), nullable=False),
    sa.Column('shop_id', sa.String(), nullable=False),
    sa.Column('computed_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('order_source', 'order_id', name=op.f('pk_lockstep_orders'))
    )


def downgrade() -> None:
    op.drop_table('lockstep_orders')
