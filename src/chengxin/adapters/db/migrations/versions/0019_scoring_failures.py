"""scoring marks that fail are counted in the store, and parked there after a few failures

A mark of `scoring_queue` that failed alone `standing.PARK_AFTER` times was set aside in the scorer's memory
only: every restart and every `chengxin settle` tried it again, a one-shot `settle` never counted past one
failure, and nothing showed an operator it was there. Failures are now counted in `scoring_failures`; a mark
that reaches the limit is parked (out of the queue) until `chengxin scoring release` puts it back. The kept
trade figures of a store with a rejected return are set aside (they counted it): scores count from the orders
until `chengxin score`.

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
        'scoring_failures',
        sa.Column('kind', sa.String(), nullable=False),
        sa.Column('a_source', sa.String(), nullable=False),
        sa.Column('a_id', sa.String(), nullable=False),
        sa.Column('b_source', sa.String(), nullable=False),
        sa.Column('b_id', sa.String(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('failed_at', sa.String(), nullable=False),
        sa.Column('parked', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'a_source', 'a_id', 'b_source', 'b_id', name=op.f('pk_scoring_failures')),
    )
    # The kept trade figures counted quality returns the seller rejected: a store that holds such a rejection
    # counts from the orders until the next full recompute (`chengxin score`) builds them again
    # (services/trade.py `built`). Any other store's figures are right (an empty one's are built, and stay so).
    op.execute("DELETE FROM trade_state WHERE EXISTS (SELECT 1 FROM return_resolutions WHERE outcome = 'rejected')")


def downgrade() -> None:
    # the parked marks go back to the queue, which 0018's scorer tries again
    op.execute("INSERT INTO scoring_queue (kind, a_source, a_id, b_source, b_id) "
               "SELECT kind, a_source, a_id, b_source, b_id FROM scoring_failures f WHERE f.parked AND NOT EXISTS "
               "(SELECT 1 FROM scoring_queue q WHERE q.kind = f.kind AND q.a_source = f.a_source "
               "AND q.a_id = f.a_id AND q.b_source = f.b_source AND q.b_id = f.b_id)")
    op.drop_table('scoring_failures')
