"""Credit standing from ratings: points per rated entity, the ledger of what each rating counts, windows
(positive rate, DSR against the category), and order verdicts that take points back. This module holds the
rating rules (`rules`) and is where callers find the queue's drain, the scorer's loop and verdicts; the work
is done by its neighbours:

- `services/standing_queue.py`: the scoring queue (what ingestion marks stale; taking and deleting marks);
- `services/standing_touched.py`: what a mark names (pairs to recount, orders, parties to rescore);
- `services/standing_drain.py`: `drain`, settling the queue chunk by chunk;
- `services/standing_aside.py`: what fails (`transient` errors; marks set aside, then parked);
- `services/standing_follow.py`: `follow`, the scorer's loop, and finishing interrupted review actions;
- `services/standing_verdicts.py`: `set_order_verdict`;
- `services/standing_ledger.py` writes the ledger and the standings, `services/standing_retractions.py` the
  credit records of points a verdict takes back or gives back, and `services/standing_views.py` reads them.

How it stays current: ingestion marks what a batch makes stale in `scoring_queue` (a rating's pair; an
order whose payment, completion or verdict changed), in the batch's own transaction; `drain` recounts the
marked pairs afterwards (`standing_ledger.recount`: `domain.ratings.count_pair` over one pair's ratings, so
a recount is small) and updates the ledger and the standings. `standing_ledger.rebuild` recounts everything
(`chengxin score`).

What fails does not stop the rest: a chunk of marks whose transaction fails is settled again one mark at a
time, and a mark that fails alone waits, then is tried again, and after `PARK_AFTER` failures is set aside
(logged with its error, without personal data) while the others are settled. One mark whose order's figures
PostgreSQL could not index failed every drain, every `chengxin settle` and every restart of the scorer, which
died on the first error (found by review). A mark set aside for good is parked in the store
(`services/scoring_failures.py`: failures are counted there, and at `PARK_AFTER` the mark leaves the queue,
with its error, until `chengxin scoring release`), so a restart or another `chengxin settle` does not try it
again. Errors
that say the database is out of reach, or that the transaction lost a race, are not the mark's: they are
raised, and `follow` waits and tries again.
"""

from __future__ import annotations

from functools import cache

from chengxin.adapters.resources import vocab_text
from chengxin.domain import ratings as R
from chengxin.services.standing_drain import drain
from chengxin.services.standing_follow import follow
from chengxin.services.standing_queue import Pair, Ref
from chengxin.services.standing_verdicts import set_order_verdict

# the names callers find here (many do); `standing_ledger` imports `Pair`, `Ref` and `rules`
__all__ = ["Pair", "Ref", "drain", "follow", "rules", "set_order_verdict"]


@cache
def rules() -> R.RatingRules:
    return R.load_rating_rules(vocab_text("rating_rules.yaml"), "vocab/rating_rules.yaml")
