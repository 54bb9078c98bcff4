"""trade figures kept per order and shop, ratings summed per target: scoring a shop after one event reads a row

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 18:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trade_parts',
    sa.Column('item_kind', sa.String(), nullable=False),
    sa.Column('item_source', sa.String(), nullable=False),
    sa.Column('item_id', sa.String(), nullable=False),
    sa.Column('shop_source', sa.String(), nullable=False),
    sa.Column('shop_id', sa.String(), nullable=False),
    sa.Column('weight', sa.BigInteger(), nullable=False),
    sa.Column('shipped', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('item_kind', 'item_source', 'item_id', name=op.f('pk_trade_parts'))
    )
    op.create_table('shop_trade',
    sa.Column('shop_source', sa.String(), nullable=False),
    sa.Column('shop_id', sa.String(), nullable=False),
    sa.Column('shipped', sa.BigInteger(), nullable=False),
    sa.Column('on_time', sa.BigInteger(), nullable=False),
    sa.Column('delivered', sa.BigInteger(), nullable=False),
    sa.Column('returns', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('shop_source', 'shop_id', name=op.f('pk_shop_trade'))
    )
    op.create_table('target_ratings',
    sa.Column('target_source', sa.String(), nullable=False),
    sa.Column('target_id', sa.String(), nullable=False),
    sa.Column('ratings', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('wtotal', sa.BigInteger(), nullable=False),
    sa.Column('wsum', sa.BigInteger(), nullable=False),
    sa.Column('retracted', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('target_source', 'target_id', name=op.f('pk_target_ratings'))
    )
    op.create_table('rating_parts',
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('review_id', sa.String(), nullable=False),
    sa.Column('target_source', sa.String(), nullable=False),
    sa.Column('target_id', sa.String(), nullable=False),
    sa.Column('ratings', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('wtotal', sa.BigInteger(), nullable=False),
    sa.Column('wsum', sa.BigInteger(), nullable=False),
    sa.Column('retracted', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('source', 'review_id', name=op.f('pk_rating_parts'))
    )
    op.create_table('dsr_days',
    sa.Column('target_source', sa.String(), nullable=False),
    sa.Column('target_id', sa.String(), nullable=False),
    sa.Column('day', sa.String(), nullable=False),
    sa.Column('ratings', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('target_source', 'target_id', 'day', name=op.f('pk_dsr_days'))
    )
    state = op.create_table('trade_state',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('built_at', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_trade_state'))
    )
    # an empty store holds every order's figures already (none); a store with orders waits for the next
    # full recompute (`chengxin score`), and counts its shops' figures from their orders until then
    bind = op.get_bind()  # (a carrier's ratings count without an order: the ledger must be empty too)
    if all(bind.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first() is None for t in ("orders", "rating_ledger")):
        op.bulk_insert(state, [{'name': 'trade', 'built_at': '1970-01-01T00:00:00.000000Z'}])


def downgrade() -> None:
    op.drop_table('trade_state')
    op.drop_table('target_ratings')
    op.drop_table('dsr_days')
    op.drop_table('rating_parts')
    op.drop_table('shop_trade')
    op.drop_table('trade_parts')
