"""When the act behind a finding happened, read from its evidence, for findings that name no orders.

Two uses, both about time rather than about who:

- a commitment is broken only by an act after it was published (`services/lifecycle.py`): a finding with
  orders is dated by them; a shop's fake traffic by its bursts of visits, a fake discount by its list-price
  raise and its "discount". A finding whose act has no time (a return rate over the shop's history) breaks no
  commitment: nothing is punished on a guess.
- a suspicion already decided comes back to the review queue when the same subject does it again
  (`services/review_publish.py`): a new burst of fake traffic, a new raise before a new fake discount. These
  are the finding's *episodes*, each named by when it began.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))  # visit reports count China's days
Window = tuple[datetime, datetime]


def act_window(kind: str, evidence: Mapping[str, Any]) -> Window | None:
    """The first and last moment of the act, or None when the evidence does not date it."""
    if kind == "fake_traffic":
        days = [d for burst in _bursts(evidence) for d in burst]
        if days:
            return (datetime.combine(min(days), time(0), CHINA).astimezone(UTC),
                    datetime.combine(max(days), time(23, 59, 59), CHINA).astimezone(UTC))
    if kind == "price_fraud":
        raised, discount = _at(evidence.get("raise")), _at(evidence.get("discount"))
        if raised is not None and discount is not None:
            return raised, discount
    return None


def episodes(kind: str, evidence: Mapping[str, Any]) -> frozenset[str]:
    """When each act in the evidence began (ISO text): bursts of fake traffic, a fake discount's raise."""
    if kind == "fake_traffic":
        return frozenset(burst[0].isoformat() for burst in _bursts(evidence))
    if kind == "price_fraud" and (raised := _at(evidence.get("raise"))) is not None:
        return frozenset({raised.isoformat()})
    return frozenset()


def later_episodes(kind: str, now: Mapping[str, Any], decided: Mapping[str, Any]) -> list[str]:
    """The episodes of `now` that began after every episode of the `decided` evidence: the subject did it
    again. (A burst still running when it was decided is the same act, and begins no later.) None when the
    decided evidence has no dated episode to compare with."""
    before = episodes(kind, decided)
    if not before:
        return []
    return sorted(e for e in episodes(kind, now) if e > max(before))


def _bursts(evidence: Mapping[str, Any]) -> list[list[date]]:
    out = []
    for burst in evidence.get("bursts") or ():
        try:
            out.append([date.fromisoformat(str(d)) for d in burst])
        except (TypeError, ValueError):
            continue  # a stored finding of an older format: undated
    return [b for b in out if b]


def _at(point: Any) -> datetime | None:
    if not isinstance(point, Mapping) or not isinstance(point.get("at"), str):
        return None
    try:
        at = datetime.fromisoformat(point["at"].replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
