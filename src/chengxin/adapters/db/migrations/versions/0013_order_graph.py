"""the order graph: orders as integer columns for ring detection

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 08:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_graph_state',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('upto_seq', sa.BigInteger(), nullable=False),
    sa.Column('chunks', sa.Integer(), nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.BigInteger(), nullable=False),
    sa.Column('buyers', sa.BigInteger(), nullable=False),
    sa.Column('shops', sa.BigInteger(), nullable=False),
    sa.Column('idents', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_order_graph_state'))
    )
    op.create_table('order_graph_names',
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('ident', sa.String(), nullable=False),
    sa.Column('no', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('role', 'source', 'ident', name=op.f('pk_order_graph_names'))
    )
    op.create_table('order_graph_chunks',
    sa.Column('chunk', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('col', sa.String(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('chunk', 'col', name=op.f('pk_order_graph_chunks'))
    )


def downgrade() -> None:
    op.drop_table('order_graph_chunks')
    op.drop_table('order_graph_names')
    op.drop_table('order_graph_state')
