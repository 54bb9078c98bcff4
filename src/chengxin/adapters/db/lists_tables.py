"""Tables of consequences (issue 6): dishonesty records and their lifecycle, appeals and repair applications,
list memberships and a regulator's overrides, and the measures feed.

Every change here is also appended to the credit log (`services/lifecycle.py`, `services/lists.py`); these
tables are the queryable state, the log is the evidence. Rows are added or closed (an `ended_at`, a
decision), never rewritten in their history columns.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, Table, Text

from chengxin.adapters.db.tables import T, metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

dishonesty_records = Table(
    "dishonesty_records", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # where it came from, unique: review:<item>:<source>:<id>, sanction:<source>:<id>, breach:<record>:<commitment>
    Column("record_key", T, nullable=False, unique=True),
    Column("origin", T, nullable=False),               # review | sanction | breach
    Column("party_key", T, nullable=False, index=True),
    Column("subject_kind", T, nullable=False),          # shop | subject: the entity the record names
    Column("subject_source", T, nullable=False),
    Column("subject_id", T, nullable=False),
    Column("category", T, nullable=False),             # vocab/lifecycle.yaml categories
    Column("severity", T, nullable=False),             # minor | serious | grave
    Column("sanction_kind", T),                        # for records an authority imposed
    Column("state", T, nullable=False, index=True),    # domain/lifecycle.py STATES
    Column("confirmed_at", T, nullable=False),
    Column("decided_by", T, nullable=False),
    Column("basis", Text, nullable=False),             # the legal basis of the record
    Column("disclose_until", T),                       # last public day; NULL: until lifted
    Column("repair_from", T, nullable=False),          # first day a repair may be granted
    Column("ended_at", T),                             # when it left force (repaired, expired, overturned)
    Column("credit_idx", BigInteger),                  # the credit record that states it (confirmed / sanction)
    Column("details", Text, nullable=False),           # JSON: review item, commitment and clause, penalty ...
)
Index("ix_dishonesty_records_subject", dishonesty_records.c.subject_source, dishonesty_records.c.subject_id)

record_transitions = Table(
    "record_transitions", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("record_id", BigInteger, nullable=False, index=True),
    Column("action", T, nullable=False),               # domain/lifecycle.py TRANSITIONS
    Column("from_state", T, nullable=False),
    Column("to_state", T, nullable=False),
    Column("at", T, nullable=False),
    Column("by", T, nullable=False),
    Column("reason", Text, nullable=False),
    Column("basis", Text),
    Column("credit_idx", BigInteger),
)

record_applications = Table(
    "record_applications", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("record_id", BigInteger, nullable=False, index=True),
    Column("kind", T, nullable=False),                 # appeal | repair
    Column("filed_by", T, nullable=False),
    Column("filed_at", T, nullable=False),
    Column("grounds", Text, nullable=False),
    Column("conditions", Text, nullable=False),        # JSON: repair conditions the applicant declares met
    Column("status", T, nullable=False, index=True),   # pending | granted | refused (repair); upheld | overturned
    Column("due_by", T),                               # statutory decision date
    Column("decided_by", T),
    Column("decided_at", T),
    Column("reason", Text),
    Column("basis", Text),
    Column("check", Text),                             # JSON: the eligibility check at decision time
)

list_memberships = Table(
    "list_memberships", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("party_key", T, nullable=False),
    Column("list", T, nullable=False),
    Column("policy", T, nullable=False),               # a policy id, or `manual`
    Column("subject_source", T, nullable=False),       # the party's first report: what the record names
    Column("subject_id", T, nullable=False),
    Column("started_at", T, nullable=False),
    Column("review_at", T, nullable=False),
    Column("reason", Text, nullable=False),            # JSON {zh, en}
    Column("basis", Text, nullable=False),
    Column("by", T, nullable=False),                   # `policy` or who added it by hand
    Column("ended_at", T),
    Column("end_reason", Text),
    Column("credit_idx", BigInteger),                  # the `list_entered` record
)
Index("ix_list_memberships_party", list_memberships.c.party_key, list_memberships.c.ended_at)
Index("ix_list_memberships_list", list_memberships.c.list, list_memberships.c.ended_at)
# the credit file hides ended entries by subject report (credit_file.withdrawn_records, on every shop page)
Index("ix_list_memberships_subject", list_memberships.c.subject_source, list_memberships.c.subject_id)

list_overrides = Table(
    "list_overrides", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("party_key", T, nullable=False, index=True),
    Column("list", T, nullable=False),
    Column("action", T, nullable=False),               # add | remove
    Column("reason", Text, nullable=False),
    Column("basis", Text, nullable=False),
    Column("by", T, nullable=False),
    Column("at", T, nullable=False),
    Column("until", T, nullable=False),                # review date: the override lapses after it
    Column("lifted_at", T),
)

measure_changes = Table(
    "measure_changes", metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),   # the feed cursor
    Column("party_key", T, nullable=False, index=True),
    Column("subject_source", T, nullable=False),
    Column("subject_id", T, nullable=False),
    Column("at", T, nullable=False, index=True),
    Column("measures", Text, nullable=False),          # JSON: every measure in force after the change
    Column("added", Text, nullable=False),             # JSON list of measure names
    Column("removed", Text, nullable=False),
    Column("cause", Text, nullable=False),             # JSON: the list entries and exits behind it
    Column("published_at", T),                         # acknowledged by NATS JetStream (NULL: not yet)
)
Index("ix_measure_changes_published", measure_changes.c.published_at)  # the publisher looks for NULLs

list_queue = Table(
    "list_queue", metadata,
    Column("party_key", T, primary_key=True),          # a party whose lists must be re-evaluated
    Column("marked_at", T, nullable=False),
)

job_runs = Table(
    "job_runs", metadata,
    Column("job", T, primary_key=True),                # e.g. lists.evaluate (a full re-evaluation)
    Column("finished_at", T, nullable=False),          # UTC ISO time the last run of it completed
)
