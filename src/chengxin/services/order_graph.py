"""The order graph: every order's buyer, shop, time, device, address and payer account, kept as integer columns
so that ring detection reads a million orders in milliseconds (tables in `adapters/db/graph_tables.py`).

Reading the `orders` table costs about a microsecond a row on SQLite before any work is done, plus the
strings of every reference: most of what ring detection took end to end (0.6 s of 0.7 s at bench-1m). Here
each order, buyer, shop and identifier has a number, and the columns are stored as numpy bytes in a few blobs.

- `refresh(conn)`: brings the graph up to the last stored event. Events carry a `seq` that grows in commit
  order (every writer holds the store's write lock), so the order events after the last `seq` read name the
  orders that may have changed; their current rows are read and appended as a new chunk. An order appended
  again (placed again by a later event, or paid since) supersedes its earlier entry. An order always has a
  buyer and a shop (events-v1 requires both), so none ever leaves the graph. The first refresh is a
  `rebuild`.
- `rebuild(conn)`: the graph again from the `orders` table, numbered in the order the table is read. That is
  the order `columnar.gather_orders` reads it in, so the two give the same codes whenever the database
  returns the rows in the same order twice (SQLite: always; PostgreSQL: not promised). After refreshes,
  new names are numbered after the old ones. Peeling breaks ties by number, so in a tie a refreshed graph
  and a rebuilt one may pick different blocks of the same density.
- A refresh that would append more than half the graph, or that leaves more superseded entries than live
  ones, rebuilds instead (`REBUILD_FROM`).
- `read(conn)`: the `rings.Orders` input from the chunks.

Derived data, like an index: nothing here is a record; `chengxin detect --rebuild-graph` makes it again.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import orjson
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, delete, func, or_, select

from chengxin.adapters.db import bulk, upsert
from chengxin.adapters.db import graph_tables as g
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.domain.detection.rings import Orders
from chengxin.domain.events import Ref, as_ref
from chengxin.exc import IntegrityFailure
from chengxin.services.columnar import _epochs, driver_rows, latest_payers, paid_query, rows, stream

ROLES = ("order", "buyer", "shop", "ident")
CODES = ("order", "buyer", "shop", "device", "address", "payer")  # int32 columns; `at` is float64
ORDER_TYPES = ("cx.order.placed", "cx.order.paid")  # the events that change an order's row in the graph
_CHUNK = 200  # keys (orders or names) per OR-list query
REBUILD_FROM = 10_000  # changed orders (or superseded entries) a refresh appends before a rebuild is cheaper
STATE = "orders"

# (order, buyer, shop, placed at, device, address, payer): one order as the graph keeps it
Entry = tuple[Ref, Ref, Ref, str, str | None, str | None, str | None]


@dataclass
class State:
    upto_seq: int
    chunks: int
    entries: int
    counts: dict[str, int]  # role -> names numbered

    def row(self) -> dict[str, Any]:
        return {"name": STATE, "upto_seq": self.upto_seq, "chunks": self.chunks, "entries": self.entries,
                **{f"{role}s": n for role, n in self.counts.items()}}


# --- refresh and rebuild -----------------------------------------------------------------------------------
def bring_up_to_date(engine: Engine, *, rebuild_graph: bool = False) -> dict[str, Any]:
    """`refresh` (or `rebuild`) in a write transaction of its own; a graph already up to date is seen from a
    read transaction, without waiting for the write lock."""
    if not rebuild_graph:
        with read_connection(engine) as conn:
            state = _state(conn)
            if state is not None and state.upto_seq >= _top_seq(conn):
                return {"rebuilt": False, "events": 0, "orders": 0}
    with write_transaction(engine) as conn:
        return rebuild(conn) if rebuild_graph else refresh(conn)


def refresh(conn: Connection) -> dict[str, Any]:
    """Bring the graph up to the last stored event (in the caller's write transaction). Returns what it did:
    `{"rebuilt", "events", "orders"}` (order events read, order entries appended). Rebuilds instead when
    that is the smaller job: more changed orders than half the graph (a bulk load), or superseded entries
    outnumbering the live ones (every payment appends its order again)."""
    state, top = _state(conn), _top_seq(conn)
    if state is None:
        return rebuild(conn)
    if top <= state.upto_seq:
        return {"rebuilt": False, "events": 0, "orders": 0}
    most = max(REBUILD_FROM, state.counts["order"] // 2)
    events, keys = _changed_orders(conn, state.upto_seq, most)
    if len(keys) > most:
        return rebuild(conn)
    entries = _entries_of(conn, keys)
    appended = _append(conn, state, entries, _known(conn, entries))
    if state.entries > 2 * state.counts["order"] + REBUILD_FROM:
        return rebuild(conn)
    state.upto_seq = top
    upsert.insert_or_update(conn, g.order_graph_state, [state.row()])
    return {"rebuilt": False, "events": events, "orders": appended}


def rebuild(conn: Connection) -> dict[str, Any]:
    """The graph again from the stored orders, in one chunk."""
    top = _top_seq(conn)
    for table in (g.order_graph_chunks, g.order_graph_names, g.order_graph_state):
        conn.execute(delete(table))
    state = State(top, 0, 0, dict.fromkeys(ROLES, 0))
    appended = _append(conn, state, _entries_of(conn, None), {})
    upsert.insert_or_update(conn, g.order_graph_state, [state.row()])
    return {"rebuilt": True, "events": 0, "orders": appended}


def _state(conn: Connection) -> State | None:
    s = g.order_graph_state.c
    row = conn.execute(select(g.order_graph_state).where(s.name == STATE)).mappings().first()
    if row is None:
        return None
    return State(row["upto_seq"], row["chunks"], row["entries"], {role: row[f"{role}s"] for role in ROLES})


def _top_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.seq), 0))).scalar_one())


def _changed_orders(conn: Connection, after: int, most: int) -> tuple[int, list[Ref]]:
    """The orders named by the order events stored after `after`, in order of their first event: at most
    `most` + 1 of them (more means rebuild), the bodies streamed."""
    e = t.events.c
    which = or_(*(e.type == x for x in ORDER_TYPES))
    keys: dict[Ref, None] = {}
    events = 0
    for source, body in stream(conn, select(e.source, e.body).where(e.seq > after, which).order_by(e.seq)):
        events += 1
        if (key := as_ref(source, orjson.loads(body)["data"]["order_id"])) is not None:
            keys[key] = None
            if len(keys) > most:
                break
    return events, list(keys)


def _entries_of(conn: Connection, keys: list[Ref] | None) -> list[Entry]:
    """The current state of these orders (every order with a buyer and a shop when None), in the order the
    orders table is read (`columnar.gather_orders` reads it the same way); each with its payer account
    (`columnar.latest_payers`)."""
    if keys is None:
        got, paid = rows(conn, _placed()), rows(conn, paid_query())
    else:
        found = _by_keys(conn, _placed(), ("source", "order_id"), keys)
        paid = _by_keys(conn, paid_query(), ("order_source", "order_id"), keys)
        at_key = {(r[0], r[1]): r for r in found}
        got = [at_key[k] for k in keys if k in at_key]
    payer = latest_payers(paid)
    return [((src, oid), (bs, bi), (ss, si), at, dev, addr, payer.get((src, oid)))
            for src, oid, bs, bi, ss, si, at, dev, addr in got]


def _placed() -> Any:
    o = t.orders.c
    return select(o.source, o.order_id, o.buyer_source, o.buyer_id, o.shop_source, o.shop_id, o.placed_at,
                  o.device, o.address).where(o.buyer_id.is_not(None), o.shop_id.is_not(None))


def _by_keys(conn: Connection, stmt: Any, columns: tuple[str, ...], keys: Sequence[tuple[str, ...]]
             ) -> list[tuple[Any, ...]]:
    """Rows of a Core statement (no ORDER BY) whose `columns` equal one of `keys`, `_CHUNK` keys a query.
    The key condition is appended to the compiled SQL with the driver's parameters: building and compiling
    an OR of 200 terms in SQLAlchemy cost ten times the query. Every column is in every term, so that SQLite
    searches its index once per key (`role = ? AND (OR of pairs)` scanned every name of the role)."""
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))  # constants only
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    term = "(" + " AND ".join(f"{c} = {mark}" for c in columns) + ")"
    glue = " AND " if stmt.whereclause is not None else " WHERE "
    out: list[tuple[Any, ...]] = []
    for part in (keys[i:i + _CHUNK] for i in range(0, len(keys), _CHUNK)):
        out += driver_rows(conn, f"{sql}{glue}({' OR '.join([term] * len(part))})",
                           [v for key in part for v in key])
    return out


def _known(conn: Connection, entries: list[Entry]) -> Known:
    """The numbers already given to the names these entries carry, per role."""
    wanted: dict[str, set[tuple[str, str]]] = {role: set() for role in ROLES}
    for order, buyer, shop, _at, *links in entries:
        wanted["order"].add(order)
        wanted["buyer"].add(buyer)
        wanted["shop"].add(shop)
        wanted["ident"].update(("", x) for x in links if x)
    known: Known = {}
    for role, names in wanted.items():
        n = g.order_graph_names.c
        found = _by_keys(conn, select(n.source, n.ident, n.no), ("role", "source", "ident"),
                         [(role, *name) for name in sorted(names)])
        known[role] = {(s, i): no for s, i, no in found}
    return known


def _append(conn: Connection, state: State, entries: list[Entry], known: Known) -> int:
    """Number the entries' new names, and store the entries as the next chunk. Returns the entries stored."""
    if not entries:
        return 0
    orders, buyers, shops, at, device, address, payer = zip(*entries, strict=True)
    numbering = _Numbering(state.counts, known)
    cols = {role: numbering.codes(role, refs) for role, refs in (("order", orders), ("buyer", buyers),
                                                                  ("shop", shops))}
    # one numbering for the three links, row by row: device, address, payer (as `gather_orders` numbers them)
    links = numbering.codes("ident", [("", x) if x else None
                                      for row in zip(device, address, payer, strict=True) for x in row])
    cols["device"], cols["address"], cols["payer"] = links[0::3], links[1::3], links[2::3]
    _store_chunk(conn, state.chunks, cols, list(at), numbering)
    state.chunks, state.entries, state.counts = state.chunks + 1, state.entries + len(orders), numbering.counts
    return len(orders)


Known = dict[str, dict[tuple[str, str], int]]  # role -> name -> number


class _Numbering:
    """Numbers names by first appearance, after those already numbered; remembers the new ones in order."""

    def __init__(self, counts: dict[str, int], known: Known) -> None:
        self.counts, self.known = dict(counts), {role: dict(known.get(role, {})) for role in ROLES}
        self.new: dict[str, list[tuple[str, str]]] = {role: [] for role in ROLES}

    def codes(self, role: str, refs: Sequence[tuple[str, str] | None]) -> list[int]:
        """Each name's number (-1 for None), numbering the new ones."""
        index, new = self.known[role], self.new[role]
        if not index and not self.counts[role]:  # a rebuild: number by first appearance in one pass (×2)
            codes = [index.setdefault(ref, len(index)) if ref is not None else -1 for ref in refs]
            new += index
            self.counts[role] = len(index)
            return codes
        codes = []
        for ref in refs:
            no = -1 if ref is None else index.get(ref)
            if no is None:
                assert ref is not None
                no = index[ref] = self.counts[role]
                self.counts[role] += 1
                new.append(ref)
            codes.append(no)
        return codes


def _store_chunk(conn: Connection, chunk: int, cols: dict[str, list[int]], at: list[str], numbering: _Numbering
                 ) -> None:
    bodies = {c: np.asarray(cols[c], np.int32).tobytes() for c in CODES}
    bodies["at"] = _epochs(at).tobytes()
    for role, refs in numbering.new.items():
        bodies[f"names_{role}"] = zlib.compress(orjson.dumps([x for ref in refs for x in ref]), 1)
    bulk.insert_tuples(conn, "order_graph_chunks", [(chunk, col, body) for col, body in bodies.items()])
    bulk.insert_tuples(conn, "order_graph_names", [
        (role, *ref, numbering.known[role][ref]) for role, refs in numbering.new.items() for ref in refs])


# --- reading ---------------------------------------------------------------------------------------------
def read(conn: Connection) -> tuple[Orders, int]:
    """Every order with a buyer and a shop, as `rings.Orders`, from the graph as last refreshed. Returns
    (input, orders)."""
    state = _state(conn)
    if state is None or not state.entries:
        return Orders.build([]), 0
    c = g.order_graph_chunks.c
    parts: dict[str, list[bytes]] = {}
    for col, body in rows(conn, select(c.col, c.body).order_by(c.chunk)):
        parts.setdefault(col, []).append(body)
    cols = {col: np.frombuffer(b"".join(parts.get(col, [])), np.int32) for col in CODES}
    at: NDArray[np.float64] = np.frombuffer(b"".join(parts.get("at", [])), np.float64)
    if not len(cols["order"]) == len(at) == state.entries:  # a snapshot holds them together; a bug would not
        raise IntegrityFailure(f"order graph: {len(cols['order'])} entries stored, the state counts {state.entries};"
                               " make it again with `chengxin detect --rebuild-graph`")
    keep = _latest(cols["order"]) if state.entries != state.counts["order"] else slice(None)  # no order repeats
    code = {col: cols[col][keep].astype(np.int64) for col in CODES}
    names = {role: Names(parts.get(f"names_{role}", []), state.counts[role], pairs=role != "ident")
             for role in ROLES}
    data = Orders(Picked(names["order"], code["order"]), code["buyer"], code["shop"], at[keep].copy(),
                  code["device"], code["address"], code["payer"], names["buyer"], names["shop"], names["ident"])
    return data, len(code["order"])


def _latest(order: NDArray[Any]) -> NDArray[np.int64]:
    """Positions of each order's last entry, in entry order."""
    _, first_from_end = np.unique(order[::-1], return_index=True)
    return np.sort(len(order) - 1 - first_from_end).astype(np.int64)


class Names(Sequence[Any]):
    """The names of one role in number order, from the chunks' JSON lists of [source, id, source, id, ...]
    (zlib level 1: bench-1m's 5.1 MB of names are 1.1 MB to fetch): references, or (`pairs=False`) the ids
    alone (identifiers, whose source is ""). Decoded on first use: most runs name only a few hundred parties
    in their findings, and decoding a million names costs more than reading every column (57 of 69 ms at
    bench-1m)."""

    def __init__(self, bodies: list[bytes], count: int, *, pairs: bool = True) -> None:
        self.bodies, self.size, self.pairs = bodies, count, pairs
        self._flat: list[str] | None = None

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -self.size <= i < self.size:
            raise IndexError(i)
        flat, i = self._decoded(), i % self.size
        return (flat[2 * i], flat[2 * i + 1]) if self.pairs else flat[2 * i + 1]

    def _decoded(self) -> list[str]:
        if self._flat is None:
            self._flat = []
            for body in self.bodies:
                self._flat += orjson.loads(zlib.decompress(body))
        return self._flat


class Picked(Sequence[Ref]):
    """`names[codes[i]]` for each i: the references of the orders kept, without building their list."""

    def __init__(self, names: Sequence[Ref], codes: Iterable[int]) -> None:
        self.names, self.codes = names, np.asarray(codes)

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, i: int) -> Ref: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Ref]: ...
    def __getitem__(self, i: int | slice) -> Ref | Sequence[Ref]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.names[int(self.codes[i])]
