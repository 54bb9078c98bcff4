"""When a finding's act happened, from its evidence (`domain/acts.py`): the act window decides which
commitments it breaks, the episodes whether a decided suspicion came back."""

from __future__ import annotations

from datetime import UTC, datetime

from chengxin.domain import acts

TRAFFIC = {"bursts": [["2026-02-10", "2026-02-11"], ["2026-03-01", "2026-03-01"]]}
DISCOUNT = {"raise": {"at": "2026-05-01T02:00:00+00:00", "list_price": 9900, "price": 5000},
            "discount": {"at": "2026-05-04T02:00:00+00:00", "list_price": 9900, "price": 5000}}


def test_fake_traffic_is_dated_by_its_bursts_in_chinas_days() -> None:
    first, last = acts.act_window("fake_traffic", TRAFFIC) or (None, None)
    assert first == datetime(2026, 2, 9, 16, 0, tzinfo=UTC)  # 10 February, 00:00 in China
    assert last == datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)  # 1 March, 23:59:59 in China


def test_a_fake_discount_is_dated_from_its_raise_to_its_discount() -> None:
    assert acts.act_window("price_fraud", DISCOUNT) == (datetime(2026, 5, 1, 2, tzinfo=UTC),
                                                         datetime(2026, 5, 4, 2, tzinfo=UTC))


def test_evidence_that_dates_nothing_gives_no_window() -> None:
    assert acts.act_window("not_as_described", {"rate": 0.3}) is None
    assert acts.act_window("fake_traffic", {"bursts": [["not a day"]]}) is None
    assert acts.act_window("price_fraud", {"raise": {"at": "2026-05-01T02:00:00Z"}}) is None


def test_a_new_burst_after_the_decided_ones_is_a_later_episode() -> None:
    later = {"bursts": [*TRAFFIC["bursts"], ["2026-06-02", "2026-06-03"]]}
    assert acts.later_episodes("fake_traffic", later, TRAFFIC) == ["2026-06-02"]
    assert acts.later_episodes("fake_traffic", TRAFFIC, TRAFFIC) == []
    # a burst that ran on after the decision began before it: the same act
    grown = {"bursts": [["2026-02-10", "2026-02-11"], ["2026-03-01", "2026-03-05"]]}
    assert acts.later_episodes("fake_traffic", grown, TRAFFIC) == []


def test_a_new_raise_is_a_later_episode_and_undated_evidence_never_is() -> None:
    again = {**DISCOUNT, "raise": {"at": "2026-09-01T02:00:00+00:00"}}
    assert acts.later_episodes("price_fraud", again, DISCOUNT) == ["2026-09-01T02:00:00+00:00"]
    assert acts.later_episodes("price_fraud", DISCOUNT, again) == []
    assert acts.later_episodes("fake_traffic", TRAFFIC, {"days": 3}) == []  # nothing to compare with
