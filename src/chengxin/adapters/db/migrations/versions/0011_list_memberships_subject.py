"""list memberships by subject report: the shop page asks for them on every lookup

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 15:20:00.000000
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_list_memberships_subject', 'list_memberships', ['subject_source', 'subject_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_list_memberships_subject', table_name='list_memberships')
