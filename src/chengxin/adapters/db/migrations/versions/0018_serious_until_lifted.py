"""a serious-illegality listing lasts until the authority lifts it: in-force records lose the 5-year end

`vocab/lifecycle.yaml` now gives `serious_dishonesty` sanctions `until_lifted: true` (浙江省公共信用信息管理
条例 art. 16; 严重违法失信名单管理办法). Records opened before it carry the grave severity's 5-year
`disclose_until`, so they would still expire, and leave the public file, without a lift. Those the authority
gave no date of its own lose it; the rest keep theirs.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 04:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

SEP = "\x1f"  # services/lifecycle.py SEP: joins the parts of a record key


def upgrade() -> None:
    op.get_bind().execute(sa.text(
        "UPDATE dishonesty_records SET disclose_until = NULL "
        "WHERE origin = 'sanction' AND sanction_kind = 'serious_dishonesty' AND state IN ('confirmed', 'appealed') "
        "AND NOT EXISTS (SELECT 1 FROM sanctions s WHERE dishonesty_records.record_key = "
        "'sanction' || :sep || s.source || :sep || s.sanction_id AND s.disclose_until IS NOT NULL)"), {"sep": SEP})


def downgrade() -> None:
    pass  # the 5-year end was the defect; nothing to put back
