"""subjects: the legal representative and directors of record (events-v1 extension `representatives`)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 13:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('representatives', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_column('representatives')
