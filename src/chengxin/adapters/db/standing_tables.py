"""Tables of the credit standing derived from ratings: order verdicts, the rating ledger, standings, and the
durable queue of what to recount. Derived data: `chengxin score` rebuilds all of it from the events."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, Table, Text

from chengxin.adapters.db.tables import T, metadata, returns, reviews

# A decision that an order is fake (or genuine after all), by whom and why. The review queue of detection
# writes it; a fake order's ratings stop counting and the points taken back become credit records.
order_verdicts = Table(
    "order_verdicts", metadata,
    Column("order_source", T, primary_key=True), Column("order_id", T, primary_key=True),
    Column("verdict", T, nullable=False),          # fake | genuine
    Column("decided_by", T, nullable=False),
    Column("decided_at", T, nullable=False),
    Column("reason", Text, nullable=False),
    Column("basis", T),                            # legal or rule basis
)

# What each rating counts toward credit points, and why (domain.ratings.count_pair).
rating_ledger = Table(
    "rating_ledger", metadata,
    Column("source", T, primary_key=True), Column("review_id", T, primary_key=True),
    Column("target_source", T, nullable=False), Column("target_id", T, nullable=False),
    Column("author_source", T, nullable=False), Column("author_id", T, nullable=False),
    Column("direction", T, nullable=False), Column("score", Integer, nullable=False),
    Column("at", T, nullable=False), Column("month", T, nullable=False),
    Column("points", Integer, nullable=False), Column("base", Integer, nullable=False),
    Column("reason", T, nullable=False), Column("eligible", Boolean, nullable=False),
    Column("dsr", Boolean, nullable=False), Column("dims", T),
)
Index("ix_rating_ledger_target", rating_ledger.c.target_source, rating_ledger.c.target_id, rating_ledger.c.at)
Index("ix_rating_ledger_pair", rating_ledger.c.target_source, rating_ledger.c.target_id,
      rating_ledger.c.author_source, rating_ledger.c.author_id)

# Credit points per rated entity (shop or subject): the sum of its ledger.
standings = Table(
    "standings", metadata,
    Column("target_source", T, primary_key=True), Column("target_id", T, primary_key=True),
    Column("points", BigInteger, nullable=False),
    Column("ratings", Integer, nullable=False),
    Column("updated_at", T, nullable=False),
)

# What to recount, written in the same transaction as the events that make it stale, drained right after:
# a crash between the two leaves the marks, and the next drain (or `chengxin score`) settles them.
scoring_queue = Table(
    "scoring_queue", metadata,
    Column("kind", T, primary_key=True),           # pair (a=target, b=author) | order (a=order, b=-)
    Column("a_source", T, primary_key=True), Column("a_id", T, primary_key=True),
    Column("b_source", T, primary_key=True), Column("b_id", T, primary_key=True),
)

# Marks of `scoring_queue` that failed alone, and how often (services/scoring_failures.py): counted in the store,
# so that one-shot `chengxin settle` runs count too. After `standing_aside.PARK_AFTER` failures a mark is parked: out
# of the queue (in the same transaction), waiting for an operator (`chengxin scoring parked`, `release`).
# A mark that settles loses its row.
scoring_failures = Table(
    "scoring_failures", metadata,
    Column("kind", T, primary_key=True),
    Column("a_source", T, primary_key=True), Column("a_id", T, primary_key=True),
    Column("b_source", T, primary_key=True), Column("b_id", T, primary_key=True),
    Column("failures", Integer, nullable=False),  # since it last settled or was released
    Column("error", Text, nullable=False),        # the last one (engine.describe_error: no parameters)
    Column("failed_at", T, nullable=False),       # the last failure
    Column("parked", Boolean, nullable=False),    # out of the queue until released
)

# The credit score and grade of each party (linked reports: one party key), with its explanation.
credit_scores = Table(
    "credit_scores", metadata,
    Column("party_key", T, primary_key=True),
    Column("score_kind", T, nullable=False),       # merchant, buyer, platform, logistics, courier
    Column("score", Integer, nullable=False),
    Column("grade", T, nullable=False),
    Column("computed_at", T, nullable=False, index=True),  # the scorer ages the oldest (`rescore_stale`)
    Column("detail", Text, nullable=False),        # JSON: dimensions, reasons, rules version
)

# Every change of a party's score or grade, so a party can see how and why its grade moved.
score_history = Table(
    "score_history", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("party_key", T, nullable=False, index=True),
    Column("at", T, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", T, nullable=False),
    Column("previous_score", Integer),
    Column("previous_grade", T),
    Column("cause", T, nullable=False),            # events | rebuild | verdict
    Column("reasons", Text, nullable=False),       # JSON: reason codes and the dimensions that moved
)

# Rater fairness from the last full fit over the rating graph (domain.reliability), used to weight ratings.
rater_fairness = Table(
    "rater_fairness", metadata,
    Column("author_source", T, primary_key=True), Column("author_id", T, primary_key=True),
    Column("fairness", Float, nullable=False),
    Column("ratings", Integer, nullable=False),
    Column("computed_at", T, nullable=False),
    Column("explanation", Text, nullable=False),   # JSON: RaterExplanation
)

# Orders placed in a lockstep burst at their shop (domain.reliability.lockstep), found by the full recompute:
# they count for little in the shop's trade figures, and so do their ratings.
lockstep_orders = Table(
    "lockstep_orders", metadata,
    Column("order_source", T, primary_key=True), Column("order_id", T, primary_key=True),
    Column("shop_source", T, nullable=False), Column("shop_id", T, nullable=False),
    Column("computed_at", T, nullable=False),
)

# How the recount finds a pair's ratings and an order's ratings.
Index("ix_reviews_pair", reviews.c.target_source, reviews.c.target_id, reviews.c.author_source,
      reviews.c.author_id)
Index("ix_reviews_order", reviews.c.order_source, reviews.c.order_id)
# How a party's profile finds its shops' returns (services/profiles.py)
Index("ix_returns_order", returns.c.order_source, returns.c.order_id)

# What each shipment and return counts in its shop's trade figures (services/trade.py), and for which shop:
# its order's weight (the buyer's fairness times the lockstep weight, in millionths: integers, so that sums
# kept up to date event by event equal a full count exactly) and its counts (a shipment: shipped, on time,
# delivered; a return: quality). Kept so that an item moved to another order or shop is taken back from the
# shop it counted for. A shipment also names its carrier and courier (NULL for a return, or none named): the
# parcel counts, with the same weight, in their parcels carried (`carrier_trade`).
trade_parts = Table(
    "trade_parts", metadata,
    Column("item_kind", T, primary_key=True),      # shipment | return
    Column("item_source", T, primary_key=True), Column("item_id", T, primary_key=True),
    Column("shop_source", T, nullable=False), Column("shop_id", T, nullable=False),
    Column("weight", BigInteger, nullable=False),
    Column("shipped", Integer, nullable=False), Column("on_time", Integer, nullable=False),
    Column("delivered", Integer, nullable=False), Column("returns", Integer, nullable=False),
    Column("carrier_source", T), Column("carrier_id", T), Column("courier_source", T), Column("courier_id", T),
)

# Per shop: the sum over its orders of weight × each count (millionths), kept as orders change, so that
# scoring a shop after one event reads one row however many orders it has.
shop_trade = Table(
    "shop_trade", metadata,
    Column("shop_source", T, primary_key=True), Column("shop_id", T, primary_key=True),
    Column("shipped", BigInteger, nullable=False), Column("on_time", BigInteger, nullable=False),
    Column("delivered", BigInteger, nullable=False), Column("returns", BigInteger, nullable=False),
)

# Per carrier or courier (a subject): the sum of the weights of the parcels it carried (millionths), kept as
# shipments change, so that scoring a logistics firm that carried a million parcels reads one row; its
# complaints are counted per parcel carried (docs/scoring.md).
carrier_trade = Table(
    "carrier_trade", metadata,
    Column("subject_source", T, primary_key=True), Column("subject_id", T, primary_key=True),
    Column("parcels", BigInteger, nullable=False),
)


def _rating_sums() -> list[Column[int]]:
    """How many ratings count, their scores summed, the same weighted by their authors (integer millionths),
    and how many were taken back (`rating_sums.SUMS`)."""
    return [Column(name, BigInteger, nullable=False) for name in ("ratings", "total", "wtotal", "wsum", "retracted")]


# Per rated shop or subject (services/rating_sums.py): the sums of its received ratings.
target_ratings = Table(
    "target_ratings", metadata,
    Column("target_source", T, primary_key=True), Column("target_id", T, primary_key=True), *_rating_sums(),
)

# What each rating counts in its target's sums, as last counted (rating_sums.py): kept so that a rating
# recounted after its order changed is taken back with the weight it was added with.
rating_parts = Table(
    "rating_parts", metadata,
    Column("source", T, primary_key=True), Column("review_id", T, primary_key=True),
    Column("target_source", T, nullable=False), Column("target_id", T, nullable=False), *_rating_sums(),
)

# Per shop and day (YYYY-MM-DD of the rating's time): its DSR ratings from buyers and the sum of their
# dimensions' values, so that a 180-day window reads day rows instead of every rating (rating_sums.py).
dsr_days = Table(
    "dsr_days", metadata,
    Column("target_source", T, primary_key=True), Column("target_id", T, primary_key=True),
    Column("day", T, primary_key=True),
    Column("ratings", BigInteger, nullable=False), Column("points", BigInteger, nullable=False),
)

# Whether the six tables above hold every order and rating (a row named `trade`, written by the full
# recompute, or at migration on an empty store; a recount of the whole ledger deletes it); until then a
# party's figures are counted from its orders and ledger rows.
trade_state = Table(
    "trade_state", metadata,
    Column("name", T, primary_key=True),
    Column("built_at", T, nullable=False),
)

# Per shop category: the DSR average that scores and shop pages compare its shops with (services/standing_views.py
# `category_average`), published anew, and the category's shops rescored, when the average over every shop of
# the category moves beyond `dsr_category_step` from it (docs/scoring.md).
category_dsr = Table(
    "category_dsr", metadata,
    Column("category", T, primary_key=True),
    Column("average", Text, nullable=False),       # JSON: {"count": ratings, "<dimension>": mean, ...}
    Column("computed_at", T, nullable=False),      # when the average was read from the ratings
)
