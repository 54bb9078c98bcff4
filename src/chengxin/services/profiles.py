"""The facts behind a party's credit score, gathered from the store (`domain.scoring.Profile`).

A party is one legal identity: every report with the same `party_key`; a merchant's trade is that of the
shops its reports operate. Figures are aggregated by the database per shop or subject (GROUP BY), then
summed per party here, so a full recompute reads a row per shop rather than a row per order, and scoring
some parties reads only their shops' rows.

Orders and ratings are weighted in SQL: an order (and a rating) weighs min(1, (fairness / default)³) of its
buyer's stored fairness (1 when the buyer has none), times `lockstep_weight` when the order was placed in a
lockstep burst at its shop (see `services/scoring.py` and docs/scoring.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
import orjson
from sqlalchemy import (
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.types import BigInteger, Text

from chengxin.adapters.db import direct, duck
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import bound_pair_in, pair_params
from chengxin.domain import lifecycle as LS
from chengxin.domain import ratings as R
from chengxin.domain import scoring as S
from chengxin.domain.disclosure import WITHDRAWING_LIFTS
from chengxin.domain.licensing import ALL_SHOPS
from chengxin.services import columnar, lifecycle, rating_sums, trade

Ref = tuple[str, str]
# Statements are built once per shape and reused: building and hashing SQLAlchemy expressions cost more
# than running them when one party is rescored after one event.
_STATEMENTS: dict[tuple[str, str, bool], tuple[Any, ...]] = {}


def _statement(name: str, dialect: str, plain: bool, build: Any) -> tuple[Any, ...]:
    key = (name, dialect, plain)
    if (found := _STATEMENTS.get(key)) is None:
        found = _STATEMENTS[key] = build()
    return found


def days_between(since: str | None, now: datetime) -> float:
    if not since:
        return 0.0
    return max(0.0, (now - datetime.fromisoformat(since[:19]).replace(tzinfo=UTC)).total_seconds() / 86400)


MERCHANT = "merchant"  # the score kind (vocab/credit_score.yaml) whose trade is its shops' alone


class Gather:
    """The parties being scored, their subject reports and shops, and how to read rows about them."""

    def __init__(self, conn: Connection, keys: Iterable[str] | None, now: datetime, rules: S.ScoreRules,
                 plain: bool = False, reader: duck.Reader | None = None) -> None:
        """`keys`: these parties, their rows looked up by reference; else every party, from whole-table
        reads (a full rebuild), run by DuckDB when a `reader` is given (it reads only committed rows)."""
        self.conn, self.now, self.rules, self.plain, self.scoped = conn, now, rules, plain, keys is not None
        self.keep = False  # write the kept trade figures anew (`collect`)
        self.days: dict[Ref, list[int]] | None = None  # the kept DSR days after the window's first (`_figures`)
        # scoring some parties reads the kept figures once a full recompute has built them (looked up once)
        self.kept = self.scoped and trade.built(conn)
        self.reader = None if keys is not None else reader
        self.dialect = "duckdb" if self.reader is not None else conn.dialect.name
        sh = t.shops
        self.subjects = _subjects(conn, None if keys is None else list(keys))
        # every party gathered has an index: its row in the facts
        self.keys = list(dict.fromkeys(r.party_key for r in self.subjects))
        index = {k: i for i, k in enumerate(self.keys)}
        self.party_of: dict[Ref, int] = {(r.source, r.subject_id): index[r.party_key] for r in self.subjects}
        self.shop_party: dict[Ref, int] = {}
        (shops,) = _statement("shops", conn.dialect.name, False, lambda: (select(sh),))
        self.shops = [r for r in self.rows(shops, sh.c.operator_source, sh.c.operator_id, self.party_of)
                      if (r.operator_source, r.operator_id) in self.party_of]
        self.shop_party = {(r.source, r.shop_id): self.party_of[(r.operator_source, r.operator_id)]
                           for r in self.shops}
        self.sellers = frozenset(self.shop_party.values())  # parties with a shop: their trade is their shops'

    def owner(self, ref: Ref) -> int | None:
        """The index of the party a shop or subject belongs to (None: not in this gathering)."""
        found = self.shop_party.get(ref)
        return self.party_of.get(ref) if found is None else found

    def rows(self, stmt: Any, source_col: Any, id_col: Any, refs: Iterable[Ref] | None = None,
             params: dict[str, Any] | None = None) -> Iterable[Any]:
        """Rows of `stmt` (with `params`), limited to these refs (default: the parties' shops and subject
        reports) when scoring some parties, in chunks; all rows when scoring everyone."""
        params = params or {}
        if self.reader is not None:
            yield from self.reader.stream(stmt, params)
            return
        if not self.scoped:
            yield from self.conn.execute(stmt, params)
            return
        refs = list(refs if refs is not None else [*self.shop_party, *self.party_of])
        yield from direct.in_refs(self.conn, stmt, source_col, id_col, refs, params)

    def stream(self, stmt: Any, source_col: Any, id_col: Any, refs: Iterable[Ref],
               params: dict[str, Any] | None = None) -> Iterable[Any]:
        """`rows`, as plain tuples a few thousand at a time when reading everyone from the store (a full
        recompute's pass over every order or rating holds one batch)."""
        if self.reader is None and not self.scoped:
            return columnar.stream(self.conn, stmt.params(params) if params else stmt)
        return self.rows(stmt, source_col, id_col, refs, params)

    def add(self, facts: Facts, ref: Ref, **values: float) -> None:
        if (i := self.owner(ref)) is not None:
            facts.add(i, **values)

    def add_trading(self, facts: Facts, ref: Ref, **values: float) -> None:
        """Orders and ratings in the party's trading role: a shop's go to its operator; a subject's own (as a
        buyer, or a carrier) only to a party with no shop and not scored as a merchant. A seller's
        purchases and the ratings sellers gave it as a buyer were mixed in: buying from an accomplice diluted
        its sellers' ratings (found by review)."""
        i = self.shop_party.get(ref)
        if i is None and (i := self.party_of.get(ref)) is not None and (
                i in self.sellers or self.rules.kind_of(facts.kind[i]) == MERCHANT):
            return  # a seller's own purchases: not its trade (a person with a shop sells too)
        if i is not None:
            facts.add(i, **values)

    def weight(self, buyer_source: Any, buyer_id: Any, order_source: Any, order_id: Any) -> tuple[Any, list[Any]]:
        """The SQL weight of an order by its buyer's fairness and lockstep flag, and the joins it needs."""
        return trade.weight(self.rules, self.plain, buyer_source, buyer_id, order_source, order_id)


# the figures summed per party, one column each (`Facts.values`)
FIELDS = ("orders", "shipped", "on_time", "delivered", "returns", "ratings", "sum", "wtotal", "wsum", "retracted",
          "complaints", "upheld", "commitments", "licence_gaps", "dsr_gap_sum", "dsr_n", "broken", "minor", "serious",
          "grave", "carried")
FIELD = {name: i for i, name in enumerate(FIELDS)}


class Facts:
    """What is known of every gathered party, as columns: a row of `values` per party (in `keys` order), and
    what every party has once (kind, identity, when first known). A full rebuild gathers everyone once (a few
    whole-table reads) and scores them in slices (`profiles`); ~130 bytes a party besides the keys."""

    def __init__(self, g: Gather) -> None:
        n = len(g.keys)
        self.keys, self.now = g.keys, g.now
        self.values = np.zeros((n, len(FIELDS)))
        self.kind: list[str] = [""] * n
        self.identity_valid = np.ones(n, dtype=bool)
        self.verified = np.zeros(n, dtype=bool)
        self.first: list[str | None] = [None] * n
        self.sanctions: dict[int, list[S.Sanction]] = {}
        self.previous: dict[str, Previous] | None = None  # the stored scores, when read with the facts (`_few`)
        # category -> (its DSR average over every shop, when read, whether one was published before): the
        # categories whose published average these facts found moved (`_dsr_basis`), for the scorer to publish
        self.moved: dict[str, tuple[dict[str, Any], str, bool]] = {}
        # the first report names the kind; ties broken by source and id, as `list_facts` does (in read order,
        # a full rebuild and a rescore could pick different reports: found by review)
        for r in sorted(g.subjects, key=lambda r: (r.registered_at, r.source, r.subject_id)):
            i = g.party_of[(r.source, r.subject_id)]
            if self.first[i] is None:
                self.kind[i], self.first[i] = r.kind, r.registered_at
            self.identity_valid[i] &= bool(r.identity_valid)
            self.verified[i] |= r.verified_at is not None
        for shop in g.shops:
            i = g.shop_party[(shop.source, shop.shop_id)]
            self.first[i] = min(self.first[i] or shop.opened_at, shop.opened_at)

    def add(self, i: int, **values: float) -> None:
        row = self.values[i]
        for name, v in values.items():
            row[FIELD[name]] += v or 0.0

    def profiles(self, start: int = 0, stop: int | None = None) -> dict[str, S.Profile]:
        """The profiles of parties [start, stop) in `keys` order (default: all)."""
        stop = len(self.keys) if stop is None else min(stop, len(self.keys))
        rows = self.values[start:stop].tolist()
        return {self.keys[i]: self._profile(i, row) for i, row in zip(range(start, stop), rows, strict=True)}

    def _profile(self, i: int, f: list[float]) -> S.Profile:
        (orders, shipped, on_time, delivered, returns, ratings, total, wtotal, wsum, retracted, complaints,
         upheld, commitments, licence_gaps, dsr_gap_sum, dsr_n, broken, minor, serious, grave, carried) = f
        n_rated = int(ratings)
        return S.Profile(
            kind=self.kind[i], identity_valid=bool(self.identity_valid[i]), verified=bool(self.verified[i]),
            licence_gaps=int(licence_gaps), days_known=days_between(self.first[i], self.now), orders=int(orders),
            ratings=n_rated, ratings_weight=wtotal, rating_mean=wsum / wtotal if wtotal else None,
            rating_mean_raw=total / n_rated if n_rated else None,
            dsr_gap=dsr_gap_sum / dsr_n if dsr_n else None, returns=returns, delivered=delivered, shipped=shipped,
            shipped_on_time=on_time, carried=carried, complaints=int(complaints), complaints_upheld=upheld,
            sanctions=tuple(self.sanctions.get(i, ())), retracted=int(retracted), commitments=int(commitments),
            commitments_broken=int(broken), records=(int(minor), int(serious), int(grave)))


_SUBJECTS = select(t.subjects.c.source, t.subjects.c.subject_id, t.subjects.c.party_key, t.subjects.c.kind,
                   cast(t.subjects.c.identity_valid, Integer).label("identity_valid"),  # not a boolean: runs on
                   t.subjects.c.verified_at, t.subjects.c.registered_at)  # the driver's cursor (direct.py)


def _subjects(conn: Connection, keys: list[str] | None) -> list[Any]:
    """The subject reports of these parties (of every party when None)."""
    if keys is None:
        return list(conn.execute(_SUBJECTS))
    return direct.rows_in(conn, _SUBJECTS, t.subjects.c.party_key, keys)


def collect(conn: Connection, keys: Iterable[str] | None, now: datetime, rules: S.ScoreRules,
            rating_rules: R.RatingRules, *, plain: bool = False, reader: duck.Reader | None = None,
            keep: bool = False) -> Facts:
    """The facts of these parties (everyone when `keys` is None, aggregated by DuckDB when a `reader` is
    given); `plain` weighs every order and rating 1; `keep` (everyone, weighted: the full recompute) writes
    the trade figures kept per order and shop anew (`services/trade.py`)."""
    assert not keep or (keys is None and not plain)
    g = Gather(conn, keys, now, rules, plain, reader)
    g.keep = keep
    facts = Facts(g)
    if g.kept and not g.plain:  # a few parties over the kept figures: every step in one statement
        _few(g, facts, rating_rules)
        return facts
    for step in (_orders, _trade, _ratings, _complaints, _sanctions, _commitments, _breaches, _licence_gaps):
        step(g, facts)
    _dsr(g, facts, rating_rules)
    return facts


def gather(conn: Connection, keys: Iterable[str] | None, now: datetime, rules: S.ScoreRules,
           rating_rules: R.RatingRules, *, plain: bool = False) -> dict[str, S.Profile]:
    """Profiles of these parties (everyone when `keys` is None); `plain` weighs every order and rating 1."""
    return collect(conn, keys, now, rules, rating_rules, plain=plain).profiles()


# --- a few parties' facts in one statement -------------------------------------------------------------------
# Scoring one event's parties ran a statement per step, of a few rows each: orders (at their shops, as buyers),
# shops' trade figures, rating sums, complaints, commitments, kept DSR days, sanctions, breaches, licences and
# the DSR window's first day; and saving their scores read the stored ones. Once the kept figures are built they
# run as one UNION ALL of the same statements, each row tagged with its step: ten statements fewer in a lone
# event's step (~30 µs each on SQLite).
FEW_CHUNK = 64  # references of each kind per statement: SQLite allows 500 terms in a compound select
(_AT_SHOPS, _BOUGHT, _TRADE, _RATED, _COMPLAINED, _COMMITTED, _DSR_DAYS, _SANCTIONED, _BREACHES, _LICENSED,
 _DSR_FIRST, _CARRIED, _SCORED) = range(13)
_N, _X = 3, 8  # a row: (tag, source, id, five integers from _N, five texts from _X), NULL where a step has none


class Previous(NamedTuple):
    """A party's stored score, which saving its new one compares with (`scoring.save_scores`)."""
    party_key: str
    score: int
    grade: str
    detail: str


class _Held(NamedTuple):
    """A licence as `_licence_gaps` and `parties.licence_gaps` read it."""
    subject_source: str
    subject_id: str
    licence_type: str
    number: str
    valid_from: str
    valid_until: str | None


def _few(g: Gather, facts: Facts, rr: R.RatingRules) -> None:
    """Every step of `collect` for a few parties over the kept figures, from one statement per chunk, each
    step's rows added in the order its own statement gave them."""
    since = R.window_start(g.now, rr.dsr_window_days)
    found = _read_few(g, since)
    _add_figures(g, facts, found)
    _sanctions(g, facts, [(r[1], r[2], *r[_X:_X + 5]) for r in found[_SANCTIONED]])
    _breaches(g, facts, [(r[1], *r[_X:_X + 3]) for r in found[_BREACHES]])
    _licence_gaps(g, facts, [_Held(r[1], r[2], *r[_X:_X + 4]) for r in found[_LICENSED]])
    _dsr(g, facts, rr, [(r[1], r[2], r[_X], r[_X + 1]) for r in found[_DSR_FIRST]])
    facts.previous = {r[1]: Previous(r[1], int(r[_N]), r[_X], r[_X + 1]) for r in found[_SCORED]}


def _read_few(g: Gather, since: str) -> list[list[Any]]:
    """The rows of `_few_stmt` by tag, read a chunk of `FEW_CHUNK` references of each kind at a time."""
    shops, subjects = list(g.shop_party), list(g.party_of)
    refs = {"s": shops, "p": subjects, "t": list(dict.fromkeys([*shops, *subjects]))}  # as `in_refs` took them
    first = since[:10]
    params: dict[str, Any] = {"today": lifecycle.day_of(g.now).isoformat(),  # commitments in force through
                              "after": first, "since": since,  # their day in China; the DSR window's first day
                              "until": (date.fromisoformat(first) + timedelta(days=1)).isoformat()}
    found: list[list[Any]] = [[] for _ in range(_SCORED + 1)]
    for i in range(0, max(len(g.keys), *map(len, refs.values())), FEW_CHUNK):
        shape = []
        for name, some in refs.items():
            part = _padded(some[i:i + FEW_CHUNK])
            params.update(pair_params(name, part))
            shape.append(len(part))
        keys = g.keys[i:i + FEW_CHUNK]
        n = 1 << (len(keys) - 1).bit_length() if keys else 0  # filled with the last key, as `select_in` does
        params.update({f"k{j}": keys[min(j, len(keys) - 1)] for j in range(n)})
        for row in direct.rows(g.conn, _few_stmt(*shape, n), params):
            found[row[0]].append(row)
    return found


def _add_figures(g: Gather, facts: Facts, found: list[list[Any]]) -> None:
    """What `_orders`, `_trade` (with parcels carried), `_ratings`, `_complaints` and `_commitments` add, from
    `_read_few`'s rows;
    the kept DSR days after the window's first day for `_dsr`."""
    for r in (*found[_AT_SHOPS], *found[_BOUGHT]):
        g.add_trading(facts, (r[1], r[2]), orders=int(r[_N]))
    for r in found[_TRADE]:
        shipped, on_time, delivered, returns = (int(v) / trade.SCALE for v in r[_N:_N + 4])
        g.add(facts, (r[1], r[2]), shipped=shipped, on_time=on_time, delivered=delivered, returns=returns)
    for r in found[_CARRIED]:
        if (i := g.party_of.get((r[1], r[2]))) is not None:
            facts.add(i, carried=int(r[_N]) / trade.SCALE)
    for r in found[_RATED]:
        n, total, wtotal, wsum, retracted = map(int, r[_N:_N + 5])
        g.add_trading(facts, (r[1], r[2]), ratings=n, sum=total, wtotal=wtotal / trade.SCALE,
                      wsum=wsum / trade.SCALE)
        g.add(facts, (r[1], r[2]), retracted=retracted)
    for r in found[_COMPLAINED]:  # upheld counted in halves: exactly what `_complaints` sums
        g.add(facts, (r[1], r[2]), complaints=int(r[_N]), upheld=int(r[_N + 1]) / 2)
    for r in found[_COMMITTED]:
        if (i := g.party_of.get((r[1], r[2]))) is not None:
            facts.add(i, commitments=int(r[_N]))
    g.days = {}
    for r in found[_DSR_DAYS]:
        acc = g.days.setdefault((r[1], r[2]), [0, 0])
        acc[0] += int(r[_N] or 0)
        acc[1] += int(r[_N + 1] or 0)


def _padded(refs: list[Ref]) -> list[Ref]:
    """References filled to the next power of two with one that matches nothing: a few statement shapes."""
    return refs + [direct.NO_REF] * ((1 << (len(refs) - 1).bit_length()) - len(refs)) if refs else []


@cache
def _few_stmt(shops: int, subjects: int, targets: int, keys: int) -> Any:
    """`_read_few`'s UNION ALL for so many references of each kind (`pair_params("s"|"p"|"t", ...)`) and party
    keys (`k0`...): each step's statement as it ran alone (a GROUP BY per reference, as `direct.in_refs`
    runs them; the others narrowed by an OR of references)."""
    n = {"s": shops, "p": subjects, "t": targets}
    branches = [_tagged(tag, a, b, values).select_from(frm).where(
        a == bindparam(f"{name}a{i}"), b == bindparam(f"{name}b{i}"), *cond).group_by(a, b)
        for tag, name, a, b, values, frm, cond in _grouped() for i in range(n[name])]
    for name, a, b, stmt in _narrowed():
        if n[name]:
            branches.append(stmt.where(bound_pair_in(a, b, name, n[name])))
    if keys:
        d, cs = lt.dishonesty_records.c, st.credit_scores.c
        branches += [_tagged(_BREACHES, d.party_key, _NO_TEXT, [], [d.state, d.origin, d.severity]).where(
            _BREACH_ORIGINS, d.party_key.in_([bindparam(f"k{i}") for i in range(keys)])),
            _tagged(_SCORED, cs.party_key, _NO_TEXT, [cs.score], [cs.grade, cs.detail]).where(
            cs.party_key.in_([bindparam(f"k{i}") for i in range(keys)]))]
    return union_all(*branches)


def _grouped() -> list[tuple[Any, ...]]:
    """The steps that count per reference: (tag, kind of reference, its columns, values, from, conditions)."""
    o, c, res, cm, d = t.orders.c, t.complaints.c, t.complaint_resolutions.c, t.commitments.c, st.dsr_days.c
    halves = func.sum(case((res.outcome == "upheld", 2), (res.outcome == "partly_upheld", 1), else_=0))
    complaints = t.complaints.outerjoin(t.complaint_resolutions, and_(res.source == c.source,
                                                                      res.complaint_id == c.complaint_id))
    return [(_AT_SHOPS, "s", o.shop_source, o.shop_id, [func.count()], t.orders, []),
            (_BOUGHT, "p", o.buyer_source, o.buyer_id, [func.count()], t.orders, [_paid()]),
            (_COMPLAINED, "t", c.target_source, c.target_id, [func.count(), halves], complaints, []),
            (_COMMITTED, "p", cm.subject_source, cm.subject_id, [func.count()], t.commitments, [_IN_FORCE]),
            (_DSR_DAYS, "s", d.target_source, d.target_id, [func.sum(d.ratings), func.sum(d.points)], st.dsr_days,
             [d.day > bindparam("after")])]


def _narrowed() -> list[tuple[Any, ...]]:
    """The steps that read rows: (kind of reference, its columns, the tagged statement)."""
    tr, k, s, lift, lic, L = (st.shop_trade.c, st.target_ratings.c, t.sanctions.c, t.sanction_lifts.c, t.licences.c,
                              st.rating_ledger.c)
    ct = st.carrier_trade.c
    lifts = t.sanctions.outerjoin(t.sanction_lifts, and_(lift.source == s.source, lift.sanction_id == s.sanction_id))
    return [
        ("s", tr.shop_source, tr.shop_id, _tagged(_TRADE, tr.shop_source, tr.shop_id, [
            tr.shipped, tr.on_time, tr.delivered, tr.returns])),
        ("t", k.target_source, k.target_id, _tagged(_RATED, k.target_source, k.target_id, [
            k[c] for c in rating_sums.SUMS])),
        ("p", s.subject_source, s.subject_id, _tagged(_SANCTIONED, s.subject_source, s.subject_id, [], [
            s.kind, s.imposed_at, lift.reason, s.source, s.sanction_id]).select_from(lifts)),
        ("p", lic.subject_source, lic.subject_id, _tagged(_LICENSED, lic.subject_source, lic.subject_id, [], [
            lic.licence_type, lic.number, lic.valid_from, lic.valid_until])),
        ("s", L.target_source, L.target_id, _tagged(_DSR_FIRST, L.target_source, L.target_id, [], [
            L.at, L.dims]).where(*_DSR_WINDOW)),
        ("p", ct.subject_source, ct.subject_id, _tagged(_CARRIED, ct.subject_source, ct.subject_id, [ct.parcels]))]


def _tagged(tag: int, a: Any, b: Any, numbers: list[Any], texts: list[Any] | None = None) -> Any:
    """A branch's columns: its tag, the reference, five integers and five texts, NULL where it has none."""
    texts = texts or []
    return select(literal_column(str(tag)), a, b, *numbers, *[_NO_NUMBER] * (5 - len(numbers)),
                  *texts, *[_NO_TEXT] * (5 - len(texts)))


# NULLs with their type: PostgreSQL types a UNION ALL pair by pair, and two untyped NULLs made a text column,
# which a later branch's count could not join
_NO_NUMBER, _NO_TEXT = cast(literal_column("NULL"), BigInteger), cast(literal_column("NULL"), Text)


def _paid() -> Any:
    """An order that was paid: what a buyer's complaint rate divides by (placing and cancelling orders diluted
    it: 200 of them took a buyer with an upheld complaint from 861 to 951, found by review)."""
    o, u = t.orders.c, t.order_updates.c
    return exists().where(u.order_source == o.source, u.order_id == o.order_id, u.kind == "paid")


def _orders(g: Gather, facts: Facts) -> None:
    """Orders at each merchant's shops; a buyer's own paid orders."""
    o = t.orders
    for src, oid, refs, cond in ((o.c.shop_source, o.c.shop_id, g.shop_party, []),
                                 (o.c.buyer_source, o.c.buyer_id, g.party_of, [_paid()])):
        (q,) = _statement(f"orders:{src.name}", g.dialect, False, lambda src=src, oid=oid, cond=cond: (
            select(src, oid, func.count()).where(*cond).group_by(src, oid),))
        for a, b, n in g.rows(q, src, oid, refs):
            g.add_trading(facts, (a, b), orders=n)


def _trade(g: Gather, facts: Facts) -> None:
    """Per shop: shipments, those within the on-time hours of payment, those delivered, quality returns; per
    carrier and courier: the parcels it carried; each weighted by its order (`services/trade.py`). Scoring
    some parties reads the sums kept per shop and carrier; a full recompute counts every order (and, when
    `keep`, writes the kept figures anew)."""
    o = t.orders
    if g.kept and not g.plain:
        sums = trade.shop_sums(g.conn, list(g.shop_party))
        carried = trade.carrier_sums(g.conn, list(g.party_of))
    else:
        found = _statement(f"trade:{g.scoped}", g.dialect, g.plain,
                           lambda: tuple(q for q, _, _ in trade.statements(g.rules, g.dialect, g.plain, g.scoped)))
        rows = chain.from_iterable(g.stream(q, o.c.shop_source, o.c.shop_id, g.shop_party) for q in found)
        if g.scoped:  # the shops' orders; the carriers' and couriers' parcels by their own references
            sums, carried = trade.by_shop(rows), _carried(g)
        else:
            sums, carried = trade.rebuild(g.conn, rows) if g.keep else trade.sums_of(rows)
    for shop, (shipped, on_time, delivered, returns) in sums.items():
        g.add(facts, shop, shipped=shipped / trade.SCALE, on_time=on_time / trade.SCALE,
              delivered=delivered / trade.SCALE, returns=returns / trade.SCALE)
    for subject, parcels in carried.items():
        if (i := g.party_of.get(subject)) is not None:
            facts.add(i, carried=parcels / trade.SCALE)


def _carried(g: Gather) -> dict[Ref, int]:
    """The parcels the gathered subjects carried, from the shipments that name them as carrier or courier
    (scoring some parties before the kept figures are built: no index by carrier, so each reads the
    shipments whole; a full recompute builds the figures)."""
    sh = t.shipments.c
    carried: dict[Ref, int] = {}
    # a statement per role: `direct.in_refs` keeps one narrowing per statement
    found = _statement("carried", g.dialect, g.plain, lambda: tuple(
        trade.statements(g.rules, g.dialect, g.plain, True)[0][0] for _ in range(2)))
    for role, (src, sid) in enumerate(((sh.carrier_source, sh.carrier_id), (sh.courier_source, sh.courier_id))):
        for ref, n in trade.carried_by(g.rows(found[role], src, sid, g.party_of), role).items():
            carried[ref] = carried.get(ref, 0) + n
    return carried


def _ratings(g: Gather, facts: Facts) -> None:
    """Received ratings that count (carrier ratings count though they give no points), weighted; and ratings
    taken back because their orders were confirmed fake. Scoring some parties reads the sums kept per
    target (`services/rating_sums.py`); a full recompute sums every ledger row (and, when `keep`, writes
    the kept sums anew)."""
    L = st.rating_ledger
    if g.kept and not g.plain:
        sums = rating_sums.kept(g.conn, [*g.shop_party, *g.party_of])
    else:
        (q,) = _statement(f"ratings:{g.scoped}", g.dialect, g.plain,
                          lambda: (rating_sums.rows_stmt(g.rules, g.plain),))
        rows = g.stream(q, L.c.target_source, L.c.target_id, [*g.shop_party, *g.party_of])
        sums = rating_sums.rebuild(g.conn, rows) if g.keep else rating_sums.by_target(rows)
    for target, (n, total, wtotal, wsum, retracted) in sums.items():
        g.add_trading(facts, target, ratings=n, sum=total, wtotal=wtotal / trade.SCALE, wsum=wsum / trade.SCALE)
        g.add(facts, target, retracted=retracted)  # taken back for fake orders: in any role


def _complaints(g: Gather, facts: Facts) -> None:
    c = t.complaints
    (q,) = _statement("complaints", g.dialect, False, lambda: (_complaints_stmt(),))
    for a, b, n, up in g.rows(q, c.c.target_source, c.c.target_id):
        g.add(facts, (a, b), complaints=n, upheld=up)


def _complaints_stmt() -> Any:
    c, res = t.complaints, t.complaint_resolutions
    upheld = case((res.c.outcome == "upheld", 1.0), (res.c.outcome == "partly_upheld", 0.5), else_=0.0)
    return select(c.c.target_source, c.c.target_id, func.count(), func.sum(upheld)).select_from(c.outerjoin(
        res, and_(res.c.source == c.c.source, res.c.complaint_id == c.c.complaint_id))).group_by(
        c.c.target_source, c.c.target_id)


def _sanctions(g: Gather, facts: Facts, found: Iterable[Any] | None = None) -> None:
    """Sanctions with how they ended: lifted by an event, or their record ended in the lifecycle (disclosure
    over, repaired, overturned). A sanction nobody lifts weighed in full for ever once sanctions in force
    stopped fading (found by review). `found`: the rows already read (`_few`)."""
    s, lift = t.sanctions, t.sanction_lifts
    (q,) = _statement("sanctions", g.dialect, False, lambda: (select(
        s.c.subject_source, s.c.subject_id, s.c.kind, s.c.imposed_at, lift.c.reason, s.c.source,
        s.c.sanction_id).outerjoin(lift, and_(lift.c.source == s.c.source, lift.c.sanction_id == s.c.sanction_id)),))
    found = g.rows(q, s.c.subject_source, s.c.subject_id, g.party_of) if found is None else found
    rows = [row for row in found if (row[0], row[1]) in g.party_of]
    ended = _ended_records(g, [lifecycle.SEP.join(("sanction", row[5], row[6])) for row in rows])
    for a, b, kind, imposed, reason, src, sid in rows:
        record = ended.get(lifecycle.SEP.join(("sanction", src, sid)))
        # withdrawn in the lifecycle (repaired, overturned) wins: an authority's later "expired" lift brought
        # a repaired sanction back at half weight (found by review)
        how = record if record in WITHDRAWING_LIFTS else reason or record
        facts.sanctions.setdefault(g.party_of[(a, b)], []).append(S.Sanction(kind, days_between(imposed, g.now), how))


_ENDED_AS = {"expired": "expired", "repaired": "repaired", "overturned": "revoked"}  # record state: lift reason


def _ended_records(g: Gather, keys: list[str]) -> dict[str, str]:
    """How the sanction records with these keys ended (those still in force are left out)."""
    d = lt.dishonesty_records.c
    rows = direct.rows_in(g.conn, _SANCTION_RECORDS, d.record_key, keys) if g.scoped else \
        g.conn.execute(_SANCTION_RECORDS)
    return {key: _ENDED_AS[state] for key, state in rows if state in _ENDED_AS}


# prebuilt, run on the driver's cursor for a few parties (the lone-event step: built anew and run through
# SQLAlchemy, these two steps took 1.9 ms of its 3.2)
_SANCTION_RECORDS = select(lt.dishonesty_records.c.record_key, lt.dishonesty_records.c.state).where(
    lt.dishonesty_records.c.origin == "sanction")
# not IN: a literal list is rendered per execution, which sent the statement through SQLAlchemy
# (adapters/db/direct.py), a tenth of a lone event's step
_BREACH_ORIGINS = or_(lt.dishonesty_records.c.origin == "breach", lt.dishonesty_records.c.origin == "review")
_BREACH_RECORDS = select(lt.dishonesty_records.c.party_key, lt.dishonesty_records.c.state,
                         lt.dishonesty_records.c.origin, lt.dishonesty_records.c.severity).where(_BREACH_ORIGINS)
_IN_FORCE = t.commitments.c.valid_until.is_(None) | (  # through its day in China (`today`)
    func.substr(t.commitments.c.valid_until, 1, 10) >= bindparam("today"))


def _commitments(g: Gather, facts: Facts) -> None:
    c = t.commitments
    (q,) = _statement("commitments", g.dialect, False, lambda: (select(c.c.subject_source, c.c.subject_id,
                                                                       func.count()).where(_IN_FORCE).group_by(
        c.c.subject_source, c.c.subject_id),))
    for a, b, n in g.rows(q, c.c.subject_source, c.c.subject_id, g.party_of,
                          {"today": lifecycle.day_of(g.now).isoformat()}):  # in force through its day in China
        if (i := g.party_of.get((a, b))) is not None:
            facts.add(i, commitments=n)


def _breaches(g: Gather, facts: Facts, found: Iterable[Any] | None = None) -> None:
    """Commitments broken: the breach records in force (`lifecycle`: a confirmed act a published commitment
    covers). They were opened but never counted: the score said "0 broken" beside one (found by review).
    And the confirmed review records in force, by severity: a confirmed empty parcel, fake traffic or price
    fraud left the score and its "no confirmed dishonesty" unchanged beside the public record (found by
    review). Sanctions count by their own kind (`_sanctions`). `found`: the rows already read (`_few`)."""
    rows = _breach_rows(g) if found is None else found
    index = {k: i for i, k in enumerate(g.keys)}
    for key, state, origin, severity in rows:
        if state in LS.IN_FORCE and (i := index.get(key)) is not None:
            facts.add(i, **({"broken": 1} if origin == "breach" else {severity: 1}))


def _breach_rows(g: Gather) -> Iterable[Any]:
    if g.scoped:
        return direct.rows_in(g.conn, _BREACH_RECORDS, lt.dishonesty_records.c.party_key, g.keys)
    return g.conn.execute(_BREACH_RECORDS)


@cache
def _registration_only() -> frozenset[str]:
    """The gaps that are the registration alone: `all_shops`, and the categories whose only requirement is
    registration (`ecl10_exemption_applies` in vocab/key_categories.yaml: daily goods, edible farm produce)."""
    from chengxin.services.parties import key_categories

    rules = key_categories()
    return frozenset({ALL_SHOPS, *(k for k, r in rules.categories.items() if r.ecl10_exemption_applies)})


def _licence_gaps(g: Gather, facts: Facts, found: Iterable[Any] | None = None) -> None:
    """Key categories a party's shops sell without a valid licence: each category counts once per party,
    however many of its shops sell it (each shop added every licence that would do: two food shops without
    one counted 8). The registration every shop needs (the business licence) is not a key category's
    licence, wherever a rule names it (`all_shops`, and categories such as daily goods whose only need is
    registration): the shop page shows that gap, and the score leaves it out (an enterprise's USCC is its
    registration, and a person may sell without one under E-Commerce Law art. 10; counted, every shop run by a
    person was held at C "for selling in a key category", found by review). `found`: the licences already
    read (`_few`)."""
    from chengxin.services.parties import licence_gaps

    lic = t.licences
    held: dict[int, list[Any]] = defaultdict(list)
    (q,) = _statement("licences", g.dialect, False, lambda: (select(lic),))
    for row in g.rows(q, lic.c.subject_source, lic.c.subject_id, g.party_of) if found is None else found:
        if (key := g.party_of.get((row.subject_source, row.subject_id))) is not None:
            held[key].append(row)
    registration = _registration_only()
    gaps: dict[Ref, set[str]] = {}
    for shop in g.shops:
        key = g.shop_party[(shop.source, shop.shop_id)]
        found = {gap["category"] for gap in licence_gaps(orjson.loads(shop.categories), held[key])
                 if gap["category"] not in registration}
        if found:
            gaps[(shop.source, shop.shop_id)] = found
    missing: dict[int, set[str]] = defaultdict(set)
    for ref in set(gaps) - _closed(g, list(gaps)):  # a closed shop sells nothing: its gaps counted for ever
        missing[g.shop_party[ref]].update(gaps[ref])  # before (found by review)
    for key, kinds in missing.items():
        facts.add(key, licence_gaps=len(kinds))


def _closed(g: Gather, shops: list[Ref]) -> set[Ref]:
    """Which of these shops are closed: read only for shops with a gap (most have none, and a lone event's step
    reads nothing more)."""
    if not shops:
        return set()
    c = t.shop_closures.c
    q = select(c.source, c.shop_id)
    return {(r[0], r[1]) for r in direct.in_refs(g.conn, q, c.source, c.shop_id, shops)}


def _dsr(g: Gather, facts: Facts, rr: R.RatingRules, found: Iterable[Any] | None = None) -> None:
    """Each shop's DSR over the window against its category's average, weighted by its DSR ratings. Scoring
    some parties reads the window's first, partial day rating by rating and the kept days after it
    (`rating_sums.kept_days`); a full recompute reads every rating of the window (from the start of its first
    day, when `keep`, to write the kept days anew). `found`: the first day's ratings already read (`_few`)."""
    L = st.rating_ledger
    since = R.window_start(g.now, rr.dsr_window_days)
    first = since[:10]
    (q,) = _statement("dsr", g.dialect, False, lambda: (select(L.c.target_source, L.c.target_id, L.c.at, L.c.dims)
                                                         .where(*_DSR_WINDOW),))
    sums: dict[Ref, list[int]] = {}
    kept = g.kept
    until = (date.fromisoformat(first) + timedelta(days=1)).isoformat() if kept else "9999"
    rows = g.stream(q, L.c.target_source, L.c.target_id, g.shop_party,
                    {"since": first if g.keep else since, "until": until}) if found is None else found
    days = rating_sums.dsr_days_of(_window(rows, since, sums))
    if g.keep:
        rating_sums.rebuild_days(g.conn, days)
    if kept:
        days_after = g.days if g.days is not None else rating_sums.kept_days(g.conn, list(g.shop_party), first)
        for shop, (n, points) in days_after.items():
            acc = sums.setdefault(shop, [0, 0])
            acc[0] += n
            acc[1] += points
    _dsr_gaps(g, facts, rr, since, sums)


def _dsr_basis(g: Gather, facts: Facts, rr: R.RatingRules, since: str, categories: list[str]
               ) -> dict[str, dict[str, Any]]:
    """The average each category's shops are compared with: its published one (`category_dsr`), while the
    average over every shop of the category is within `dsr_category_step` of it on each dimension (or was read
    before it); else that average, noted in `facts.moved` to be published (`scoring.publish_categories`), its
    shops rescored. A shop's gap followed the average only when the shop itself was rescored, or a day later:
    its page compared its DSR with a stale average (found by review). A full recompute follows the same rule,
    so that it gives the scores that scoring each party alone gives."""
    from chengxin.services.standing_views import live_category_dsr, published_dsr

    step = float(g.rules.params["trade"]["dsr_category_step"])
    published = published_dsr(g.conn, categories)
    basis: dict[str, dict[str, Any]] = {}
    for category in categories:
        live, at = live_category_dsr(g.conn, category, since, fresh_below=fresh_below(step))
        kept = published.get(category)
        if kept is not None and (kept[1] >= at or within(kept[0], live, rr.dsr_dimensions, step)):
            basis[category] = kept[0]
        else:
            basis[category] = live
            facts.moved[category] = (live, at, kept is not None)
    return basis


def fresh_below(step: float) -> int:
    """Categories of fewer DSR ratings than this are read anew at each look: one rating (1 star in a category
    of 5) may move their average by more than `step`, and reading them costs little."""
    return math.ceil(4 / step)


def within(a: dict[str, Any], b: dict[str, Any], dimensions: Iterable[str], step: float) -> bool:
    """Whether two category averages are within `step` of each other on every dimension."""
    for d in dimensions:
        x, y = a.get(d), b.get(d)
        if (x is None) != (y is None) or (x is not None and abs(x - y) > step + 1e-9):
            return False
    return True


_DSR_WINDOW = (st.rating_ledger.c.dsr.is_(True), st.rating_ledger.c.at >= bindparam("since"),
               st.rating_ledger.c.at < bindparam("until"), st.rating_ledger.c.direction == "buyer_to_seller")


def _window(rows: Iterable[Any], since: str, sums: dict[Ref, list[int]]) -> Iterator[Any]:
    """Pass the rows on, adding those at or after `since` to `sums` (per shop: [ratings, points])."""
    for row in rows:
        if row[2] >= since:
            acc = sums.setdefault((row[0], row[1]), [0, 0])
            acc[0] += 1
            acc[1] += rating_sums.dsr_points(row[3])
        yield row


def _dsr_gaps(g: Gather, facts: Facts, rr: R.RatingRules, since: str, sums: dict[Ref, list[int]]) -> None:
    categories = {(s.source, s.shop_id): (orjson.loads(s.categories) or [None])[0] for s in g.shops}
    basis = _dsr_basis(g, facts, rr, since, sorted({c for shop, (n, _) in sums.items()
                                                     if n and (c := categories.get(shop))}))
    k = len(rr.dsr_dimensions)  # every DSR rating has each dimension
    for shop, (n, points) in sums.items():
        category = categories.get(shop)
        avg = basis.get(category) if category and n else None
        dims = [avg[d] for d in rr.dsr_dimensions] if avg and avg["count"] else []
        if dims and (i := g.shop_party.get(shop)) is not None:
            facts.add(i, dsr_gap_sum=(points / k / n - sum(dims) / len(dims)) * n, dsr_n=n)
