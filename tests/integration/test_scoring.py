"""Credit points, standings and scores through real ingestion, on every storage backend: the rules at work,
incremental recounts as events arrive in any order, verdicts taking points back as credit records, and
`chengxin score` agreeing with what ingestion computed."""

from __future__ import annotations

import json
import random
from dataclasses import asdict

from pytest import approx
from sqlalchemy import select
from tests.conftest import ingest_text

from chengxin.adapters.db import duck
from chengxin.adapters.db import standing_tables as st
from chengxin.adapters.db import tables as t
from chengxin.adapters.db.engine import read_connection, write_transaction
from chengxin.services import (
    audit,
    parties,
    profiles,
    scoring,
    standing,
    standing_drain,
    standing_ledger,
    standing_views,
)
from chengxin.services.viewer import Viewer
from chengxin.simulate import Simulator, make_params

P = "urn:cx:platform:P1"
REGULATOR = Viewer("regulator")


class Feed:
    """Builds events of one platform: a merchant and shop, buyers, and whole orders."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def ev(self, typ: str, time: str, data: dict) -> None:
        self.n += 1
        self.lines.append(json.dumps({"specversion": "1.0", "id": f"e-{self.n}", "source": P, "type": typ,
                                      "time": time, "data": data}, ensure_ascii=False))

    def parties(self) -> Feed:
        self.ev("cx.subject.registered", "2026-01-02T09:00:00+08:00", {
            "subject_id": "M1", "kind": "enterprise", "name": "示例食品有限公司", "uscc": "91310000MA1FL8LQ2B",
            "region": "310104", "verified_at": "2026-01-02T10:00:00+08:00"})
        self.ev("cx.shop.opened", "2026-01-02T11:00:00+08:00", {
            "shop_id": "S1", "operator_id": "M1", "name": "示例旗舰店", "url": "https://s1.example",
            "categories": ["daily_goods"]})
        self.ev("cx.product.listed", "2026-01-02T12:00:00+08:00", {
            "product_id": "G1", "shop_id": "S1", "title": "毛巾", "category": "daily_goods", "list_price": 990,
            "price": 990})
        self.ev("cx.subject.registered", "2026-01-03T09:00:00+08:00", {
            "subject_id": "U1", "kind": "person", "name": "张三", "id_number": "31010419900307123X",
            "region": "310104"})
        return self

    def order(self, oid: str, day: str, score: int | None = 5, *, paid: bool = True, completed: bool = True,
              product: str | dict[str, str] = "G1") -> Feed:
        self.ev("cx.order.placed", f"{day}T10:00:00+08:00", {
            "order_id": oid, "shop_id": "S1", "buyer_id": "U1",
            "items": [{"product_id": product, "quantity": 1, "unit_price": 990}], "total": 990,
            "ship_to_region": "310104"})
        if paid:
            self.ev("cx.order.paid", f"{day}T10:05:00+08:00", {"order_id": oid, "amount": 990, "method": "wallet"})
        if completed:
            self.ev("cx.order.completed", f"{day}T18:00:00+08:00", {"order_id": oid})
        if score is not None:
            self.ev("cx.review.posted", f"{day}T19:00:00+08:00", {
                "review_id": f"R{oid}", "order_id": oid, "author_id": "U1", "target_id": "S1",
                "direction": "buyer_to_seller", "score": score,
                "dimensions": {"as_described": score, "service": score, "logistics": score}})
        return self

    def text(self) -> str:
        return "\n".join(self.lines)


def ledger(cx) -> dict[str, tuple[int, str]]:
    L = st.rating_ledger
    with read_connection(cx.engine) as conn:
        return {r.review_id: (r.points, r.reason) for r in conn.execute(select(L))}


def points(cx, target=(P, "S1")) -> int:
    with read_connection(cx.engine) as conn:
        return standing_views.points_of(conn, [target])


def test_points_follow_the_rules_as_events_arrive(app):
    feed = Feed().parties()
    for i in range(8):  # eight five-star ratings of different products in March: the pair counts +6
        feed.order(f"O{i}", f"2026-03-{i + 2:02d}", product=f"G{i + 1}")
    for i in range(2, 9):
        feed.ev("cx.product.listed", "2026-01-02T12:00:00+08:00", {
            "product_id": f"G{i}", "shop_id": "S1", "title": "毛巾", "category": "daily_goods",
            "list_price": 990, "price": 990})
    feed.order("OA", "2026-04-02", completed=False)  # April: rated before completion, counts nothing yet
    assert ingest_text(app, feed.text()).rejected == 0
    got = ledger(app)
    assert [got[f"RO{i}"] for i in range(8)] == [(1, "counted")] * 6 + [(0, "pair_month_cap")] * 2
    assert got["ROA"] == (0, "order_not_completed") and points(app) == 6
    late = Feed()
    late.n = 1000
    late.ev("cx.order.completed", "2026-04-03T09:00:00+08:00", {"order_id": "OA"})
    ingest_text(app, late.text())
    assert ledger(app)["ROA"] == (1, "counted") and points(app) == 7



def test_one_product_named_bare_or_as_a_reference_is_one_item(app):
    """Two ratings of one item within 14 days count once, however the orders name the product: bare `G1` and
    `{"source": P, "id": "G1"}` counted as two items (found by review). A full rebuild agrees."""
    feed = Feed().parties().order("O1", "2026-03-02").order("O2", "2026-03-05", product={"source": P, "id": "G1"})
    assert ingest_text(app, feed.text()).rejected == 0
    assert (ledger(app)["RO2"][1], points(app)) == ("same_item_window", 1)
    standing_ledger.rebuild(app)
    assert (ledger(app)["RO2"][1], points(app)) == ("same_item_window", 1)

def test_strangers_ratings_of_an_order_and_a_cancelled_orders_count_nothing(app):
    """One paid, completed order rated by eight strangers gave a shop eight points (found by review); a rating
    of a cancelled order counted too. Neither counts now, incrementally or by a full rebuild."""
    feed = Feed().parties().order("O1", "2026-03-02").order("O2", "2026-03-20", product="G2")
    feed.ev("cx.order.cancelled", "2026-03-21T09:00:00+08:00", {"order_id": "O2", "by": "platform"})
    for i in range(8):
        feed.ev("cx.review.posted", "2026-03-03T09:00:00+08:00", {
            "review_id": f"Z{i}", "order_id": "O1", "author_id": f"Z{i}", "target_id": "S1",
            "direction": "buyer_to_seller", "score": 5, "dimensions": {"as_described": 5, "service": 5,
                                                                       "logistics": 5}})
    assert ingest_text(app, feed.text()).rejected == 0
    for _ in range(2):
        got = ledger(app)
        assert got["RO1"] == (1, "counted") and got["RO2"] == (0, "order_cancelled") and points(app) == 1
        assert {got[f"Z{i}"] for i in range(8)} == {(0, "not_the_orders_parties")}
        assert parties.show(app, P, "S1", REGULATOR)["ratings"]["count"] == 1  # the all-time line too
        with read_connection(app.engine) as conn:
            L = st.rating_ledger
            assert conn.execute(select(L.c.review_id).where(L.c.dsr.is_(True))).scalars().all() == ["RO1"]
        standing_ledger.rebuild(app)


def test_a_confirmed_fake_order_takes_its_points_back_as_a_credit_record(app):
    ingest_text(app, Feed().parties().order("O1", "2026-03-02").order("O2", "2026-05-02", product="G1").text())
    assert points(app) == 2
    done = standing.set_order_verdict(app, (P, "O2"), "fake", "regulator:test", "paid by the shop, never shipped")
    assert done["credit_records"] == 1 and points(app) == 1
    assert ledger(app)["RO2"] == (0, "retracted_fake_order")
    with read_connection(app.engine) as conn:
        rec = conn.execute(select(t.credit_records).where(t.credit_records.c.kind == "points_retracted")).one()
        history = list(conn.execute(select(st.score_history).order_by(st.score_history.c.id)))
    assert (rec.subject_source, rec.subject_id) == (P, "S1")
    assert json.loads(rec.payload)["points"] == -1 and json.loads(rec.payload)["order"] == [P, "O2"]
    assert history and "RATINGS_RETRACTED" in json.loads(history[-1].reasons)["codes"]
    assert audit.verify(app).ok
    standing.set_order_verdict(app, (P, "O2"), "genuine", "regulator:test", "appeal upheld: goods delivered")
    assert points(app) == 2
    with read_connection(app.engine) as conn:
        kinds = [k for (k,) in conn.execute(select(t.credit_records.c.kind).where(
            t.credit_records.c.kind.like("points_%")).order_by(t.credit_records.c.idx))]
    assert kinds == ["points_retracted", "points_restored"] and audit.verify(app).ok


def _point_records(app) -> list[tuple[str, str, int]]:
    with read_connection(app.engine) as conn:
        return [(r.kind, json.loads(r.payload)["review"][1], json.loads(r.payload)["points"]) for r in conn.execute(
            select(t.credit_records).where(t.credit_records.c.kind.like("points_%")).order_by(t.credit_records.c.idx))]


def test_what_a_verdict_took_back_an_appeal_gives_back_and_nothing_else(app):
    """A retraction is given back in full when its order is found genuine, though the rating now counts
    nothing (a later rating of the same item opened the 14-day window first) (found by review: the restoration
    followed the points the rating carried now). O3's rating gave no points when O3 was found fake (not yet
    completed): its worth is taken back once O3 completes, as it would have been had the verdict come after
    (`services/standing_retractions.py`), and given back on appeal."""
    feed = Feed().parties().order("O1", "2026-03-01", score=None).order("O2", "2026-03-10")
    feed.order("O3", "2026-03-11", product="G3", completed=False)
    ingest_text(app, feed.text())
    standing.set_order_verdict(app, (P, "O2"), "fake", "regulator:test", "ring")
    standing.set_order_verdict(app, (P, "O3"), "fake", "regulator:test", "ring")
    late = Feed()
    late.n = 500
    late.ev("cx.review.posted", "2026-03-20T19:00:00+08:00", {
        "review_id": "RO1", "order_id": "O1", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 5})
    late.ev("cx.order.completed", "2026-03-21T09:00:00+08:00", {"order_id": "O3"})
    ingest_text(app, late.text())
    standing.drain(app)
    standing.set_order_verdict(app, (P, "O2"), "genuine", "regulator:test", "appeal upheld")
    standing.set_order_verdict(app, (P, "O3"), "genuine", "regulator:test", "appeal upheld")
    assert ledger(app)["RO2"] == (0, "same_item_window")
    assert _point_records(app) == [("points_retracted", "RO2", -1), ("points_retracted", "RO3", -1),
                                   ("points_restored", "RO2", 1), ("points_restored", "RO3", 1)]
    assert points(app) == 2 and audit.verify(app).ok


def test_a_score_no_event_touched_ages_with_the_days(app):
    """A score depends on the day (a new party stops being new, sanctions fade, the DSR window moves): scores
    older than a day are computed again, with the cause `time` in their history (found by review: a party no
    event touched kept its score for ever)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    ingest_text(app, Feed().parties().order("O1", "2026-03-02").text())
    def tenure(view):
        return next(d["facts"]["days"] for d in view["credit"]["dimensions"] if d["dimension"] == "tenure")

    with read_connection(app.engine) as conn:
        key = conn.execute(select(t.subjects.c.party_key).where(t.subjects.c.subject_id == "M1")).scalar_one()
        days = tenure(scoring.credit_view(conn, key))
    assert scoring.rescore_stale(app) == 0  # fresh scores are left alone
    with write_transaction(app.engine) as conn:
        conn.execute(update(st.credit_scores).values(computed_at="2000-01-01T00:00:00.000000Z"))
        # a score whose party is gone (its key changed) would stay the oldest and hold back every other
        conn.execute(st.credit_scores.insert().values(party_key="uscc:GONE", score_kind="merchant", score=1,
                                                      grade="D", computed_at="1999-01-01T00:00:00.000000Z",
                                                      detail="{}"))
    later = datetime.now(UTC) + timedelta(days=400)
    assert scoring.rescore_stale(app, now=later) == 3 and scoring.rescore_stale(app) == 0
    with read_connection(app.engine) as conn:
        assert conn.execute(select(st.credit_scores.c.party_key).where(
            st.credit_scores.c.party_key == "uscc:GONE")).first() is None
    with read_connection(app.engine) as conn:
        view = scoring.credit_view(conn, key)
    assert tenure(view) == days + 400 and view["credit"]["history"][0]["cause"] == "time"


def test_the_shop_page_and_party_file_show_standing_and_grade(app):
    ingest_text(app, Feed().parties().order("O1", "2026-03-02").order("O2", "2026-03-20", 3).text())
    shop = parties.show(app, P, "S1", Viewer("public"))
    assert shop["points"] == 1 and shop["level"] is None  # +1 +0: below the first heart (4 points)
    assert shop["positive_rate"]["positive"] in (0, 1)  # the window is the 180 days before today
    assert shop["grade"] in "ABCD" and 0 <= shop["score"] <= 1000 and shop["reasons"] is not None
    assert {d["dimension"] for d in shop["credit"]["dimensions"]} == {
        "identity", "trade", "complaints", "dishonesty", "commitments", "tenure"}
    merchant = parties.show(app, P, "M1", Viewer("public"))
    assert merchant["points"] == 1 and merchant["score"] == shop["score"]
    buyer = parties.show(app, P, "U1", Viewer("public"))
    assert "score" not in buyer  # a person's credit is not public
    assert parties.show(app, P, "U1", REGULATOR)["grade"] in "ABCD"


def test_incremental_recounts_equal_a_full_rebuild_whatever_the_order(app, tmp_path):
    params = make_params(None, days=12, shops=12, buyers=80, orders_per_day=40, rings=1, ring_workers=(4, 6),
                         seed=3)
    lines = list(Simulator(params).lines())
    random.Random(5).shuffle(lines)
    half = len(lines) // 2
    for part in (lines[:half], lines[half:]):
        assert ingest_text(app, b"".join(part).decode()).rejected == 0
    incremental = ledger(app)
    with read_connection(app.engine) as conn:
        standings = {(r.target_source, r.target_id): r.points for r in conn.execute(select(st.standings))}
        scored = {r.party_key for r in conn.execute(select(st.credit_scores))}
        queued = conn.execute(select(st.scoring_queue)).all()
    assert incremental and not queued
    counts = standing_ledger.rebuild(app, chunk=7)  # the ledger is written 7 rows at a time while pairs stream in
    assert counts["ratings"] == len(incremental) and counts["targets"] == len(standings)
    result = scoring.rebuild(app)
    assert ledger(app) == incremental
    with read_connection(app.engine) as conn:
        assert {(r.target_source, r.target_id): r.points for r in conn.execute(select(st.standings))} == standings
        merchants = {r.party_key for r in conn.execute(select(t.subjects).where(
            t.subjects.c.kind.in_(["enterprise", "individual_business", "person"])))}
    assert merchants <= scored and result["parties"] >= len(merchants)


def test_a_person_operators_score_stays_private_on_the_shop_page(sample_app):
    feed = Feed()
    feed.n = 500
    feed.ev("cx.shop.opened", "2026-03-02T09:00:00+08:00", {
        "shop_id": "S-PERSON", "operator_id": "U1", "name": "张三的小店", "url": "https://u1.shop.example",
        "categories": ["daily_goods"]})
    assert ingest_text(sample_app, feed.text()).accepted == 1
    public = parties.show(sample_app, P, "S-PERSON", Viewer("public"))
    assert public["score"] is None and public["credit"] is None and public["grade"] is None
    assert parties.show(sample_app, P, "S-PERSON", REGULATOR)["grade"] in "ABCD"


def test_the_scorer_follows_what_the_api_queues(app):
    """The API only queues what it makes stale; `standing.follow` (the scorer process of `chengxin serve`)
    settles it while it runs."""
    import threading
    import time

    from chengxin.services.ingest import prepare
    from chengxin.services.sequencer import Sequencer

    lines = [(f"req{i}", 1, line.encode()) for i, line in enumerate(
        Feed().parties().order("O1", "2026-03-02").order("O2", "2026-04-02").lines)]
    sequencer = Sequencer(app)
    try:
        for item in lines:
            sequencer.submit(prepare(app, [item]), origin="api", actor="k").result(timeout=30)
    finally:
        sequencer.close()
    with read_connection(app.engine) as conn:
        assert conn.execute(select(st.scoring_queue)).first() is not None and points(app) == 0
    stop = threading.Event()
    scorer = threading.Thread(target=standing.follow, args=(app, stop), kwargs={"idle_s": 0.05})
    scorer.start()
    try:
        deadline = time.monotonic() + 30
        while points(app) != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        scorer.join(timeout=30)
    assert points(app) == 2 and parties.show(app, P, "S1", Viewer("public"))["grade"] in "ABCD"


def test_a_budgeted_drain_settles_in_short_transactions_what_one_long_one_would(app, monkeypatch):
    # the server's scorer sizes its transactions by time, so requests wait little for the write lock
    from chengxin.services.ingest import ingest, read_lines

    params = make_params(None, days=6, shops=6, buyers=30, orders_per_day=15, seed=11)
    data = b"".join(Simulator(params).lines())
    assert ingest(app, read_lines("sim", data.splitlines()), origin="sim", defer=True).rejected == 0
    with read_connection(app.engine) as conn:
        queued = len(conn.execute(select(st.scoring_queue)).all())
    taken: list[int] = []  # marks per transaction
    real = standing_drain.next_chunk
    monkeypatch.setattr(standing_drain, "next_chunk", lambda marks, *a: taken.append(marks) or real(marks, *a))
    done = standing.drain(app, chunk=50, rebuild_beyond=None, budget_s=1e-6)  # far too short for one mark
    # every mark queued, and the shops a category's moved DSR average queued (scoring.publish_categories)
    assert queued > 10 and done["pairs"] > 0 and sum(taken) >= queued
    assert taken[0] == standing_drain.FIRST_CHUNK and set(taken[1:]) <= {0, 1}  # then one mark at a time
    with read_connection(app.engine) as conn:
        assert conn.execute(select(st.scoring_queue)).first() is None
        scores = {r.party_key: (r.score, r.grade) for r in conn.execute(select(st.credit_scores))}
    budgeted = ledger(app)
    standing_ledger.rebuild(app)
    scoring.rebuild(app)
    with read_connection(app.engine) as conn:
        assert {r.party_key: (r.score, r.grade) for r in conn.execute(select(st.credit_scores))} == scores
    assert ledger(app) == budgeted


def test_a_rebuild_scores_every_party_as_rescoring_it_alone_would(app, monkeypatch):
    # a full rebuild reads every table whole once and scores in slices; rescoring some parties reads their rows
    # by reference: both must give each party the same profile and score
    params = make_params(None, days=10, shops=10, buyers=60, orders_per_day=30, rings=1, ring_workers=(4, 6),
                         seed=9)
    assert ingest_text(app, b"".join(Simulator(params).lines()).decode()).rejected == 0

    def scores() -> dict[str, tuple[int, str, str]]:
        with read_connection(app.engine) as conn:
            return {r.party_key: (r.score, r.grade, r.detail) for r in conn.execute(select(st.credit_scores))}

    fixed = scoring._now()  # both rebuilds at one moment: a detail says "known for N days", rounded
    monkeypatch.setattr(scoring, "_now", lambda: fixed)
    whole = scoring.rebuild(app)
    in_one = scores()
    monkeypatch.setattr(scoring, "REBUILD_SLICE", 7)
    sliced = scoring.rebuild(app)
    assert sliced["parties"] == whole["parties"] == len(in_one) > 20 and sliced["changed"] == 0
    assert sliced["grades"] == whole["grades"] and scores() == in_one
    now = scoring._now()
    with read_connection(app.engine) as conn:
        everyone = scoring.profiles(conn, None, now)
        keys = sorted(everyone)
        alone = {k: p for i in range(0, len(keys), 5) for k, p in scoring.profiles(conn, keys[i:i + 5], now).items()}
    assert_same_profiles(alone, everyone)
    # on SQLite a rebuild's whole-store aggregates run in DuckDB (adapters/db/duck.py): the same facts
    assert duck.available(app.engine) == (app.engine.dialect.name == "sqlite")
    if duck.available(app.engine):
        with read_connection(app.engine) as conn, duck.reader(app.engine) as reader:
            by_duck = profiles.collect(conn, None, now, scoring.score_rules(), scoring.rating_rules(), reader=reader)
        assert_same_profiles(by_duck.profiles(), everyone)
        with write_transaction(app.engine) as conn, duck.reader(app.engine) as reader:
            fitted = scoring.fit_fairness(conn, reader)
            assert fitted == scoring.fit_fairness(conn) and len(fitted) > 10  # same ratings, same order
    busy = [p for p in everyone.values() if p.orders and p.ratings and p.shipped]
    assert busy and any(p.ratings_weight < p.ratings for p in busy)  # the ring's ratings weigh less


def assert_same_profiles(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for k, p in want.items():  # sums in another row order: floats may differ in the last bits
        assert {f: v if not isinstance(v, float) else approx(v, rel=1e-12) for f, v in asdict(got[k]).items()} \
            == asdict(p), k


def test_a_rating_posted_before_its_order_and_a_follow_up_of_nothing_count_for_nothing(app):
    """A review dated before its order was placed earned a point once the order completed, and a follow-up naming
    no first rating of the order entered DSR (found by review). A follow-up of the real first rating still
    enters DSR, without points."""
    feed = Feed().parties()
    feed.order("OB", "2026-03-05", score=None)
    feed.ev("cx.review.posted", "2026-03-04T10:00:00+08:00", {
        "review_id": "RB", "order_id": "OB", "author_id": "U1", "target_id": "S1", "direction": "buyer_to_seller",
        "score": 5})
    feed.order("OC", "2026-03-06", product="G1")
    for rid, follows in (("RF-none", "NOPE"), ("RF-real", "ROC")):
        feed.ev("cx.review.posted", "2026-03-20T10:00:00+08:00", {
            "review_id": rid, "order_id": "OC", "author_id": "U1", "target_id": "S1",
            "direction": "buyer_to_seller", "score": 5, "follows": follows,
            "dimensions": {"as_described": 5, "service": 5, "logistics": 5}})
    assert ingest_text(app, feed.text()).rejected == 0
    got = ledger(app)
    assert got["RB"] == (0, "posted_before_the_order") and got["ROC"] == (1, "counted")
    assert got["RF-none"] == (0, "follows_no_first_rating") and got["RF-real"] == (0, "follow_up")
    L = st.rating_ledger
    with read_connection(app.engine) as conn:
        dsr = dict(conn.execute(select(L.c.review_id, L.c.dsr)).all())
    assert (dsr["RF-none"], dsr["RF-real"]) == (False, True)
    assert points(app) == 1
