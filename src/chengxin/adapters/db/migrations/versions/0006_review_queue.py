"""review queue: review items (one per published finding) and the entities each is about

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('item_key', sa.String(), nullable=False),
    sa.Column('finding_id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.String(), nullable=False),
    sa.Column('detector', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('level', sa.String(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('evidence_sha256', sa.String(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('published_at', sa.String(), nullable=False),
    sa.Column('decided_by', sa.String(), nullable=True),
    sa.Column('decided_at', sa.String(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('basis', sa.String(), nullable=True),
    sa.Column('verdicts_at', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    sa.UniqueConstraint('item_key', name=op.f('uq_review_items_item_key'))
    )
    op.create_index(op.f('ix_review_items_status'), 'review_items', ['status'], unique=False)
    op.create_table('review_subjects',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('entity_id', sa.String(), nullable=False),
    sa.Column('subject_kind', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('item_id', 'role', 'source', 'entity_id', name=op.f('pk_review_subjects'))
    )
    op.create_index('ix_review_subjects_source', 'review_subjects', ['source', 'item_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_review_subjects_source', table_name='review_subjects')
    op.drop_table('review_subjects')
    op.drop_index(op.f('ix_review_items_status'), table_name='review_items')
    op.drop_table('review_items')
