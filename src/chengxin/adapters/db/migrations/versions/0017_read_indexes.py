"""indexes for what is read often: scores by age, findings by detector and run

Without them, `scoring.rescore_stale` read and sorted the whole `credit_scores` table, every score's JSON
detail included, once a minute, and every read of the review queue scanned `findings` for each detector's
newest run and a run's findings.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 01:45:00.000000
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_credit_scores_computed_at'), 'credit_scores', ['computed_at'], unique=False)
    op.create_index('ix_findings_detector_created', 'findings', ['detector', 'created_at'], unique=False)
    op.create_index('ix_findings_run', 'findings', ['run_id', 'kind'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_findings_run', table_name='findings')
    op.drop_index('ix_findings_detector_created', table_name='findings')
    op.drop_index(op.f('ix_credit_scores_computed_at'), table_name='credit_scores')
