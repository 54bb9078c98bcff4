"""Fake-order rings (刷单炒信): dense, synchronised blocks on the buyer–shop graph of orders.

Pure: the service hands over every order as columns (`Orders`: buyer, shop, time, and the device, address and
payer-account hashes as indexes into one table of identifiers). The detector is FRAUDAR (Hooi et al., KDD 2016),
written from the paper, extended with time and side links:

1. **Edge weights.** A buyer–shop pair with orders is FRAUDAR's binary entry, `weights.edge` (a repeat
   customer is no denser than a one-off one); each of its orders adds `weights.lockstep` when it falls in a
   lockstep burst at its shop (`chengxin.domain.reliability.lockstep`: many orders at one shop within minutes, far above
   the shop's share of everyone's orders in that window), plus `weights.shared` when its device, address or
   payer account is used by at least `shared_min_buyers` distinct buyers. FRAUDAR's column weighting
   multiplies the edge by 1 / log(d + 5), d the shop's number of distinct buyers, so edges
   to popular shops (where rings hide camouflage orders and hijacked accounts shop honestly) weigh little.
2. **Greedy peeling** (`peeling.peel`, a numba kernel): repeatedly remove the buyer or shop
   of least weighted degree, keep the prefix with the highest density g(S) = f(S) / |S| (f the edge weight
   inside, |S| buyers plus shops).
3. **Several blocks.** The found block's edges are removed and the peeling repeats, until the best density falls
   below `min_density` or `max_blocks` peels were made.
4. **A block becomes a ring** when it has at least `min_buyers` buyers and at least `min_lockstep_share` of its
   orders are in lockstep. The ring's buyers are the block's, plus every buyer with at least `expand_min_lockstep`
   lockstep orders at the ring's shops (peeling keeps only the members heavier than the density: a worker with
   two orders falls off the core, yet orders in the same bursts); a merged block is split into its connected
   parts. Its orders are its buyers' lockstep orders at its shops.

Each ring is one finding of kind `fake_order_ring` naming its buyers and shops (parties) and its orders, with the
block's size, density, lockstep share, burst days, the identifiers its buyers share, and a sentence why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chengxin.domain.detection.checks import RuleError
from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.detection.pairs import unique_pairs
from chengxin.domain.detection.peeling import peel
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding
from chengxin.domain.reliability import lockstep

KIND = "fake_order_ring"
LINKS = ("device", "address", "payer")

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


# --- input ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Orders:
    """Every order as columns. `buyer`/`shop` index `buyers`/`shops`; `device`, `address`, `payer` index
    `identifiers` (-1: none)."""

    orders: Sequence[Ref]
    buyer: Ints
    shop: Ints
    at: Floats  # seconds since the epoch
    device: Ints
    address: Ints
    payer: Ints
    buyers: Sequence[Ref]
    shops: Sequence[Ref]
    identifiers: Sequence[str]

    @classmethod
    def build(cls, rows: Sequence[tuple[Ref, Ref, Ref, float, str | None, str | None, str | None]]) -> Orders:
        """From (order, buyer, shop, at, device, address, payer) tuples: for tests and small inputs."""
        buyers: dict[Ref, int] = {}
        shops: dict[Ref, int] = {}
        ids: dict[str, int] = {}

        def ident(x: str | None) -> int:
            return -1 if x is None else ids.setdefault(x, len(ids))

        cols: list[list[Any]] = [[], [], [], [], [], [], []]
        for order, buyer, shop, at, dev, addr, payer in rows:
            for col, value in zip(cols, (order, buyers.setdefault(buyer, len(buyers)),
                                         shops.setdefault(shop, len(shops)), at, ident(dev), ident(addr),
                                         ident(payer)), strict=True):
                col.append(value)
        i64 = np.int64
        return cls(cols[0], np.array(cols[1], i64), np.array(cols[2], i64), np.array(cols[3], np.float64),
                   np.array(cols[4], i64), np.array(cols[5], i64), np.array(cols[6], i64), list(buyers),
                   list(shops), list(ids))


# --- rules ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rules:
    weight_edge: float
    weight_lockstep: float
    weight_shared: float
    lockstep_minutes: float
    lockstep_min_count: int
    lockstep_factor: float
    shared_min_buyers: int
    min_density: float
    full_density: float
    min_buyers: int
    min_lockstep_share: float
    expand_min_lockstep: int
    max_blocks: int


def parse_rules(doc: Any, where: str = "fake_order_ring") -> Rules:
    """Check the `fake_order_ring` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("weights", "lockstep", "shared_min_buyers", "min_density", "full_density",
                           "min_buyers", "min_lockstep_share", "expand_min_lockstep", "max_blocks"))
    w = _keys(d["weights"], f"{where}.weights", ("edge", "lockstep", "shared"))
    ls = _keys(d["lockstep"], f"{where}.lockstep", ("window_minutes", "min_count", "factor"))

    def whole(value: Any, key: str, low: int, high: int) -> int:
        return int(_number(value, f"{where}.{key}", low, high, integer=True))

    rules = Rules(
        weight_edge=_number(w["edge"], f"{where}.weights.edge", 0, 100),
        weight_lockstep=_number(w["lockstep"], f"{where}.weights.lockstep", 0, 100),
        weight_shared=_number(w["shared"], f"{where}.weights.shared", 0, 100),
        lockstep_minutes=_number(ls["window_minutes"], f"{where}.lockstep.window_minutes", 1, 24 * 60),
        lockstep_min_count=whole(ls["min_count"], "lockstep.min_count", 2, 10**6),
        lockstep_factor=_number(ls["factor"], f"{where}.lockstep.factor", 1, 10**6),
        shared_min_buyers=whole(d["shared_min_buyers"], "shared_min_buyers", 2, 10**6),
        min_density=_number(d["min_density"], f"{where}.min_density", 0, 10**6),
        full_density=_number(d["full_density"], f"{where}.full_density", 0, 10**6),
        min_buyers=whole(d["min_buyers"], "min_buyers", 2, 10**6),
        min_lockstep_share=_number(d["min_lockstep_share"], f"{where}.min_lockstep_share", 0, 1),
        expand_min_lockstep=whole(d["expand_min_lockstep"], "expand_min_lockstep", 1, 10**6),
        max_blocks=whole(d["max_blocks"], "max_blocks", 1, 10**6),
    )
    if rules.weight_edge + rules.weight_lockstep + rules.weight_shared == 0:
        raise RuleError(f"{where}.weights: at least one must be above 0")
    if rules.full_density <= 0 or rules.full_density < rules.min_density:
        raise RuleError(f"{where}.full_density: must be above 0 and at least min_density")
    return rules


# --- the peeling kernel ---------------------------------------------------------------------------------------
def column_weight(degree: Floats) -> Floats:
    """FRAUDAR's camouflage-resistant column weight 1 / log(d + 5)."""
    return np.asarray(1.0 / np.log(degree + 5.0), np.float64)


# --- detection ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Graph:
    """The weighted buyer–shop graph: edge e joins buyer `eb[e]` and shop `es[e]` with weight `ew[e]`;
    `edge_of[i]` is order i's edge."""

    eb: Ints
    es: Ints
    ew: Floats
    edge_of: Ints
    lockstep: Bools
    shared: Bools


def build_graph(data: Orders, rules: Rules) -> Graph:
    n = len(data.orders)
    b, s = np.asarray(data.buyer, np.int64), np.asarray(data.shop, np.int64)
    flags = lockstep(s, np.asarray(data.at, np.float64), rules.lockstep_minutes * 60.0, rules.lockstep_min_count,
                     rules.lockstep_factor) if n else np.zeros(0, np.bool_)
    shared = np.zeros(n, np.bool_)
    for col in (data.device, data.address, data.payer):
        c = np.asarray(col, np.int64)
        has = c >= 0
        if not has.any():
            continue
        nb = max(1, len(data.buyers))
        pairs, _ = unique_pairs(c[has], b[has], len(data.identifiers), nb)  # distinct (identifier, buyer)
        per_id = np.bincount(pairs // nb, minlength=len(data.identifiers))
        shared[has] |= per_id[c[has]] >= rules.shared_min_buyers
    w = rules.weight_lockstep * flags + rules.weight_shared * shared
    uniq, edge_of = unique_pairs(b, s, len(data.buyers), max(1, len(data.shops)))
    eb, es = uniq // max(1, len(data.shops)), uniq % max(1, len(data.shops))
    degree = np.bincount(es, minlength=len(data.shops)).astype(np.float64)  # distinct buyers per shop
    # FRAUDAR's binary entry (a repeat customer is one edge), plus the suspicious orders one by one
    ew = (rules.weight_edge + np.bincount(edge_of, weights=w, minlength=len(uniq))) * column_weight(degree)[es]
    return Graph(eb, es, ew, edge_of.astype(np.int64), np.asarray(flags, np.bool_), shared)


def detect(data: Orders, rules: Rules) -> list[Finding]:
    """Every ring: see the module's docstring."""
    if not len(data.orders):
        return []
    g = build_graph(data, rules)
    nb, ns = len(data.buyers), len(data.shops)
    eu, ev = g.eb, g.es + nb
    alive = np.ones(len(eu), np.bool_)
    by_edge = np.argsort(g.edge_of, kind="stable")  # orders grouped by edge
    edge_start = np.concatenate([[0], np.cumsum(np.bincount(g.edge_of, minlength=len(eu)))]).astype(np.int64)
    n_orders = np.diff(edge_start)
    n_lock = np.bincount(g.edge_of, weights=g.lockstep, minlength=len(eu))
    shop_edges = np.argsort(g.es, kind="stable")
    shop_start = np.concatenate([[0], np.cumsum(np.bincount(g.es, minlength=ns))]).astype(np.int64)
    found: list[Finding] = []
    for _ in range(rules.max_blocks):
        block, density = peel(nb + ns, eu, ev, g.ew, alive)
        if density < rules.min_density or not block.any():
            break
        shops = np.flatnonzero(block[nb:])
        at_shops = np.concatenate([shop_edges[shop_start[s]:shop_start[s + 1]] for s in shops]) \
            if len(shops) else np.zeros(0, np.int64)
        core = at_shops[block[g.eb[at_shops]]]
        alive[core] = False  # the block's edges go, whatever it turns out to be
        # a ring's shop: the block's buyers order there mostly in lockstep bursts, several of them
        keep: list[int] = []
        for s in shops:
            mine = core[g.es[core] == s]
            lock_buyers = int((n_lock[mine] > 0).sum())
            if n_orders[mine].sum() and n_lock[mine].sum() / n_orders[mine].sum() >= rules.min_lockstep_share \
                    and lock_buyers >= rules.min_buyers:
                keep.append(int(s))
        if not keep:
            continue
        kept = np.zeros(ns, np.bool_)
        kept[keep] = True
        cand = at_shops[kept[g.es[at_shops]] & (n_lock[at_shops] > 0)]
        # the ring's buyers: the block's with a lockstep order at its shops, and others in its bursts there
        per_buyer = np.bincount(g.eb[cand], weights=n_lock[cand], minlength=nb)
        member = per_buyer >= rules.expand_min_lockstep
        member[g.eb[cand][block[g.eb[cand]]]] = True
        ring_edges = cand[member[g.eb[cand]]]
        alive[ring_edges] = False
        for comp_edges in _components(g.eb[ring_edges], g.es[ring_edges], ring_edges):
            members = np.unique(g.eb[comp_edges])
            comp_shops = np.unique(g.es[comp_edges])
            # all the members' orders at the ring's shops (a lockstep-free one of theirs there too)
            pairs = np.zeros(ns, np.bool_)
            pairs[comp_shops] = True
            is_member = np.zeros(nb, np.bool_)
            is_member[members] = True
            edges_all = np.concatenate([shop_edges[shop_start[s]:shop_start[s + 1]] for s in comp_shops])
            edges_all = edges_all[is_member[g.eb[edges_all]]]
            orders = np.sort(np.concatenate([by_edge[edge_start[e]:edge_start[e + 1]] for e in edges_all]))
            share = float(g.lockstep[orders].mean())
            if len(members) < rules.min_buyers or share < rules.min_lockstep_share:
                continue
            n_core = int(block[members].sum())
            named = orders[g.lockstep[orders]]  # a hijacked account's own purchases there stay out
            found.append(_finding(data, g, members, n_core, comp_shops, named, len(orders), density, share, rules))
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("parties")))
    return found


def _components(buyers: Ints, shops: Ints, edge_ids: Ints) -> list[Ints]:
    """Edge ids grouped by connected component of the (buyer, shop) edges given."""
    if not len(edge_ids):
        return []
    parent: dict[tuple[int, int], tuple[int, int]] = {}

    def root(x: tuple[int, int]) -> tuple[int, int]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for b, s in zip(buyers.tolist(), shops.tolist(), strict=True):
        rb, rs = root((0, b)), root((1, s))
        if rb != rs:
            parent[max(rb, rs)] = min(rb, rs)
    groups: dict[tuple[int, int], list[int]] = {}
    for e, s in zip(edge_ids.tolist(), shops.tolist(), strict=True):
        groups.setdefault(root((1, s)), []).append(e)
    return [np.array(v, np.int64) for _, v in sorted(groups.items())]


def _finding(data: Orders, g: Graph, members: Ints, core: int, shops: Ints, orders: Ints, all_orders: int,
             density: float, share: float, rules: Rules) -> Finding:
    """`orders`: the members' orders named (see `detect`); `all_orders`: all their orders at the shops."""
    buyers = sorted(data.buyers[int(i)] for i in members)
    shop_refs = sorted(data.shops[int(i)] for i in shops)
    days = sorted({int(t // 86400) for t in np.asarray(data.at)[orders[g.lockstep[orders]]]})
    shared: dict[str, list[dict[str, Any]]] = {}
    for name, col in zip(LINKS, (data.device, data.address, data.payer), strict=True):
        ids = np.asarray(col, np.int64)[orders]
        who = np.asarray(data.buyer, np.int64)[orders]
        keep = ids >= 0
        if not keep.any():
            continue
        pairs = np.unique(np.stack([ids[keep], who[keep]]), axis=1)
        values, counts = np.unique(pairs[0], return_counts=True)
        top = sorted(((int(c), data.identifiers[int(v)]) for v, c in zip(values, counts, strict=True) if c >= 2),
                     reverse=True)[:5]
        if top:
            shared[name] = [{"id": ident, "buyers": c} for c, ident in top]
    n_shared = int(g.shared[orders].sum())
    score = round(min(1.0, density / rules.full_density), 4)
    why = (f"{len(buyers)} buyers ordered at {len(shop_refs)} shop(s) {all_orders} times, "
           f"{share:.0%} of the orders in lockstep bursts on {len(days)} day(s)"
           + (f", {n_shared} orders on a device, address or payer account shared by "
              f"{rules.shared_min_buyers}+ buyers" if n_shared else ""))
    evidence = {
        "buyers": len(buyers), "shops": len(shop_refs), "orders": len(orders), "orders_at_shops": all_orders,
        "core_buyers": core,
        "expanded_buyers": len(buyers) - core, "density": round(density, 4), "lockstep_share": round(share, 4),
        "lockstep_days": len(days), "shared_orders": n_shared, "shared": shared,
        "shop_refs": [{"source": s, "id": i} for s, i in shop_refs], "why": why,
    }
    refs = tuple(buyers) + tuple(shop_refs)
    return Finding(KIND, score, {"parties": refs, "orders": tuple(data.orders[int(i)] for i in orders),
                                 "reviews": (), "products": ()}, evidence)


def edges(data: Orders) -> int:
    """Distinct buyer–shop pairs: the graph's edges (for throughput figures)."""
    if not len(data.orders):
        return 0
    return len(unique_pairs(np.asarray(data.buyer, np.int64), np.asarray(data.shop, np.int64), len(data.buyers),
                            max(1, len(data.shops)))[0])


__all__ = ["KIND", "Graph", "Orders", "Rules", "build_graph", "column_weight", "detect", "edges", "parse_rules",
           "peel"]
