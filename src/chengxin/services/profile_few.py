"""A few parties' facts in one statement: every step of `profiles.collect` once the kept figures are built.

Scoring one event's parties ran a statement per step, of a few rows each: orders (at their shops, as buyers),
shops' trade figures, rating sums, complaints, commitments, kept DSR days, sanctions, breaches, licences and
the DSR window's first day; and saving their scores read the stored ones. Once the kept figures are built they
run as one UNION ALL of the same statements, each row tagged with its step: ten statements fewer in a lone
event's step (~30 µs each on SQLite).

Neighbours: `services/profile_facts.py` and `services/profile_dsr.py` hold the steps (this module reads their rows
and hands them on), `services/profile_gather.py` the `Gather` and `Facts` they fill.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, case, cast, func, literal_column, select, union_all
from sqlalchemy.types import BigInteger, Text

from chengxin.adapters.db import direct
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.query import bound_pair_in, pair_params
from chengxin.domain import ratings as R
from chengxin.services import lifecycle, rating_sums, trade
from chengxin.services.profile_dsr import DSR_WINDOW, add_dsr
from chengxin.services.profile_facts import (
    BREACH_ORIGINS,
    IN_FORCE,
    add_breaches,
    add_licence_gaps,
    add_sanctions,
    paid,
)
from chengxin.services.profile_gather import Facts, Gather, Previous, Ref

FEW_CHUNK = 64  # references of each kind per statement: SQLite allows 500 terms in a compound select
(_AT_SHOPS, _BOUGHT, _TRADE, _RATED, _COMPLAINED, _COMMITTED, _DSR_DAYS, _SANCTIONED, _BREACHES, _LICENSED,
 _DSR_FIRST, _CARRIED, _SCORED) = range(13)
_N, _X = 3, 8  # a row: (tag, source, id, five integers from _N, five texts from _X), NULL where a step has none


class _Held(NamedTuple):
    """A licence as `add_licence_gaps` and `parties.licence_gaps` read it."""
    subject_source: str
    subject_id: str
    licence_type: str
    number: str
    valid_from: str
    valid_until: str | None


def collect_few(g: Gather, facts: Facts, rr: R.RatingRules) -> None:
    """Every step of `profiles.collect` for a few parties over the kept figures, from one statement per chunk, each
    step's rows added in the order its own statement gave them."""
    since = R.window_start(g.now, rr.dsr_window_days)
    found = _read_few(g, since)
    _add_figures(g, facts, found)
    add_sanctions(g, facts, [(r[1], r[2], *r[_X:_X + 5]) for r in found[_SANCTIONED]])
    add_breaches(g, facts, [(r[1], *r[_X:_X + 3]) for r in found[_BREACHES]])
    add_licence_gaps(g, facts, [_Held(r[1], r[2], *r[_X:_X + 4]) for r in found[_LICENSED]])
    add_dsr(g, facts, rr, [(r[1], r[2], r[_X], r[_X + 1]) for r in found[_DSR_FIRST]])
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
    """What `add_orders`, `add_trade` (with parcels carried), `add_ratings`, `add_complaints` and
    `add_commitments` add, from `_read_few`'s rows; the kept DSR days after the window's first day for
    `add_dsr`."""
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
    for r in found[_COMPLAINED]:  # upheld counted in halves: exactly what `add_complaints` sums
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
            BREACH_ORIGINS, d.party_key.in_([bindparam(f"k{i}") for i in range(keys)])),
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
            (_BOUGHT, "p", o.buyer_source, o.buyer_id, [func.count()], t.orders, [paid()]),
            (_COMPLAINED, "t", c.target_source, c.target_id, [func.count(), halves], complaints, []),
            (_COMMITTED, "p", cm.subject_source, cm.subject_id, [func.count()], t.commitments, [IN_FORCE]),
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
            L.at, L.dims]).where(*DSR_WINDOW)),
        ("p", ct.subject_source, ct.subject_id, _tagged(_CARRIED, ct.subject_source, ct.subject_id, [ct.parcels]))]


def _tagged(tag: int, a: Any, b: Any, numbers: list[Any], texts: list[Any] | None = None) -> Any:
    """A branch's columns: its tag, the reference, five integers and five texts, NULL where it has none."""
    texts = texts or []
    return select(literal_column(str(tag)), a, b, *numbers, *[_NO_NUMBER] * (5 - len(numbers)),
                  *texts, *[_NO_TEXT] * (5 - len(texts)))


# NULLs with their type: PostgreSQL types a UNION ALL pair by pair, and two untyped NULLs made a text column,
# which a later branch's count could not join
_NO_NUMBER, _NO_TEXT = cast(literal_column("NULL"), BigInteger), cast(literal_column("NULL"), Text)
