"""signing keys: the credit log's key chain, so a node can rotate its signing key without breaking audits of
the heads its earlier keys signed (services/key_chain.py, docs/credit-log.md, "Rotating the signing key")

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28 18:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signing_keys',
    sa.Column('key_id', sa.String(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('from_size', sa.BigInteger(), nullable=False),
    sa.Column('added_at', sa.String(), nullable=False),
    sa.Column('previous_key_id', sa.String(), nullable=True),
    sa.Column('statement', sa.Text(), nullable=True),
    sa.Column('endorsement', sa.LargeBinary(), nullable=True),
    sa.Column('acceptance', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('from_size', name=op.f('uq_signing_keys_from_size'))
    )


def downgrade() -> None:
    op.drop_table('signing_keys')
