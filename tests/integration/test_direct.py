"""`adapters/db/direct.py`: prebuilt statements run on the driver's cursor give the rows `Connection.execute`
gives, on both databases; statements that need SQLAlchemy's type processing fall back to it; and the scorer's
step over the direct path stores the same standings and scores as over SQLAlchemy."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import DateTime, Double, String, bindparam, case, cast, delete, func, literal, select
from tests.conftest import ingest_text

from chengxin.adapters.db import direct
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.adapters.db.query import select_in
from chengxin.services import standing

o, s = t.orders, t.subjects
STATEMENTS = {
    "counts by shop": select(o.c.shop_source, o.c.shop_id, func.count()).where(
        o.c.shop_id == bindparam("shop")).group_by(o.c.shop_source, o.c.shop_id),
    "fixed values": select(o.c.order_id, func.substr(o.c.placed_at, 1, 10), literal(2.5, Double),
                           case((o.c.total > 100, 1.0), else_=0.5)).where(o.c.shop_id == bindparam("shop")),
    "booleans (falls back)": select(s.c.subject_id, s.c.identity_valid).where(s.c.source == bindparam("src")),
    # a value written into the statement whose type processes it (SQLAlchemy writes a time on SQLite its own
    # way, not as the driver would): processed once when compiled, as SQLAlchemy does on every execution
    "a processed fixed value": select(t.licences.c.number, cast(literal(datetime(2000, 1, 2, 3, 4), DateTime), String)
                                      ).where(t.licences.c.source == bindparam("src")),
    "a literal list (falls back)": select(o.c.order_id).where(o.c.order_id.in_(["O1", "O2"])),
    "no rows": select(o.c.order_id).where(o.c.shop_id == bindparam("shop"), o.c.total < 0),
}
PARAMS = {"shop": "S1", "src": "urn:cx:platform:P1"}


def _needs(stmt: object) -> dict[str, str]:
    names = stmt.compile().binds  # type: ignore[attr-defined]
    return {k: v for k, v in PARAMS.items() if k in names}


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_the_rows_are_those_sqlalchemy_gives(sample_app, name) -> None:
    stmt = STATEMENTS[name]
    with read_connection(sample_app.engine) as conn:
        result = conn.execute(stmt, _needs(stmt))
        names, want = list(result.keys()), [tuple(r) for r in result]
        got = direct.rows(conn, stmt, _needs(stmt))
    assert [tuple(r) for r in got] == want
    assert [type(v) for r in got for v in r] == [type(v) for r in want for v in r]
    assert name == "no rows" or want, "the sample has rows for every statement but the last"
    if got:
        assert list(got[0]._fields) == names  # read by attribute as SQLAlchemy's rows are


def test_which_statements_run_directly(sample_app) -> None:
    with read_connection(sample_app.engine) as conn:
        plans = {name: direct._plan(conn, stmt) for name, stmt in STATEMENTS.items()}
    sqlite = sample_app.engine.dialect.name == "sqlite"
    assert plans["counts by shop"] is not None and plans["a processed fixed value"] is not None
    assert plans["a literal list (falls back)"] is None
    # SQLite stores booleans as integers: SQLAlchemy turns them back into bool, the driver does not
    assert (plans["booleans (falls back)"] is None) == sqlite
    # on PostgreSQL a float column's processing depends on the type the driver reports: not run directly
    assert (plans["fixed values"] is not None) == sqlite


def test_rows_read_by_attribute_and_a_padded_in_list(sample_app) -> None:
    with read_connection(sample_app.engine) as conn:
        ids = sorted({r.subject_id for r in conn.execute(select(s.c.subject_id))})[:3]
        stmt, params = select_in(select(s.c.subject_id, s.c.kind), s.c.subject_id, ids)
        assert len(params) == 4  # three ids, padded to the next shape with the last one repeated
        got = direct.rows(conn, stmt, params)
        want = conn.execute(select(s.c.subject_id, s.c.kind).where(s.c.subject_id.in_(ids))).all()
    assert len(ids) == 3 and sorted(got) == sorted(tuple(r) for r in want)
    assert {r.subject_id for r in got} == set(ids)


def test_a_direct_delete_runs_in_the_callers_transaction(sample_app) -> None:
    q = st.scoring_queue
    gone = delete(q).where(q.c.kind == bindparam("kind"), q.c.a_id == bindparam("a"))
    with pytest.raises(RuntimeError), write_transaction(sample_app.engine) as conn:
        conn.execute(q.insert(), [{"kind": "party", "a_source": "x", "a_id": "A", "b_source": "", "b_id": ""}])
        direct.execute(conn, gone, {"kind": "party", "a": "A"})
        assert direct.rows(conn, select(q.c.a_id).where(q.c.a_id == bindparam("a")), {"a": "A"}) == []
        raise RuntimeError("roll back")
    with write_transaction(sample_app.engine) as conn:
        conn.execute(q.insert(), [{"kind": "party", "a_source": "x", "a_id": "A", "b_source": "", "b_id": ""}])
    with write_transaction(sample_app.engine) as conn:
        direct.execute(conn, gone, {"kind": "party", "a": "A"})
    with read_connection(sample_app.engine) as conn:
        assert conn.execute(select(q.c.a_id).where(q.c.a_id == "A")).all() == []


RATINGS = "\n".join(
    f'{{"specversion":"1.0","id":"x{i}-{k}","source":"urn:cx:platform:P1","type":"{typ}",'
    f'"time":"2026-03-0{1 + i}T1{k}:00:00+08:00","data":{data}}}'
    for i in range(3) for k, (typ, data) in enumerate((
        ("cx.order.placed", f'{{"order_id":"XO{i}","shop_id":"S1","buyer_id":"U1","items":[{{"product_id":"G1",'
                            f'"quantity":1,"unit_price":990}}],"total":990,"ship_to_region":"310104"}}'),
        ("cx.order.paid", f'{{"order_id":"XO{i}","amount":990,"method":"wallet"}}'),
        ("cx.order.completed", f'{{"order_id":"XO{i}"}}'),
        ("cx.review.posted", f'{{"review_id":"XR{i}","order_id":"XO{i}","author_id":"U1","target_id":"S1",'
                             f'"direction":"buyer_to_seller","score":{5 - 2 * i}}}')))) + "\n"


def _standing_of(app) -> tuple[list[tuple], list[tuple]]:
    with read_connection(app.engine) as conn:
        standings = [tuple(r) for r in conn.execute(select(st.standings.c.target_id, st.standings.c.points,
                                                           st.standings.c.ratings).order_by(st.standings.c.target_id))]
        scores = [tuple(r) for r in conn.execute(select(st.credit_scores.c.party_key, st.credit_scores.c.score,
                                                        st.credit_scores.c.grade).order_by(st.credit_scores.c.party_key))]
    return standings, scores


def test_the_scorer_stores_the_same_over_either_path(sample_app, monkeypatch) -> None:
    """Ratings ingested event by event, each drained over the direct path; then the pair's ledger and the two
    parties' standings and scores forgotten and recounted over SQLAlchemy alone: the same rows again."""
    for line in RATINGS.splitlines(keepends=True):
        ingest_text(sample_app, line)
        standing.drain(sample_app)
    fast = _standing_of(sample_app)
    assert dict((r[0], r[1]) for r in fast[0])["S1"] >= 1
    with write_transaction(sample_app.engine) as conn:
        conn.execute(delete(st.credit_scores))
        conn.execute(delete(st.standings))
        conn.execute(delete(st.rating_ledger).where(st.rating_ledger.c.target_id == "S1"))
        conn.execute(delete(st.target_ratings).where(st.target_ratings.c.target_id == "S1"))  # kept with it
        conn.execute(delete(st.rating_parts).where(st.rating_parts.c.target_id == "S1"))
        conn.execute(st.scoring_queue.insert(), [{"kind": "pair", "a_source": "urn:cx:platform:P1", "a_id": "S1",
                                                  "b_source": "urn:cx:platform:P1", "b_id": "U1"}])
    monkeypatch.setattr(direct, "_compile", lambda conn, stmt: None)  # every statement through SQLAlchemy
    monkeypatch.setattr(direct, "_PLANS", {})
    standing.drain(sample_app)
    slow = _standing_of(sample_app)
    assert slow[0] == [r for r in fast[0] if r[0] == "S1"]
    assert len(slow[1]) == 2 and set(slow[1]) <= set(fast[1])  # the shop's operator and the buyer


def test_rows_about_references_count_each_group_once_whatever_the_list(sample_app, monkeypatch) -> None:
    # a grouped statement runs as a UNION ALL per reference: a reference given twice, the padding of a chunk
    # and a list longer than a chunk must still give each group once, as one GROUP BY over the table does
    grouped = select(o.c.buyer_source, o.c.buyer_id, func.count()).group_by(o.c.buyer_source, o.c.buyer_id)
    plain = select(o.c.buyer_source, o.c.buyer_id, o.c.order_id)
    monkeypatch.setattr(direct, "CHUNK", 2)
    with read_connection(sample_app.engine) as conn:
        counts = {(a, b): n for a, b, n in conn.execute(grouped)}
        orders = sorted(tuple(r) for r in conn.execute(plain))
        refs = [*counts, *counts, ("urn:cx:platform:P9", "nobody")]
        assert len(counts) >= 2
        assert {(a, b): n for a, b, n in direct.in_refs(conn, grouped, o.c.buyer_source, o.c.buyer_id, refs)} \
            == counts
        got = list(direct.in_refs(conn, grouped, o.c.buyer_source, o.c.buyer_id, refs))
        assert len(got) == len(counts)
        assert sorted(tuple(r) for r in direct.in_refs(conn, plain, o.c.buyer_source, o.c.buyer_id, refs)) == orders
