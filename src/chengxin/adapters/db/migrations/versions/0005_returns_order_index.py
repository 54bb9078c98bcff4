"""returns by order: the index a party's profile uses to find its shops' returns

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:35:00.000000
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_returns_order', 'returns', ['order_source', 'order_id'])


def downgrade() -> None:
    op.drop_index('ix_returns_order', table_name='returns')
