"""`chengxin detect`: run every registered detector (`domain/detection`) over the stored data, keep the run's
findings (one `run_id`) in the `findings` table and return them.

Each detector names the input it reads; each input is gathered once per run, in one read snapshot, with a
few whole-table queries (no per-entity lookups), so detectors sharing an input share its cost. The orders
come from the order graph (`services/order_graph.py`), brought up to date just before.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from sys import intern
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import tables as t
from chengxin.adapters.db import upsert
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.findings import insert_findings, now_utc
from chengxin.adapters.resources import vocab_text
from chengxin.bootstrap import Chengxin
from chengxin.domain.detection import (
    DETECTORS,
    DetectionRules,
    fake_traffic,
    load_rules,
    malicious_review,
    not_as_described,
    price_fraud,
)
from chengxin.domain.detection.empty_parcel import Screened
from chengxin.domain.detection.templates import Review, Reviews
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding
from chengxin.services import columnar, detect_apart, order_graph, waybills


@cache
def rules() -> DetectionRules:
    return load_rules(vocab_text("detection.yaml"), "vocab/detection.yaml")


@dataclass
class DetectRun:
    run_id: str
    created_at: str
    findings: list[Finding]
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)  # per detector: findings, seconds
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # per input: rows gathered, seconds
    review: dict[str, Any] = field(default_factory=dict)  # what the run added to the review queue
    graph: dict[str, Any] = field(default_factory=dict)  # what refreshing the order graph read and appended
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The `chengxin detect --json` document."""
        return {"findings": [f.as_dict() for f in self.findings]}

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = defaultdict(int)
        for f in self.findings:
            kinds[f.kind] += 1
        return {"run_id": self.run_id, "created_at": self.created_at, "findings": len(self.findings),
                "kinds": dict(kinds), "detectors": self.detectors, "inputs": self.inputs, "review": self.review,
                "graph": self.graph, "seconds": round(self.seconds, 3)}


FULL_RUN_JOB = "detect.full"  # the job_runs row: when the last run of every detector finished (detect_schedule)


def detect(cx: Chengxin, only: list[str] | None = None, *, publish: bool = True,
           rebuild_graph: bool = False) -> DetectRun:
    """Run the registered detectors (or `only` these), store their findings under one run id, and (unless
    `publish` is False) queue them for review as suspected records (`services/review.py`): a machine finding
    is never a punishment, only a question for a person. The ring detector reads the order graph, refreshed
    first (`services/order_graph.py`; made again from the orders with `rebuild_graph`). Returns the run."""
    started = time.perf_counter()
    chosen = [DETECTORS[name] for name in (only or list(DETECTORS))]
    run = DetectRun(f"detect-{uuid.uuid4().hex[:12]}", now_utc(), [])
    apart = [d.name for d in chosen if d.needs in APART] if _worth_a_second_process(cx, chosen) else []
    if any(d.needs == "orders" for d in chosen):  # the ring detector reads the order graph
        run.graph = order_graph.bring_up_to_date(cx.engine, rebuild_graph=rebuild_graph)
    with detect_apart.beside(cx.settings.database_url, apart) as other:
        done = run_detectors(cx.engine, [d for d in chosen if d.name not in apart])
        if other is not None:
            done = done.merge(other.result())
    run.inputs = {d.needs: done.inputs[d.needs] for d in chosen}
    run.detectors = {d.name: done.detectors[d.name] for d in chosen}
    with write_transaction(cx.engine) as conn:
        for d in chosen:
            insert_findings(conn, done.found[d.name], detector=d.name, run_id=run.run_id, created_at=run.created_at)
            run.findings += done.found[d.name]
        if only is None:  # a full run, whoever ran it: the schedule counts from it (services/detect_schedule.py)
            upsert.insert_or_update(conn, lt.job_runs, [{"job": FULL_RUN_JOB,
                                                         "finished_at": datetime.now(UTC).isoformat()}])
        if done.typical is not None:  # services/detect_live.py
            from chengxin.services import detect_live

            detect_live.save_state(conn, run.run_id, done.typical)
    if publish:
        from chengxin.services import review

        run.review = review.publish(cx, run.run_id)
    run.seconds = time.perf_counter() - started
    return run


@dataclass
class Done:
    """What some detectors found, and what they read (rows and seconds per input, findings and seconds per
    detector); `typical` is what the live empty-parcel reader needs, when the waybills were read."""

    found: dict[str, list[Finding]] = field(default_factory=dict)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    typical: Any = None

    def merge(self, other: Done) -> Done:
        return Done({**self.found, **other.found}, {**self.inputs, **other.inputs},
                    {**self.detectors, **other.detectors}, self.typical if other.typical is None else other.typical)


def run_detectors(engine: Engine, chosen: list[Any]) -> Done:
    """Gather each input once, in one read transaction, run the detectors that read it, and let it go after
    its last reader (inputs are the memory)."""
    done, data = Done(), {}
    last_use = {d.needs: i for i, d in enumerate(chosen)}
    with read_connection(engine) as conn, _no_cyclic_gc():
        for i, d in enumerate(chosen):
            if d.needs not in data:
                t0 = time.perf_counter()
                data[d.needs], rows = LOADERS[d.needs](conn)
                done.inputs[d.needs] = {"rows": rows, "seconds": round(time.perf_counter() - t0, 3)}
            t0 = time.perf_counter()
            done.found[d.name] = d.run(data[d.needs], rules())
            done.detectors[d.name] = {"kind": d.kind, "findings": len(done.found[d.name]),
                                      "seconds": round(time.perf_counter() - t0, 3)}
            if last_use[d.needs] == i:
                if d.needs == "waybills":  # what the live reader needs until the next full run
                    from chengxin.domain.detection import empty_parcel

                    done.typical = empty_parcel.learn_typical(data["waybills"], rules().empty_parcel)
                del data[d.needs]
    return done


# A store this big has its waybills (the largest input: 24-29 s at bench-10m) read and judged in a second
# process while this one runs the other detectors; a smaller one is done sooner than a process starts.
APART = ("waybills",)
APART_FROM = 50_000  # shipments


def _worth_a_second_process(cx: Chengxin, chosen: list[Any]) -> bool:
    needs = {d.needs for d in chosen}
    if cx.settings.detect_processes < 2 or not needs & set(APART) or not needs - set(APART) \
            or not detect_apart.possible(cx.settings.database_url):
        return False
    with read_connection(cx.engine) as conn:
        return bool(conn.execute(select(func.count()).select_from(t.shipments)).scalar_one() >= APART_FROM)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Millions of small acyclic objects (rows, waybills): the cyclic collector would rescan them again and
    again and find nothing (reference counting still frees everything)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


# --- inputs ---------------------------------------------------------------------------------------------------
_rows, _epoch = waybills.stream_rows, waybills.epoch


def gather_waybills(conn: Connection) -> tuple[Screened, int]:
    """Every shipped order's waybills, screened as arrays; the flagged orders' read as objects
    (`services/waybills.py`). Returns (input, waybills)."""
    return waybills.gather(conn, rules().empty_parcel)


def gather_reviews(conn: Connection) -> tuple[Reviews, int]:
    """Every review with a text, with its author: one query, streamed. Returns (input, reviews)."""
    r = t.reviews
    q = select(r.c.source, r.c.review_id, r.c.author_source, r.c.author_id, r.c.text, r.c.score) \
        .where(r.c.text.is_not(None), r.c.author_id.is_not(None))
    reviews = [Review((src, rid), (a_src, a_id), text, score) for src, rid, a_src, a_id, text, score in _rows(conn, q)]
    return Reviews(reviews), len(reviews)


def _products(conn: Connection) -> tuple[dict[Ref, tuple[Ref | None, str]], dict[Ref, str]]:
    """Every product's shop and category, and each shop's main category (the most common among its products)."""
    p = t.products
    products: dict[Ref, tuple[Ref | None, str]] = {}
    per_shop: dict[Ref, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for src, pid, s_src, s_id, cat in _rows(conn, select(p.c.source, p.c.product_id, p.c.shop_source, p.c.shop_id,
                                                         p.c.category)):
        shop = (s_src, s_id) if s_id else None
        products[(src, pid)] = (shop, cat)
        if shop:
            per_shop[shop][cat] += 1
    main = {shop: min(cats.items(), key=lambda kv: (-kv[1], kv[0]))[0] for shop, cats in per_shop.items()}
    return products, main


def gather_prices(conn: Connection) -> tuple[price_fraud.Prices, int]:
    """Every product with its price points in time order: two queries, streamed. Returns (input, points)."""
    pp = t.price_points
    products, _ = _products(conn)
    points: dict[Ref, list[tuple[float, str, int, int]]] = defaultdict(list)
    n = 0
    for src, pid, at, eid, lp, price in _rows(conn, select(pp.c.product_source, pp.c.product_id, pp.c.at,
                                                           pp.c.event_id, pp.c.list_price, pp.c.price)):
        points[(src, pid)].append((_epoch(at), eid, int(lp), int(price)))
        n += 1
    out = []
    for ref in sorted(points):
        shop, cat = products.get(ref, (None, "?"))
        out.append(price_fraud.Product(ref, shop, cat, tuple(price_fraud.Point(at, lp, price)
                                                             for at, _, lp, price in sorted(points[ref]))))
    return price_fraud.Prices(out), n


def gather_traffic(conn: Connection) -> tuple[fake_traffic.Traffic, int]:
    """Every traffic report, and the categories of products and shops: two queries, streamed."""
    tr = t.traffic
    products, main = _products(conn)
    reports = [fake_traffic.Report((s_src, s_id), (p_src, p_id) if p_id else None, day, int(v), int(uv), int(o))
               for s_src, s_id, p_src, p_id, day, v, uv, o in _rows(conn, select(
                   tr.c.shop_source, tr.c.shop_id, tr.c.product_source, tr.c.product_id, tr.c.day, tr.c.visits,
                   tr.c.unique_visitors, tr.c.orders).where(tr.c.shop_id.is_not(None)))]
    categories: dict[Ref, str] = {ref: cat for ref, (_, cat) in products.items()}
    categories.update(main)
    return fake_traffic.Traffic(reports, categories), len(reports)


def gather_shop_quality(conn: Connection) -> tuple[not_as_described.Shops, int]:
    """Per shop: orders, returns by reason, complaints against it by category, main category, products. Four
    queries (orders and returns counted by the database), streamed."""
    o, r, c = t.orders, t.returns, t.complaints
    products, main = _products(conn)
    orders: dict[Ref, int] = {}
    for s_src, s_id, n in _rows(conn, select(o.c.shop_source, o.c.shop_id, func.count())
                                .where(o.c.shop_id.is_not(None)).group_by(o.c.shop_source, o.c.shop_id)):
        orders[(s_src, s_id)] = int(n)
    returns: dict[Ref, dict[str, int]] = defaultdict(dict)
    q = select(o.c.shop_source, o.c.shop_id, r.c.reason, func.count()).select_from(
        r.join(o, and_(o.c.source == r.c.order_source, o.c.order_id == r.c.order_id))
    ).group_by(o.c.shop_source, o.c.shop_id, r.c.reason)
    for s_src, s_id, reason, n in _rows(conn, q):
        returns[(s_src, s_id)][reason] = int(n)
    complaints: dict[Ref, dict[str, int]] = defaultdict(dict)
    for s_src, s_id, cat, n in _rows(conn, select(c.c.target_source, c.c.target_id, c.c.category, func.count())
                                     .where(c.c.target_id.is_not(None))
                                     .group_by(c.c.target_source, c.c.target_id, c.c.category)):
        complaints[(s_src, s_id)][cat] = int(n)
    by_shop: dict[Ref, list[Ref]] = defaultdict(list)
    for ref, (shop, _) in products.items():
        if shop:
            by_shop[shop].append(ref)
    shops = [not_as_described.Shop(shop, main.get(shop, "?"), n, returns.get(shop, {}), complaints.get(shop, {}),
                                   tuple(sorted(by_shop.get(shop, ()))))
             for shop, n in sorted(orders.items())]
    return not_as_described.Shops(shops), len(shops)


def gather_conduct(conn: Connection) -> tuple[malicious_review.Conduct, int]:
    """Orders (buyer, shop, total, time, payer account), reviews, complaints with their outcome, every subject's
    registration time, the orders with a return: seven queries, streamed. Returns (input, orders + reviews +
    complaints)."""
    o, r, c, cr, s = t.orders, t.reviews, t.complaints, t.complaint_resolutions, t.subjects
    same: dict[Any, Any] = {}  # sources, parties and accounts, each kept once (as the waybills' `same`)
    one = same.setdefault

    def ref(src: str, key: str) -> Ref:
        pair = (src, key)
        kept: Ref = one(pair, pair)
        return kept

    payer = columnar.latest_payers(_rows(conn, columnar.paid_query()))
    when = _epoch  # nearly every time is a time of its own: a cache of them only held their strings
    orders = [malicious_review.Order((intern(src), oid), ref(b_src, b_id), ref(s_src, s_id), int(total), when(at),
                                     None if (account := payer.get((src, oid))) is None else one(account, account))
              for src, oid, b_src, b_id, s_src, s_id, total, at in _rows(conn, select(
                  o.c.source, o.c.order_id, o.c.buyer_source, o.c.buyer_id, o.c.shop_source, o.c.shop_id, o.c.total,
                  o.c.placed_at).where(o.c.buyer_id.is_not(None), o.c.shop_id.is_not(None)))]
    del payer  # before the reviews: at bench-10m its keys were ~140 MB
    known = {x.ref: x.ref for x in orders}  # reviews, complaints and returns name these orders: one tuple each

    def order(src: str, oid: str) -> Ref:
        pair = (src, oid)
        return known.get(pair, pair)

    reviews = [malicious_review.Review((intern(src), rid), order(o_src, o_id) if o_id else None,
                                       ref(a_src, a_id), ref(t_src, t_id) if t_id else None, int(score), when(at),
                                       text, (f_src, f_id) if f_id else None, intern(direction))
               for src, rid, o_src, o_id, a_src, a_id, t_src, t_id, score, at, text, f_src, f_id, direction
               in _rows(conn, select(r.c.source, r.c.review_id, r.c.order_source, r.c.order_id, r.c.author_source,
                                     r.c.author_id, r.c.target_source, r.c.target_id, r.c.score, r.c.posted_at,
                                     r.c.text, r.c.follows_source, r.c.follows_id, r.c.direction)
                             .where(r.c.author_id.is_not(None)))]
    outcome = {(src, cid): out for src, cid, out in _rows(conn, select(cr.c.source, cr.c.complaint_id, cr.c.outcome))}
    # Without their texts: neither detector reads them (a sabotage campaign is told by its reviews' texts).
    complaints = [malicious_review.Complaint((intern(src), cid), ref(p_src, p_id) if p_id else None,
                                             ref(t_src, t_id) if t_id else None, order(o_src, o_id) if o_id else None,
                                             intern(cat), when(at), None if claimed is None else int(claimed),
                                             outcome.get((src, cid)))
                  for src, cid, p_src, p_id, t_src, t_id, o_src, o_id, cat, at, claimed in _rows(conn, select(
                      c.c.source, c.c.complaint_id, c.c.complainant_source, c.c.complainant_id, c.c.target_source,
                      c.c.target_id, c.c.order_source, c.c.order_id, c.c.category, c.c.filed_at, c.c.amount_claimed))]
    registered = {ref(src, sid): when(at) for src, sid, at in _rows(conn, select(s.c.source, s.c.subject_id,
                                                                                s.c.registered_at))}
    returned = {order(src, oid) for src, oid in _rows(conn, select(t.returns.c.order_source,
                                                                        t.returns.c.order_id)
                                                           .where(t.returns.c.order_id.is_not(None)))}
    return (malicious_review.Conduct(orders, reviews, complaints, registered, returned),
            len(orders) + len(reviews) + len(complaints))


LOADERS: dict[str, Callable[[Connection], tuple[Any, int]]] = {
    "waybills": gather_waybills, "orders": order_graph.read, "reviews": gather_reviews, "prices": gather_prices,
    "traffic": gather_traffic, "shop_quality": gather_shop_quality,
    "conduct": gather_conduct}
