"""marks the scorer could not settle are parked in the store, not in one process's memory

A mark of `scoring_queue` that failed alone `standing.PARK_AFTER` times was set aside in the scorer's memory
only: every restart and every `chengxin settle` tried it again, and nothing showed an operator it was there.
It now moves to `scoring_parked` with its error, until `chengxin scoring release` puts it back.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-28 10:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scoring_parked',
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('a_source', sa.String(), nullable=False),
        sa.Column('a_id', sa.String(), nullable=False),
        sa.Column('b_source', sa.String(), nullable=False),
        sa.Column('b_id', sa.String(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('parked_at', sa.String(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'a_source', 'a_id', 'b_source', 'b_id', name=op.f('pk_scoring_parked')),
    )


def downgrade() -> None:
    # the parked marks go back to the queue, which 0018's scorer tries again
    op.execute("INSERT INTO scoring_queue (kind, a_source, a_id, b_source, b_id) "
               "SELECT kind, a_source, a_id, b_source, b_id FROM scoring_parked p WHERE NOT EXISTS (SELECT 1 FROM "
               "scoring_queue q WHERE q.kind = p.kind AND q.a_source = p.a_source AND q.a_id = p.a_id "
               "AND q.b_source = p.b_source AND q.b_id = p.b_id)")
    op.drop_table('scoring_parked')
