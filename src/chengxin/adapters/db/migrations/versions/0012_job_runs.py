"""job runs: when a periodic job (the full list re-evaluation) last completed, shared by every process

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('job', sa.String(), nullable=False),
    sa.Column('finished_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_job_runs'))
    )


def downgrade() -> None:
    op.drop_table('job_runs')
