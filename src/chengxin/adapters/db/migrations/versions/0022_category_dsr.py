"""`category_dsr`: the DSR average of each shop category that scores and shop pages compare its shops with

A shop's DSR gap against its category's average took the new average only when the shop itself was rescored,
or by the aging pass: its page could compare its DSR with an average a day old while the table beside it gave
today's (a small category's scores were 35 points apart). The average is now published per category and moved,
with the category's shops rescored, when the average over every shop of the category moves beyond a step
(services/standing_views.py, docs/scoring.md). The table starts empty: each category is published at the first
scoring of one of its shops (its shops follow at their next scoring, or all at once with `chengxin score`).

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('category_dsr',
    sa.Column('category', sa.String(), nullable=False),
    sa.Column('average', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('category', name=op.f('pk_category_dsr'))
    )


def downgrade() -> None:
    op.drop_table('category_dsr')
