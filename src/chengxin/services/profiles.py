"""The facts behind a party's credit score, gathered from the store (`domain.scoring.Profile`).

A party is one legal identity: every report with the same `party_key`; a merchant's trade is that of the
shops its reports operate. Figures are aggregated by the database per shop or subject (GROUP BY), then
summed per party here, so a full recompute reads a row per shop rather than a row per order, and scoring
some parties reads only their shops' rows.

Orders and ratings are weighted in SQL: an order (and a rating) weighs min(1, (fairness / default)³) of its
buyer's stored fairness (1 when the buyer has none), times `lockstep_weight` when the order was placed in a
lockstep burst at its shop (see `services/scoring.py` and docs/scoring.md).

This module runs the steps (`collect`, `gather`); its neighbours hold them:
- `services/profile_gather.py`: `Gather` (the parties, their reports and shops, how to read rows about them)
  and `Facts` (what is known of each, as columns, turned into profiles);
- `services/profile_facts.py`: each kind of fact (orders, trade, ratings, complaints, sanctions, commitments,
  records, licence gaps), a step each;
- `services/profile_dsr.py`: the DSR gaps against each category's average;
- `services/profile_few.py`: every step for a few parties in one statement, once the kept figures are built.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection

from chengxin.adapters.db import duck
from chengxin.domain import ratings as R
from chengxin.domain import scoring as S
from chengxin.services.profile_dsr import add_dsr
from chengxin.services.profile_facts import STEPS
from chengxin.services.profile_few import collect_few
from chengxin.services.profile_gather import Facts, Gather


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
        collect_few(g, facts, rating_rules)
        return facts
    for step in STEPS:
        step(g, facts)
    add_dsr(g, facts, rating_rules)
    return facts


def gather(conn: Connection, keys: Iterable[str] | None, now: datetime, rules: S.ScoreRules,
           rating_rules: R.RatingRules, *, plain: bool = False) -> dict[str, S.Profile]:
    """Profiles of these parties (everyone when `keys` is None); `plain` weighs every order and rating 1."""
    return collect(conn, keys, now, rules, rating_rules, plain=plain).profiles()
