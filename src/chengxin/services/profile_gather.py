"""The machinery that gathers parties' facts for scoring: `Gather` (the parties being scored, their subject
reports and shops, and how to read rows about them) and `Facts` (what is known of every gathered party, as
columns, turned into `domain.scoring.Profile`s).

Neighbours: `services/profiles.py` runs the steps (`collect`, `gather`); `services/profile_facts.py` gathers
each kind of fact (orders, trade, ratings, complaints, sanctions, commitments, records, licences);
`services/profile_dsr.py` the DSR gaps against each category's average; `services/profile_few.py` every step for
a few parties in one statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, Integer, cast, select

from chengxin.adapters.db import direct, duck
from chengxin.adapters.db import tables as t
from chengxin.domain import scoring as S
from chengxin.services import columnar, trade

Ref = tuple[str, str]
# Statements are built once per shape and reused: building and hashing SQLAlchemy expressions cost more
# than running them when one party is rescored after one event.
_STATEMENTS: dict[tuple[str, str, bool], tuple[Any, ...]] = {}


def statement(name: str, dialect: str, plain: bool, build: Any) -> tuple[Any, ...]:
    """The statements `build` makes, built once per name, dialect and weighing."""
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
        (shops,) = statement("shops", conn.dialect.name, False, lambda: (select(sh),))
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
        self.sellers = g.sellers  # parties with a shop: their key categories' licences are checked
        self.values = np.zeros((n, len(FIELDS)))
        self.kind: list[str] = [""] * n
        self.identity_valid = np.ones(n, dtype=bool)
        self.verified = np.zeros(n, dtype=bool)
        self.first: list[str | None] = [None] * n
        self.licensed: list[str | None] = [None] * n  # the earliest start of its business licences (tenure)
        self.sanctions: dict[int, list[S.Sanction]] = {}
        self.previous: dict[str, Previous] | None = None  # the stored scores, when read with the facts (`collect_few`)
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
            sells=i in self.sellers,
            licence_gaps=int(licence_gaps), days_known=days_between(self.first[i], self.now),
            days_licensed=days_between(self.licensed[i], self.now) if self.licensed[i] else None, orders=int(orders),
            ratings=n_rated, ratings_weight=wtotal, rating_mean=wsum / wtotal if wtotal else None,
            rating_mean_raw=total / n_rated if n_rated else None,
            dsr_gap=dsr_gap_sum / dsr_n if dsr_n else None, dsr_ratings=int(dsr_n) if dsr_n else None,
            returns=returns, delivered=delivered, shipped=shipped,
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


class Previous(NamedTuple):
    """A party's stored score, which saving its new one compares with (`scoring.save_scores`)."""
    party_key: str
    score: int
    grade: str
    detail: str
