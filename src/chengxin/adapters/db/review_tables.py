"""Tables of the review queue: one item per published detection finding that names a party or an order, and
the entities each item is about (for "the items about my entities" and the records written about them).

A finding is a machine's suspicion; an item is what a person (a regulator, or the platform that reported the
entities) confirms or dismisses, with who, when, why and on what basis (`services/review.py`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, Table, Text

from chengxin.adapters.db.tables import T, metadata

review_items = Table(
    "review_items", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    # sha256 of the suspicion and the item it follows (unique); before migration 0016, of the finding's kind,
    # level and named parties and orders
    Column("item_key", T, nullable=False, unique=True),
    # sha256 of the finding's kind, level and subject (`review_publish.suspicion_of`): one open item per
    # suspicion, grown by later runs; a decided one is followed up by a new item naming what is new
    Column("suspicion", T, index=True),
    Column("follows", BigInteger),                     # the decided item of the same suspicion this follows up
    Column("finding_id", BigInteger, nullable=False),  # findings.id of the run that first found it
    Column("run_id", T, nullable=False),
    Column("detector", T, nullable=False),
    Column("kind", T, nullable=False),
    Column("level", T),                                # evidence.level of a roll-up (shop, courier, ...)
    Column("score", Float),
    Column("evidence_sha256", T, nullable=False),      # of the finding's canonical evidence
    Column("summary", Text, nullable=False),           # JSON: the evidence in brief (services.review.summarise)
    Column("status", T, nullable=False, index=True),   # open | confirmed | dismissed
    Column("published_at", T, nullable=False),
    Column("decided_by", T),
    Column("decided_at", T),
    Column("reason", Text),
    Column("basis", T),                                # legal or rule basis, case number
    # a confirmed fake-order item: when its orders' verdicts were all recorded (NULL while pending: an
    # interrupted confirmation is finished by the next publish or decision)
    Column("verdicts_at", T),
)

review_subjects = Table(
    "review_subjects", metadata,
    Column("item_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("role", T, primary_key=True),               # party (a credit record is written about it) | order
    #                                                    | product
    Column("source", T, primary_key=True),
    Column("entity_id", T, primary_key=True),
    Column("subject_kind", T, nullable=False),         # shop | subject (parties); order; product
)
Index("ix_review_subjects_source", review_subjects.c.source, review_subjects.c.item_id)
