"""live detection of price fraud: the queue of products whose price points arrived

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 13:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_price_queue',
    sa.Column('product_source', sa.String(), nullable=False),
    sa.Column('product_id', sa.String(), nullable=False),
    sa.Column('marked_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('product_source', 'product_id', name=op.f('pk_live_price_queue'))
    )


def downgrade() -> None:
    op.drop_table('live_price_queue')
