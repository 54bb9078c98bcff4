"""`api_keys` rotation: the secret a rotation replaced, and until when it is still accepted

`chengxin keys rotate KEY_ID [--grace-hours N]` gives a key a new secret (same id, role and source); the old
one keeps working until the grace ends, so a platform's feed can switch without a gap, then is refused
(services/keys.py, docs/security.md). Only its SHA-256 is kept, as for the current secret; the unique index
finds a request's key by either hash. Existing keys have never been rotated: the columns start NULL.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-28 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('api_keys', sa.Column('previous_hash', sa.String(), nullable=True))
    op.add_column('api_keys', sa.Column('previous_until', sa.String(), nullable=True))
    op.add_column('api_keys', sa.Column('rotated_at', sa.String(), nullable=True))
    op.create_index('ix_api_keys_previous_hash', 'api_keys', ['previous_hash'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_api_keys_previous_hash', table_name='api_keys')
    with op.batch_alter_table('api_keys') as batch:  # SQLite drops columns by rebuilding the table
        batch.drop_column('rotated_at')
        batch.drop_column('previous_until')
        batch.drop_column('previous_hash')
