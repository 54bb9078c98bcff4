"""Each kind of fact behind a party's score, gathered into `Facts` (`services/profile_gather.py`): orders,
trade figures and parcels carried, received ratings, complaints, sanctions, commitments, broken commitments
and confirmed records, licence gaps. Each `add_*` step reads its rows (for a few parties, or everyone) and adds
them to the facts; `services/profiles.py` runs them in turn, `services/profile_few.py` feeds the same steps rows
read in one statement. The DSR step is `services/profile_dsr.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, case, exists, func, or_, select

from chengxin.adapters.db import direct
from chengxin.adapters.db import lists_tables as lt
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.domain import lifecycle as LS
from chengxin.domain import scoring as S
from chengxin.domain.disclosure import WITHDRAWING_LIFTS
from chengxin.domain.licensing import ALL_SHOPS
from chengxin.services import lifecycle, rating_sums, trade
from chengxin.services.profile_gather import Facts, Gather, Ref, days_between, statement


def paid() -> Any:
    """An order that was paid: what a buyer's complaint rate divides by (placing and cancelling orders diluted
    it: 200 of them took a buyer with an upheld complaint from 861 to 951, found by review)."""
    o, u = t.orders.c, t.order_updates.c
    return exists().where(u.order_source == o.source, u.order_id == o.order_id, u.kind == "paid")


def add_orders(g: Gather, facts: Facts) -> None:
    """Orders at each merchant's shops; a buyer's own paid orders."""
    o = t.orders
    for src, oid, refs, cond in ((o.c.shop_source, o.c.shop_id, g.shop_party, []),
                                 (o.c.buyer_source, o.c.buyer_id, g.party_of, [paid()])):
        (q,) = statement(f"orders:{src.name}", g.dialect, False, lambda src=src, oid=oid, cond=cond: (
            select(src, oid, func.count()).where(*cond).group_by(src, oid),))
        for a, b, n in g.rows(q, src, oid, refs):
            g.add_trading(facts, (a, b), orders=n)


def add_trade(g: Gather, facts: Facts) -> None:
    """Per shop: shipments, those within the on-time hours of payment, those delivered, quality returns; per
    carrier and courier: the parcels it carried; each weighted by its order (`services/trade.py`). Scoring
    some parties reads the sums kept per shop and carrier; a full recompute counts every order (and, when
    `keep`, writes the kept figures anew)."""
    o = t.orders
    if g.kept and not g.plain:
        sums = trade.shop_sums(g.conn, list(g.shop_party))
        carried = trade.carrier_sums(g.conn, list(g.party_of))
    else:
        found = statement(f"trade:{g.scoped}", g.dialect, g.plain,
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
    found = statement("carried", g.dialect, g.plain, lambda: tuple(
        trade.statements(g.rules, g.dialect, g.plain, True)[0][0] for _ in range(2)))
    for role, (src, sid) in enumerate(((sh.carrier_source, sh.carrier_id), (sh.courier_source, sh.courier_id))):
        for ref, n in trade.carried_by(g.rows(found[role], src, sid, g.party_of), role).items():
            carried[ref] = carried.get(ref, 0) + n
    return carried


def add_ratings(g: Gather, facts: Facts) -> None:
    """Received ratings that count (carrier ratings count though they give no points), weighted; and ratings
    taken back because their orders were confirmed fake. Scoring some parties reads the sums kept per
    target (`services/rating_sums.py`); a full recompute sums every ledger row (and, when `keep`, writes
    the kept sums anew)."""
    L = st.rating_ledger
    if g.kept and not g.plain:
        sums = rating_sums.kept(g.conn, [*g.shop_party, *g.party_of])
    else:
        (q,) = statement(f"ratings:{g.scoped}", g.dialect, g.plain,
                          lambda: (rating_sums.rows_stmt(g.rules, g.plain),))
        rows = g.stream(q, L.c.target_source, L.c.target_id, [*g.shop_party, *g.party_of])
        sums = rating_sums.rebuild(g.conn, rows) if g.keep else rating_sums.by_target(rows)
    for target, (n, total, wtotal, wsum, retracted) in sums.items():
        g.add_trading(facts, target, ratings=n, sum=total, wtotal=wtotal / trade.SCALE, wsum=wsum / trade.SCALE)
        g.add(facts, target, retracted=retracted)  # taken back for fake orders: in any role


def add_complaints(g: Gather, facts: Facts) -> None:
    c = t.complaints
    (q,) = statement("complaints", g.dialect, False, lambda: (_complaints_stmt(),))
    for a, b, n, up in g.rows(q, c.c.target_source, c.c.target_id):
        g.add(facts, (a, b), complaints=n, upheld=up)


def _complaints_stmt() -> Any:
    c, res = t.complaints, t.complaint_resolutions
    upheld = case((res.c.outcome == "upheld", 1.0), (res.c.outcome == "partly_upheld", 0.5), else_=0.0)
    return select(c.c.target_source, c.c.target_id, func.count(), func.sum(upheld)).select_from(c.outerjoin(
        res, and_(res.c.source == c.c.source, res.c.complaint_id == c.c.complaint_id))).group_by(
        c.c.target_source, c.c.target_id)


def add_sanctions(g: Gather, facts: Facts, found: Iterable[Any] | None = None) -> None:
    """Sanctions with how they ended: lifted by an event, or their record ended in the lifecycle (disclosure
    over, repaired, overturned). A sanction nobody lifts weighed in full for ever once sanctions in force
    stopped fading (found by review). `found`: the rows already read (`collect_few`)."""
    s, lift = t.sanctions, t.sanction_lifts
    (q,) = statement("sanctions", g.dialect, False, lambda: (select(
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
BREACH_ORIGINS = or_(lt.dishonesty_records.c.origin == "breach", lt.dishonesty_records.c.origin == "review")
_BREACH_RECORDS = select(lt.dishonesty_records.c.party_key, lt.dishonesty_records.c.state,
                         lt.dishonesty_records.c.origin, lt.dishonesty_records.c.severity).where(BREACH_ORIGINS)
IN_FORCE = t.commitments.c.valid_until.is_(None) | (  # through its day in China (`today`)
    func.substr(t.commitments.c.valid_until, 1, 10) >= bindparam("today"))


def add_commitments(g: Gather, facts: Facts) -> None:
    c = t.commitments
    (q,) = statement("commitments", g.dialect, False, lambda: (select(c.c.subject_source, c.c.subject_id,
                                                                       func.count()).where(IN_FORCE).group_by(
        c.c.subject_source, c.c.subject_id),))
    for a, b, n in g.rows(q, c.c.subject_source, c.c.subject_id, g.party_of,
                          {"today": lifecycle.day_of(g.now).isoformat()}):  # in force through its day in China
        if (i := g.party_of.get((a, b))) is not None:
            facts.add(i, commitments=n)


def add_breaches(g: Gather, facts: Facts, found: Iterable[Any] | None = None) -> None:
    """Commitments broken: the breach records in force (`lifecycle`: a confirmed act a published commitment
    covers). They were opened but never counted: the score said "0 broken" beside one (found by review).
    And the confirmed review records in force, by severity: a confirmed empty parcel, fake traffic or price
    fraud left the score and its "no confirmed dishonesty" unchanged beside the public record (found by
    review). Sanctions count by their own kind (`add_sanctions`). `found`: the rows already read (`collect_few`)."""
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


def add_licence_gaps(g: Gather, facts: Facts, found: Iterable[Any] | None = None) -> None:
    """Key categories a party's shops sell without a valid licence: each category counts once per party,
    however many of its shops sell it (each shop added every licence that would do: two food shops without
    one counted 8). The registration every shop needs (the business licence) is not a key category's
    licence, wherever a rule names it (`all_shops`, and categories such as daily goods whose only need is
    registration): the shop page shows that gap, and the score leaves it out (an enterprise's USCC is its
    registration, and a person may sell without one under E-Commerce Law art. 10; counted, every shop run by a
    person was held at C "for selling in a key category", found by review). `found`: the licences already
    read (`collect_few`)."""
    from chengxin.services.parties import licence_gaps

    lic = t.licences
    held: dict[int, list[Any]] = defaultdict(list)
    (q,) = statement("licences", g.dialect, False, lambda: (select(lic),))
    for row in g.rows(q, lic.c.subject_source, lic.c.subject_id, g.party_of) if found is None else found:
        if (key := g.party_of.get((row.subject_source, row.subject_id))) is not None:
            held[key].append(row)
            _note_registration(facts, key, row)
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


REGISTRATION = "business_licence"  # the licence that is the market-entity registration (key_categories.yaml)


def _note_registration(facts: Facts, key: int, row: Any) -> None:
    """The earliest start of a party's business licences: when it registered as a business, the best evidence
    of its time in business (`domain.scoring.tenure_days`). Counted from Chengxin's first sight of the party, a
    company licensed in 2010 was "registered 76 days" and held at B as new (found by a public review)."""
    if row.licence_type == REGISTRATION and row.valid_from:
        start = str(row.valid_from)[:10]
        if facts.licensed[key] is None or start < str(facts.licensed[key]):
            facts.licensed[key] = start


def _closed(g: Gather, shops: list[Ref]) -> set[Ref]:
    """Which of these shops are closed: read only for shops with a gap (most have none, and a lone event's step
    reads nothing more)."""
    if not shops:
        return set()
    c = t.shop_closures.c
    q = select(c.source, c.shop_id)
    return {(r[0], r[1]) for r in direct.in_refs(g.conn, q, c.source, c.shop_id, shops)}


# the steps of `profiles.collect` but DSR, in order, each `step(gather, facts)`
STEPS = (add_orders, add_trade, add_ratings, add_complaints, add_sanctions, add_commitments, add_breaches,
         add_licence_gaps)
