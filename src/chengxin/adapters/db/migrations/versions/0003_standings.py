"""standings: order verdicts, rating ledger, standings, scoring queue; review indexes for recounts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_verdicts',
    sa.Column('order_source', sa.String(), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('verdict', sa.String(), nullable=False),
    sa.Column('decided_by', sa.String(), nullable=False),
    sa.Column('decided_at', sa.String(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('basis', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('order_source', 'order_id', name=op.f('pk_order_verdicts'))
    )
    op.create_table('rating_ledger',
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('review_id', sa.String(), nullable=False),
    sa.Column('target_source', sa.String(), nullable=False),
    sa.Column('target_id', sa.String(), nullable=False),
    sa.Column('author_source', sa.String(), nullable=False),
    sa.Column('author_id', sa.String(), nullable=False),
    sa.Column('direction', sa.String(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('at', sa.String(), nullable=False),
    sa.Column('month', sa.String(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('base', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('dsr', sa.Boolean(), nullable=False),
    sa.Column('dims', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('source', 'review_id', name=op.f('pk_rating_ledger'))
    )
    op.create_index('ix_rating_ledger_target', 'rating_ledger', ['target_source', 'target_id', 'at'])
    op.create_index('ix_rating_ledger_pair', 'rating_ledger',
                    ['target_source', 'target_id', 'author_source', 'author_id'])
    op.create_table('standings',
    sa.Column('target_source', sa.String(), nullable=False),
    sa.Column('target_id', sa.String(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('target_source', 'target_id', name=op.f('pk_standings'))
    )
    op.create_table('scoring_queue',
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('a_source', sa.String(), nullable=False),
    sa.Column('a_id', sa.String(), nullable=False),
    sa.Column('b_source', sa.String(), nullable=False),
    sa.Column('b_id', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'a_source', 'a_id', 'b_source', 'b_id', name=op.f('pk_scoring_queue'))
    )
    op.create_table('credit_scores',
    sa.Column('party_key', sa.String(), nullable=False),
    sa.Column('score_kind', sa.String(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(), nullable=False),
    sa.Column('computed_at', sa.String(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('party_key', name=op.f('pk_credit_scores'))
    )
    op.create_table('score_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('party_key', sa.String(), nullable=False),
    sa.Column('at', sa.String(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(), nullable=False),
    sa.Column('previous_score', sa.Integer(), nullable=True),
    sa.Column('previous_grade', sa.String(), nullable=True),
    sa.Column('cause', sa.String(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_history'))
    )
    op.create_index(op.f('ix_score_history_party_key'), 'score_history', ['party_key'])
    op.create_table('rater_fairness',
    sa.Column('author_source', sa.String(), nullable=False),
    sa.Column('author_id', sa.String(), nullable=False),
    sa.Column('fairness', sa.Float(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.String(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('author_source', 'author_id', name=op.f('pk_rater_fairness'))
    )
    op.create_index('ix_reviews_pair', 'reviews', ['target_source', 'target_id', 'author_source', 'author_id'])
    op.create_index('ix_reviews_order', 'reviews', ['order_source', 'order_id'])


def downgrade() -> None:
    op.drop_index('ix_reviews_order', table_name='reviews')
    op.drop_index('ix_reviews_pair', table_name='reviews')
    op.drop_table('rater_fairness')
    op.drop_index(op.f('ix_score_history_party_key'), table_name='score_history')
    op.drop_table('score_history')
    op.drop_table('credit_scores')
    op.drop_table('scoring_queue')
    op.drop_table('standings')
    op.drop_index('ix_rating_ledger_pair', table_name='rating_ledger')
    op.drop_index('ix_rating_ledger_target', table_name='rating_ledger')
    op.drop_table('rating_ledger')
    op.drop_table('order_verdicts')
