"""shops get `name_key`, what the public search matches: the name NFKC-normalised, case folded, unspaced

A search for `ＡＢＣ` or `(官方)` missed the shop `ABC数码店（官方）`, and `abc` found it on SQLite only (its
LIKE folds ASCII case; PostgreSQL's does not). Every stored shop gets its key here; new ones get it from the
projection (`domain/projection.name_key`).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 13:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

from chengxin.domain.projection import name_key

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

PART = 5000


def upgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.add_column(sa.Column('name_key', sa.String(), nullable=True))
    conn = op.get_bind()
    shops = sa.table('shops', sa.column('source'), sa.column('shop_id'), sa.column('name'), sa.column('name_key'))
    update = sa.update(shops).where(shops.c.source == sa.bindparam('s'), shops.c.shop_id == sa.bindparam('i')) \
        .values(name_key=sa.bindparam('k'))
    after = ('', '')
    while True:  # in parts, by key: a store of a million shops is not held in memory
        rows = conn.execute(sa.select(shops.c.source, shops.c.shop_id, shops.c.name)
                            .where(sa.tuple_(shops.c.source, shops.c.shop_id) > sa.tuple_(*after))
                            .order_by(shops.c.source, shops.c.shop_id).limit(PART)).all()
        if not rows:
            break
        conn.execute(update, [{'s': r.source, 'i': r.shop_id, 'k': name_key(r.name)} for r in rows])
        after = (rows[-1].source, rows[-1].shop_id)


def downgrade() -> None:
    with op.batch_alter_table('shops') as batch:
        batch.drop_column('name_key')
