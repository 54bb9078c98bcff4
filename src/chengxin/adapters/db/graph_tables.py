"""The order graph: every order's buyer, shop, time and side links as integer columns (`services/order_graph.py`).

Ring detection reads a million orders as numbers. Read row by row from the `orders` table they cost about a
microsecond each on SQLite before any work is done; kept here as arrays in a few large blobs, they cost a few
nanoseconds. This is derived data, like an index: `order_graph.refresh` appends what the events stored since
its last run changed, and `order_graph.rebuild` makes it again from the `orders` table.

- `order_graph_state`: one row, `name = 'orders'`: the last event `seq` read and how many names of each role
  (order, buyer, shop, identifier) are numbered, so new numbers follow on.
- `order_graph_names`: (role, source, ident) → number, so a refresh numbers a known name as before.
- `order_graph_chunks`: per refresh, one row per column (`col`): numpy bytes of each array, or the JSON list (zlib)
  of the names first numbered in it. An order may appear in several chunks: its last entry is its state.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, Table

from chengxin.adapters.db.tables import T, metadata

order_graph_state = Table(
    "order_graph_state", metadata,
    Column("name", T, primary_key=True),
    Column("upto_seq", BigInteger, nullable=False),   # events up to this seq are in the chunks
    Column("chunks", Integer, nullable=False),
    Column("entries", BigInteger, nullable=False),    # order entries in all chunks (>= orders: some repeat)
    Column("orders", BigInteger, nullable=False),     # names numbered per role: the next number of each
    Column("buyers", BigInteger, nullable=False),
    Column("shops", BigInteger, nullable=False),
    Column("idents", BigInteger, nullable=False),
)
order_graph_names = Table(
    "order_graph_names", metadata,
    Column("role", T, primary_key=True),     # order, buyer, shop, ident
    Column("source", T, primary_key=True),   # "" for identifiers (device, address, payer account)
    Column("ident", T, primary_key=True),
    Column("no", BigInteger, nullable=False),
)
order_graph_chunks = Table(
    "order_graph_chunks", metadata,
    Column("chunk", Integer, primary_key=True, autoincrement=False),
    Column("col", T, primary_key=True),
    Column("body", LargeBinary, nullable=False),
)
